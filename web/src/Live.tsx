// The live wall: a camera tree with status, and a grid of 1/4/9/16 tiles.
import { useEffect, useState } from "react";
import { cameras as fetchCameras, grantsFor, myGrants, type Camera, type Grant } from "./api";
import { LiveTile } from "./LiveTile";
import { useT } from "./i18n";

const LAYOUTS = [1, 4, 9, 16];

export function Live({ onFileRequest }: { onFileRequest?: () => void }) {
  const t = useT();
  const [cams, setCams] = useState<Camera[]>([]);
  const [layout, setLayout] = useState(4);
  const [tiles, setTiles] = useState<(number | null)[]>([]);
  const [selected, setSelected] = useState(0);
  // The case each view is made under (registered with it); with several, the user picks.
  const [grants, setGrants] = useState<Grant[]>([]);
  const [caseId, setCaseId] = useState<number | null>(null);
  const [grantsKnown, setGrantsKnown] = useState(false);
  useEffect(() => { myGrants().then((g) => { setGrants(g); setGrantsKnown(true); }).catch(() => setGrantsKnown(true)); }, []);
  const live = grants.filter((g) => g.actions.includes("view_live") && g.live);
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

  // Only cameras a live grant covers are offered: a tile the server would refuse is
  // never opened (each refusal is registered).
  const watchable = cams.filter((c) => grantOf(c.id) !== undefined);
  const watchableKey = watchable.map((c) => c.id).join(",");

  // Fill empty tiles with watchable cameras in order, once they are known; a camera
  // is never in two tiles.
  useEffect(() => {
    setTiles((old) => {
      const next = Array.from({ length: layout }, (_, i) => old[i] ?? null)
        .map((id) => (id !== null && watchable.some((c) => c.id === id) ? id : null));
      const used = new Set<number>();
      for (let i = 0; i < next.length; i++) {
        const id = next[i];
        if (id !== null && used.has(id)) next[i] = null;
        else if (id !== null) used.add(id);
      }
      for (let i = 0; i < next.length; i++) {
        if (next[i] === null) {
          const c = watchable.find((c) => !used.has(c.id));
          if (c) { next[i] = c.id; used.add(c.id); }
        }
      }
      return next;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout, watchableKey]);

  // Putting a camera in the selected tile moves it there (swapping with the tile it
  // was in): one camera, one tile.
  const assign = (id: number) => setTiles((old) => {
    const from = old.indexOf(id);
    return old.map((x, i) => (i === selected ? id : i === from ? old[selected] ?? null : x));
  });
  const side = Math.sqrt(layout);

  return (
    <div className="live">
      <aside className="tree">
        <h3>{t("cameras")}</h3>
        <ul>
          {cams.map((c) => {
            const may = grantOf(c.id) !== undefined;
            return (
              <li key={c.id} className={`cam ${c.status} ${may ? "" : "no-grant"}`} data-testid={`tree-cam-${c.name}`}
                onClick={() => may && assign(c.id)} title={may ? (c.last_error ?? "") : t("noLiveGrant")}>
                <span className="dot" /> {c.name} <small>{may ? t(c.status as "recording" | "offline" | "starting") : t("noLiveGrantShort")}</small>
              </li>
            );
          })}
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
      {grantsKnown && watchable.length === 0 ? (
        <section className="no-grant-panel" data-testid="live-no-grant">
          <p>{t("noLiveGrantPanel")}</p>
          {onFileRequest && <button onClick={onFileRequest}>{t("fileRequest")}</button>}
        </section>
      ) : (
        <section className="grid" style={{ gridTemplateColumns: `repeat(${side}, 1fr)` }}>
          {tiles.map((id, i) => {
            const cam = cams.find((c) => c.id === id);
            return (
              <div key={i} className={`slot ${i === selected ? "selected" : ""}`} onClick={() => setSelected(i)}>
                {cam ? <LiveTile cameraId={cam.id} name={cam.name} grant={grantOf(cam.id)} status={cam.status} reason={cam.last_error} />
                  : <div className="tile empty">{t("noCamera")}</div>}
              </div>
            );
          })}
        </section>
      )}
    </div>
  );
}
