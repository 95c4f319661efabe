// Sharing (Art. 21): how to watch under one of the user's grants with an RTSP client
// (ffplay, VLC, GStreamer, another VMS) — the grant's password, shown on request — and,
// for the system manager's administrators, the GB/T 28181 links to superior platforms:
// state, last keepalive, counters and the latest log lines.
import { useEffect, useState } from "react";
import { ApiError, gbLinks, rtspAccess, type GbLink, type RtspAccess, type Session } from "./api";
import { useGrants } from "./data";
import { useT } from "./i18n";
import { useTime } from "./time";

export function Sharing({ me }: { me: Session }) {
  const t = useT();
  const tm = useTime();
  const grants = (useGrants().data ?? []).filter((g) => !g.view_only);
  const [shown, setShown] = useState<Record<number, RtspAccess | string>>({});
  const show = (id: number) =>
    rtspAccess(id)
      .then((a) => setShown((s) => ({ ...s, [id]: a })))
      .catch((e) => setShown((s) => ({ ...s, [id]: e instanceof ApiError ? e.message : String(e) })));
  const manager = me.role === "admin" && me.org_kind === "system_manager";
  return (
    <div className="sharing" data-testid="sharing">
      <h3>{t("rtspTitle")}</h3>
      <p>{t("rtspIntro")}</p>
      {grants.length === 0 ? <p>{t("rtspNoGrants")}</p> : (
        <table>
          <thead><tr><th>{t("grant")}</th><th>{t("grantPurpose")}</th><th>{t("expires")}</th><th /></tr></thead>
          <tbody>
            {grants.map((g) => {
              const a = shown[g.id];
              return (
                <tr key={g.id} data-grant={g.id}>
                  <td>#{g.id}</td><td>{g.purpose}</td><td>{tm.dateTimeZone(Date.parse(g.expires) / 1000)}</td>
                  <td>
                    {a === undefined ? <button data-testid={`rtsp-show-${g.id}`} onClick={() => void show(g.id)}>{t("rtspShow")}</button>
                      : typeof a === "string" ? <span className="error">{a}</span>
                      : (
                        <div className="rtsp-access" data-testid="rtsp-access">
                          <div>{t("username")}: <code>{a.username}</code></div>
                          <div>{t("password")}: <code data-testid="rtsp-password">{a.password}</code></div>
                          {a.live.slice(0, 8).map((u) => <div key={u}><code data-testid="rtsp-url">{u}</code></div>)}
                          {a.live.length > 8 && <div>… {a.live.length - 8}</div>}
                          {a.recorded && <div><code>{a.recorded}</code></div>}
                          <div className="hint">{t("rtspHint")}</div>
                        </div>
                      )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {manager && <Links />}
    </div>
  );
}

function Links() {
  const t = useT();
  const [links, setLinks] = useState<GbLink[] | null>(null);
  useEffect(() => {
    const load = () => gbLinks().then(setLinks).catch(() => setLinks([]));
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <div data-testid="gb-links">
      <h3>{t("gbTitle")}</h3>
      {links === null ? null : links.length === 0 ? <p>{t("gbNone")}</p> : links.map((l) => (
        <div key={l.name} className="gb-link" data-link={l.name}>
          <h4>{l.name} <small>{l.superior_id} · {l.superior_addr}</small></h4>
          <table>
            <tbody>
              <tr><th>{t("gbState")}</th><td data-testid="gb-state">{l.state}</td></tr>
              <tr><th>{t("gbKeepalive")}</th><td>{l.last_keepalive_age_s == null ? "—" : t("gbSecondsAgo", { n: String(l.last_keepalive_age_s) })}</td></tr>
              <tr><th>{t("gbShared")}</th><td>{l.shared_cameras}</td></tr>
              <tr><th>{t("gbCounters")}</th><td>{t("gbCountersText", {
                reg: String(l.registrations), fail: String(l.registration_failures), sent: String(l.keepalives_sent),
                answered: String(l.keepalives_answered), missed: String(l.keepalives_missed), queries: String(l.queries),
                refused: String(l.refused),
              })}</td></tr>
              {l.last_error && <tr><th>{t("gbLastError")}</th><td className="error">{l.last_error}</td></tr>}
            </tbody>
          </table>
          <ul className="gb-log">{[...l.log].reverse().slice(0, 12).map((x, i) => <li key={i}><code>{x.at}</code> {x.what}</li>)}</ul>
        </div>
      ))}
    </div>
  );
}
