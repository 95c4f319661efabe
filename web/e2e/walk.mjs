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
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const shots = join(process.env.ARTIFACTS, "walk");
mkdirSync(shots, { recursive: true });
const step = (s) => console.log(`step: ${s}`);
const day = (offset) => new Date(Date.now() + 8 * 3600e3 + offset * 86400e3).toISOString().slice(0, 10);

const SIZES = [[1440, 900], [1280, 720], [390, 844]];
// Words that may appear in a Chinese page: product and unit names, standards, and the
// names this test itself gives (camera names, user names, system names).
const ALLOWED = new Set([
  "Vidimus", "English", "MiB", "GiB", "KiB", "MB", "GB", "RMB", "SHA", "fps", "UTC", "CSV", "PDF", "JSON", "HTML",
  "HTTPS", "TLS", "ID", "PSB", "CSRF", "MSE", "JPEG", "MP4", "GB/T", "RTSP", "H", "AAC", "HEVC", "kbps", "Mbps", "s", "ms",
  "Asia", "Shanghai", "Ed25519", "x", "px",
  // This test's names.
  "lobby", "gate", "root", "li", "wang", "Bank", "Example", "Shennan", "Road", "Lobby", "Gate", "incident", "safety",
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
  // Tokens: runs of non-space; a token with _ . / : @ # = or digits is an id, a path, a
  // time or a number, not a word.
  for (const token of text.split(/[\s，。：；、（）()“”"'‘’\[\]{}<>|·—–→…,;!?？！]+/)) {
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

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

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
    id: "lobby", name: "Lobby", location_type: "bank_hall", public_area: true, signage: false, purpose: "safety",
  });
  await post("/api/registry/systems/bank-7/events", { kind: "completion_acceptance", date: day(-40) });
  await post("/api/holds", { camera_id: 1, from: String(Date.now() / 1000 - 600), to: String(Date.now() / 1000 - 300), reason: "incident 7" });
  await page.context().close();
}

/** The screens each user walks: [name, how to get there]. */
function screens(admin) {
  const nav = (name) => async (page) => {
    const menu = page.locator("[data-testid=menu-toggle]");
    if (await menu.isVisible()) await menu.click();
    await page.locator(`header nav button:nth-child(${name})`).click();
  };
  const list = [
    ["live", nav(1), "[data-testid=live], .live, main"],
    ["playback", nav(2), "main"],
    ["requests", nav(3), "main"],
  ];
  if (admin) {
    list.push(["holds", nav(4), "main"], ["register", nav(5), "main"], ["compliance", nav(6), "[data-testid=compliance]"]);
  } else {
    list.push(["compliance", nav(4), "[data-testid=compliance]"]);
  }
  list.push(["compliance-system", async (page) => {
    await page.click("[data-testid=cmp-open-bank-7]");
  }, "[data-testid=cmp-detail]"]);
  if (!admin) {
    list.push(["checklist", async (page) => { await page.click("[data-testid=cmp-checklist]"); }, "[data-testid=cmp-checklist-table]"]);
  }
  return list;
}

const problems = [];
try {
  step("seed: a registered bank branch with a finding, a legal hold");
  await seed();
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
