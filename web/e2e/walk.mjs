// Every screen of the console, in English and in 简体中文, at 1440×900, 1280×720 and
// 390×844, as an administrator and as a PSB officer, in Debian's Chromium
// (Playwright, playwright-core). Writes a screenshot of each to ARTIFACTS/walk/ (for a
// reviewer to look at), and in Chinese fails on any visible English word outside the
// allow list: names and ids (camera names, user names, rule ids, fact paths), units.
// The printable filing and inspection reports are walked too: the server writes them
// in the session's language.
// Run by crates/vidimus/tests/console_walk.rs.
//
// Env: BASE_URL, ADMIN, ADMIN_PASSWORD, PSB, PSB_PASSWORD, ARTIFACTS.
import { launch, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const shots = join(process.env.ARTIFACTS, "walk");
mkdirSync(shots, { recursive: true });
const day = (offset) => new Date(Date.now() + 8 * 3600e3 + offset * 86400e3).toISOString().slice(0, 10);

const SIZES = [[1440, 900], [1280, 720], [390, 844]];
// Words that may appear in a Chinese page: product and unit names, standards, and the
// names this test itself gives (camera names, user names, system names).
const ALLOWED = new Set([
  "Vidimus", "English", "MiB", "GiB", "KiB", "MB", "GB", "RMB", "SHA", "fps", "UTC", "CSV", "PDF", "JSON", "HTML",
  "HTTPS", "TLS", "ID", "PSB", "CSRF", "MSE", "JPEG", "MP4", "GB/T", "RTSP", "H", "AAC", "HEVC", "kbps", "Mbps", "s", "ms",
  "Asia", "Shanghai", "Ed25519", "x", "px",
  // RTSP clients named in the Sharing view.
  "ffplay", "VLC", "GStreamer",
  // This test's names (cameras, users, the bank).
  "lobby", "gate", "root", "li", "zhao", "Bank", "Example", "Shennan", "Road", "Lobby", "Gate",
  // The rulebook's id.
  "shenzhen-sez-public-safety-video",
]);

/** Visible English words of a page, outside identifiers (a_b, a.b, a-1) and the allow list. */
async function englishWords(page) {
  const text = await page.evaluate(() => {
    // Visible text, and the placeholders, titles and labels a reader also sees.
    const parts = [document.body.innerText];
    for (const el of document.querySelectorAll("[placeholder],[aria-label],[title]")) {
      const style = window.getComputedStyle(el);
      if (style.display === "none" || style.visibility === "hidden") continue;
      for (const a of ["placeholder", "aria-label", "title"]) if (el.getAttribute(a)) parts.push(el.getAttribute(a));
    }
    for (const o of document.querySelectorAll("select option")) parts.push(o.textContent);
    return parts.join("\n");
  });
  const found = new Map();
  // Tokens: runs of non-space, without the punctuation around them ("Penalty:" is the
  // word "Penalty"); a token with _ . / : @ # = or digits inside is an id, a path, a
  // time or a number, not a word.
  for (const raw of text.split(/[\s，。：；、（）()“”"'‘’\[\]{}<>|·—–→…,;!?？！]+/)) {
    const token = raw.replace(/^[.:]+|[.:]+$/g, "");
    if (!/[A-Za-z]/.test(token)) continue;
    if (/[_.\/:@#=0-9]/.test(token)) continue;
    for (const w of token.split(/[^A-Za-z-]+/).filter((w) => /[A-Za-z]{2,}/.test(w))) {
      const bare = w.replace(/^-+|-+$/g, "");
      if (ALLOWED.has(bare) || /^[A-Z0-9-]+$/.test(bare) && bare.length <= 5) continue;
      found.set(bare, (found.get(bare) ?? 0) + 1);
    }
  }
  return found;
}

const browser = await launch();

async function logIn(user, password, lang, [width, height]) {
  const context = await browser.newContext({ viewport: { width, height }, locale: lang === "zh-CN" ? "zh-CN" : "en-US" });
  await context.addInitScript((l) => localStorage.setItem("lang", l), lang);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e}`));
  await page.goto(base);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("header");
  return page;
}

async function seed() {
  // A bank branch with a camera and its completion acceptance 40 days ago: a finding
  // (Art. 18, not filed) and an upcoming duty, so the screens have words to show.
  const page = await logIn(process.env.ADMIN, process.env.ADMIN_PASSWORD, "en", SIZES[0]);
  const csrf = await page.evaluate(() => fetch("/api/session").then((r) => r.json()).then((s) => s.csrf_token));
  const post = async (path, data, ok = [200, 201]) => {
    const r = await page.request.post(new URL(path, base).href, { data, headers: { "x-csrf-token": csrf } });
    assert.ok(ok.includes(r.status()), `${path}: ${r.status()} ${await r.text()}`);
    return r;
  };
  await post("/api/registry/systems", {
    id: "bank-7", name: "Example Bank Shennan Road", district: "futian", site_category: "item_4",
    installed: true, owner: "Example Bank", manager: "Example Bank",
  });
  await post("/api/registry/systems/bank-7/cameras", {
    id: "lobby", name: "Lobby", location_type: "bank_hall", public_area: true, signage: false, purpose: "营业厅安全防范",
  });
  await post("/api/registry/systems/bank-7/events", { kind: "completion_acceptance", date: day(-40) });
  await post("/api/holds", { camera_id: 1, from: String(Date.now() / 1000 - 600), to: String(Date.now() / 1000 - 300), reason: "案件 7" });
  await page.context().close();
}

/** The screens each user walks: [name, how to get there]. */
function screens(admin) {
  const nav = (name) => async (page) => {
    const menu = page.locator("[data-testid=menu-toggle]");
    if (await menu.isVisible()) await menu.click();
    await page.locator(`header nav button[data-view=${name}]`).click();
  };
  const list = [
    ["live", nav("live"), "main"],
    ["playback", nav("playback"), "main"],
    ["sync", nav("sync"), "[data-testid=sync]"],
  ];
  // (Only cameras one has a grant for are listed: the officer has none here.)
  if (admin) {
    list.push(["sync-two", async (page) => {
      await page.click("[data-testid=sync-pick-lobby]");
      await page.click("[data-testid=sync-pick-gate]");
    }, "[data-testid=sync-tile-gate]"]);
  }
  list.push(["requests", nav("requests"), "main"]);
  if (admin) {
    list.push(["holds", nav("holds"), "main"], ["masks", nav("masks"), "[data-testid=mask-editor]"],
      ["register", nav("register"), "main"]);
  }
  list.push(["sharing", nav("sharing"), "[data-testid=sharing]"]);
  list.push(["compliance", nav("compliance"), "[data-testid=compliance]"]);
  list.push(["compliance-system", async (page) => {
    await page.click("[data-testid=cmp-open-bank-7]");
  }, "[data-testid=cmp-detail]"]);
  // Each tab of the system's page.
  for (const tab of ["findings", "particulars", "cameras", "documents", "workflows", ...(admin ? [] : ["inspections"]), "history"]) {
    list.push([`compliance-${tab}`, async (page) => { await page.click(`[data-testid=tab-${tab}]`); }, "[data-testid=cmp-detail]"]);
  }
  if (!admin) {
    list.push(["checklist", async (page) => { await page.click("[data-testid=tab-inspections]"); }, "[data-testid=cmp-checklist]"]);
    list.push(["checklist-loaded", async (page) => { await page.click("[data-testid=cmp-checklist]"); }, "[data-testid=cmp-checklist-table]"]);
  }
  return list;
}

const problems = [];
try {
  step("seed: a registered bank branch with a finding, a legal hold");
  await seed();
  step("synchronized playback: two cameras at one wall time, one pause, one speed, each playback registered");
  {
    const page = await logIn(process.env.ADMIN, process.env.ADMIN_PASSWORD, "en", SIZES[0]);
    const since = Date.now() / 1000 - 1;
    // Both cameras have recorded the last 25 s.
    for (let i = 0; ; i++) {
      const ready = await page.evaluate(async () => {
        const cams = await (await fetch("/api/cameras")).json();
        const now = Date.now() / 1000;
        const tls = await Promise.all(cams.map((c) => fetch(`/api/cameras/${c.id}/timeline?from=${now - 40}&to=${now}`).then((r) => r.json())));
        return tls.length === 2 && tls.every((t) => t.spans.some((s) => s.start_90k / 90000 < now - 25));
      });
      if (ready) break;
      assert.ok(i < 90, "two cameras recording for 25 s");
      await page.waitForTimeout(1000);
    }
    await page.click("header nav button[data-view=sync]");
    await page.click("[data-testid=sync-pick-lobby]");
    await page.click("[data-testid=sync-pick-gate]");
    await page.waitForSelector("[data-testid=sync-tile-gate]");
    // Twenty seconds ago, on the shared timeline.
    const tl = await page.locator("[data-testid=sync-timeline]").boundingBox();
    const from = Number(await page.getAttribute("[data-testid=sync-timeline]", "data-from"));
    const to = Number(await page.getAttribute("[data-testid=sync-timeline]", "data-to"));
    const at = Date.now() / 1000 - 20;
    await page.mouse.click(tl.x + ((at - from) / (to - from)) * tl.width, tl.y + 10);
    const walls = () => page.evaluate(() => ["lobby", "gate"].map((n) => {
      const v = document.querySelector(`[data-testid=sync-video-${n}]`);
      return v ? { wall: Number(v.dataset.wall || NaN), t: v.currentTime, paused: v.paused, rate: v.playbackRate } : null;
    }));
    await page.waitForFunction(() => ["lobby", "gate"].every((n) => {
      const v = document.querySelector(`[data-testid=sync-video-${n}]`);
      return v && v.currentTime > 1 && v.dataset.wall;
    }), null, { timeout: 20000 });
    await page.waitForTimeout(1500);
    const [a, b] = await walls();
    assert.ok(Math.abs(a.wall - b.wall) < 0.6, `in step: ${JSON.stringify([a, b])}`);
    assert.ok(Math.abs(a.wall - at) < 3, `at the clicked time: ${JSON.stringify(a)} vs ${at}`);
    await page.click(".sync .speeds button[data-speed='4']");
    await page.waitForTimeout(300);
    assert.deepEqual((await walls()).map((w) => w.rate), [4, 4]);
    await page.click("[data-testid=sync-pause]");
    await page.waitForTimeout(500);
    assert.deepEqual((await walls()).map((w) => w.paused), [true, true]);
    const register = await page.evaluate(() => fetch("/api/register?limit=50").then((r) => r.json()));
    const played = register.filter((e) => e.action === "view_recorded" && e.allowed && Date.parse(e.at) / 1000 >= since).map((e) => e.camera);
    assert.ok(played.includes("lobby") && played.includes("gate"), `each camera's playback registered: ${JSON.stringify(played)}`);
    await page.context().close();
  }
  for (const lang of ["en", "zh-CN"]) {
    for (const size of SIZES) {
      for (const [who, user, password] of [["admin", process.env.ADMIN, process.env.ADMIN_PASSWORD], ["psb", process.env.PSB, process.env.PSB_PASSWORD]]) {
        step(`${lang} ${size.join("x")} ${who}`);
        const page = await logIn(user, password, lang, size);
        for (const [name, go, ready] of screens(who === "admin")) {
          await go(page);
          await page.waitForSelector(ready);
          await page.waitForTimeout(700); // answers arrive, the page settles
          const file = join(shots, `${lang}-${size.join("x")}-${who}-${name}.png`);
          await page.screenshot({ path: file, fullPage: true });
          const width = await page.evaluate(() => document.documentElement.scrollWidth);
          if (width > size[0] + 1) problems.push(`${lang} ${size.join("x")} ${who} ${name}: the page is ${width} px wide`);
          if (lang === "zh-CN") {
            const words = await englishWords(page);
            if (words.size > 0) problems.push(`${lang} ${size.join("x")} ${who} ${name}: English words ${JSON.stringify(Object.fromEntries(words))}`);
          }
        }
        if (lang === "zh-CN" && who === "admin" && size === SIZES[0]) {
          // What the server refuses, it says in the reader's language: a camera in a
          // hotel guest room (Art. 10, Art. 39(1)).
          await page.click("[data-testid=tab-cameras]");
          // A camera's place is named, not shown by its id (bank_hall).
          assert.ok((await page.textContent("[data-testid=cmp-cameras]")).includes("银行营业厅"), "the place type by its name");
          await page.fill("[data-testid=cam-id]", "room-301");
          await page.fill("[data-testid=cam-location]", "hotel_guest_room");
          await page.click("[data-testid=cmp-add-camera]");
          const refusal = await (await page.waitForSelector("[data-testid=cmp-detail] [data-testid=cmp-error]")).textContent();
          assert.ok(refusal.includes("第十条") && refusal.includes("第三十九条第（一）项"), refusal);
          const words = await englishWords(page);
          if (words.size > 0) problems.push(`zh-CN admin refusal: English words ${JSON.stringify(Object.fromEntries(words))}`);
          // An API error without a session is answered in Accept-Language's language.
          const r = await fetch(new URL("/api/cameras", base), { headers: { "accept-language": "zh-CN,zh;q=0.9" } });
          assert.equal(r.status, 401);
          assert.equal(r.headers.get("content-language"), "zh-CN");
          assert.equal((await r.json()).error.message, "请先登录。");
        }
        // The printable reports, in the session's language.
        if (size === SIZES[0]) {
          for (const kind of ["filing", "inspection"]) {
            const r = await page.goto(new URL(`/api/compliance/systems/bank-7/report.html?kind=${kind}`, base).href);
            assert.equal(r.status(), 200, `${kind} report`);
            await page.screenshot({ path: join(shots, `${lang}-${who}-report-${kind}.png`), fullPage: true });
            const html = await page.content();
            if (lang === "zh-CN") {
              assert.ok(html.includes('lang="zh-CN"'), `${kind} report in Chinese`);
              assert.ok(html.includes("第十八条"), `${kind} report cites articles the Chinese way`);
              const words = await englishWords(page);
              if (words.size > 0) problems.push(`${lang} ${who} ${kind} report: English words ${JSON.stringify(Object.fromEntries(words))}`);
            } else {
              assert.ok(html.includes("Art. 18"), `${kind} report in English`);
            }
          }
        }
        await page.context().close();
      }
    }
  }
  for (const p of problems) console.log(`problem: ${p}`);
  assert.equal(problems.length, 0, `${problems.length} problem(s), listed above`);
  console.log("walk e2e ok");
} finally {
  await browser.close();
}
