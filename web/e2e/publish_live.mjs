// The live anonymized feed in the console (issue 13 item 9, Art. 22, 23), in Debian's
// Chromium: the holder of a grant for publication that reaches past now finds "Watch
// live, anonymized" on the Publish view (disabled until the recipient is named), and
// the picture that plays has the scene's large face destroyed — flat — while the
// rest of the picture is not. Run by crates/vidimus/tests/publish.rs, which checks the
// register.
//
// Env: BASE_URL, ARTIFACTS, VIDIMUS_USER, VIDIMUS_PASSWORD (the publisher).
import { launch, logIn, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = join(process.env.ARTIFACTS, "publish_live");
mkdirSync(artifacts, { recursive: true });

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
  step("log in as the publisher; the Publish view");
  const page = await logIn(context, base, process.env.VIDIMUS_USER, process.env.VIDIMUS_PASSWORD);
  await page.click("[data-testid=nav-publish]");
  await page.waitForSelector("[data-testid=anonymized-live-start]");
  assert.ok(await page.isDisabled("[data-testid=anonymized-live-start]"), "no feed without a recipient");

  step("name the recipient; watch live, anonymized");
  await page.fill("[data-testid=publish-recipient]", "Shenzhen TV");
  await page.click("[data-testid=anonymized-live-start]");
  await page.waitForFunction(() => {
    const v = document.querySelector("[data-testid=anonymized-live-video]");
    return v && v.readyState >= 2 && v.videoWidth === 1280;
  }, null, { timeout: 120_000 });

  step("the large face is flat in the picture; the rest is not");
  const spreads = await page.evaluate(() => {
    const v = document.querySelector("[data-testid=anonymized-live-video]");
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext("2d");
    g.drawImage(v, 0, 0);
    // Largest less smallest luma over a box (x1, y1, x2, y2) of the 1280x720 picture.
    const spread = (x1, y1, x2, y2) => {
      const d = g.getImageData(x1, y1, x2 - x1, y2 - y1).data;
      let lo = 255, hi = 0;
      for (let i = 0; i < d.length; i += 4) {
        const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
        lo = Math.min(lo, y);
        hi = Math.max(hi, y);
      }
      return hi - lo;
    };
    return { face: spread(180, 108, 240, 190), picture: spread(0, 0, 1280, 720) };
  });
  await page.screenshot({ path: join(artifacts, "anonymized-live.png") });
  console.log(`SPREADS ${JSON.stringify(spreads)}`);
  assert.ok(spreads.face <= 12, `the large face is not destroyed: ${JSON.stringify(spreads)}`);
  assert.ok(spreads.picture > 60, `the picture is blank: ${JSON.stringify(spreads)}`);

  step("stop");
  await page.click("[data-testid=anonymized-live-stop]");
  await page.waitForSelector("[data-testid=anonymized-live-start]");
} finally {
  await browser.close();
}
