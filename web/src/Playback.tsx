// Playback: a zoomable timeline of recorded spans and gaps; click to play from any
// instant (the server starts at the preceding key frame and trims with an edit list);
// 1x/2x/4x, frame stepping, keyboard shortcuts, and the export dialog.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Grant } from "./api";
import { addBookmark, ApiError, bookmarks as fetchBookmarks, cameras as fetchCameras, grantsFor, placeHold, playbackUrl, snapshotUrl, timeline as fetchTimeline, viewUrl, type Bookmark, type Camera, type Timeline } from "./api";
import { playSocket } from "./mse";
import { Thumbnails } from "./Thumbnails";
import { useGrants } from "./data";
import { ExportDialog } from "./ExportDialog";
import { useAsk } from "./Ask";
import { useLocation, useSearch } from "wouter";
import { useT } from "./i18n";
import { formatTime as hms, fromInput, toInput, useTime } from "./time";
import { DateTimeField } from "./DateTimeField";

const ZOOMS = [24 * 3600, 6 * 3600, 3600, 600, 120];
// Speeds from 1/8× (a frame at a time, almost) to 16× (an hour in four minutes): the
// range Chromium plays; audio is muted by the browser beyond 4×.
const SPEEDS = [0.125, 0.25, 0.5, 1, 2, 4, 8, 16];
const speedLabel = (s: number) => (s < 1 ? `1/${1 / s}×` : `${s}×`);
const FRAME = 1 / 25;
/** How much video one playback request loads. */
const CHUNK = 600;

const toLocalInput = toInput;
/** A recorded stretch, in seconds. */
interface Piece { start: number; end: number }

/**
 * The wall time of media time `t` of a playback that starts at `start`: the server
 * joins recordings back to back over gaps, so media time runs through the recorded
 * pieces one after another (playback.mp4 starts at `start` if it is recorded, else at
 * the next recorded instant).
 */
export function wallAt(pieces: Piece[], start: number, t: number): number {
  let left = t;
  let last = start;
  for (const p of pieces) {
    if (p.end <= start) continue;
    const from = Math.max(start, p.start);
    const len = p.end - from;
    if (left <= len) return from + left;
    left -= len;
    last = p.end;
  }
  return last;
}

export function Playback({ admin, username, cameraName }: { admin: boolean; username: string; cameraName?: string }) {
  // The URL names the camera and the moment (/playback/gate-1?t=1796137752): a link
  // to a moment plays it; each play is a step in the browser's history.
  const [, navigate] = useLocation();
  const search = useSearch();
  const t = useT();
  const ask = useAsk();
  const tm = useTime();
  const fmt = tm.dateTime;
  const [cams, setCams] = useState<Camera[]>([]);
  const [cameraId, setCameraId] = useState<number | null>(null);
  const [zoom, setZoom] = useState(3);
  const [center, setCenter] = useState(() => Date.now() / 1000 - ZOOMS[3] / 2);
  const [tl, setTl] = useState<Timeline | null>(null);
  const [playFrom, setPlayFrom] = useState<number | null>(null);
  const [now, setNow] = useState<number | null>(null);
  const [speed, setSpeed] = useState(1);
  // Thumbnails are video: asked for only when the user turns them on (each strip is
  // registered).
  const [thumbsOn, setThumbsOn] = useState(false);
  const [exporting, setExporting] = useState<{ from: string; to: string } | null>(null);
  const grants: Grant[] = useGrants().data ?? [];
  // An interested party's grants for the selected camera are view only (Art. 35): the
  // player shows who watches, the request and the time, and offers no export.
  const covering = grants.filter((g) => cameraId !== null && (g.cameras.length === 0 || g.cameras.includes(cameraId)));
  const viewOnly = covering.length > 0 && covering.every((g) => g.view_only);
  const viewGrant = covering.find((g) => g.view_only);
  // The case an access is made under: registered with it. With several, the user picks.
  const [caseId, setCaseId] = useState<number | null>(null);
  // With a full grant beside a view-only one, the full one is used (the view-only
  // grant would only be refused a file, and the refusal registered).
  const viewing = grantsFor(grants, cameraId, "view_recorded").filter((g) => viewOnly || !g.view_only);
  const chosen = viewing.find((g) => g.id === caseId) ?? viewing[0];
  const grant = chosen?.id;
  const copyGrant = grantsFor(grants, cameraId, "reproduce").find((g) => g.id === caseId)?.id
    ?? grantsFor(grants, cameraId, "reproduce")[0]?.id;
  // A masked camera (Art. 10, 30) whose grant does not lift the mask is played as the
  // server's masked stream, like a view-only one: its recorded file would be refused.
  const masked = !!cams.find((c) => c.id === cameraId)?.privacy_masked && !chosen?.actions.includes("unmask");
  const streamed = viewOnly || masked;
  // Playback is asked for only inside the chosen grant's range (the server refuses
  // anything past it, and registers the refusal).
  const grantFrom = chosen ? Date.parse(chosen.from) / 1000 : -Infinity;
  const grantTo = chosen?.to ? Date.parse(chosen.to) / 1000 : Infinity;
  // The recorded pieces of what is playing, and the gaps (with causes) between them.
  const [pieces, setPieces] = useState<Piece[]>([]);
  const [playGaps, setPlayGaps] = useState<Timeline["gaps"]>([]);
  const [notice, setNotice] = useState("");
  const [clock, setClock] = useState(Date.now());
  useEffect(() => { const i = setInterval(() => setClock(Date.now()), 1000); return () => clearInterval(i); }, []);
  const [recipient, setRecipient] = useState("");
  const [destination, setDestination] = useState("");
  const video = useRef<HTMLVideoElement>(null);

  // The timeline follows "now" until the user moves it (pan, date, zoom away from now);
  // "Now" brings it back.
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (!follow) return;
    const i = window.setInterval(() => setCenter(Date.now() / 1000 - ZOOMS[zoom] / 2 + ZOOMS[zoom] * 0.02), 2000);
    return () => window.clearInterval(i);
  }, [follow, zoom]);
  // Zooming keeps in view what matters: the frame playing, else (following) now.
  const zoomTo = (z: number) => {
    const nz = Math.max(0, Math.min(ZOOMS.length - 1, z));
    if (follow) setCenter(Date.now() / 1000 - ZOOMS[nz] / 2 + ZOOMS[nz] * 0.02);
    else if (now !== null) setCenter(now);
    setZoom(nz);
  };
  const span = ZOOMS[zoom];
  const from = center - span / 2;
  const to = center + span / 2;

  useEffect(() => {
    fetchCameras().then((c) => {
      setCams(c);
      const named = c.find((x) => x.name === cameraName);
      if (named) setCameraId(named.id);
      else if (c.length && cameraId === null) setCameraId(c[0].id);
    }).catch(() => {});
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const camName = cams.find((c) => c.id === cameraId)?.name;
  // The moment in the link, once: center the timeline there and play it.
  const linkT = Number(new URLSearchParams(search).get("t"));
  const [linked, setLinked] = useState(false);
  const ownT = useRef<number | null>(null);

  // Bookmarks (notes on moments, in the system log) of the window.
  const [marks, setMarks] = useState<Bookmark[]>([]);
  const [markMsg, setMarkMsg] = useState("");
  const loadMarks = () => { if (cameraId !== null) fetchBookmarks(cameraId, from, to).then(setMarks).catch(() => {}); };
  useEffect(() => {
    if (cameraId === null) return;
    let alive = true;
    const load = () => {
      fetchTimeline(cameraId, from, to).then((x) => alive && setTl(x)).catch(() => {});
      fetchBookmarks(cameraId, from, to).then((m) => alive && setMarks(m)).catch(() => {});
    };
    load();
    const timer = window.setInterval(load, 5000);
    return () => { alive = false; window.clearInterval(timer); };
  }, [cameraId, from, to]);

  useEffect(() => {
    const v = video.current;
    if (v) v.playbackRate = speed;
  }, [speed, playFrom, cameraId]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const v = video.current;
      if (!v || (e.target as HTMLElement).tagName === "INPUT") return;
      if (e.key === " ") { e.preventDefault(); if (v.paused) void v.play(); else v.pause(); }
      else if (e.key === "ArrowRight") { v.pause(); v.currentTime += FRAME; }
      else if (e.key === "ArrowLeft") { v.pause(); v.currentTime = Math.max(0, v.currentTime - FRAME); }
      else if (["1", "2", "4", "8"].includes(e.key)) setSpeed(Number(e.key));
      else if (e.key === "[" || e.key === "]") setSpeed((s) => SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, SPEEDS.indexOf(s) + (e.key === "]" ? 1 : -1)))]);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const pos = (sec: number) => `${Math.min(100, Math.max(0, ((sec - from) / span) * 100))}%`;
  const width = (a: number, b: number) => `${Math.max(0.15, ((Math.min(b, to) - Math.max(a, from)) / span) * 100)}%`;
  const ticks = useMemo(() => {
    const step = span / 6;
    return Array.from({ length: 7 }, (_, i) => from + i * step);
  }, [from, span]);

  const gapText = (g: Timeline["gaps"][number]) => t("noRecordingBetween", {
    from: hms(g.start_90k / 90000), to: g.end_90k === null ? t("now") : hms(g.end_90k / 90000), cause: g.cause,
  });
  // Where playback of a click at `sec` really starts: inside the grant, and over a
  // gap at its end (said so).
  const play = (sec: number, record = true) => {
    if (!chosen) { setNotice(t("noPlaybackGrant")); return; }
    if (sec < grantFrom || sec >= grantTo) {
      setNotice(t("outsideGrant", { from: fmt(grantFrom), to: grantTo === Infinity ? "—" : fmt(grantTo) }));
      return;
    }
    // Recorded here: play from here. Else from the next recording, saying why there
    // is none (the gap's cause).
    // (Outside the timeline's window — a link — the server starts at what is there.)
    const recorded = sec < from || sec > to || (tl?.spans.some((p) => p.start_90k / 90000 <= sec && sec < p.end_90k / 90000) ?? true);
    const gap = tl?.gaps.find((g) => g.start_90k / 90000 <= sec && (g.end_90k === null || sec < g.end_90k / 90000));
    let at = sec;
    let msg = "";
    if (!recorded) {
      const next = tl?.spans.find((p) => p.start_90k / 90000 > sec);
      if (!next) { if (gap) setNotice(gapText(gap)); return; }
      at = next.start_90k / 90000;
      msg = `${gap ? gapText(gap) : t("noRecordingBetween", { from: hms(sec), to: hms(at), cause: "—" })} — ${t("playingFrom", { at: hms(at) })}`;
    }
    if (grantTo - at < CHUNK) msg = [msg, t("grantEndsAt", { at: fmt(grantTo) })].filter(Boolean).join(" · ");
    setNotice(msg);
    setPieces([]);
    setPlayFrom(at);
    setNow(at);
    if (record && camName) {
      // Our own step in the history: the URL follows what plays, it does not replay it.
      ownT.current = Math.floor(at);
      navigate(`/playback/${encodeURIComponent(camName)}?t=${Math.floor(at)}`);
    }
  };
  // The moment in the URL plays — a link opened, or back/forward to another moment.
  useEffect(() => {
    if (!linkT || cameraId === null || !tl || grants.length === 0) return;
    if (cameraName && camName !== cameraName) return;
    if (linkT === ownT.current) return;
    if (linked && playFrom !== null && Math.abs(linkT - playFrom) < 1.5) return;
    setLinked(true);
    setFollow(false);
    setCenter(linkT);
    play(linkT, false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [linkT, cameraId, tl !== null, grants, camName]);
  const onTimelineClick = (e: React.MouseEvent<HTMLDivElement>) => {
    setFollow(false);
    const r = e.currentTarget.getBoundingClientRect();
    play(from + ((e.clientX - r.left) / r.width) * span);
  };
  const playTo = playFrom === null ? null : Math.min(playFrom + CHUNK, grantTo);
  // The pieces of the range being played, for the clock.
  useEffect(() => {
    if (cameraId === null || playFrom === null || playTo === null) return;
    let alive = true;
    fetchTimeline(cameraId, playFrom, playTo).then((x) => {
      if (!alive) return;
      setPieces(x.spans.map((p) => ({ start: p.start_90k / 90000, end: p.end_90k / 90000 })));
      setPlayGaps(x.gaps);
    }).catch(() => {});
    return () => { alive = false; };
  }, [cameraId, playFrom, playTo]);
  // The wall time of the frame on screen; crossing a gap says so.
  const onTime = (media: number) => {
    if (playFrom === null) return;
    const wall = pieces.length ? wallAt(pieces, playFrom, media) : playFrom + media;
    if (now !== null && wall - now > 1.5) {
      // The gap jumped over: one that overlaps the stretch between the two frames.
      const crossed = playGaps.find((g) => g.end_90k !== null && g.start_90k / 90000 < wall && g.end_90k / 90000 > now);
      if (crossed) setNotice(gapText(crossed));
    }
    setNow(wall);
  };

  const src = cameraId !== null && playFrom !== null && playTo !== null ? playbackUrl(cameraId, playFrom, playTo, grant) : undefined;
  // View only (Art. 35): no file; the server streams the video with the viewer, the
  // request and the time burned into the pixels.
  const [streamMsg, setStreamMsg] = useState("");
  useEffect(() => {
    const v = video.current;
    if (!streamed || !v || cameraId === null || playFrom === null) return;
    return playSocket(v, viewUrl(cameraId, playFrom, playTo ?? playFrom + CHUNK, grant), {
      liveEdge: false,
      onMessage: setStreamMsg,
      unsupported: (codec) => t("unsupportedCodec", { codec }),
      onEnd: (reason) => reason !== "completed" && setStreamMsg(t("viewEnded", { reason })),
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [streamed, cameraId, playFrom, grant]);

  return (
    <div className="playback">
      <div className="controls">
        <label>{t("camera")}{" "}
          <select value={cameraId ?? ""} data-testid="camera-select" onChange={(e) => {
            const id = Number(e.target.value);
            setCameraId(id);
            const n = cams.find((c) => c.id === id)?.name;
            if (n) navigate(`/playback/${encodeURIComponent(n)}`, { replace: true });
          }}>
            {cams.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </label>
        {covering.length > 1 && (
          <label>{t("case")}{" "}
            <select value={chosen?.id ?? ""} onChange={(e) => setCaseId(Number(e.target.value))} data-testid="case-select">
              {covering.map((g) => <option key={g.id} value={g.id}>#{g.request_id} {g.purpose}</option>)}
            </select>
          </label>
        )}
        <label>{t("date")}{" "}
          <DateTimeField value={toLocalInput(center)} testid="date"
            onChange={(v) => { const s = fromInput(v); if (!isNaN(s)) { setFollow(false); setCenter(s); } }} />
        </label>
        <button data-testid="zoom-in" onClick={() => zoomTo(zoom + 1)}>{t("zoomIn")}</button>
        <button data-testid="zoom-out" onClick={() => zoomTo(zoom - 1)}>{t("zoomOut")}</button>
        <button onClick={() => { setFollow(false); setCenter(center - span / 3); }}>◀</button>
        <button onClick={() => { setFollow(false); setCenter(center + span / 3); }}>▶</button>
        <button className={follow ? "on" : ""} data-testid="follow-now" onClick={() => { if (follow) { setFollow(false); return; } setFollow(true); setCenter(Date.now() / 1000 - span / 2 + span * 0.02); }}>{t("nowButton")}</button>
        {!viewOnly && chosen && <button data-testid="thumbs-toggle" className={thumbsOn ? "on" : ""} title={t("thumbnailsTitle")}
          onClick={() => setThumbsOn(!thumbsOn)}>🖼 {t("thumbnails")}</button>}
        {(!viewOnly) && <button data-testid="export-open" onClick={() => {
          const a = playFrom ?? from;
          setExporting({ from: toLocalInput(a), to: toLocalInput(a + 60) });
        }}>{t("export")}</button>}
      </div>
      {thumbsOn && !viewOnly && cameraId !== null && chosen && (
        <Thumbnails cameraId={cameraId} grant={grant} from={from} to={to} grantFrom={grantFrom} grantTo={grantTo} pos={pos}
          onPick={(sec) => { setFollow(false); play(sec); }} />
      )}
      <div className="timeline" data-testid="timeline" onClick={onTimelineClick}
        data-from={from.toFixed(3)} data-to={to.toFixed(3)}>
        {tl?.spans.map((s) => (
          <div key={s.start_90k} className="span" data-testid="span" title={`${t("recorded")} ${s.start} – ${s.end}`}
            style={{ left: pos(s.start_90k / 90000), width: width(s.start_90k / 90000, s.end_90k / 90000) }} />
        ))}
        {tl?.gaps.map((g) => (
          <div key={g.start_90k} className="gap" data-testid="gap" title={`${t("gap")}: ${g.cause}`}
            style={{ left: pos(g.start_90k / 90000), width: width(g.start_90k / 90000, (g.end_90k ?? Date.now() * 90) / 90000) }} />
        ))}
        {marks.map((m) => (
          <div key={m.leaf} className="bookmark" data-testid="bookmark" title={`${m.note} — ${m.by}`}
            style={{ left: pos(m.t_90k / 90000) }} onClick={(e) => { e.stopPropagation(); play(m.t_90k / 90000); }} />
        ))}
        {now !== null && <div className="cursor" style={{ left: pos(now) }} />}
        {ticks.map((x, i) => <span key={x} className={`tick ${i === 0 ? "first" : i === ticks.length - 1 ? "last" : ""}`} style={{ left: pos(x) }}>{hms(x)}</span>)}
      </div>
      <div className="player">
        {src && viewOnly && viewGrant && (
          // Art. 35: view only. Who watches, under which request, and when, over the video.
          <div className="overlay" data-testid="view-only-overlay">
            {t("viewOnly")} · {username} · {t("request")} #{viewGrant.request_id} · {tm.dateTimeZone(clock / 1000)}
          </div>
        )}
        {src ? (
          <video ref={video} src={streamed ? undefined : src} autoPlay muted controls={false} data-testid="playback-video"
            onContextMenu={(e) => viewOnly && e.preventDefault()}
            onLoadedMetadata={(e) => { e.currentTarget.playbackRate = speed; }}
            onTimeUpdate={(e) => onTime(e.currentTarget.currentTime)}
            onEnded={() => { if (now !== null && now + 1 < grantTo && playTo !== null && playTo < grantTo) play(playTo); }} />
        ) : (
          <div className="hint">{t("clickToPlay")}</div>
        )}
        {streamed && streamMsg && <div className="hint" data-testid="view-message">{streamMsg}</div>}
        {masked && src && <div className="hint" data-testid="playback-masked">{t("maskedTitle")}</div>}
        {notice && <div className="notice" data-testid="playback-notice">{notice}</div>}
        {marks.length > 0 && (
          <ul className="bookmarks" data-testid="bookmarks">
            {marks.map((m) => (
              <li key={m.leaf} data-testid="bookmark-row">
                <button className="link" onClick={() => play(m.t_90k / 90000)}>{tm.dateTime(m.t_90k / 90000)}</button>
                {" "}{m.note} <small>— {m.by}</small>
                {admin && cameraId !== null && (
                  <button className="link" data-testid="bookmark-hold" onClick={() =>
                    placeHold(cameraId, m.t_90k / 90000 - 60, m.t_90k / 90000 + 60, m.note)
                      .then(() => setMarkMsg(t("holdPlaced")))
                      .catch((e) => setMarkMsg(e instanceof ApiError ? e.message : String(e)))}>{t("bookmarkToHold")}</button>
                )}
              </li>
            ))}
          </ul>
        )}
        {markMsg && <div className="bundle-status" data-testid="bookmark-msg">{markMsg}</div>}
        <div className="transport">
          <button title={t("stepBack")} onClick={() => { const v = video.current; if (v) { v.pause(); v.currentTime = Math.max(0, v.currentTime - FRAME); } }}>◀|</button>
          <button title={t("playPause")} onClick={() => { const v = video.current; if (v) { if (v.paused) void v.play(); else v.pause(); } }}>▶‖</button>
          <button title={t("stepForward")} onClick={() => { const v = video.current; if (v) { v.pause(); v.currentTime += FRAME; } }}>|▶</button>
          {!viewOnly && copyGrant !== undefined && (
            <button data-testid="snapshot" title={t("snapshotTitle")} onClick={() => {
              if (cameraId === null || now === null) return;
              // A still is a copy: registered with who receives it.
              const at = now;
              const id = cameraId;
              void (recipient.trim() ? Promise.resolve(recipient.trim()) : ask.prompt(t("snapshotRecipient"))).then((who) => {
                if (!who) return;
                setRecipient(who);
                const a = document.createElement("a");
                a.href = snapshotUrl(id, at, who, destination, copyGrant);
                a.download = "";
                document.body.appendChild(a);
                a.click();
                a.remove();
              });
            }}>📷</button>
          )}
          {cameraId !== null && now !== null && !viewOnly && (
            <button data-testid="bookmark-add" title={t("bookmarkTitle")} onClick={() => {
              const id = cameraId, at = now;
              void ask.prompt(t("bookmarkNote")).then((note) => {
                if (!note) return;
                addBookmark(id, at, note).then(() => { setMarkMsg(""); loadMarks(); })
                  .catch((e) => setMarkMsg(e instanceof ApiError ? e.message : String(e)));
              });
            }}>🔖</button>
          )}
          <span>{t("speed")}</span>
          <span className="speeds" role="group" aria-label={t("speed")}>
            {SPEEDS.map((s) => <button key={s} className={s === speed ? "on" : ""} data-speed={s} onClick={() => setSpeed(s)}>{speedLabel(s)}</button>)}
          </span>
          <span className="now" data-testid="current-time" data-sec={now?.toFixed(3) ?? ""} data-pieces={pieces.length}
            data-map={JSON.stringify({ playFrom, pieces })}>{now !== null ? tm.dateTimeZone(now) : ""}</span>
          <small>{t("shortcuts")}</small>
        </div>
      </div>
      {exporting && cameraId !== null && (
        <ExportDialog cameraId={cameraId} initial={exporting} copyGrant={copyGrant} admin={admin}
          recipient={recipient} setRecipient={setRecipient} destination={destination} setDestination={setDestination}
          onClose={() => setExporting(null)} />
      )}
    </div>
  );
}
