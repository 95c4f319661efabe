// A publication in the console (issue 13, Art. 31), in Debian's Chromium: the holder of
// a grant for publication finds the Publish view (and nothing of the recording), picks
// a range by time, publishes, watches the job, and downloads the anonymized MP4 and its
// publication bundle. Run by crates/vidimus/tests/publish.rs, which then verifies the
// downloads and the register.
//
// Env: BASE_URL, ARTIFACTS, VIDIMUS_USER, VIDIMUS_PASSWORD (the publisher), FROM, TO
// (Unix seconds inside the grant).
import { launch, logIn, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = join(process.env.ARTIFACTS, "publish");
mkdirSync(artifacts, { recursive: true });
// The console reads date-time inputs as the site's wall time (Asia/Shanghai).
const local = (sec) => {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(sec * 1000)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
};

const browser = await launch();
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 850 } });
  step("log in as the publisher");
  const page = await logIn(context, base, process.env.VIDIMUS_USER, process.env.VIDIMUS_PASSWORD);

  step("the Publish view is offered; the live wall has nothing to show under this grant");
  await page.waitForSelector("[data-testid=nav-publish]");
  assert.equal(await page.locator(".tile video").count(), 0, "no live video under a grant for publication");
  await page.click("[data-testid=nav-publish]");
  await page.waitForSelector("[data-testid=publish-start]");
  assert.equal(await page.locator("video").count(), 0, "no recorded video is shown on the Publish view");

  step("a range, a purpose and the broadcaster; publish");
  const from = Number(process.env.FROM), to = Number(process.env.TO);
  await page.fill("[data-testid=publish-from]", local(from));
  await page.fill("[data-testid=publish-to]", local(to));
  assert.ok(await page.isDisabled("[data-testid=publish-start]"), "nothing starts without a purpose and a broadcaster");
  await page.fill("[data-testid=publish-purpose]", "appeal for witnesses");
  await page.fill("[data-testid=publish-recipient]", "Shenzhen TV");
  await page.click("[data-testid=publish-start]");

  step("the job runs, then is published");
  await page.waitForSelector("[data-testid=publication]");
  await page.waitForSelector("[data-testid=publication][data-state=published]", { timeout: 300_000 });
  const id = await page.getAttribute("[data-testid=publication]", "data-id");
  const done = await page.textContent("[data-testid=publication-done]");
  assert.match(done, /^Published: \d+ frames/, done);
  const sha = (await page.textContent("[data-testid=publication-sha256]")).trim();
  await page.screenshot({ path: join(artifacts, "published.png") });

  step("the anonymized clip and its bundle download");
  const [clip] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=publication-mp4]")]);
  const clipPath = join(artifacts, "publication.mp4");
  await clip.saveAs(clipPath);
  const [bundle] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=publication-bundle]")]);
  const bundlePath = join(artifacts, "publication.vpub");
  await bundle.saveAs(bundlePath);
  console.log(`PUBLICATION ${id} ${sha}`);
  console.log(`CLIP ${clipPath}`);
  console.log(`BUNDLE ${bundlePath}`);
} finally {
  await browser.close();
}
