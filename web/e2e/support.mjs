// What every console test shares: Debian's Chromium, launched the same way (no
// sandbox in CI containers, no GPU, nothing fetched in the background, video plays
// without a gesture), and the step log the Rust drivers print on failure.
import { chromium } from "playwright-core";

export const launch = () => chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});

export const step = (s) => console.log(`step: ${s}`);

/** Logs `user` in on a new page of `context`; resolves once the console's header shows. */
export async function logIn(context, base, user, password) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e}`));
  await page.goto(base);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("header");
  return page;
}
