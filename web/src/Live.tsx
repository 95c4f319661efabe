// The live wall: a camera tree with status, and a grid of 1/4/9/16 tiles.
import { useEffect, useState } from "react";
import { cameras as fetchCameras, grantsFor, myGrants, type Camera, type Grant } from "./api";
import { LiveTile } from "./LiveTile";
import { useT } from "./i18n";

const LAYOUTS = [1, 4, 9, 16];

export function Live() {
  const t = useT();
  const [cams, setCams] = useState<Camera[]>([]);
  const [layout, setLayout] = useState(4);
  const [tiles, setTiles] = useState<(number | null)[]>([]);
  const [selected, setSelected] = useState(0);
  // The case each view is made under (registered with it); with several, the user picks.
  const [grants, setGrants] = useState<Grant[]>([]);
  const [caseId, setCaseId] = useState<number | null>(null);
  useEffect(() => { myGrants().then(setGrants).catch(() => {}); }, []);
  const live = grants.filter((g) => g.actions.includes("view_live"));
  const grantOf = (id: number) => {
    const g = grantsFor(grants, id, "view_live");
    return (g.find((x) => x.id === caseId) ?? g[0])?.id;
  };

  useEffect(() => {
    let alive = true;
    const load = () => fetchCameras().then((c) => alive && setCams(c)).catch(() => {});
    load();
    const timer = window.setInterval(load, 3000);
    return () => { alive = false; window.clearInterval(timer); };
  }, []);

  // Fill empty tiles with cameras in order, once they are known.
  useEffect(() => {
    setTiles((old) => {
      const next = Array.from({ length: layout }, (_, i) => old[i] ?? null);
      const used = new Set(next.filter((x) => x !== null));
      for (let i = 0; i < next.length; i++) {
        if (next[i] === null) {
          const c = cams.find((c) => !used.has(c.id));
          if (c) { next[i] = c.id; used.add(c.id); }
        }
      }
      return next;
    });
  }, [layout, cams]);

  const assign = (id: number) => setTiles((old) => old.map((x, i) => (i === selected ? id : x)));
  const side = Math.sqrt(layout);

  return (
    <div className="live">
      <aside className="tree">
        <h3>{t("cameras")}</h3>
        <ul>
          {cams.map((c) => (
            <li key={c.id} className={`cam ${c.status}`} onClick={() => assign(c.id)} title={c.last_error ?? c.url}>
              <span className="dot" /> {c.name} <small>{t(c.status as "recording" | "offline" | "starting")}</small>
            </li>
          ))}
        </ul>
        {live.length > 1 && (
          <>
            <h3>{t("case")}</h3>
            <select value={caseId ?? live[0].id} onChange={(e) => setCaseId(Number(e.target.value))} data-testid="case-select">
              {live.map((g) => <option key={g.id} value={g.id}>#{g.request_id} {g.purpose}</option>)}
            </select>
          </>
        )}
        <h3>{t("layout")}</h3>
        <div className="layouts">
          {LAYOUTS.map((n) => (
            <button key={n} className={n === layout ? "on" : ""} onClick={() => setLayout(n)}>{n}</button>
          ))}
        </div>
      </aside>
      <section className="grid" style={{ gridTemplateColumns: `repeat(${side}, 1fr)` }}>
        {tiles.map((id, i) => {
          const cam = cams.find((c) => c.id === id);
          return (
            <div key={i} className={`slot ${i === selected ? "selected" : ""}`} onClick={() => setSelected(i)}>
              {cam ? <LiveTile cameraId={cam.id} name={cam.name} grant={grantOf(cam.id)} /> : <div className="tile empty">{t("noCamera")}</div>}
            </div>
          );
        })}
      </section>
    </div>
  );
}
