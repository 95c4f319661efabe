// End-to-end test of the web console in Debian's Chromium, driven by Playwright
// (playwright-core: it never downloads a browser). Run by crates/vidimus/tests/console.rs
// against a real `vidimus serve` with simulated cameras; exits non-zero on failure.
//
// Env: BASE_URL, VIDIMUS_USER, VIDIMUS_PASSWORD (an operator), VIDIMUS_ADMIN,
// VIDIMUS_ADMIN_PASSWORD, GAP_CAMERA (a camera whose recording has a gap), ARTIFACTS
// (directory for screenshots and the exported MP4 and bundle).
import { launch, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });

const browser = await launch();
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 850 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e}`));

  step("log in");
  await page.goto(base);
  await page.fill("input[name=username]", process.env.VIDIMUS_USER);
  await page.fill("input[name=password]", process.env.VIDIMUS_PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("header");

  step("a live tile plays 1280x720 video");
  await page.waitForFunction(() => [...document.querySelectorAll(".tile video")]
    .some((v) => v.videoWidth === 1280 && v.currentTime > 1.5), null, { timeout: 30000 });
  const t1 = await page.evaluate(() => Math.max(...[...document.querySelectorAll(".tile video")].map((v) => v.currentTime)));
  await page.waitForTimeout(1500);
  const t2 = await page.evaluate(() => Math.max(...[...document.querySelectorAll(".tile video")].map((v) => v.currentTime)));
  assert.ok(t2 > t1 + 0.5, `live currentTime did not advance (${t1} -> ${t2})`);
  await page.screenshot({ path: join(artifacts, "live-grid.png") });

  step("the capacity alarm shows to those who can act on it, with its severity, until acknowledged");
  // The test configures an absurd margin, so the forecast is below the legal minimum.
  const boss = await (await browser.newContext({ viewport: { width: 1400, height: 850 } })).newPage();
  await boss.goto(base);
  await boss.fill("input[name=username]", process.env.VIDIMUS_ADMIN);
  await boss.fill("input[name=password]", process.env.VIDIMUS_ADMIN_PASSWORD);
  await boss.click("button[type=submit]");
  await boss.waitForSelector("[data-alarm=capacity].critical", { timeout: 15000 });
  const banner = await boss.textContent("[data-alarm=capacity]");
  assert.ok(banner.includes("Critical · Storage capacity") && banner.includes("Art. 32"), banner);
  await boss.screenshot({ path: join(artifacts, "alarm-banner.png") });
  // An operator cannot add storage: not shouted at on every screen.
  await page.waitForTimeout(6000);
  assert.equal(await page.locator("[data-alarm=capacity]").count(), 0, "the operator is not shown the capacity alarm");
  // Acknowledged, it folds into one quiet line, for this administrator only.
  await boss.click("[data-testid=ack-capacity]");
  await boss.waitForSelector("[data-testid=alarms-acknowledged]");
  assert.equal(await boss.locator("[role=alert][data-testid=alarms]").count(), 0);
  await boss.reload();
  await boss.waitForSelector("[data-testid=alarms-acknowledged]", { timeout: 15000 });
  await boss.close();

  step("switching to 中文 changes the UI text");
  await page.selectOption("[data-testid=lang]", "zh-CN");
  await page.waitForSelector("header button:has-text('实时')");
  assert.ok(await page.isVisible("header button:has-text('回放')"));
  assert.equal(await page.locator("header button:has-text('Live')").count(), 0);
  await page.screenshot({ path: join(artifacts, "live-grid-zh.png") });
  await page.selectOption("[data-testid=lang]", "en");

  step("Sharing shows the operator's RTSP access under the grant, on request");
  await page.click("[data-testid=nav-sharing]");
  await page.waitForSelector("[data-testid=sharing]");
  await page.locator("[data-testid^=rtsp-show-]").first().click();
  await page.waitForSelector("[data-testid=rtsp-url]");
  const rtspUrl = await page.locator("[data-testid=rtsp-url]").first().textContent();
  assert.match(rtspUrl, /^rtsp:\/\/127\.0\.0\.1:\d+\/cameras\/\d+\/live$/);
  assert.match(await page.textContent("[data-testid=rtsp-password]"), /^[0-9a-f]{32}$/);
  // The GB/T 28181 links are the system manager's administrators' alone.
  assert.equal(await page.locator("[data-testid=gb-links]").count(), 0);
  await page.screenshot({ path: join(artifacts, "sharing.png") });

  step("the timeline shows a gap where the camera was stopped");
  await page.click("header button:has-text('Playback')");
  const camId = await page.evaluate(async (name) => {
    const cams = await (await fetch("/api/cameras")).json();
    return cams.find((c) => c.name === name).id;
  }, process.env.GAP_CAMERA);
  await page.selectOption("[data-testid=camera-select]", String(camId));
  await page.waitForSelector("[data-testid=gap]", { timeout: 15000 });
  const spans = await page.locator("[data-testid=span]").count();
  assert.ok(spans >= 2, `expected recorded spans on both sides of the gap, got ${spans}`);

  step("clicking a time plays from that time");
  // Hold the timeline still (it follows now until the user moves it).
  await page.click("[data-testid=follow-now]");
  const box = await page.locator("[data-testid=span]").first().boundingBox();
  const tl = await page.locator("[data-testid=timeline]").boundingBox();
  const x = box.x + Math.max(2, box.width / 2);
  const from = Number(await page.getAttribute("[data-testid=timeline]", "data-from"));
  const to = Number(await page.getAttribute("[data-testid=timeline]", "data-to"));
  const clicked = from + ((x - tl.x) / tl.width) * (to - from);
  await page.mouse.click(x, box.y + box.height / 2);
  await page.waitForFunction(() => {
    const v = document.querySelector("[data-testid=playback-video]");
    return v && v.videoWidth === 1280 && v.currentTime > 0.2;
  }, null, { timeout: 20000 });
  const shown = await page.evaluate(() => {
    const v = document.querySelector("[data-testid=playback-video]");
    return Number(document.querySelector("[data-testid=current-time]").dataset.sec) - v.currentTime;
  });
  assert.ok(Math.abs(shown - clicked) <= 2.0, `playback started at ${shown}, clicked ${clicked}`);
  step("frame step and speed");
  await page.keyboard.press("Space"); // pause
  await page.waitForFunction(() => document.querySelector("[data-testid=playback-video]").paused);
  await page.waitForTimeout(300);
  const before = await page.evaluate(() => document.querySelector("[data-testid=playback-video]").currentTime);
  await page.keyboard.press("ArrowRight");
  await page.waitForTimeout(500);
  const after = await page.evaluate(() => document.querySelector("[data-testid=playback-video]").currentTime);
  assert.ok(Math.abs(after - before - 0.04) < 0.02, `frame step moved ${after - before} s (${before} -> ${after})`);
  await page.click(".transport button[data-speed='2']");
  assert.equal(await page.evaluate(() => document.querySelector("[data-testid=playback-video]").playbackRate), 2);
  await page.screenshot({ path: join(artifacts, "playback.png") });

  step("export downloads an MP4");
  const span0 = await page.evaluate(async (id) => {
    const now = Date.now() / 1000;
    const tl = await (await fetch(`/api/cameras/${id}/timeline?from=${now - 3600}&to=${now + 60}`)).json();
    return tl.spans[0].start_90k / 90000;
  }, camId);
  // The console reads date-time inputs as the site's wall time (Asia/Shanghai, the
  // default [site] time_zone), whatever the browser's zone.
  const local = (sec) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(sec * 1000)).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
  };
  const exFrom = Math.ceil(span0) + 1;
  await page.click("[data-testid=export-open]");
  await page.fill("[data-testid=export-from]", local(exFrom));
  await page.fill("[data-testid=export-to]", local(exFrom + 4));
  await page.fill("[data-testid=export-recipient]", "e2e court");
  await page.fill("[data-testid=export-destination]", "case file 42");
  // A time that is not one (24:00:00) hands nothing out: no download link while the
  // field says so.
  await page.fill("[data-testid=export-to]", local(exFrom + 4).slice(0, 10) + " 24:00:00");
  await page.waitForSelector("[data-testid=export-to-error]");
  assert.equal(await page.locator("[data-testid=export-download]").count(), 0, "no download of a range the user does not see");
  await page.fill("[data-testid=export-to]", local(exFrom + 4));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-download]")]);
  const out = join(artifacts, "export.mp4");
  await download.saveAs(out);
  console.log(`EXPORT ${out} 4`);

  step("a verifiable bundle of the same range downloads");
  await page.fill("[data-testid=export-purpose]", "e2e: incident 42");
  const [bundle] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-bundle]")]);
  const bout = join(artifacts, "export.vbundle");
  await bundle.saveAs(bout);
  const bstatus = await page.textContent("[data-testid=bundle-status]");
  assert.ok(bstatus.includes("signed by the key with fingerprint"), bstatus);
  console.log(`FINGERPRINT ${bstatus.trim().split(" ").pop()}`);
  console.log(`BUNDLE ${bout}`);
  assert.equal(await page.locator("[data-testid=place-hold]").count(), 0, "operators cannot place holds");
  assert.equal(await page.locator("header button:has-text('Legal holds')").count(), 0);

  step("an administrator places a legal hold on the range and releases it");
  const admin = await (await browser.newContext({ viewport: { width: 1400, height: 850 } })).newPage();
  await admin.goto(base);
  await admin.fill("input[name=username]", process.env.VIDIMUS_ADMIN);
  await admin.fill("input[name=password]", process.env.VIDIMUS_ADMIN_PASSWORD);
  await admin.click("button[type=submit]");
  await admin.click("header button:has-text('Playback')");
  await admin.selectOption("[data-testid=camera-select]", String(camId));
  await admin.click("[data-testid=export-open]");
  await admin.fill("[data-testid=export-from]", local(exFrom));
  await admin.fill("[data-testid=export-to]", local(exFrom + 4));
  await admin.fill("[data-testid=export-purpose]", "e2e hold: case 7");
  await admin.click("[data-testid=place-hold]");
  await admin.waitForSelector("[data-testid=bundle-status]:has-text('Legal hold placed')");
  await admin.click("header button:has-text('Legal holds')");
  await admin.waitForSelector("[data-testid=holds] td:has-text('e2e hold: case 7')");
  await admin.screenshot({ path: join(artifacts, "holds.png") });
  // Releasing asks first.
  await admin.click("[data-testid=holds] button:has-text('Release')");
  await admin.waitForSelector("dialog[data-testid=ask][open]");
  assert.match(await admin.textContent("#ask-message"), /Release this legal hold\?/);
  await admin.click("[data-testid=ask-ok]");
  await admin.waitForSelector("[data-testid=holds] p");

  step("an interested party views under a view-only grant: overlay, no export control");
  const viewer = await (await browser.newContext({ viewport: { width: 1400, height: 850 } })).newPage();
  await viewer.goto(base);
  await viewer.fill("input[name=username]", process.env.VIEWER);
  await viewer.fill("input[name=password]", process.env.VIEWER_PASSWORD);
  await viewer.click("button[type=submit]");
  await viewer.click("header button:has-text('Playback')");
  await viewer.selectOption("[data-testid=camera-select]", String(camId));
  await viewer.waitForSelector("[data-testid=span]", { timeout: 15000 });
  const vbox = await viewer.locator("[data-testid=span]").first().boundingBox();
  await viewer.mouse.click(vbox.x + Math.max(2, vbox.width / 2), vbox.y + vbox.height / 2);
  await viewer.waitForFunction(() => {
    const v = document.querySelector("[data-testid=playback-video]");
    return v && v.videoWidth === 1280 && v.currentTime > 0.2;
  }, null, { timeout: 20000 });
  const overlay = await viewer.textContent("[data-testid=view-only-overlay]");
  assert.ok(overlay.includes(process.env.VIEWER) && overlay.includes(`#${process.env.VIEW_REQUEST}`), overlay);
  assert.equal(await viewer.locator("[data-testid=export-open]").count(), 0, "no export control for a view-only grant");
  await viewer.screenshot({ path: join(artifacts, "view-only.png") });
  // The server refuses a reproduction under that grant whatever the page does — and
  // serves no file at all: the video came as a watermarked stream.
  const status = await viewer.evaluate(async ([id, a, b]) =>
    (await fetch(`/api/cameras/${id}/export.mp4?from=${a}&to=${b}&recipient=me`)).status, [camId, exFrom, exFrom + 4]);
  assert.equal(status, 403);
  const file = await viewer.evaluate(async ([id, a, b]) => {
    const r = await fetch(`/api/cameras/${id}/playback.mp4?from=${a}&to=${b}`);
    return [r.status, (await r.json()).error.code];
  }, [camId, exFrom, exFrom + 4]);
  assert.deepEqual(file, [403, "view_only"]);
  const src = await viewer.evaluate(() => document.querySelector("[data-testid=playback-video]").src);
  assert.ok(src.startsWith("blob:"), `the player is fed by the stream, not a file: ${src}`);
  // Synchronized playback plays files, which a view-only grant never gets: the tile
  // says why and leads to Playback at the same moment.
  const cam = process.env.GAP_CAMERA;
  await viewer.goto(`${base}/sync?cams=${encodeURIComponent(cam)}&t=${Math.floor(exFrom)}`);
  await viewer.waitForSelector(`[data-testid=sync-view-only-${cam}]`);
  assert.match(await viewer.textContent(`[data-testid=sync-view-only-${cam}]`), /view only \(Art\. 35\)/);
  await viewer.click(`[data-testid=sync-view-only-${cam}] a`);
  await viewer.waitForSelector("[data-testid=timeline]");
  assert.ok(viewer.url().endsWith(`/playback/${encodeURIComponent(cam)}?t=${Math.floor(exFrom)}`), viewer.url());

  step("two PSB officers: one files a request, the other confirms with his own password, then video plays");
  const officer = async (name) => {
    const p = await (await browser.newContext({ viewport: { width: 1400, height: 850 } })).newPage();
    await p.goto(base);
    await p.fill("input[name=username]", name);
    await p.fill("input[name=password]", `${name}'s long password`);
    await p.click("button[type=submit]");
    await p.waitForSelector("header");
    return p;
  };
  const li = await officer("li");
  await li.click("header button:has-text('Access requests')");
  // A PSB files law enforcement or public emergency requests, nothing else.
  const liKinds = await li.$$eval("[data-testid=req-kind] option", (o) => o.map((x) => x.value));
  assert.deepEqual(liKinds.sort(), ["law_enforcement", "public_emergency"]);
  await li.selectOption("[data-testid=req-kind]", "law_enforcement");
  await li.fill("[data-testid=req-purpose]", "case 2026-117");
  await li.check(`[data-testid=req-cam-${process.env.GAP_CAMERA}]`);
  await li.fill("[data-testid=req-from]", local(exFrom - 60));
  await li.fill("[data-testid=req-to]", local(exFrom + 600));
  await li.fill("[data-testid=req-persons]", "li, wang");
  await li.click("[data-testid=req-submit]");
  await li.waitForSelector("[data-testid=req-msg]:has-text('Filed request')");
  await li.waitForSelector("tr[data-request] td:has-text('have not confirmed with their own credentials (Art. 34(3))')");
  assert.match(await li.textContent("tr[data-request] [data-testid=req-status]"), /Waiting/);
  // Without the second officer's confirmation no video is served.
  const liBefore = await li.evaluate(async ([id, a, b]) =>
    (await fetch(`/api/cameras/${id}/playback.mp4?from=${a}&to=${b}`)).status, [camId, exFrom, exFrom + 4]);
  assert.equal(liBefore, 403);
  await li.screenshot({ path: join(artifacts, "request-pending.png") });
  const wang = await officer("wang");
  // The second officer is told a confirmation waits for him, before he looks.
  await wang.waitForSelector("[data-testid=nav-waiting]:has-text('1 to confirm')", { timeout: 20000 });
  await wang.click("header button:has-text('Access requests')");
  await wang.waitForSelector("tr[data-request] [data-testid=req-waits]");
  await wang.fill("tr[data-request] [data-testid=confirm-password]", "wang's long password");
  await wang.click("tr[data-request] [data-testid=confirm]");
  await wang.waitForSelector("tr[data-request] [data-testid=req-status]:has-text('Granted')");
  const liAfter = await li.evaluate(async ([id, a, b]) =>
    (await fetch(`/api/cameras/${id}/playback.mp4?from=${a}&to=${b}`)).status, [camId, exFrom, exFrom + 4]);
  assert.equal(liAfter, 200);

  step("the administrator reads the register in the console");
  await admin.click("header button:has-text('Access register')");
  await admin.fill("[data-testid=reg-user]", "li");
  await admin.waitForSelector("[data-testid=reg-row]");
  const rows = await admin.locator("[data-testid=reg-row]").allTextContents();
  assert.ok(rows.some((r) => r.includes("✗")) && rows.some((r) => r.includes("✓") && r.includes("case 2026-117")), rows.join("\n"));
  // Persons as names with work IDs, never JSON; filters by kind and outcome; pages.
  const persons = await admin.locator("[data-testid=reg-row] [data-testid=reg-persons]").allTextContents();
  assert.ok(persons.some((p) => p.includes("li (PSB-0001)") && p.includes("wang (PSB-0002)")), persons.join("\n"));
  assert.ok(rows.every((r) => !r.includes("{\"")), "no JSON in the register");
  await admin.selectOption("[data-testid=reg-allowed]", "false");
  await admin.waitForFunction(() => [...document.querySelectorAll("[data-testid=reg-row]")].every((r) => r.textContent.includes("✗")));
  await admin.selectOption("[data-testid=reg-allowed]", "");
  await admin.selectOption("[data-testid=reg-kind]", "law_enforcement");
  await admin.waitForFunction(() => [...document.querySelectorAll("[data-testid=reg-row]")].every((r) => r.textContent.includes("Law enforcement")));
  assert.match(await admin.textContent("[data-testid=reg-pager]"), /Page 1 of \d+ \(\d+ entries\)/);
  assert.match(await admin.getAttribute("[data-testid=reg-csv]", "href"), /kind=law_enforcement/);
  await admin.screenshot({ path: join(artifacts, "register.png") });

  step("the date-time field: typed in the console's one format or picked from a calendar; a wrong date says so");
  await admin.fill("[data-testid=reg-since]", "2026-02-30 10:00:00");
  await admin.waitForSelector("[data-testid=reg-since-error]");
  assert.equal(await admin.getAttribute("[data-testid=reg-since]", "aria-invalid"), "true");
  await admin.fill("[data-testid=reg-since]", "");
  await admin.waitForSelector("[data-testid=reg-since-error]", { state: "detached" });
  // A typed end in the past leaves no entries; cleared, they are back.
  await admin.fill("[data-testid=reg-until]", "2001-01-01T00:00:00");
  await admin.waitForSelector("[data-testid=reg-row]", { state: "detached" });
  await admin.fill("[data-testid=reg-until]", "");
  await admin.waitForSelector("[data-testid=reg-row]");
  // The calendar: today, then the hour; the field shows 24-hour time and the zone.
  await admin.click("[data-testid=reg-since-pick]");
  await admin.waitForSelector("[data-testid=reg-since-calendar] .rdp-today button");
  await admin.click("[data-testid=reg-since-calendar] .rdp-today button");
  await admin.selectOption("[data-testid=reg-since-clock-0]", "13");
  await admin.selectOption("[data-testid=reg-since-clock-1]", "05");
  const picked = await admin.inputValue("[data-testid=reg-since]");
  // The site's today (Asia/Shanghai), not the browser's (UTC here).
  const ymd = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  assert.equal(picked, `${ymd} 13:05:00`);
  assert.equal(await admin.textContent("[data-testid=reg-since-zone]"), "UTC+08:00");
  await admin.screenshot({ path: join(artifacts, "register-calendar.png") });
  await admin.keyboard.press("Escape");
  await admin.waitForSelector("[data-testid=reg-since-calendar]", { state: "detached" });
  console.log("console e2e: all steps passed");
} catch (e) {
  console.error(`console e2e FAILED: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
