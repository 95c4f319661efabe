// The access register (Art. 24(3), 35 ¶2): every access and refused attempt, newest
// first, a page at a time, filtered by date, camera, person, organisation, kind and
// outcome, and exported as CSV (the same filters) for inspections. Persons are shown
// as names with work IDs, never as JSON.
import { useEffect, useState } from "react";
import { registerCsvUrl, registerPage, type RegisterFilter } from "./api";
import { useT } from "./i18n";
import { kindLabel } from "./Requests";
import { fromInput, useTime } from "./time";
import { DateTimeField } from "./DateTimeField";

const PAGE = 50;
const KINDS = ["law_enforcement", "public_emergency", "administrative_in_jurisdiction", "administrative_outside_jurisdiction",
  "interested_party_emergency", "system_operation", "open_sharing"];

type Entry = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));

export function Register() {
  const t = useT();
  const tm = useTime();
  const [f, setF] = useState<{ since: string; until: string; camera: string; user: string; org: string; kind: string; allowed: string }>(
    { since: "", until: "", camera: "", user: "", org: "", kind: "", allowed: "" });
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<Entry[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState("");
  const filter: RegisterFilter = {
    since: f.since ? fromInput(f.since).toFixed(0) : undefined,
    until: f.until ? fromInput(f.until).toFixed(0) : undefined,
    camera: f.camera || undefined, user: f.user || undefined, org: f.org || undefined,
    kind: f.kind || undefined, allowed: f.allowed || undefined,
  };
  const key = JSON.stringify(filter);
  useEffect(() => {
    registerPage(filter, page * PAGE, PAGE)
      .then(({ entries, total }) => { setRows(entries); setTotal(total); setError(""); })
      .catch((e) => setError(String(e.message ?? e)));
  }, [key, page]); // eslint-disable-line react-hooks/exhaustive-deps
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => { setPage(0); setF({ ...f, [k]: e.target.value }); };
  const persons = (v: unknown) => Array.isArray(v)
    ? v.map((p: { user?: string; work_id?: string | null }) => `${p.user ?? ""}${p.work_id ? ` (${p.work_id})` : ""}`).join(", ")
    : "";
  const where = (v: unknown) => {
    const w = v as { recipient?: string; medium?: string; destination?: string } | null;
    return w ? [w.recipient, w.medium, w.destination].filter(Boolean).join(" · ") : "";
  };
  // The site's own organisation keeps the placeholder name the index gave it
  // ("system manager", organisation 1): shown as "this site" in the reader's language.
  const orgName = (e: Entry) => e.org_id === 1 && e.org === "system manager" ? t("thisSite") : str(e.org);
  // Why a hand-out ended, as registered (a closed set), in words.
  const endWords = (r: string) => t(`end_${r.replace(/ /g, "_")}` as "end_completed") ?? r;
  const action = (e: Entry) => e.kind === "access_end" ? `${t("ended")}: ${endWords(str(e.ended ?? e.reason))}`
    : e.attempts ? t("attemptsCounted", { n: str(e.attempts) })
    : t(`action_${str(e.action)}` as "action_view_live") ?? str(e.action);
  const pages = Math.max(1, Math.ceil(total / PAGE));
  return (
    <div className="holds register" data-testid="register">
      <h3>{t("register")}</h3>
      <div className="filters">
        <label>{t("from")} <DateTimeField testid="reg-since" value={f.since} onChange={(v) => { setPage(0); setF({ ...f, since: v }); }} /></label>
        <label>{t("to")} <DateTimeField testid="reg-until" value={f.until} onChange={(v) => { setPage(0); setF({ ...f, until: v }); }} /></label>
        <label>{t("camera")} <input data-testid="reg-camera" value={f.camera} onChange={set("camera")} /></label>
        <label>{t("person")} <input data-testid="reg-user" value={f.user} onChange={set("user")} /></label>
        <label>{t("organisation")} <input data-testid="reg-org" value={f.org} onChange={set("org")} /></label>
        <label>{t("kind")} <select data-testid="reg-kind" value={f.kind} onChange={set("kind")}>
          <option value="">—</option>{KINDS.map((k) => <option key={k} value={k}>{kindLabel(t, k)}</option>)}</select></label>
        <label>{t("allowed")} <select data-testid="reg-allowed" value={f.allowed} onChange={set("allowed")}>
          <option value="">—</option><option value="true">✓</option><option value="false">✗</option></select></label>
        <a className="button" data-testid="reg-csv" href={registerCsvUrl(filter)} download>CSV</a>
      </div>
      {error && <div className="error">{error}</div>}
      <table>
        <thead><tr><th>{t("time")}</th><th>{t("person")}</th><th>{t("organisation")}</th><th>{t("camera")}</th><th>{t("actions")}</th>
          <th>{t("allowed")}</th><th>{t("purposeOfAccess")}</th><th>{t("persons")}</th><th>{t("whereabouts")}</th><th>{t("reason")}</th></tr></thead>
        <tbody>
          {rows.map((e) => (
            <tr key={str(e.leaf_index)} data-testid="reg-row">
              <td>{e.at ? tm.dateTime(Date.parse(str(e.at)) / 1000) : ""}</td>
              <td>{str(e.user)}{e.work_id ? ` (${str(e.work_id)})` : ""}</td>
              <td>{orgName(e)}</td>
              <td>{str(e.camera)}</td>
              <td>{action(e)}{e.request_kind ? <><br /><small>{kindLabel(t, str(e.request_kind))}</small></> : null}</td>
              <td>{e.allowed ? "✓" : "✗"}</td>
              <td>{str(e.purpose)}</td>
              <td data-testid="reg-persons">{persons(e.persons)}</td>
              <td>{where(e.whereabouts)}</td>
              <td>{str(e.reason ?? (Array.isArray(e.policies) ? e.policies.join(", ") : ""))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager" data-testid="reg-pager">
        <button disabled={page === 0} onClick={() => setPage(page - 1)}>‹</button>
        <span>{t("pageOf", { page: String(page + 1), pages: String(pages), total: String(total) })}</span>
        <button disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>›</button>
      </div>
    </div>
  );
}
