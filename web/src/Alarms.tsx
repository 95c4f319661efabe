// The alarm banner: polls /api/status and shows every active alarm (disk full,
// storage capacity below the legal minimum) until it clears.
import { useEffect, useState } from "react";
import { siteStatus, type Alarm } from "./api";
import { useT } from "./i18n";

export function Alarms() {
  const t = useT();
  const [alarms, setAlarms] = useState<Alarm[]>([]);
  useEffect(() => {
    let alive = true;
    const poll = () => siteStatus().then((s) => alive && setAlarms(s.alarms)).catch(() => {});
    poll();
    const timer = setInterval(poll, 5000);
    return () => { alive = false; clearInterval(timer); };
  }, []);
  if (alarms.length === 0) return null;
  return (
    <div className="alarms" role="alert" data-testid="alarms">
      {alarms.map((a) => (
        <div key={a.id} className={`alarm ${a.severity}`} data-alarm={a.id}>
          <b>{a.id === "disk_full" ? t("alarm_disk_full") : a.id === "capacity" ? t("alarm_capacity") : t("alarm_other")}</b>
          {" "}{a.message}{" "}
          <span className="since">({t("since")} {new Date(a.since).toLocaleString()})</span>
        </div>
      ))}
    </div>
  );
}
