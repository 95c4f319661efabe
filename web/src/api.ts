// The Vidimus HTTP API (see docs/api.md). The session cookie is HttpOnly; the CSRF
// token from login/session is sent on every state-changing request.

export interface Session { username: string; role: string; csrf_token: string; org_kind: string; request_kinds: string[]; lang: string }
export interface Camera { id: number; name: string; url: string; status: string; frames_received: number; last_error: string | null; privacy_masked: boolean }
export interface Span { start_90k: number; end_90k: number; start: string; end: string }
export interface Gap { start_90k: number; end_90k: number | null; start: string; end: string | null; cause: string }
export interface Timeline { camera_id: number; spans: Span[]; gaps: Gap[] }
export interface Alarm { id: string; severity: "critical" | "warning"; message: string; since: string; acknowledged: boolean; note: string | null }
export const acknowledgeAlarm = (id: string) => call<void>("POST", `/api/alarms/${encodeURIComponent(id)}/ack`);
export interface SiteStatus {
  alarms: Alarm[]; recording_paused: boolean; disk_free_bytes: number; disk_total_bytes: number;
  capacity: { status: string; days_storable: number | null; message: string } | null;
  tls_fingerprint: string | null; tls_self_signed: boolean; time_zone: string;
}

export class ApiError extends Error {
  /** Seconds to wait (`Retry-After`), when the server says. */
  public retryAfter: number | null = null;
  constructor(public status: number, public code: string, message: string) { super(message); }
}

let csrf = "";
// The language chosen in the console: sent with every request (the server answers in
// it: alarms, findings, errors) and kept with the session for pages opened by link.
let lang = "en";
export function setApiLang(l: string) { lang = l; }
export const chooseLanguage = (l: string) => call<void>("PUT", "/api/session/language", { lang: l });

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "accept-language": lang };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (!r.ok) {
    let code = "error", message = r.statusText;
    try { const j = await r.json(); code = j.error.code; message = j.error.message; } catch { /* not JSON */ }
    const e = new ApiError(r.status, code, message);
    const wait = Number(r.headers.get("retry-after"));
    if (wait > 0) e.retryAfter = wait;
    throw e;
  }
  return r.status === 204 ? (undefined as T) : r.json();
}

export async function login(username: string, password: string, totp?: string): Promise<Session> {
  const s = await call<Session>("POST", "/api/login", { username, password, totp: totp || undefined, lang });
  csrf = s.csrf_token;
  return s;
}

export async function session(): Promise<Session | null> {
  try {
    const s = await call<Session>("GET", "/api/session");
    csrf = s.csrf_token;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export const logout = () => call<void>("POST", "/api/logout");
export interface BundleInfo { export_id: string; bytes: number; download: string; key_fingerprint: string; start: string; end: string; frames: number }
export const makeBundle = (id: number, fromSec: number, toSec: number, purpose: string, recipient: string, destination: string, grant?: number) =>
  call<BundleInfo>("POST", `/api/cameras/${id}/bundles`, { from: fromSec.toFixed(3), to: toSec.toFixed(3), purpose, recipient, destination, grant: grant ?? null });
/** A publication (Art. 31): anonymized, re-checked, registered; made as a job. */
export interface Finding { frame: number; kind: string; rect: { x1: number; y1: number; x2: number; y2: number }; score: number }
export type PublicationState =
  | { state: "running"; done: number; total: number }
  | { state: "published"; frames: number; duration_secs: number; sha256: string; mp4_bytes: number; bundle_bytes: number;
      leaf_index: number; register_entry: number; rechecked_frames: number; recheck_found: number }
  | { state: "blocked"; left: number; findings: Finding[]; register_entry: number }
  | { state: "failed"; error: string };
export type Publication = { publication_id: string; grant_id: number; camera_id: number; camera: string; from: string; to: string;
  purpose: string; recipient: string; figures: boolean; strict: boolean } & PublicationState;
export const startPublication = (id: number, fromSec: number, toSec: number, purpose: string, recipient: string,
  figures: boolean, strict: boolean, grant?: number) =>
  call<Publication>("POST", `/api/cameras/${id}/publications`,
    { from: fromSec.toFixed(3), to: toSec.toFixed(3), purpose, recipient, figures, strict, grant: grant ?? null });
export const publication = (id: string) => call<Publication>("GET", `/api/publications/${id}`);
export const publicationUrl = (id: string, file: "publication.mp4" | "publication.vpub") => `/api/publications/${id}/${file}`;
export interface Hold { id: number; camera_id: number; from: string; to: string; reason: string; created_by: string; created: string; released_by: string | null; released: string | null }
export const holds = (all = false) => call<Hold[]>("GET", `/api/holds${all ? "?all=true" : ""}`);
export const placeHold = (camera_id: number, fromSec: number, toSec: number, reason: string) =>
  call<{ id: number }>("POST", "/api/holds", { camera_id, from: fromSec.toFixed(3), to: toSec.toFixed(3), reason });
export const releaseHold = (id: number) => call<void>("POST", `/api/holds/${id}/release`);
export interface Grant { id: number; request_id: number; kind: string; purpose: string; cameras: number[]; actions: string[]; live: boolean; from: string; to: string | null; expires: string; view_only: boolean }
export const myGrants = () => call<Grant[]>("GET", "/api/grants");
/** How to watch under one of the user's grants with an RTSP client (the grant's password). */
export interface RtspAccess { username: string; password: string; realm: string; live: string[]; recorded: string | null }
export const rtspAccess = (grant: number) => call<RtspAccess>("GET", `/api/grants/${grant}/rtsp`);
/** A GB/T 28181 link to a superior platform (system manager's administrators). */
export interface GbLink {
  name: string; superior_id: string; superior_addr: string; state: string; registered: boolean; shared_cameras: number;
  registrations: number; registration_failures: number; keepalives_sent: number; keepalives_answered: number;
  keepalives_missed: number; queries: number; refused: number; retransmissions: number;
  last_keepalive_age_s: number | null; last_error: string | null; log: { at: string; what: string }[];
}
export const gbLinks = () => call<GbLink[]>("GET", "/api/gb28181/links");
export interface Unmet { id: string; article: string; message: string }
export interface RequestPerson { user_id: number; username: string; work_id: string | null; confirmed_90k: number | null }
export interface AccessRequest {
  id: number; kind: string; purpose: string; cameras: number[]; actions: string[]; status: string; created_by: number;
  from_90k: number; to_90k: number; expires_90k: number; live: boolean;
  persons: RequestPerson[]; approvals: { kind: string; username: string }[];
  attachments: { id: number; name: string; sha256: string; bytes: number }[];
  grant: { id: number; expires_90k: number; revoked_90k: number | null } | null;
}
/** What the user may do with a request now (the server would accept exactly these). */
export interface Doors { approve: string[]; confirm: boolean; close: "withdraw" | "refuse" | null; revoke: boolean; attach: boolean }
export interface RequestOut { request: AccessRequest; missing: Unmet[]; approvals_possible: string[]; may: Doors }
export interface NewRequest { kind: string; purpose: string; cameras: number[]; from?: string; to?: string; actions: string[]; days: number; persons: { username: string }[] }
export const requests = () => call<RequestOut[]>("GET", "/api/requests");
export const fileRequest = (r: NewRequest) => call<RequestOut>("POST", "/api/requests", r);
export const confirmRequest = (id: number, password: string, work_id?: string) =>
  call<RequestOut>("POST", `/api/requests/${id}/confirm`, { password, work_id: work_id || null });
export const approveRequest = (id: number, kind: string) => call<RequestOut>("POST", `/api/requests/${id}/approve`, { kind });
export const closeRequest = (id: number, reason: string) => call<RequestOut>("POST", `/api/requests/${id}/close`, { reason });
export async function attachToRequest(id: number, file: File): Promise<RequestOut> {
  const r = await fetch(`/api/requests/${id}/attachments?name=${encodeURIComponent(file.name)}`, {
    method: "POST", headers: { "x-csrf-token": csrf, "content-type": "application/octet-stream" }, body: file, credentials: "same-origin",
  });
  if (!r.ok) {
    let code = "error", message = r.statusText;
    try { const j = await r.json(); code = j.error.code; message = j.error.message; } catch { /* not JSON */ }
    throw new ApiError(r.status, code, message);
  }
  return r.json();
}
export const revokeGrant = (id: number) => call<void>("POST", `/api/grants/${id}/revoke`);
/** The register's filters (times: Unix seconds). */
export interface RegisterFilter { since?: string; until?: string; camera?: string; user?: string; org?: string; kind?: string; allowed?: string }
const registerQuery = (q: RegisterFilter) =>
  new URLSearchParams(Object.entries(q).filter(([, v]) => v) as [string, string][]).toString();
/** One page of the register, newest first, and how many entries match. */
export async function registerPage(q: RegisterFilter, offset: number, limit: number): Promise<{ entries: Record<string, unknown>[]; total: number }> {
  const r = await fetch(`/api/register?${registerQuery(q)}&offset=${offset}&limit=${limit}`, { credentials: "same-origin" });
  if (!r.ok) {
    let code = "error", message = r.statusText;
    try { const j = await r.json(); code = j.error.code; message = j.error.message; } catch { /* not JSON */ }
    throw new ApiError(r.status, code, message);
  }
  return { entries: await r.json(), total: Number(r.headers.get("x-total-count") ?? 0) };
}
export const registerCsvUrl = (q: RegisterFilter) => `/api/register?format=csv&${registerQuery(q)}`;
/** Shenzhen's districts: the one list regions and systems' districts come from. */
export interface District { id: string; en: string; zh: string }
export const districts = () => call<District[]>("GET", "/api/districts");
/** The rulebook's place types (a camera's `location_type`), with their names. */
export interface PlaceType { id: string; en: string; zh: string; prohibited: boolean }
export const placeTypes = () => call<PlaceType[]>("GET", "/api/places");
export const siteStatus = () => call<SiteStatus>("GET", "/api/status");
export const cameras = () => call<Camera[]>("GET", "/api/cameras");
/** A camera's static privacy mask: polygons of [x, y] corners in fractions of the
 *  picture. The server burns it into what it serves; it is never drawn over video here. */
export type Polygon = [number, number][];
/** A change that would expose part of a mask, held for a second administrator. */
export interface MaskChange { id: number; polygons: Polygon[]; proposed_at: string; proposed_by: string; expires_at: string; state: string }
export interface PrivacyMask { camera_id: number; polygons: Polygon[]; set_at: string | null; set_by: string | null; pending: MaskChange | null }
export const privacyMask = (id: number) => call<PrivacyMask>("GET", `/api/cameras/${id}/privacy-mask`);
export const setPrivacyMask = (id: number, polygons: Polygon[]) =>
  call<PrivacyMask>("PUT", `/api/cameras/${id}/privacy-mask`, { polygons });
export const decideMaskChange = (id: number, change: number, how: "approve" | "reject") =>
  call<MaskChange>("POST", `/api/cameras/${id}/privacy-mask/changes/${change}/${how}`);
/** The cameras one may name in an access request (no address, status or video). */
export interface CatalogueEntry { id: number; name: string; system: string | null; region: string | null; industry: string | null }
export const catalogue = () => call<CatalogueEntry[]>("GET", "/api/cameras/catalogue");
export const timeline = (id: number, fromSec: number, toSec: number) =>
  call<Timeline>("GET", `/api/cameras/${id}/timeline?from=${fromSec.toFixed(3)}&to=${toSec.toFixed(3)}`);
// Viewing recorded video (inline) and reproducing it (a download registered with who
// receives it and where it goes). Each names the grant (the case) it is made under.
const grantParam = (grant?: number) => (grant === undefined ? "" : `&grant=${grant}`);
export const playbackUrl = (id: number, fromSec: number, toSec: number, grant?: number) =>
  `/api/cameras/${id}/playback.mp4?from=${fromSec.toFixed(3)}&to=${toSec.toFixed(3)}${grantParam(grant)}`;
export const exportUrl = (id: number, fromSec: number, toSec: number, recipient: string, destination: string, grant?: number) =>
  `/api/cameras/${id}/export.mp4?from=${fromSec.toFixed(3)}&to=${toSec.toFixed(3)}` +
  `&recipient=${encodeURIComponent(recipient)}&destination=${encodeURIComponent(destination)}${grantParam(grant)}`;
/** Timeline thumbnails: one registered strip of key frames, with each one's time. */
export async function thumbnailsStrip(id: number, fromSec: number, toSec: number, n: number, grant?: number) {
  const r = await fetch(`/api/cameras/${id}/thumbnails.jpg?from=${fromSec.toFixed(3)}&to=${toSec.toFixed(3)}&n=${n}${grantParam(grant)}`,
    { credentials: "same-origin", headers: { "accept-language": lang } });
  if (!r.ok) {
    let message = r.statusText;
    try { message = (await r.json()).error.message; } catch { /* not JSON */ }
    throw new ApiError(r.status, "thumbnails", message);
  }
  const times = JSON.parse(r.headers.get("x-vidimus-thumbnails") ?? "[]") as (number | null)[];
  return { url: URL.createObjectURL(await r.blob()), times };
}
export interface Bookmark { leaf: number; t: string; t_90k: number; note: string; by: string }
export const bookmarks = (id: number, fromSec: number, toSec: number) =>
  call<Bookmark[]>("GET", `/api/cameras/${id}/bookmarks?from=${fromSec.toFixed(3)}&to=${toSec.toFixed(3)}`);
export const addBookmark = (id: number, sec: number, note: string) =>
  call<Bookmark>("POST", `/api/cameras/${id}/bookmarks`, { t: sec.toFixed(3), note });
/** A still of one instant: a reproduction (registered, with its recipient). */
export const snapshotUrl = (id: number, sec: number, recipient: string, destination: string, grant?: number) =>
  `/api/cameras/${id}/snapshot.jpg?t=${sec.toFixed(3)}&recipient=${encodeURIComponent(recipient)}` +
  `&destination=${encodeURIComponent(destination)}${grantParam(grant)}`;
/** View-only playback: a watermarked stream over a WebSocket, never a file (Art. 35). */
export const viewUrl = (id: number, fromSec: number, toSec: number, grant?: number) =>
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/cameras/${id}/view` +
  `?from=${fromSec.toFixed(3)}&to=${toSec.toFixed(3)}${grantParam(grant)}`;
/** The live picture anonymized by the server (open sharing, broadcast; Art. 22, 23, 31):
 * decided as a publication now, registered with its recipient. */
export const anonymizedLiveUrl = (id: number, recipient: string, figures: boolean, strict: boolean, grant?: number) =>
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/cameras/${id}/live/anonymized` +
  `?recipient=${encodeURIComponent(recipient)}${figures ? "&figures=true" : ""}${strict ? "&strict=true" : ""}${grantParam(grant)}`;
export const liveUrl = (id: number, grant?: number) =>
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/cameras/${id}/live` +
  (grant === undefined ? "" : `?grant=${grant}`);
/** The grants (cases) that cover a camera for an action. */
export const grantsFor = (grants: Grant[], cameraId: number | null, action: string) =>
  grants.filter((g) => cameraId !== null && (g.cameras.length === 0 || g.cameras.includes(cameraId)) && g.actions.includes(action));

// The registry and compliance (docs/compliance.md): systems, entries and dated events
// in the compliance facts format; evaluations with findings citing the articles.
export interface Fine { party: string; min: number; max: number; modality: string }
export interface Measure { measure: string; modality: string }
export interface Subject { kind: string; index?: number; label: string }
export interface Finding {
  rule_id: string; article: string; cite: string; penalty_article: string | null; penalty_cite: string | null; summary: string;
  subject: Subject; tier: string | null;
  measures: Measure[]; fines: Fine[]; referrals: string[];
  escalation: { tier: string; measures: Measure[]; fines: Fine[]; referrals: string[] }[];
  deadline: string | null; correction_deadline: string | null; explanation: string; text: string;
}
export interface Upcoming { rule_id: string; article: string; cite: string; due_what: string; subject: Subject; due: string; days_left: number; explanation: string }
export interface Report {
  system: string; system_name: string; as_of: string; status: string; rulebook_version: string;
  responsible_entity: { name: string; basis: string } | null;
  findings: Finding[]; upcoming: Upcoming[]; not_evaluated: { rule_id: string; article: string; cite: string; subject?: { kind: string; label: string }; missing: string | null; reason: string }[];
}
export interface SystemSummary {
  id: string; name: string; district: string | null; site_category: string; status: string;
  findings: { rule_id: string; article: string; cite: string; penalty_article: string | null; penalty_cite: string | null; summary: string; tier: string | null; subject: string;
    deadline: string | null; fines_tier: string | null; fines: Fine[]; explanation: string }[];
  upcoming: Upcoming[];
}
export interface RegistryView {
  system: Record<string, unknown>;
  entries: { id: number; collection: string; doc: Record<string, unknown> }[];
  events: { id: number; kind: string; date: string; recorded_by: string; recorded_at: string; doc: Record<string, unknown> }[];
  recorder_cameras: string[];
}
export interface ChecklistItem { article: string; cite: string; matter: string; facts: string[]; findings: string[]; rule_ids: string[]; status: string }
export const complianceOverview = (district?: string) =>
  call<SystemSummary[]>("GET", `/api/compliance/systems${district ? `?district=${encodeURIComponent(district)}` : ""}`);
export const complianceReport = (id: string) => call<Report>("GET", `/api/compliance/systems/${encodeURIComponent(id)}`);
export const inspectionChecklist = (id: string) =>
  call<{ checklist: ChecklistItem[]; report: Report }>("GET", `/api/compliance/systems/${encodeURIComponent(id)}/inspection`);
export const printableUrl = (id: string, kind: "filing" | "inspection") =>
  `/api/compliance/systems/${encodeURIComponent(id)}/report.html?kind=${kind}`;
export const registrySystem = (id: string) => call<RegistryView>("GET", `/api/registry/systems/${encodeURIComponent(id)}`);
export const registerSystem = (doc: Record<string, unknown>) => call<{ created: boolean }>("POST", "/api/registry/systems", doc);
export const changeSystem = (id: string, doc: Record<string, unknown>) =>
  call<{ created: boolean }>("PUT", `/api/registry/systems/${encodeURIComponent(id)}`, doc);
export const addEntry = (id: string, collection: string, doc: Record<string, unknown>) =>
  call<{ id: number }>("POST", `/api/registry/systems/${encodeURIComponent(id)}/${collection}`, doc);
export const changeEntry = (id: string, collection: string, entry: number, doc: Record<string, unknown>) =>
  call<{ id: number }>("PUT", `/api/registry/systems/${encodeURIComponent(id)}/${collection}/${entry}`, doc);
export const deleteEntry = (id: string, collection: string, entry: number) =>
  call<void>("DELETE", `/api/registry/systems/${encodeURIComponent(id)}/${collection}/${entry}`);
export const recordEvent = (id: string, doc: Record<string, unknown>) =>
  call<{ id: number }>("POST", `/api/registry/systems/${encodeURIComponent(id)}/events`, doc);
// A registry document's file: kept with its SHA-256 (raw body, at most 8 MiB).
export async function uploadDocumentFile(id: string, entry: number, file: File): Promise<{ sha256: string; bytes: number }> {
  const r = await fetch(`${documentFileUrl(id, entry)}?name=${encodeURIComponent(file.name)}`, {
    method: "POST", headers: { "x-csrf-token": csrf, "content-type": "application/octet-stream" }, body: file, credentials: "same-origin",
  });
  if (!r.ok) {
    let code = "error", message = r.statusText;
    try { const j = await r.json(); code = j.error.code; message = j.error.message; } catch { /* not JSON */ }
    throw new ApiError(r.status, code, message);
  }
  return r.json();
}
export const documentFileUrl = (id: string, entry: number) =>
  `/api/registry/systems/${encodeURIComponent(id)}/documents/${entry}/file`;
