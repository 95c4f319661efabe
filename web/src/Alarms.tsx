// The alarm banner: polls /api/status and shows every active alarm (disk full,
// storage capacity below the legal minimum) until it clears; and, over HTTPS, the
// certificate's fingerprint, to compare with what the browser shows.
import { useEffect, useState } from "react";
import { siteStatus, type Alarm } from "./api";
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
  if (alarms.length === 0) return cert || null;
  return (
    <>
    {cert}
    <div className="alarms" role="alert" data-testid="alarms">
      {alarms.map((a) => (
        <div key={a.id} className={`alarm ${a.severity}`} data-alarm={a.id}>
          <b>{a.id === "disk_full" ? t("alarm_disk_full") : a.id === "capacity" ? t("alarm_capacity") : t("alarm_other")}</b>
          {" "}{a.message}{" "}
          <span className="since">({t("since")} {tm.dateTimeZone(Date.parse(a.since) / 1000)})</span>
        </div>
      ))}
    </div>
    </>
  );
}
