// The alarm banner: polls /api/status and shows the active alarms the user can act on
// (disk full, storage capacity below the legal minimum), with their severity, until
// the user acknowledges them (then one quiet line) or they clear; and, over HTTPS,
// the certificate's fingerprint, to compare with what the browser shows.
import { useEffect, useState } from "react";
import { acknowledgeAlarm, siteStatus, type Alarm } from "./api";
import { useT } from "./i18n";
import { useTime } from "./time";

export function Alarms() {
  const t = useT();
  const tm = useTime();
  const [alarms, setAlarms] = useState<Alarm[]>([]);
  const [tls, setTls] = useState<{ fp: string; selfSigned: boolean } | null>(null);
  useEffect(() => {
    let alive = true;
    const poll = () => siteStatus().then((s) => {
      if (!alive) return;
      setAlarms(s.alarms);
      setTls(s.tls_fingerprint ? { fp: s.tls_fingerprint, selfSigned: s.tls_self_signed } : null);
    }).catch(() => {});
    poll();
    const timer = setInterval(poll, 5000);
    return () => { alive = false; clearInterval(timer); };
  }, []);
  const cert = tls && (
    <div className="tls" data-testid="tls-fingerprint" title={tls.fp}>
      {tls.selfSigned ? t("tlsSelfSigned") : t("tlsCertificate")} SHA-256 {tls.fp}
    </div>
  );
  const [open, setOpen] = useState(false);
  if (alarms.length === 0) return cert || null;
  const fresh = alarms.filter((a) => !a.acknowledged);
  const seen = alarms.filter((a) => a.acknowledged);
  const one = (a: Alarm) => (
    <div key={a.id} className={`alarm ${a.severity}`} data-alarm={a.id} data-acknowledged={a.acknowledged}>
      <b>{a.severity === "critical" ? t("severity_critical") : t("severity_warning")} · {a.id === "disk_full" ? t("alarm_disk_full") : a.id === "capacity" ? t("alarm_capacity") : t("alarm_other")}</b>
      {" "}{a.message}{" "}
      <span className="since">({t("since")} {tm.dateTimeZone(Date.parse(a.since) / 1000)})</span>
      {a.note && <div className="note" data-testid="alarm-note">{a.note}</div>}
      {!a.acknowledged && <button data-testid={`ack-${a.id}`} onClick={() => acknowledgeAlarm(a.id)
        .then(() => setAlarms(alarms.map((x) => (x.id === a.id ? { ...x, acknowledged: true } : x)))).catch(() => {})}>{t("acknowledge")}</button>}
    </div>
  );
  return (
    <>
    {cert}
    <div className="alarms" role={fresh.length ? "alert" : undefined} data-testid="alarms">
      {fresh.map(one)}
      {seen.length > 0 && (
        <div className="alarm quiet" data-testid="alarms-acknowledged">
          <button className="link" onClick={() => setOpen(!open)}>{t("acknowledgedAlarms", { n: String(seen.length) })}</button>
          {open && seen.map(one)}
        </div>
      )}
    </div>
    </>
  );
}
