// Access requests (Art. 33-35): file one naming the persons acting; each person
// confirms with their own password and work ID (two-person rule, Art. 34); approvers
// (administrators of the system manager or the PSB) give what the kind needs. What a
// request still lacks is shown article by article; it becomes a grant when nothing is.
//
// The page offers only what the server would accept: the kinds the user's
// organisation may file (`session.request_kinds`), and per request the doors the
// server lists for this user (`may`: approvals, confirm, withdraw or refuse, revoke).
import { useEffect, useState } from "react";
import {
  ApiError, approveRequest, attachToRequest, catalogue as fetchCameras, closeRequest, confirmRequest, fileRequest,
  requests as fetchRequests, revokeGrant, type CatalogueEntry, type RequestOut, type Session,
} from "./api";
import { useT } from "./i18n";
import { useAsk } from "./Ask";
import { formatDateTime, fromInput, toInput } from "./time";
import { DateTimeField } from "./DateTimeField";

const ACTIONS = ["view_live", "view_recorded", "reproduce", "publish", "unmask"] as const;
type T = ReturnType<typeof useT>;
const when = (t90k: number) => formatDateTime(t90k / 90000);
const NO_END = 2 ** 62;
const localInput = toInput;

export const kindLabel = (t: T, k: string) => t(`kind_${k}` as "kind_law_enforcement") ?? k;
const actionLabel = (t: T, a: string) => t(`action_${a}` as "action_view_live") ?? a;
const approvalLabel = (t: T, a: string) => t(`approval_${a}` as "approval_manager_consent") ?? a;
const statusLabel = (t: T, s: string) => t(`status_${s}` as "status_pending") ?? s;

/** Requests waiting for this user's own confirmation (for the navigation's badge). */
export const waitingForMe = (list: RequestOut[]) => list.filter((r) => r.may.confirm).length;

export function Requests({ me, onChange }: { me: Session; onChange?: () => void }) {
  const t = useT();
  const ask = useAsk();
  const kinds = me.request_kinds;
  const [list, setList] = useState<RequestOut[]>([]);
  const [cams, setCams] = useState<CatalogueEntry[]>([]);
  const [msg, setMsg] = useState("");
  const [error, setError] = useState("");
  const [kind, setKind] = useState(kinds[0] ?? "");
  const [purpose, setPurpose] = useState("");
  const [cameraIds, setCameraIds] = useState<number[]>([]);
  // The last 24 hours unless the user says otherwise.
  const [from, setFrom] = useState(() => localInput(Date.now() / 1000 - 86400));
  const [to, setTo] = useState(() => localInput(Date.now() / 1000));
  const [days, setDays] = useState(7);
  const [actions, setActions] = useState<string[]>(["view_recorded"]);
  const [persons, setPersons] = useState(me.username);
  const [passwords, setPasswords] = useState<Record<number, string>>({});
  const [reasons, setReasons] = useState<Record<number, string>>({});
  const reload = () => fetchRequests().then((l) => { setList(l); onChange?.(); }).catch(() => {});
  useEffect(() => { reload(); fetchCameras().then(setCams).catch(() => {}); }, []); // eslint-disable-line react-hooks/exhaustive-deps
  // Each act clears what an earlier one said: no stale error after a success.
  const done = (m = "") => () => { setError(""); setMsg(m); reload(); };
  const fail = (e: unknown) => { setMsg(""); setError(e instanceof ApiError ? e.message : String(e)); };
  const toggle = <X,>(xs: X[], x: X) => (xs.includes(x) ? xs.filter((y) => y !== x) : [...xs, x]);
  const camName = (id: number) => cams.find((c) => c.id === id)?.name ?? `#${id}`;
  return (
    <div className="requests" data-testid="requests">
      {kinds.length === 0 ? <p data-testid="req-none">{t("noRequestKinds")}</p> : (
        <form className="request-form" onSubmit={(e) => {
          e.preventDefault();
          const sec = (v: string) => (v ? fromInput(v).toFixed(3) : undefined);
          fileRequest({
            kind, purpose, cameras: cameraIds, from: sec(from), to: sec(to), actions, days,
            persons: persons.split(",").map((p) => p.trim()).filter(Boolean).map((username) => ({ username })),
          }).then((r) => done(`${t("filed")} #${r.request.id}`)()).catch(fail);
        }}>
          <h3>{t("newRequest")}</h3>
          <label>{t("kind")} <select data-testid="req-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            {kinds.map((k) => <option key={k} value={k}>{kindLabel(t, k)}</option>)}</select></label>
          <label>{t("purposeOfAccess")} <input data-testid="req-purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)} /></label>
          <fieldset><legend>{t("cameras")}</legend>
            {cams.map((c) => <label key={c.id}><input type="checkbox" data-testid={`req-cam-${c.name}`} checked={cameraIds.includes(c.id)}
              onChange={() => setCameraIds(toggle(cameraIds, c.id))} /> {c.name}</label>)}</fieldset>
          <label>{t("from")} <DateTimeField testid="req-from" value={from} onChange={setFrom} /></label>
          <label>{t("to")} <DateTimeField testid="req-to" value={to} onChange={setTo} /></label>
          <fieldset><legend>{t("actions")}</legend>
            {ACTIONS.map((a) => <label key={a}><input type="checkbox" data-testid={`req-action-${a}`} checked={actions.includes(a)}
              onChange={() => setActions(toggle(actions, a))} /> {actionLabel(t, a)}</label>)}</fieldset>
          <label>{t("validDays")} <input type="number" min={1} max={366} data-testid="req-days" value={days}
            onChange={(e) => setDays(Math.max(1, Math.min(366, Number(e.target.value) || 1)))} /></label>
          <label>{t("persons")} <input data-testid="req-persons" value={persons} onChange={(e) => setPersons(e.target.value)} /></label>
          <button type="submit" data-testid="req-submit">{t("file")}</button>
        </form>
      )}
      {msg && <div className="bundle-status" data-testid="req-msg">{msg}</div>}
      {error && <div className="error" role="alert" data-testid="req-error">{error}</div>}
      <table className="request-list">
        <thead><tr><th>#</th><th>{t("kind")}</th><th>{t("purposeOfAccess")}</th><th>{t("cameras")}</th><th>{t("range")}</th>
          <th>{t("persons")}</th><th>{t("status")}</th><th>{t("missing")}</th><th /></tr></thead>
        <tbody>
          {list.map(({ request: r, missing, may }) => (
            <tr key={r.id} data-request={r.id} className={may.confirm ? "waits-for-me" : ""}>
              <td>{r.id}</td>
              <td>{kindLabel(t, r.kind)}</td>
              <td>{r.purpose}</td>
              <td data-testid="req-cameras">{r.cameras.length ? r.cameras.map(camName).join(", ") : t("everyCamera")}
                <br /><small>{r.actions.map((a) => actionLabel(t, a)).join(", ")}</small></td>
              <td data-testid="req-range">{when(r.from_90k)} – {r.to_90k >= NO_END ? t("open") : when(r.to_90k)}
                <br /><small>{t("expires")}: {when(r.grant?.expires_90k ?? r.expires_90k)}</small></td>
              <td>{r.persons.map((p) => `${p.username}${p.work_id ? ` (${p.work_id})` : ""}${p.confirmed_90k ? " ✓" : ""}`).join(", ")}</td>
              <td data-testid="req-status">{statusLabel(t, r.status)}{r.grant ? ` · ${t("grant")} #${r.grant.id}${r.grant.revoked_90k ? ` ${t("revoked")}` : ""}` : ""}
                {may.confirm && <div className="badge" data-testid="req-waits">{t("waitsForYou")}</div>}</td>
              <td>{missing.map((m) => <div key={m.id} title={m.id}>{m.message} <small>({m.article})</small></div>)}
                {r.attachments.length > 0 && <div><small>{t("attached")}: {r.attachments.map((a) => a.name).join(", ")}</small></div>}</td>
              <td className="doors">
                {may.confirm && (
                  <span>
                    <input type="password" placeholder={t("password")} data-testid="confirm-password" autoComplete="current-password"
                      value={passwords[r.id] ?? ""} onChange={(e) => setPasswords({ ...passwords, [r.id]: e.target.value })} />
                    <button data-testid="confirm" onClick={() => confirmRequest(r.id, passwords[r.id] ?? "")
                      .then(() => { setPasswords({ ...passwords, [r.id]: "" }); done()(); }).catch(fail)}>{t("confirm")}</button>
                  </span>
                )}
                {may.approve.map((a) => (
                  <button key={a} data-testid={`approve-${a}`} onClick={() => approveRequest(r.id, a).then(done()).catch(fail)}>
                    {t("approve")}: {approvalLabel(t, a)}</button>
                ))}
                {may.close && (
                  <span>
                    <input placeholder={t("closeReason")} data-testid="close-reason" value={reasons[r.id] ?? ""}
                      onChange={(e) => setReasons({ ...reasons, [r.id]: e.target.value })} />
                    <button data-testid={`close-${may.close}`} onClick={() => {
                      const why = (reasons[r.id] ?? "").trim();
                      if (!why) { fail(t("closeReasonNeeded")); return; }
                      closeRequest(r.id, why).then(done()).catch(fail);
                    }}>{may.close === "withdraw" ? t("withdraw") : t("refuse")}</button>
                  </span>
                )}
                {r.status === "pending" && may.attach && (
                  <label className="attach">{t("attach")}
                    <input type="file" data-testid="attach" onChange={(e) => {
                      const f = e.target.files?.[0];
                      if (f) attachToRequest(r.id, f).then(done(`${t("attached")}: ${f.name}`)).catch(fail);
                    }} /></label>
                )}
                {may.revoke && r.grant && (
                  <button data-testid="revoke" onClick={() => {
                    void ask.confirm(t("confirmRevoke", { id: String(r.grant!.id) })).then((yes) => { if (yes) revokeGrant(r.grant!.id).then(done()).catch(fail); });
                  }}>{t("revoke")}</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
