// Synchronized playback: up to four cameras at one wall time. One timeline with a row
// per camera (its recordings and gaps); a click plays every camera from that instant,
// each under its own grant (each a registered playback). The first camera playing is
// the clock: the others follow its wall time, seeking when they drift, pausing with
// "no recording" where they have a gap and resuming after it. One speed, one pause.
// The URL keeps the cameras and the moment: /sync?cams=front,back&t=1796137752.
import { useEffect, useRef, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { grantsFor, playbackUrl, timeline as fetchTimeline, type Camera, type Grant, type Timeline } from "./api";
import { useCameras, useGrants } from "./data";
import { useT } from "./i18n";
import { wallAt } from "./Playback";
import { formatTime as hms, useTime } from "./time";

const MAX = 4;
const SPAN = 600;
const CHUNK = 600;
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];
/** How far (s) a follower may drift from the clock before it is put right. */
const DRIFT = 0.25;

interface Piece { start: number; end: number }

/** The media time at which wall time `wall` plays, or null where it is not recorded. */
export function mediaAt(pieces: Piece[], start: number, wall: number): number | null {
  let media = 0;
  for (const p of pieces) {
    if (p.end <= start) continue;
    const from = Math.max(start, p.start);
    if (wall < from) return null;
    if (wall < p.end) return media + (wall - from);
    media += p.end - from;
  }
  return null;
}

export function Sync() {
  const t = useT();
  const tm = useTime();
  const [, navigate] = useLocation();
  const q = new URLSearchParams(useSearch());
  const cams = useCameras();
  const grants = useGrants().data ?? [];
  const names = (q.get("cams") ?? "").split(",").filter(Boolean).slice(0, MAX);
  const [center, setCenter] = useState(() => Number(q.get("t")) || Date.now() / 1000 - SPAN / 2);
  const from = center - SPAN / 2, to = center + SPAN / 2;
  const [lines, setLines] = useState<Record<number, Timeline>>({});
  const [playFrom, setPlayFrom] = useState<number | null>(Number(q.get("t")) || null);
  const [clock, setClock] = useState<number | null>(null);
  const [speed, setSpeed] = useState(1);
  const [paused, setPaused] = useState(false);
  const chosen = names.map((n) => cams.find((c) => c.name === n)).filter((c): c is Camera => !!c);
  const setNames = (n: string[], at = playFrom) =>
    navigate(`/sync?cams=${n.map(encodeURIComponent).join(",")}${at ? `&t=${Math.floor(at)}` : ""}`, { replace: true });

  useEffect(() => {
    let alive = true;
    const load = () => chosen.forEach((c) => fetchTimeline(c.id, from, to).then((x) => alive && setLines((l) => ({ ...l, [c.id]: x }))).catch(() => {}));
    load();
    const i = window.setInterval(load, 10000);
    return () => { alive = false; window.clearInterval(i); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [chosen.map((c) => c.id).join(","), from]);

  const pos = (sec: number) => `${Math.min(100, Math.max(0, ((sec - from) / SPAN) * 100))}%`;
  const width = (a: number, b: number) => `${Math.max(0.15, ((Math.min(b, to) - Math.max(a, from)) / SPAN) * 100)}%`;
  const play = (sec: number) => { setPlayFrom(sec); setClock(sec); setPaused(false); setNames(names, sec); };
  const videos = useRef<Record<number, HTMLVideoElement | null>>({});
  const maps = useRef<Record<number, Piece[]>>({});

  // The clock: the first camera whose video plays; the others follow it.
  useEffect(() => {
    if (playFrom === null) return;
    const i = window.setInterval(() => {
      const ids = chosen.map((c) => c.id);
      const lead = ids.find((id) => { const v = videos.current[id]; return v && !v.paused && v.readyState >= 2 && maps.current[id]; });
      if (lead === undefined) return;
      const lv = videos.current[lead]!;
      const wall = wallAt(maps.current[lead], playFrom, lv.currentTime);
      lv.dataset.wall = wall.toFixed(3);
      lv.dataset.lead = "1";
      setClock(wall);
      for (const id of ids) {
        if (id === lead) continue;
        const v = videos.current[id];
        const pieces = maps.current[id];
        if (!v || !pieces) continue;
        const m = mediaAt(pieces, playFrom, wall);
        v.dataset.gap = m === null ? "1" : "";
        if (m === null) { if (!v.paused) v.pause(); continue; }
        if (Math.abs(v.currentTime - m) > DRIFT * Math.max(1, speed)) v.currentTime = m;
        if (v.paused && !paused) void v.play().catch(() => {});
        // The wall time this camera shows (for the eye and for tests).
        v.dataset.wall = wallAt(pieces, playFrom, v.currentTime).toFixed(3);
        v.dataset.lead = "";
      }
    }, 200);
    return () => window.clearInterval(i);
  }, [playFrom, chosen.map((c) => c.id).join(","), speed, paused]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => { Object.values(videos.current).forEach((v) => { if (v) v.playbackRate = speed; }); }, [speed, playFrom]);
  useEffect(() => {
    Object.values(videos.current).forEach((v) => { if (!v) return; if (paused) v.pause(); else if (v.dataset.gap !== "1") void v.play().catch(() => {}); });
  }, [paused]);

  return (
    <div className="sync" data-testid="sync">
      <div className="controls">
        <span>{t("syncCameras", { n: String(MAX) })}</span>
        {cams.map((c) => {
          const on = names.includes(c.name);
          return (
            <label key={c.id} className="sync-pick">
              <input type="checkbox" data-testid={`sync-pick-${c.name}`} checked={on} disabled={!on && names.length >= MAX}
                onChange={() => setNames(on ? names.filter((n) => n !== c.name) : [...names, c.name])} />{c.name}
            </label>
          );
        })}
        <button onClick={() => setCenter(center - SPAN / 3)}>◀</button>
        <button onClick={() => setCenter(center + SPAN / 3)}>▶</button>
        <button data-testid="sync-pause" onClick={() => setPaused(!paused)}>{paused ? "▶" : "⏸"}</button>
        <span className="speeds" role="group" aria-label={t("speed")}>
          {SPEEDS.map((s) => <button key={s} data-speed={s} className={s === speed ? "on" : ""} onClick={() => setSpeed(s)}>{s < 1 ? `1/${1 / s}` : s}×</button>)}
        </span>
        <span className="now" data-testid="sync-clock" data-sec={clock?.toFixed(3) ?? ""}>{clock !== null ? tm.dateTimeZone(clock) : ""}</span>
      </div>
      <div className="sync-timeline" data-testid="sync-timeline" data-from={from.toFixed(3)} data-to={to.toFixed(3)}
        onClick={(e) => { const r = e.currentTarget.getBoundingClientRect(); play(from + ((e.clientX - r.left) / r.width) * SPAN); }}>
        {chosen.map((c, row) => (
          <div key={c.id} className="sync-row" style={{ top: `${row * 16 + 2}px` }}>
            {lines[c.id]?.spans.map((s) => <div key={s.start_90k} className="span" style={{ left: pos(s.start_90k / 90000), width: width(s.start_90k / 90000, s.end_90k / 90000) }} />)}
            {lines[c.id]?.gaps.map((g) => <div key={g.start_90k} className="gap" title={g.cause} style={{ left: pos(g.start_90k / 90000), width: width(g.start_90k / 90000, (g.end_90k ?? Date.now() * 90) / 90000) }} />)}
          </div>
        ))}
        {clock !== null && <div className="cursor" style={{ left: pos(clock) }} />}
        {[0, 1, 2, 3, 4, 5, 6].map((i) => from + (i * SPAN) / 6).map((x, i) =>
          <span key={i} className={`tick ${i === 0 ? "first" : i === 6 ? "last" : ""}`} style={{ left: pos(x) }}>{hms(x)}</span>)}
      </div>
      {chosen.length === 0 ? <div className="hint">{t("syncPick")}</div> : (
        <div className={`grid sync-grid n${chosen.length}`}>
          {chosen.map((c) => <SyncTile key={c.id} camera={c} grant={grantsFor(grants, c.id, "view_recorded").filter((g) => !g.view_only)[0]}
            viewOnly={grantsFor(grants, c.id, "view_recorded").some((g) => g.view_only)} playFrom={playFrom}
            speed={speed} video={(v) => { videos.current[c.id] = v; }} onMap={(p) => { maps.current[c.id] = p; }} />)}
        </div>
      )}
    </div>
  );
}

function SyncTile({ camera, grant, viewOnly, playFrom, speed, video, onMap }: {
  camera: Camera; grant: Grant | undefined; viewOnly: boolean; playFrom: number | null; speed: number;
  video: (v: HTMLVideoElement | null) => void; onMap: (p: Piece[]) => void;
}) {
  const t = useT();
  const grantFrom = grant ? Date.parse(grant.from) / 1000 : -Infinity;
  const grantTo = grant?.to ? Date.parse(grant.to) / 1000 : Infinity;
  const inside = playFrom !== null && playFrom >= grantFrom && playFrom < grantTo;
  // A masked camera (Art. 10, 30) without the right to lift the mask is played as the
  // server's masked stream, one camera at a time: its recorded file would be refused.
  const masked = camera.privacy_masked && !!grant && !grant.actions.includes("unmask");
  const playTo = playFrom === null ? null : Math.min(playFrom + CHUNK, grantTo);
  const [gap, setGap] = useState(false);
  useEffect(() => {
    if (!grant || !inside || playFrom === null || playTo === null) return;
    let alive = true;
    fetchTimeline(camera.id, playFrom, playTo).then((x) => {
      if (alive) onMap(x.spans.map((p) => ({ start: p.start_90k / 90000, end: p.end_90k / 90000 })));
    }).catch(() => {});
    return () => { alive = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [camera.id, playFrom, grant?.id]);
  return (
    <div className="slot sync-tile" data-testid={`sync-tile-${camera.name}`}>
      <div className="tile-name">{camera.name}</div>
      {!grant && viewOnly ? <div className="hint" data-testid={`sync-view-only-${camera.name}`}>{t("syncViewOnly")} <Link href={`/playback/${encodeURIComponent(camera.name)}${playFrom === null ? "" : `?t=${Math.floor(playFrom)}`}`}>{t("openPlayback")}</Link></div>
        : !grant ? <div className="hint">{t("noPlaybackGrant")}</div>
        : masked ? <div className="hint" data-testid={`sync-masked-${camera.name}`}>{t("syncMasked")} <Link href={`/playback/${encodeURIComponent(camera.name)}${playFrom === null ? "" : `?t=${Math.floor(playFrom)}`}`}>{t("openPlayback")}</Link></div>
        : playFrom === null ? <div className="hint">{t("clickToPlay")}</div>
        : !inside ? <div className="hint">{t("outsideGrantShort")}</div>
        : <video ref={video} src={playbackUrl(camera.id, playFrom, playTo!, grant.id)} autoPlay muted data-testid={`sync-video-${camera.name}`}
            onLoadedMetadata={(e) => { e.currentTarget.playbackRate = speed; }}
            onPause={(e) => setGap(e.currentTarget.dataset.gap === "1")} onPlay={() => setGap(false)} />}
      {gap && <div className="notice" data-testid={`sync-gap-${camera.name}`}>{t("syncNoRecording")}</div>}
    </div>
  );
}
