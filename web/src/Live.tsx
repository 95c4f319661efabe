// The live wall: a camera tree with status and search, a grid of 1/4/9/16 tiles,
// layouts saved by name (in this browser), drag a camera onto a tile, fullscreen
// (double-click a tile, or `f` for the selected one; Esc leaves it).
import { useEffect, useState } from "react";
import { grantsFor } from "./api";
import { useCameras, useGrants } from "./data";
import { LiveTile } from "./LiveTile";
import { useT } from "./i18n";

const LAYOUTS = [1, 4, 9, 16];

export function Live({ onFileRequest }: { onFileRequest?: () => void }) {
  const t = useT();
  const cams = useCameras(3000);
  const [layout, setLayout] = useState(4);
  const [tiles, setTiles] = useState<(number | null)[]>([]);
  const [query, setQuery] = useState("");
  const [full, setFull] = useState<number | null>(null);
  // Saved layouts: a name, the grid size and the cameras (by name) in their tiles.
  type Saved = { name: string; layout: number; cameras: (string | null)[] };
  const [saved, setSaved] = useState<Saved[]>(() => {
    try { return JSON.parse(localStorage.getItem("vidimus.layouts") ?? "[]"); } catch { return []; }
  });
  const [layoutName, setLayoutName] = useState("");
  useEffect(() => { localStorage.setItem("vidimus.layouts", JSON.stringify(saved)); }, [saved]);
  const [selected, setSelected] = useState(0);
  // The case each view is made under (registered with it); with several, the user picks.
  const asked = useGrants();
  const grants = asked.data ?? [];
  const grantsKnown = asked.data !== undefined || asked.error !== undefined;
  const [caseId, setCaseId] = useState<number | null>(null);
  const live = grants.filter((g) => g.actions.includes("view_live") && g.live);
  const grantOf = (id: number) => {
    const g = grantsFor(grants, id, "view_live");
    return (g.find((x) => x.id === caseId) ?? g[0])?.id;
  };

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
  // Drop a camera on a tile: it moves there (one camera, one tile).
  const dropOn = (i: number, id: number) => setTiles((old) => {
    const from = old.indexOf(id);
    return old.map((x, j) => (j === i ? id : j === from ? old[i] ?? null : x));
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === "INPUT") return;
      if (e.key === "f") setFull((f) => (f === null ? selected : null));
      else if (e.key === "Escape") setFull(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [selected]);
  const saveLayout = () => {
    const name = layoutName.trim();
    if (!name) return;
    const cameras = tiles.map((id) => cams.find((c) => c.id === id)?.name ?? null);
    setSaved([...saved.filter((x) => x.name !== name), { name, layout, cameras }]);
    setLayoutName("");
  };
  const loadLayout = (l: Saved) => {
    setLayout(l.layout);
    setTiles(l.cameras.map((n) => watchable.find((c) => c.name === n)?.id ?? null));
  };
  const q = query.trim().toLowerCase();
  const shown = q ? cams.filter((c) => c.name.toLowerCase().includes(q)) : cams;

  return (
    <div className="live">
      <aside className="tree">
        <h3>{t("cameras")}</h3>
        <input className="search" type="search" placeholder={t("searchCameras")} data-testid="cam-search"
          value={query} onChange={(e) => setQuery(e.target.value)} />
        <ul>
          {shown.map((c) => {
            const may = grantOf(c.id) !== undefined;
            return (
              <li key={c.id} className={`cam ${c.status} ${may ? "" : "no-grant"}`} data-testid={`tree-cam-${c.name}`}
                draggable={may} onDragStart={(e) => e.dataTransfer.setData("text/x-vidimus-camera", String(c.id))}
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
        <div className="saved-layouts">
          <input placeholder={t("layoutName")} data-testid="layout-name" value={layoutName} onChange={(e) => setLayoutName(e.target.value)} />
          <button data-testid="layout-save" onClick={saveLayout}>{t("saveLayout")}</button>
          {saved.map((l) => (
            <div key={l.name} className="saved">
              <button className="link" data-testid={`layout-${l.name}`} onClick={() => loadLayout(l)}>{l.name}</button>
              <button className="link" title={t("delete")} onClick={() => setSaved(saved.filter((x) => x.name !== l.name))}>×</button>
            </div>
          ))}
        </div>
      </aside>
      {grantsKnown && watchable.length === 0 ? (
        <section className="no-grant-panel" data-testid="live-no-grant">
          <p>{t("noLiveGrantPanel")}</p>
          {onFileRequest && <button onClick={onFileRequest}>{t("fileRequest")}</button>}
        </section>
      ) : (
        <section className={`grid ${full !== null ? "has-fullscreen" : ""}`} data-testid="grid"
          style={{ gridTemplateColumns: full !== null ? "1fr" : `repeat(${side}, 1fr)` }}>
          {tiles.map((id, i) => {
            const cam = cams.find((c) => c.id === id);
            return (
              <div key={i} className={`slot ${i === selected ? "selected" : ""} ${full === i ? "fullscreen" : ""}`} data-testid={`slot-${i}`}
                style={full !== null && full !== i ? { display: "none" } : undefined}
                onClick={() => setSelected(i)} onDoubleClick={() => setFull(full === null ? i : null)}
                onDragOver={(e) => e.preventDefault()}
                onDrop={(e) => { const id = Number(e.dataTransfer.getData("text/x-vidimus-camera")); if (id) dropOn(i, id); }}>
                {cam ? <LiveTile cameraId={cam.id} name={cam.name} grant={grantOf(cam.id)} status={cam.status} reason={cam.last_error}
                  masked={cam.privacy_masked && !grants.some((g) => g.id === grantOf(cam.id) && g.actions.includes("unmask"))} />
                  : <div className="tile empty">{t("noCamera")}</div>}
              </div>
            );
          })}
        </section>
      )}
    </div>
  );
}
