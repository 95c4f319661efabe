// Access requests (Art. 33-35): file one naming the persons acting; each person
// confirms with their own password and work ID (two-person rule, Art. 34); approvers
// (administrators of the system manager or the PSB) give what the kind needs. What a
// request still lacks is shown article by article; it becomes a grant when nothing is.
import { useEffect, useState } from "react";
import {
  ApiError, approveRequest, catalogue as fetchCameras, closeRequest, confirmRequest, fileRequest, requests as fetchRequests,
  revokeGrant, type CatalogueEntry, type RequestOut, type Session,
} from "./api";
import { useT } from "./i18n";

const KINDS = ["law_enforcement", "public_emergency", "administrative_in_jurisdiction", "administrative_outside_jurisdiction",
  "interested_party_emergency", "system_operation"];
const ACTIONS = ["view_live", "view_recorded", "reproduce"];

export function Requests({ me }: { me: Session }) {
  const t = useT();
  const [list, setList] = useState<RequestOut[]>([]);
  const [cams, setCams] = useState<CatalogueEntry[]>([]);
  const [msg, setMsg] = useState("");
  const [kind, setKind] = useState(KINDS[0]);
  const [purpose, setPurpose] = useState("");
  const [cameraIds, setCameraIds] = useState<number[]>([]);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [actions, setActions] = useState<string[]>(["view_recorded"]);
  const [persons, setPersons] = useState(me.username);
  const [passwords, setPasswords] = useState<Record<number, string>>({});
  const reload = () => fetchRequests().then(setList).catch(() => {});
  useEffect(() => { reload(); fetchCameras().then(setCams).catch(() => {}); }, []);
  const fail = (e: unknown) => setMsg(e instanceof ApiError ? e.message : String(e));
  const toggle = <T,>(xs: T[], x: T) => (xs.includes(x) ? xs.filter((y) => y !== x) : [...xs, x]);
  return (
    <div className="requests" data-testid="requests">
      <form className="request-form" onSubmit={(e) => {
        e.preventDefault();
        const sec = (v: string) => (v ? (new Date(v).getTime() / 1000).toFixed(3) : undefined);
        fileRequest({
          kind, purpose, cameras: cameraIds, from: sec(from), to: sec(to), actions, days: 7,
          persons: persons.split(",").map((p) => p.trim()).filter(Boolean).map((username) => ({ username })),
        }).then((r) => { setMsg(`${t("filed")} #${r.request.id}`); reload(); }).catch(fail);
      }}>
        <h3>{t("newRequest")}</h3>
        <label>{t("kind")} <select data-testid="req-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}</select></label>
        <label>{t("purposeOfAccess")} <input data-testid="req-purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)} /></label>
        <fieldset><legend>{t("cameras")}</legend>
          {cams.map((c) => <label key={c.id}><input type="checkbox" data-testid={`req-cam-${c.name}`} checked={cameraIds.includes(c.id)}
            onChange={() => setCameraIds(toggle(cameraIds, c.id))} /> {c.name}</label>)}</fieldset>
        <label>{t("from")} <input type="datetime-local" step={1} data-testid="req-from" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
        <label>{t("to")} <input type="datetime-local" step={1} data-testid="req-to" value={to} onChange={(e) => setTo(e.target.value)} /></label>
        <fieldset><legend>{t("actions")}</legend>
          {ACTIONS.map((a) => <label key={a}><input type="checkbox" data-testid={`req-action-${a}`} checked={actions.includes(a)}
            onChange={() => setActions(toggle(actions, a))} /> {a}</label>)}</fieldset>
        <label>{t("persons")} <input data-testid="req-persons" value={persons} onChange={(e) => setPersons(e.target.value)} /></label>
        <button type="submit" data-testid="req-submit">{t("file")}</button>
        {msg && <div className="bundle-status" data-testid="req-msg">{msg}</div>}
      </form>
      <table className="request-list">
        <thead><tr><th>#</th><th>{t("kind")}</th><th>{t("purposeOfAccess")}</th><th>{t("persons")}</th><th>{t("status")}</th><th>{t("missing")}</th><th /></tr></thead>
        <tbody>
          {list.map(({ request: r, missing, approvals_possible }) => {
            const mine = r.persons.find((p) => p.username === me.username);
            return (
              <tr key={r.id} data-request={r.id}>
                <td>{r.id}</td><td>{r.kind}</td><td>{r.purpose}</td>
                <td>{r.persons.map((p) => `${p.username}${p.work_id ? ` (${p.work_id})` : ""}${p.confirmed_90k ? " ✓" : ""}`).join(", ")}</td>
                <td data-testid="req-status">{r.status}{r.grant ? ` · ${t("grant")} #${r.grant.id}${r.grant.revoked_90k ? " revoked" : ""}` : ""}</td>
                <td>{missing.map((m) => <div key={m.id} title={m.message}>{m.id} ({m.article})</div>)}</td>
                <td>
                  {r.status === "pending" && mine && !mine.confirmed_90k && (
                    <span>
                      <input type="password" placeholder={t("password")} data-testid="confirm-password"
                        value={passwords[r.id] ?? ""} onChange={(e) => setPasswords({ ...passwords, [r.id]: e.target.value })} />
                      <button data-testid="confirm" onClick={() => confirmRequest(r.id, passwords[r.id] ?? "").then(reload).catch(fail)}>{t("confirm")}</button>
                    </span>
                  )}
                  {r.status === "pending" && me.role === "admin" && !mine && approvals_possible.map((a) => (
                    <button key={a} onClick={() => approveRequest(r.id, a).then(reload).catch(fail)}>{t("approve")}: {a}</button>
                  ))}
                  {r.status === "pending" && (
                    <button onClick={() => closeRequest(r.id, "closed in the console").then(reload).catch(fail)}>{t("close")}</button>
                  )}
                  {r.grant && !r.grant.revoked_90k && me.role === "admin" && (
                    <button onClick={() => revokeGrant(r.grant!.id).then(reload).catch(fail)}>{t("revoke")}</button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
