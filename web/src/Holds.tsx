// Legal holds (administrators): video under a hold is kept past retention until an
// administrator releases the hold. Placing one is in the playback export dialog.
import { useEffect, useState } from "react";
import { cameras as fetchCameras, holds as fetchHolds, releaseHold, type Camera, type Hold } from "./api";
import { useT } from "./i18n";
import { useAsk } from "./Ask";
import { useTime } from "./time";

export function Holds() {
  const t = useT();
  const ask = useAsk();
  const tm = useTime();
  const [list, setList] = useState<Hold[]>([]);
  const [cams, setCams] = useState<Camera[]>([]);
  const reload = () => fetchHolds().then(setList).catch(() => {});
  useEffect(() => { reload(); fetchCameras().then(setCams).catch(() => {}); }, []);
  const name = (id: number) => cams.find((c) => c.id === id)?.name ?? `#${id}`;
  return (
    <div className="holds" data-testid="holds">
      <h3>{t("holds")}</h3>
      {list.length === 0 ? <p>{t("noHolds")}</p> : (
        <table>
          <thead><tr><th>{t("camera")}</th><th>{t("from")}</th><th>{t("to")}</th><th>{t("reason")}</th><th>{t("placedBy")}</th><th /></tr></thead>
          <tbody>
            {list.map((h) => (
              <tr key={h.id} data-hold={h.id}>
                <td>{name(h.camera_id)}</td><td>{tm.dateTimeZone(Date.parse(h.from) / 1000)}</td><td>{tm.dateTimeZone(Date.parse(h.to) / 1000)}</td>
                <td>{h.reason}</td><td>{h.created_by}</td>
                <td><button onClick={() => { void ask.confirm(t("confirmRelease")).then((yes) => { if (yes) void releaseHold(h.id).then(reload); }); }}>{t("release")}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
