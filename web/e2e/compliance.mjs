// The compliance console end to end in Debian's Chromium (Playwright, playwright-core):
// an administrator registers a bank branch, is refused a camera in a hotel guest room
// (Art. 10), records the completion acceptance 31 days ago and sees the Art. 18 finding
// with its penalty article and fine ranges, files with the materials checklist and
// sees the finding clear; changing the particulars moves the responsible entity
// (Art. 9 ¶2); the printable filing report opens; the district's PSB sees
// the system, loads the Art. 36 checklist and orders a correction.
// Run by crates/vidimus/tests/console_compliance.rs.
//
// Env: BASE_URL, ADMIN, ADMIN_PASSWORD, PSB, PSB_PASSWORD, ARTIFACTS.
import { launch, logIn as logInAs, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const day = (offset) => new Date(Date.now() + 8 * 3600e3 + offset * 86400e3).toISOString().slice(0, 10);

const browser = await launch();

async function logIn(context, user, password) {
  const page = await logInAs(context, base, user, password);
  await page.click("[data-testid=nav-compliance]");
  await page.waitForSelector("[data-testid=compliance]");
  return page;
}

// A system's page is in tabs.
const tab = (page, name) => page.click(`[data-testid=cmp-tabs] [data-testid=tab-${name}]`);

try {
  const admin = await logIn(await browser.newContext({ viewport: { width: 1400, height: 900 } }), process.env.ADMIN, process.env.ADMIN_PASSWORD);

  step("register a bank branch (Art. 9 ¶1 item 4)");
  await admin.fill("[data-testid=sys-id]", "bank-0042");
  await admin.fill("[data-testid=sys-name]", "Example Bank, Shennan Road");
  await admin.selectOption("[data-testid=sys-district]", "futian");
  await admin.selectOption("[data-testid=sys-category]", "item_4");
  await admin.click("[data-testid=cmp-register]");
  await admin.waitForSelector("[data-testid=cmp-detail] h3:has-text('Example Bank, Shennan Road')");

  step("a camera in a hotel guest room is refused, citing Art. 10 and Art. 39(1)");
  await tab(admin, "cameras");
  await admin.fill("[data-testid=cam-id]", "room-301");
  await admin.fill("[data-testid=cam-location]", "hotel_guest_room");
  await admin.click("[data-testid=cmp-add-camera]");
  const refusal = await admin.waitForSelector("[data-testid=cmp-detail] [data-testid=cmp-error]");
  const text = await refusal.textContent();
  assert.ok(text.includes("Art. 10") && text.includes("Art. 39(1)"), text);
  assert.equal(await admin.locator("[data-testid=cmp-cameras] li").count(), 0);

  step("a lobby camera linked to the recorded camera is registered");
  await admin.fill("[data-testid=cam-id]", "lobby");
  await admin.fill("[data-testid=cam-location]", "lobby");
  await admin.selectOption("[data-testid=cam-recorder]", "lobby");
  await admin.click("[data-testid=cmp-add-camera]");
  await admin.waitForSelector("[data-testid=cmp-cameras] li:has-text('lobby')");

  step("a camera is changed in place: no sign means a finding (Art. 20), putting one up clears it");
  await admin.click("[data-testid=cmp-cameras] li:has-text('lobby') [data-testid=edit-entry]");
  await admin.locator("[data-testid=entry-editor] label[data-field=signage] input").uncheck();
  await admin.click("[data-testid=entry-save]");
  await admin.waitForSelector("[data-testid=cmp-cameras] li:has-text('lobby') [data-testid=edit-entry]");
  await tab(admin, "findings");
  await admin.waitForSelector("[data-testid=cmp-findings] li[data-rule='art20.signage']");
  await tab(admin, "cameras");
  await admin.click("[data-testid=cmp-cameras] li:has-text('lobby') [data-testid=edit-entry]");
  await admin.locator("[data-testid=entry-editor] label[data-field=signage] input").check();
  await admin.click("[data-testid=entry-save]");
  await admin.waitForFunction(() => !document.querySelector("[data-testid=cmp-findings] li[data-rule='art20.signage']"));
  assert.equal(await admin.locator("[data-testid=cmp-cameras] li").count(), 1, "changed, not removed and added again");

  step("a design plan with its file: the registry keeps it and its SHA-256");
  await tab(admin, "documents");
  await admin.selectOption("[data-testid=doc-kind]", "design_plan");
  await admin.fill("[data-testid=doc-title]", "Design plan v3");
  await admin.click("[data-testid=cmp-add-document]");
  const upload = await admin.waitForSelector("[data-testid=cmp-documents] input[type=file]");
  await upload.setInputFiles({ name: "plan-v3.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 design plan") });
  const link = await admin.waitForSelector("[data-testid=cmp-documents] a[data-testid^=doc-file-]");
  assert.ok((await admin.textContent("[data-testid=cmp-documents]")).includes("plan-v3.pdf"));
  const file = await admin.request.get(new URL(await link.getAttribute("href"), base).href);
  assert.equal(await file.text(), "%PDF-1.4 design plan");

  step("completion acceptance 31 days ago: the Art. 18 finding with Art. 41(1) and its fines");
  await tab(admin, "workflows");
  await admin.selectOption("[data-testid=duty-kind]", "completion_acceptance");
  await admin.fill("[data-testid=duty-date]", day(-31));
  await admin.click("[data-testid=cmp-record]");
  await tab(admin, "findings");
  const finding = await admin.waitForSelector("[data-testid=cmp-findings] li[data-rule='art18.filing_deadline']");
  const ftext = await finding.textContent();
  assert.ok(ftext.includes("Art. 18 ¶1") && ftext.includes("Art. 41(1)"), ftext);
  assert.ok(ftext.includes("unit 10,000–30,000 RMB (shall)"), ftext);
  assert.ok(ftext.includes(`deadline ${day(-1)}`), ftext);
  const row = await admin.waitForSelector("[data-testid=cmp-systems] tr[data-system='bank-0042'] .cmp-finding[data-rule='art18.filing_deadline']");
  assert.ok((await row.textContent()).includes("Art. 41(1)"));
  await finding.scrollIntoViewIfNeeded();
  await admin.screenshot({ path: join(artifacts, "compliance-finding.png") });

  step("filing with the materials checklist clears the finding");
  await tab(admin, "workflows");
  for (const m of await admin.locator("[data-testid=cmp-filing] input[data-material]").all()) await m.check();
  await admin.fill("[data-testid=filing-date]", day(0));
  await admin.click("[data-testid=cmp-file]");
  await tab(admin, "history");
  await admin.waitForSelector("[data-testid=cmp-events] tr[data-kind=filing]");
  await admin.waitForFunction(() => !document.querySelector("[data-testid=cmp-findings] li[data-rule='art18.filing_deadline']"));
  await admin.waitForFunction(() => !document.querySelector("[data-testid=cmp-systems] .cmp-finding[data-rule='art18.filing_deadline']"));
  await admin.locator("[data-testid=cmp-detail] h3").scrollIntoViewIfNeeded();
  await admin.screenshot({ path: join(artifacts, "compliance-filed.png") });

  step("changing the particulars: the responsible entity follows Art. 9 ¶2");
  await tab(admin, "particulars");
  const form = admin.locator("[data-testid=cmp-change-form]");
  await form.getByRole("textbox", { name: "Owner", exact: true }).fill("Shenzhen Property Co.");
  await form.getByRole("textbox", { name: "User (right to use)", exact: true }).fill("Example Bank Shenzhen Branch");
  await admin.click("[data-testid=cmp-change]");
  await admin.waitForSelector("[data-testid=cmp-detail] p:has-text('Shenzhen Property Co.')");
  await form.locator("input[data-flag=state_owned]").check();
  await admin.click("[data-testid=cmp-change]");
  const entity = await admin.waitForSelector("[data-testid=cmp-detail] p:has-text('the State being the owner')");
  assert.ok((await entity.textContent()).includes("Example Bank Shenzhen Branch"));

  step("the printable filing report");
  const href = await admin.getAttribute("[data-testid=cmp-print-filing]", "href");
  const report = await admin.context().newPage();
  await report.goto(new URL(href, base).href);
  const body = await report.textContent("body");
  assert.ok(body.includes("Filing of a public safety video image information system") && body.includes("Filing declaration form"), body.slice(0, 400));
  await report.screenshot({ path: join(artifacts, "filing-report.png"), fullPage: true });

  step("the district's PSB sees the system, loads the checklist and orders a correction");
  const psb = await logIn(await browser.newContext({ viewport: { width: 1400, height: 900 } }), process.env.PSB, process.env.PSB_PASSWORD);
  await psb.waitForSelector("h3:has-text('Systems of my district')");
  // Its region was typed "Futian"; the system's district was chosen from the list:
  // one district, whatever the spelling, filtered by the list too.
  await psb.waitForSelector("[data-system=bank-0042] td:has-text('Futian')");
  // Categories in words with their article, not "item_4".
  await psb.waitForSelector("[data-system=bank-0042] td:has-text('Finance and securities, armoured transport, valuables — Art. 9 ¶1 item 4')");
  await psb.selectOption("[data-testid=cmp-district]", "futian");
  await psb.waitForSelector("[data-system=bank-0042]");
  await psb.selectOption("[data-testid=cmp-district]", "nanshan");
  await psb.waitForSelector("[data-testid=compliance] p:has-text('No systems')");
  await psb.selectOption("[data-testid=cmp-district]", "");
  await psb.click("[data-testid=cmp-open-bank-0042]");
  // The PSB acknowledges receipt of the filing (Art. 18); the manager sees it.
  await psb.click("[data-testid=cmp-acknowledge]");
  await psb.waitForSelector(`[data-testid=cmp-acked]:has-text('acknowledged by the public security organ on ${day(0)}')`);
  await psb.click("[data-testid=cmp-checklist]");
  await psb.waitForSelector("[data-testid=cmp-checklist-table] th:has-text('Art. 36 ¶2(4)')");
  await psb.fill("[data-order='art24.responsible_persons']", day(15));
  await psb.click("[data-testid=cmp-inspect]");
  await tab(psb, "history");
  await psb.waitForSelector("[data-testid=cmp-events] tr[data-kind=correction_notice]");
  await tab(psb, "findings");
  const corrected = await psb.waitForSelector("[data-testid=cmp-findings] li[data-rule='art24.responsible_persons']:has-text('correct by')");
  assert.ok((await corrected.textContent()).includes(day(15)));
  assert.equal(await psb.locator("[data-testid=cmp-add-camera]").count(), 0, "the PSB does not keep the registry");
  await tab(psb, "inspections");
  await psb.locator("[data-testid=cmp-checklist-table]").scrollIntoViewIfNeeded();
  await psb.screenshot({ path: join(artifacts, "compliance-psb.png") });
  await admin.reload();
  await admin.click("[data-testid=nav-compliance]");
  await admin.click("[data-testid=cmp-open-bank-0042]");
  await tab(admin, "workflows");
  await admin.waitForSelector(`[data-testid=cmp-filing-state]:has-text('acknowledged by the public security organ on ${day(0)}')`);
  const filingPage = await admin.request.get(new URL(href, base).href);
  assert.ok((await filingPage.text()).includes(`data-acknowledged="${day(0)}"`), "the printable filing says it was acknowledged");
  console.log("compliance e2e ok");
} finally {
  await browser.close();
}
