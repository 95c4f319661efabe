// The console as an operator uses it (issue 12), in Debian's Chromium via Playwright:
// correctness of the live wall and playback under a grant. Run by
// crates/vidimus/tests/console_operator.rs against a real `vidimus serve`.
//
// Env: BASE_URL, ARTIFACTS, PASSWORD (every user's), and the users: OPERATOR (a duty
// grant for every camera), NOGRANT (no grant at all).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
const step = (s) => console.log(`step: ${s}`);
const as = async (user, viewport = { width: 1280, height: 720 }) => {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.on("pageerror", (e) => console.log(`page error (${user}): ${e}`));
  await page.goto(base);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("header");
  return page;
};
try {
  step("a user without a grant sees why on Live, and opens nothing");
  const eve = await as(process.env.NOGRANT);
  await eve.waitForSelector("[data-testid=live-no-grant]");
  assert.equal(await eve.locator(".tile video").count(), 0, "no tile is opened without a grant");
  await eve.screenshot({ path: join(artifacts, "live-no-grant.png") });
  // Idle on Live: the test checks afterwards that nothing was registered for this user.
  await eve.waitForTimeout(8000);
  await eve.click("[data-testid=live-no-grant] button");
  await eve.waitForSelector("[data-testid=req-kind]");
  console.log("NOGRANT_IDLE_DONE");

  step("an offline camera's tile says offline and why");
  const ada = await as(process.env.OPERATOR);
  await ada.waitForSelector("[data-testid=tile-dead] [data-testid=tile-message]:has-text('Offline:')", { timeout: 20000 });
  const why = await ada.textContent("[data-testid=tile-dead] [data-testid=tile-message]");
  assert.ok(why.length > "Offline: ".length + 3, `the reason is on the tile: ${why}`);
  await ada.screenshot({ path: join(artifacts, "live-offline-reason.png") });

  step("one camera, one tile: putting a shown camera in another tile moves it");
  await ada.waitForSelector("[data-testid=tile-front]");
  const slots = ada.locator(".grid .slot");
  // Select a tile that does not show "front", then pick "front" in the tree.
  const n = await slots.count();
  let other = -1;
  for (let i = 0; i < n; i++) {
    if ((await slots.nth(i).locator("[data-testid=tile-front]").count()) === 0) { other = i; break; }
  }
  assert.ok(other >= 0);
  await slots.nth(other).click();
  await ada.click("[data-testid=tree-cam-front]");
  await ada.waitForFunction((i) => document.querySelectorAll(".grid .slot")[i].querySelector("[data-testid=tile-front]"), other);
  assert.equal(await ada.locator("[data-testid=tile-front]").count(), 1, "front is in exactly one tile");
  assert.equal(await ada.locator("[data-testid=tile-dead]").count(), 1, "the camera it replaced moved, not vanished");
  await ada.screenshot({ path: join(artifacts, "live-one-tile-per-camera.png") });

  console.log("operator e2e: all steps passed");
} catch (e) {
  console.error(`operator e2e FAILED: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
