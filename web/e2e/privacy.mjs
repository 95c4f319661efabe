// Static privacy masks in the console (issue 13, Art. 10, 30), in Debian's Chromium: an
// administrator of the system manager draws a polygon over a camera's live picture and
// saves it; an operator without the right to lift it then watches that camera on the
// live wall, and the pixels the video element shows are black where the mask is (the
// server burned it in; nothing is drawn over the video), with the tile saying so; and
// its recorded playback is the server's masked stream. Run
// by crates/vidimus/tests/privacy_mask.rs, which checks the saved mask and the register.
//
// Then the administrator removes the mask: only proposed (the two-person rule), shown
// dashed, not approvable by its proposer; a second administrator approves it.
//
// Env: BASE_URL, ARTIFACTS, ADMIN_USER, ADMIN_PASSWORD, OP_USER, OP_PASSWORD, CAMERA,
// SECOND_ADMIN_USER, SECOND_ADMIN_PASSWORD.
import { launch, logIn, step } from "./support.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const artifacts = join(process.env.ARTIFACTS, "privacy");
mkdirSync(artifacts, { recursive: true });
const camera = process.env.CAMERA;
// The polygon, in fractions of the picture; the regions measured inside and outside.
const CORNERS = [[0.1, 0.3], [0.4, 0.3], [0.4, 0.7], [0.1, 0.7]];
const INSIDE = [0.14, 0.36, 0.35, 0.65];
const OUTSIDE = [0.55, 0.95, 0.15, 0.85];

/** Mean luma of a region (fractions x0, x1, y0, y1) of the frame a video element shows. */
const meanLuma = (page, selector, [x0, x1, y0, y1]) => page.evaluate(({ selector, x0, x1, y0, y1 }) => {
  const v = document.querySelector(selector);
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  const [X0, X1, Y0, Y1] = [x0 * c.width, x1 * c.width, y0 * c.height, y1 * c.height].map(Math.round);
  const d = g.getImageData(X0, Y0, X1 - X0, Y1 - Y0).data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  return sum / (d.length / 4);
}, { selector, x0, x1, y0, y1 });

const playing = (page, selector) => page.waitForFunction((s) => {
  const v = document.querySelector(s);
  return v && v.videoWidth > 0 && v.currentTime > 1;
}, selector, { timeout: 60_000 });

const browser = await launch();
try {
  step("the administrator opens Privacy masks; the camera's live picture plays under the editor");
  const admin = await logIn(await browser.newContext({ viewport: { width: 1400, height: 900 } }), base,
    process.env.ADMIN_USER, process.env.ADMIN_PASSWORD);
  await admin.click("[data-testid=nav-masks]");
  await admin.waitForSelector("[data-testid=mask-editor]");
  await admin.selectOption("[data-testid=mask-camera]", { label: camera });
  await playing(admin, "[data-testid=mask-editor] video");
  const before = await meanLuma(admin, "[data-testid=mask-editor] video", INSIDE);
  assert.ok(before > 30, `the picture is dark where the mask goes before it is set (${before.toFixed(1)})`);
  assert.equal(await admin.textContent("[data-testid=mask-state]"), "No masks");

  step("four corners clicked on the picture, the polygon closed and saved");
  const box = await admin.locator("[data-testid=mask-board]").boundingBox();
  for (const [x, y] of CORNERS) await admin.mouse.click(box.x + x * box.width, box.y + y * box.height);
  await admin.click("[data-testid=mask-close]");
  assert.equal(await admin.locator("[data-testid=mask-poly]").count(), 1);
  await admin.click("[data-testid=mask-save]");
  await admin.waitForFunction(() => document.querySelector("[data-testid=mask-state]")?.textContent.startsWith("Saved: 1 polygon,"));
  await admin.screenshot({ path: join(artifacts, "editor.png") });

  step("an operator's live tile of that camera is masked by the server, and says so");
  const op = await logIn(await browser.newContext({ viewport: { width: 1400, height: 900 } }), base,
    process.env.OP_USER, process.env.OP_PASSWORD);
  const tile = `[data-testid="tile-${camera}"] video`;
  await op.waitForSelector(`[data-testid="tile-${camera}"] [data-testid=tile-masked]`, { timeout: 30_000 });
  await playing(op, tile);
  const inside = await meanLuma(op, tile, INSIDE);
  const outside = await meanLuma(op, tile, OUTSIDE);
  await op.screenshot({ path: join(artifacts, "operator-live.png") });
  assert.ok(inside < 24, `inside the mask the operator sees luma ${inside.toFixed(1)}, not black`);
  assert.ok(outside > 30, `outside the mask the picture is gone too (${outside.toFixed(1)})`);
  // Nothing is laid over the video: the mask is in the pixels.
  assert.equal(await op.locator(`[data-testid="tile-${camera}"] svg, [data-testid="tile-${camera}"] canvas`).count(), 0);
  console.log(`masked live tile: inside ${inside.toFixed(1)}, outside ${outside.toFixed(1)}`);

  step("recorded playback of that camera is the server's masked stream");
  await op.goto(`${base}/playback/${encodeURIComponent(camera)}?t=${Math.floor(Date.now() / 1000 - 6)}`);
  await op.waitForSelector("[data-testid=playback-masked]", { timeout: 30_000 });
  await playing(op, "[data-testid=playback-video]");
  const played = await meanLuma(op, "[data-testid=playback-video]", INSIDE);
  await op.screenshot({ path: join(artifacts, "operator-playback.png") });
  assert.ok(played < 24, `inside the mask the operator's playback shows luma ${played.toFixed(1)}`);
  assert.ok(await meanLuma(op, "[data-testid=playback-video]", OUTSIDE) > 30, "the rest of the picture plays");
  console.log(`masked playback: inside ${played.toFixed(1)}`);

  step("the administrator removes the mask: it is only proposed, and the proposer cannot approve it");
  const cameraId = await admin.$eval("[data-testid=mask-camera]", (s) => s.value);
  const saved = await admin.evaluate(async (id) => (await (await fetch(`/api/cameras/${id}/privacy-mask`)).json()).polygons, cameraId);
  console.log(`saved polygons ${JSON.stringify(saved)}`);
  await admin.click("[data-testid=mask-clear]");
  await admin.click("[data-testid=mask-save]");
  await admin.waitForSelector("[data-testid=mask-pending]");
  assert.ok((await admin.textContent("[data-testid=mask-state]")).startsWith("Saved: 1 polygon,"), "the mask stays while the removal waits");
  assert.equal(await admin.locator("[data-testid=mask-poly]").count(), 1);
  assert.match(await admin.textContent("[data-testid=mask-pending]"), new RegExp(`proposed by ${process.env.ADMIN_USER}`));
  await admin.click("[data-testid=mask-approve]");
  await admin.waitForSelector("[data-testid=mask-error]");
  assert.match(await admin.textContent("[data-testid=mask-error]"), /second administrator/);
  await admin.screenshot({ path: join(artifacts, "pending.png") });

  step("a second administrator sees the proposed change and approves it: the mask is gone");
  const second = await logIn(await browser.newContext({ viewport: { width: 1400, height: 900 } }), base,
    process.env.SECOND_ADMIN_USER, process.env.SECOND_ADMIN_PASSWORD);
  await second.click("[data-testid=nav-masks]");
  await second.waitForSelector("[data-testid=mask-editor]");
  // (Listed as masked now.)
  await second.selectOption("[data-testid=mask-camera]", { value: cameraId });
  await second.waitForSelector("[data-testid=mask-pending]");
  await second.click("[data-testid=mask-approve]");
  await second.waitForFunction(() => document.querySelector("[data-testid=mask-state]")?.textContent === "No masks");
  assert.equal(await second.locator("[data-testid=mask-pending]").count(), 0);
  console.log("mask removed by two administrators");
} finally {
  await browser.close();
}
