// The console as an operator uses it (issue 12), in Debian's Chromium via Playwright:
// correctness of the live wall and playback under a grant. Run by
// crates/vidimus/tests/console_operator.rs against a real `vidimus serve`.
//
// Env: BASE_URL, ARTIFACTS, PASSWORD (every user's), and the users: OPERATOR (a duty
// grant for every camera), NOGRANT (no grant at all), SHORT_GRANT (a grant of camera
// "front" ending at GRANT_END, Unix seconds).
import { launch, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const browser = await launch();
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

  step("requests: only the kinds one's organisation files, in words; errors do not outlive a success");
  const eveKinds = await eve.$$eval("[data-testid=req-kind] option", (o) => o.map((x) => [x.value, x.textContent]));
  assert.deepEqual(eveKinds.map((k) => k[0]), ["system_operation"], "the system manager's staff file operation requests only");
  assert.ok(!eveKinds[0][1].includes("_"), `a label, not a raw name: ${eveKinds[0][1]}`);
  const actionText = await eve.textContent("[data-testid=req-action-view_recorded] >> xpath=..");
  assert.match(actionText, /Watch recordings/);
  await eve.check("[data-testid=req-cam-front]");
  await eve.fill("[data-testid=req-days]", "3");
  await eve.fill("[data-testid=req-purpose]", "checking the door");
  await eve.fill("[data-testid=req-persons]", "eve, nobody-such"); // a person without an account: refused
  await eve.click("[data-testid=req-submit]");
  await eve.waitForSelector("[data-testid=req-error]:has-text('nobody-such')");
  await eve.fill("[data-testid=req-persons]", "eve");
  await eve.click("[data-testid=req-submit]");
  await eve.waitForSelector("[data-testid=req-msg], [data-testid=req-error]:not(:has-text('nobody-such'))");
  assert.equal(await eve.locator("[data-testid=req-error]").count(), 0,
    `filing failed: ${await eve.locator("[data-testid=req-error]").first().textContent().catch(() => "")}`);
  await eve.waitForSelector("[data-testid=req-msg]:has-text('Filed request')");
  assert.equal(await eve.locator("[data-testid=req-error]").count(), 0, "the earlier error is gone");
  const row = eve.locator("tr[data-request]").first();
  assert.match(await row.locator("[data-testid=req-cameras]").textContent(), /front/);
  assert.match(await row.locator("[data-testid=req-range]").textContent(), /Expires/);
  assert.match(await row.locator("[data-testid=req-status]").textContent(), /Waiting/);
  // Its filer withdraws it, and must say why.
  assert.equal(await row.locator("[data-testid=revoke], [data-testid^=approve-]").count(), 0, "no approve or revoke for its filer");
  await row.locator("[data-testid=close-withdraw]").click();
  await eve.waitForSelector("[data-testid=req-error]:has-text('Say why first')");
  await row.locator("[data-testid=close-reason]").fill("filed by mistake");
  await row.locator("[data-testid=close-withdraw]").click();
  await eve.waitForSelector("tr[data-request] [data-testid=req-status]:has-text('Withdrawn')");
  assert.equal(await eve.locator("[data-testid=req-error]").count(), 0);
  await eve.screenshot({ path: join(artifacts, "requests-withdrawn.png") });

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

  step("live basics: search, fullscreen, drag a camera onto a tile, saved layouts");
  await ada.fill("[data-testid=cam-search]", "fro");
  assert.deepEqual(await ada.$$eval(".tree .cam", (l) => l.map((x) => x.dataset.testid)), ["tree-cam-front"]);
  await ada.fill("[data-testid=cam-search]", "");
  const frontSlot = ada.locator(".grid .slot", { has: ada.locator("[data-testid=tile-front]") });
  await frontSlot.dblclick();
  await ada.waitForFunction(() => [...document.querySelectorAll(".grid .slot")].filter((s) => s.offsetParent !== null).length === 1);
  const big = await ada.locator("[data-testid=tile-front]").boundingBox();
  const grid = await ada.locator("[data-testid=grid]").boundingBox();
  assert.ok(big.width > grid.width * 0.95, `fullscreen tile ${big.width} of ${grid.width}`);
  await ada.screenshot({ path: join(artifacts, "live-fullscreen.png") });
  await ada.keyboard.press("Escape");
  await ada.waitForFunction(() => [...document.querySelectorAll(".grid .slot")].filter((s) => s.offsetParent !== null).length === 4);
  await ada.dragAndDrop("[data-testid=tree-cam-dead]", "[data-testid=slot-3]");
  await ada.waitForSelector("[data-testid=slot-3] [data-testid=tile-dead]");
  assert.equal(await ada.locator("[data-testid=tile-dead]").count(), 1, "moved, not copied");
  await ada.fill("[data-testid=layout-name]", "entrance");
  await ada.click("[data-testid=layout-save]");
  await ada.click(".layouts button:has-text('1')");
  await ada.waitForFunction(() => document.querySelectorAll(".grid .slot").length === 1);
  await ada.click("[data-testid=layout-entrance]");
  await ada.waitForSelector("[data-testid=slot-3] [data-testid=tile-dead]");
  assert.equal(await ada.locator(".grid .slot").count(), 4);

  // Timeline helpers: the x of a time, and the clock shown.
  const xOf = async (page, sec) => {
    const tl = await page.locator("[data-testid=timeline]").boundingBox();
    const from = Number(await page.getAttribute("[data-testid=timeline]", "data-from"));
    const to = Number(await page.getAttribute("[data-testid=timeline]", "data-to"));
    assert.ok(sec > from && sec < to, `${sec} is not on the timeline ${from}..${to}`);
    return [tl.x + ((sec - from) / (to - from)) * tl.width, tl.y + tl.height / 2];
  };
  const clockAt = (page) => page.evaluate(() => {
    const v = document.querySelector("[data-testid=playback-video]");
    return { wall: Number(document.querySelector("[data-testid=current-time]").dataset.sec), media: v ? v.currentTime : 0 };
  });
  const playing = (page, min = 0.3) => page.waitForFunction((m) => {
    const v = document.querySelector("[data-testid=playback-video]");
    return v && v.videoWidth > 0 && v.currentTime > m;
  }, min, { timeout: 20000 });

  step("the timeline follows now, and stops when the user holds it");
  await ada.click("header button:has-text('Playback')");
  await ada.selectOption("[data-testid=camera-select]", { label: "front" });
  await ada.waitForSelector("[data-testid=span]", { timeout: 15000 });
  const right0 = Number(await ada.getAttribute("[data-testid=timeline]", "data-to"));
  await ada.waitForTimeout(4500);
  const right1 = Number(await ada.getAttribute("[data-testid=timeline]", "data-to"));
  assert.ok(right1 - right0 > 2, `the timeline did not follow now (${right0} -> ${right1})`);
  assert.ok(Math.abs(right1 - Date.now() / 1000) < 30, "its right edge is near now");
  // Zooming in while following keeps now in view: never a stale, empty window.
  for (let i = 0; i < 2; i++) await ada.click("[data-testid=zoom-in]");
  const zf = Number(await ada.getAttribute("[data-testid=timeline]", "data-from"));
  const zt = Number(await ada.getAttribute("[data-testid=timeline]", "data-to"));
  assert.ok(zt - zf <= 120 && zt > Date.now() / 1000 - 5, `zoomed to ${zf}..${zt}`);
  assert.ok(await ada.locator("[data-testid=span]").count() > 0, "the zoomed window shows recording");
  for (let i = 0; i < 2; i++) await ada.click("[data-testid=zoom-out]");
  await ada.click("[data-testid=follow-now]"); // hold it still for the clicks below
  const held = Number(await ada.getAttribute("[data-testid=timeline]", "data-to"));
  await ada.waitForTimeout(2500);
  assert.equal(Number(await ada.getAttribute("[data-testid=timeline]", "data-to")), held, "held still");

  step("playback near the end of a short grant plays, and says when the grant ends");
  const bo = await as(process.env.SHORT_GRANT);
  // Bo's granted request offers him nothing he may not do: no approve, no revoke.
  await bo.click("header button:has-text('Access requests')");
  await bo.waitForSelector("tr[data-request] [data-testid=req-status]:has-text('Granted')");
  assert.equal(await bo.locator("[data-testid=revoke], [data-testid^=approve-], [data-testid^=close-]").count(), 0);
  await bo.click("header button:has-text('Playback')");
  await bo.waitForSelector("[data-testid=span]", { timeout: 15000 });
  await bo.click("[data-testid=follow-now]");
  const end = Number(process.env.GRANT_END);
  await bo.mouse.click(...(await xOf(bo, end - 3)));
  await playing(bo);
  assert.match(await bo.textContent("[data-testid=playback-notice]"), /Your grant ends at/);
  await bo.screenshot({ path: join(artifacts, "playback-grant-end.png") });
  // A click past the grant asks for nothing, and says why.
  await bo.mouse.click(...(await xOf(bo, end + 20)));
  await bo.waitForSelector("[data-testid=playback-notice]:has-text('Outside your grant')");

  step("the playback clock shows the frame's wall time across a gap");
  await ada.waitForSelector("[data-testid=gap]", { timeout: 15000 });
  // The join: where the recording before the gap ends and the next begins (the gap
  // row may start a little before the last frame: the recorder notices a lost camera
  // after it stops).
  const gap = await ada.evaluate(async () => {
    const cams = await (await fetch("/api/cameras")).json();
    const id = cams.find((c) => c.name === "front").id;
    const now = Date.now() / 1000;
    const tl = await (await fetch(`/api/cameras/${id}/timeline?from=${now - 600}&to=${now}`)).json();
    return { start: tl.spans[0].end_90k / 90000, end: tl.spans[1].start_90k / 90000 };
  });
  assert.ok(gap.end - gap.start > 2, `a gap of some seconds: ${JSON.stringify(gap)}`);
  await ada.mouse.click(...(await xOf(ada, gap.start - 3)));
  await playing(ada);
  // The recorded pieces of what plays (the clock's map) are known.
  await ada.waitForSelector("[data-testid=current-time][data-pieces='2']", { timeout: 10000 });
  // Where it really started (a click is a few pixels of time).
  const startedAt = JSON.parse(await ada.getAttribute("[data-testid=current-time]", "data-map")).playFrom;
  assert.ok(startedAt < gap.start - 0.5, `started at ${startedAt}, not before the gap ${gap.start}`);
  // Played on past the join, the clock shows a time after the gap...
  await ada.waitForFunction((end) => Number(document.querySelector("[data-testid=current-time]").dataset.sec) >= end + 0.5,
    gap.end, { timeout: 30000 });
  const after = await clockAt(ada);
  const map = JSON.parse(await ada.getAttribute("[data-testid=current-time]", "data-map"));
  // ... exactly the media played plus the gap joined over (not the media alone).
  const skipped = after.wall - (map.playFrom + after.media);
  assert.ok(Math.abs(skipped - (gap.end - gap.start)) < 1.0,
    `at media ${after.media} the clock shows ${after.wall}: ${skipped} s ahead of the media, the gap is ${gap.end - gap.start} s (${JSON.stringify(map)})`);
  assert.match(await ada.textContent("[data-testid=playback-notice]"), /No recording/);
  await ada.screenshot({ path: join(artifacts, "playback-across-gap.png") });

  step("a click in a gap plays from its end, and says so");
  // Zoomed in around the frame playing (just past the gap): a pixel is a tenth of a second.
  for (let i = 0; i < 2; i++) await ada.click("[data-testid=zoom-in]");
  await ada.waitForSelector("[data-testid=gap]");
  await ada.mouse.click(...(await xOf(ada, (gap.start + gap.end) / 2)));
  await playing(ada, 0.1);
  const atGap = await clockAt(ada);
  assert.ok(Math.abs(atGap.wall - atGap.media - gap.end) < 1.0, `played from ${atGap.wall - atGap.media}, the gap ends at ${gap.end}`);
  assert.match(await ada.textContent("[data-testid=playback-notice]"), /No recording .* playing from/);

  step("every view has a URL: a link to a moment plays it; back and forward work");
  const url = ada.url();
  assert.match(url, /\/playback\/front\?t=\d+$/, url);
  const linkT = Math.floor(gap.start - 3);
  const colleague = await as(process.env.OPERATOR);
  await colleague.goto(`${base}/playback/front?t=${linkT}`);
  await playing(colleague, 0.2);
  const linked = await clockAt(colleague);
  assert.ok(Math.abs(linked.wall - linked.media - linkT) < 2.5, `the link to ${linkT} played from ${linked.wall - linked.media}`);
  assert.equal(await colleague.$eval("[data-testid=camera-select]", (s) => s.selectedOptions[0].textContent), "front");
  await colleague.click("header button:has-text('Live')");
  await colleague.waitForSelector(".grid");
  await colleague.goBack();
  await colleague.waitForSelector("[data-testid=timeline]");
  assert.match(colleague.url(), /\/playback\/front\?t=/);
  await colleague.goForward();
  await colleague.waitForSelector(".grid");
  // From a live tile to its playback, and back to live.
  await colleague.click("[data-testid=tile-front] [data-testid=tile-playback]");
  await colleague.waitForSelector("[data-testid=timeline]");
  assert.match(colleague.url(), /\/playback\/front\?t=\d+/);
  await colleague.goBack();
  await colleague.waitForSelector("[data-testid=tile-front]");
  await colleague.close();

  step("times are the site's (UTC+08:00) in one 24-hour format, with the zone beside them");
  const shownClock = await ada.textContent("[data-testid=current-time]");
  assert.match(shownClock, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\+08:00$/, shownClock);
  // The browser runs in UTC here: the wall clock shown is 8 hours ahead of it.
  const sec = Number(await ada.getAttribute("[data-testid=current-time]", "data-sec"));
  const utcHour = new Date(sec * 1000).getUTCHours();
  assert.equal(Number(shownClock.slice(11, 13)), (utcHour + 8) % 24, shownClock);
  assert.equal(await ada.textContent("[data-testid=date-zone]"), "UTC+08:00");

  step("a snapshot of the frame on screen is a registered copy");
  // The console asks in its own modal dialog (focus inside it; Esc cancels).
  await ada.click("[data-testid=snapshot]");
  await ada.waitForSelector("dialog[data-testid=ask][open]");
  assert.equal(await ada.evaluate(() => document.activeElement?.dataset.testid), "ask-input", "focus is in the dialog");
  assert.match(await ada.textContent("#ask-message"), /Who receives this snapshot/);
  await ada.keyboard.press("Escape");
  await ada.waitForSelector("dialog[data-testid=ask]", { state: "detached" });
  await ada.click("[data-testid=snapshot]");
  await ada.fill("[data-testid=ask-input]", "e2e court");
  const [still] = await Promise.all([ada.waitForEvent("download"), ada.click("[data-testid=ask-ok]")]);
  const stillPath = join(artifacts, "snapshot.jpg");
  await still.saveAs(stillPath);
  assert.match(still.suggestedFilename(), /^snapshot-front-\d+\.jpg$/);
  const { readFileSync } = await import("node:fs");
  const bytes = readFileSync(stillPath);
  assert.equal(bytes[0], 0xff); assert.equal(bytes[1], 0xd8);
  console.log(`SNAPSHOT ${stillPath}`);

  step("a bookmark with a note marks the timeline; an administrator turns it into a legal hold in one click");
  await ada.click("[data-testid=bookmark-add]");
  await ada.fill("[data-testid=ask-input]", "suspicious van at the gate");
  await ada.keyboard.press("Enter");
  await ada.waitForSelector("[data-testid=bookmark-row]:has-text('suspicious van at the gate')");
  assert.ok(await ada.locator("[data-testid=bookmark]").count() >= 1, "a marker on the timeline");
  assert.equal(await ada.locator("[data-testid=bookmark-hold]").count(), 0, "an operator places no holds");
  const mgr = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await mgr.goto(`${base}/playback/front?t=${Math.floor(gap.start - 3)}`);
  await mgr.fill("input[name=username]", "manager");
  await mgr.fill("input[name=password]", "the manager's password");
  await mgr.click("button[type=submit]");
  await mgr.waitForSelector("[data-testid=bookmark-row]:has-text('suspicious van at the gate')", { timeout: 20000 });
  await mgr.click("[data-testid=bookmark-row] [data-testid=bookmark-hold]");
  await mgr.waitForSelector("[data-testid=bookmark-msg]:has-text('Legal hold placed')");
  await mgr.close();

  step("the speed shown is the speed played, after a camera switch too");
  await ada.click(".transport button[data-speed='2']");
  await ada.selectOption("[data-testid=camera-select]", { label: "dead" });
  await ada.selectOption("[data-testid=camera-select]", { label: "front" });
  await ada.waitForSelector("[data-testid=span]");
  await ada.mouse.click(...(await xOf(ada, gap.start - 3)));
  await playing(ada, 0.2);
  assert.equal(await ada.evaluate(() => document.querySelector("[data-testid=playback-video]").playbackRate), 2);
  assert.equal(await ada.locator(".transport button.on").textContent(), "2×");

  step("speeds from 1/8× to 16×: the rate played is the rate chosen, and time runs at it");
  const rate = () => ada.evaluate(() => document.querySelector("[data-testid=playback-video]").playbackRate);
  const advance = (ms) => ada.evaluate((ms) => new Promise((done) => {
    const v = document.querySelector("[data-testid=playback-video]");
    const t0 = v.currentTime, ahead = v.buffered.length ? v.buffered.end(v.buffered.length - 1) - t0 : 0;
    setTimeout(() => done({ moved: v.currentTime - t0, ahead }), ms);
  }), ms);
  await ada.mouse.click(...(await xOf(ada, gap.start - 3)));
  await playing(ada, 0.2);
  await ada.click(".transport button[data-speed='16']");
  assert.equal(await rate(), 16);
  assert.equal(await ada.locator(".transport button.on").textContent(), "16×");
  const fast = await advance(1000);
  // Sixteen seconds of video a second (some lost to the browser's timers), unless the
  // recording ends sooner.
  assert.ok(fast.moved >= Math.min(6, fast.ahead - 1), JSON.stringify(fast));
  await ada.click(".transport button[data-speed='0.125']");
  assert.equal(await rate(), 0.125);
  assert.equal(await ada.locator(".transport button.on").textContent(), "1/8×");
  const slow = await advance(1000);
  assert.ok(slow.moved < 0.4, JSON.stringify(slow));
  await ada.keyboard.press("]");
  assert.equal(await rate(), 0.25);
  await ada.click(".transport button[data-speed='1']");

  step("timeline thumbnails: asked for when turned on, key frames of the window, registered, a click plays");
  {
    await ada.click("[data-testid=thumbs-toggle]");
    const strip = await ada.waitForSelector("[data-testid=thumbs-strip]", { timeout: 20000 });
    await ada.waitForFunction(() => {
      const i = document.querySelector("[data-testid=thumbs-strip]");
      return i && i.complete && i.naturalWidth > 0;
    });
    const times = JSON.parse(await strip.getAttribute("data-times"));
    const from = Number(await ada.getAttribute("[data-testid=timeline]", "data-from"));
    const to = Number(await ada.getAttribute("[data-testid=timeline]", "data-to"));
    assert.ok(times.length >= 1 && times.some((x) => x !== null), JSON.stringify(times));
    for (const x of times.filter((x) => x !== null)) assert.ok(x >= from - 10 && x <= to, `${x} in ${from}..${to}`);
    const box = await strip.boundingBox();
    const natural = await ada.evaluate(() => document.querySelector("[data-testid=thumbs-strip]").naturalWidth);
    assert.ok(natural / times.length <= 160, `thumbnails of at most 160 px: ${natural} / ${times.length}`);
    // A click on the last recorded picture plays from its key frame.
    const last = times.map((x, i) => [x, i]).filter(([x]) => x !== null).pop();
    await ada.mouse.click(box.x + ((last[1] + 0.5) / times.length) * box.width, box.y + box.height / 2);
    await playing(ada, 0.1);
    const playFrom = JSON.parse(await ada.getAttribute("[data-testid=current-time]", "data-map")).playFrom;
    assert.ok(Math.abs(playFrom - last[0]) < 1, `plays from the key frame: ${playFrom} vs ${last[0]}`);
    // (Its register entry, with the key frames, is checked in tests/snapshot.rs.)
    await ada.click("[data-testid=thumbs-toggle]");
  }

  step("a bundle of video still being recorded says so in words, and when it will be possible");
  // The console reads date-time inputs as the site's wall time (Asia/Shanghai, the
  // default [site] time_zone), whatever the browser's zone.
  const local = (sec) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(sec * 1000)).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
  };
  const nowSec = Math.floor(Date.now() / 1000);
  await ada.click("[data-testid=export-open]");
  await ada.fill("[data-testid=export-from]", local(nowSec - 3));
  await ada.fill("[data-testid=export-to]", local(nowSec - 1));
  await ada.fill("[data-testid=export-recipient]", "e2e court");
  await ada.fill("[data-testid=export-purpose]", "e2e: the newest seconds");
  await ada.click("[data-testid=export-bundle]");
  await ada.waitForSelector("[data-testid=bundle-status]:has-text('still being recorded')", { timeout: 20000 });
  const bmsg = await ada.textContent("[data-testid=bundle-status]");
  assert.match(bmsg, /camera "front".*try again after about/, bmsg);
  assert.doesNotMatch(bmsg, /segment \d+\/|\.mp4/, `no internal path: ${bmsg}`);
  await ada.screenshot({ path: join(artifacts, "bundle-still-recording.png") });

  step("on a phone (390x844) every screen fits the width and the navigation collapses");
  const phone = await as(process.env.OPERATOR, { width: 390, height: 844 });
  const fits = async (what) => {
    const w = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= 390, `${what} is ${w} px wide on a 390 px screen`);
    const out = await phone.locator("header button:has-text('Log out')").boundingBox();
    assert.ok(out && out.x >= 0 && out.x + out.width <= 390, `${what}: log out is off screen ${JSON.stringify(out)}`);
  };
  await phone.waitForSelector("[data-testid=menu-toggle]");
  assert.equal(await phone.locator("header nav").isVisible(), false, "the navigation is collapsed");
  await fits("live");
  await phone.screenshot({ path: join(artifacts, "phone-live.png") });
  for (const [nav, shot] of [["Playback", "phone-playback.png"], ["Access requests", "phone-requests.png"]]) {
    await phone.click("[data-testid=menu-toggle]");
    await phone.click(`header nav button:has-text('${nav}')`);
    await phone.waitForTimeout(800);
    assert.equal(await phone.locator("header nav").isVisible(), false, "the menu closes after a choice");
    await fits(nav);
    await phone.screenshot({ path: join(artifacts, shot) });
  }

  step("too many failed logins: the page says how long to wait (last: it locks this address out)");
  const guess = await (await browser.newContext()).newPage();
  await guess.goto(base);
  let said = "";
  for (let i = 0; i < 8 && !/try again in \d+ s/.test(said); i++) {
    await guess.fill("input[name=username]", process.env.NOGRANT);
    await guess.fill("input[name=password]", `wrong guess ${i}`);
    await guess.click("button[type=submit]");
    await guess.waitForSelector(".login [role=alert]");
    await guess.waitForTimeout(200);
    said = await guess.textContent(".login [role=alert]");
  }
  assert.match(said, /try again in \d+ s/, said);

  console.log("operator e2e: all steps passed");
} catch (e) {
  console.error(`operator e2e FAILED: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
