// The access register (Art. 24(3), 35 ¶2): every access and refused attempt, with
// filters, and a CSV export for inspections.
import { useEffect, useState } from "react";
import { registerCsvUrl, registerEntries } from "./api";
import { useT } from "./i18n";

export function Register() {
  const t = useT();
  const [camera, setCamera] = useState("");
  const [user, setUser] = useState("");
  const [rows, setRows] = useState<Record<string, unknown>[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    registerEntries({ camera, user }).then((r) => { setRows(r.reverse()); setError(""); }).catch((e) => setError(String(e.message ?? e)));
  }, [camera, user]);
  const s = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  return (
    <div className="holds" data-testid="register">
      <h3>{t("register")}</h3>
      <label>{t("camera")} <input data-testid="reg-camera" value={camera} onChange={(e) => setCamera(e.target.value)} /></label>{" "}
      <label>{t("username")} <input data-testid="reg-user" value={user} onChange={(e) => setUser(e.target.value)} /></label>{" "}
      <a className="button" href={registerCsvUrl({ camera, user })} download>CSV</a>
      {error && <div className="error">{error}</div>}
      <table>
        <thead><tr><th>{t("time")}</th><th>{t("username")}</th><th>{t("camera")}</th><th>{t("actions")}</th><th>{t("allowed")}</th><th>{t("purposeOfAccess")}</th><th>{t("persons")}</th><th>{t("whereabouts")}</th><th>{t("reason")}</th></tr></thead>
        <tbody>
          {rows.map((e) => (
            <tr key={s(e.leaf_index)} data-testid="reg-row">
              <td>{s(e.at)}</td><td>{s(e.user)}{e.work_id ? ` (${s(e.work_id)})` : ""}</td><td>{s(e.camera)}</td><td>{s(e.action)}{e.kind === "access_end" ? " (end)" : ""}</td>
              <td>{e.allowed ? "✓" : "✗"}</td><td>{s(e.purpose)}</td><td>{s(e.persons)}</td><td>{s(e.whereabouts)}</td><td>{s(e.reason ?? e.policies)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
