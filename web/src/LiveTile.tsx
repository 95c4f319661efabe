// One live tile: fragmented MP4 from the WebSocket into Media Source Extensions.
//
// A view that never started (the server refused it, or the camera has no stream) is
// not retried by itself: each attempt is a registered access decision, so the tile
// says what happened and offers a button. A view that played and lost its connection
// is retried, with growing waits (2 s, 4 s, … 30 s); a retry the server refuses stops.
import { useEffect, useRef, useState } from "react";
import { liveUrl } from "./api";
import { playSocket } from "./mse";
import { useT } from "./i18n";
import { useLocation } from "wouter";

export function LiveTile({ cameraId, name, grant, status, reason, masked }:
  { cameraId: number; name: string; grant?: number; status?: string; reason?: string | null; masked?: boolean }) {
  const t = useT();
  const [, navigate] = useLocation();
  const video = useRef<HTMLVideoElement>(null);
  const [message, setMessage] = useState<string>(t("waiting"));
  const [playing, setPlaying] = useState(false);
  const [failed, setFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const v = video.current!;
    let stop: (() => void) | null = null;
    let retry: number | undefined;
    let ended = false;
    let wait = 2000;
    setFailed(false);
    const connect = () => {
      let played = false;
      stop = playSocket(v, liveUrl(cameraId, grant), {
        liveEdge: true,
        onMessage: (m) => { if (m === "") { played = true; wait = 2000; setPlaying(true); } setMessage(m); },
        unsupported: (codec) => t("unsupportedCodec", { codec }),
        // The grant was revoked or expired: the view ends, and stays ended.
        onEnd: (reason) => { ended = true; setPlaying(false); setMessage(t("viewEnded", { reason })); v.removeAttribute("src"); },
        onLost: () => {
          if (ended) return;
          setPlaying(false);
          if (!played) {
            // Refused or unreachable before any video: never retried by itself.
            setFailed(true);
            setMessage(t("liveNotOpened"));
            return;
          }
          setMessage(t("connectionLost"));
          retry = window.setTimeout(connect, wait);
          wait = Math.min(30000, wait * 2);
        },
      });
    };
    connect();
    return () => {
      ended = true;
      window.clearTimeout(retry);
      stop?.();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cameraId, grant, attempt]);

  // The camera's own state, when it is why there is no video.
  const offline = !playing && status === "offline";
  const shown = offline ? (reason ? t("offlineBecause", { reason }) : t("offlineNoReason")) : message;
  return (
    <div className="tile" data-camera={cameraId} data-testid={`tile-${name}`}>
      <video ref={video} muted playsInline autoPlay />
      <div className="tile-label">{name}{status && status !== "recording" ? ` · ${t(status as "offline" | "starting")}` : ""}
        {masked && <span className="tile-masked" data-testid="tile-masked" title={t("maskedTitle")}>{t("maskedBadge")}</span>}
        {" "}<button className="link" data-testid="tile-playback" title={t("toPlayback")}
          onClick={(e) => { e.stopPropagation(); navigate(`/playback/${encodeURIComponent(name)}?t=${Math.floor(Date.now() / 1000 - 30)}`); }}>⏪</button></div>
      {shown && (
        <div className="tile-message" data-testid="tile-message">
          {shown}
          {failed && <> <button data-testid="tile-retry" onClick={(e) => { e.stopPropagation(); setAttempt((n) => n + 1); }}>{t("retry")}</button></>}
        </div>
      )}
    </div>
  );
}
