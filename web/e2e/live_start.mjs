// Used by bench/live-start (not a test): in Debian's Chromium, logs in, picks the one-tile layout and
// switches the tile between cameras "one" and "two" SWITCHES times, measuring from the
// click to the new camera's first presented frame (requestVideoFrameCallback). Prints
// the times (ms) as a JSON array on its last line.
import { launch } from "./support.mjs";

const browser = await launch();
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await page.goto(process.env.BASE_URL);
  await page.fill("input[name=username]", process.env.USER);
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector(".layouts");
  await page.click(".layouts button:has-text('1')");
  await page.waitForSelector(".tile video");
  const times = [];
  const n = Number(process.env.SWITCHES || 30);
  for (let i = 0; i < n; i++) {
    const name = i % 2 === 0 ? "two" : "one";
    const ms = await page.evaluate(async (name) => {
      const li = document.querySelector(`[data-testid=tree-cam-${name}]`);
      const t0 = performance.now();
      li.click();
      // The new tile's video element, then its first presented frame.
      for (;;) {
        const v = document.querySelector(`[data-testid=tile-${name}] video`);
        if (v) {
          return await new Promise((resolve) => v.requestVideoFrameCallback(() => resolve(performance.now() - t0)));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }, name);
    times.push(ms);
    await page.waitForTimeout(300);
  }
  console.error(browser.version());
  console.log(JSON.stringify(times));
} finally {
  await browser.close();
}
