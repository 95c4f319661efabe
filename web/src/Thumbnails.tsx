// Timeline thumbnails: one strip of key frames over the part of the timeline the user's
// grant covers, asked for only when the user turns them on (each strip is recorded
// video, viewed under the grant and registered by the server), and not again while the
// window barely moves. A click on a picture plays from its key frame.
import { useEffect, useRef, useState } from "react";
import { thumbnailsStrip } from "./api";
import { useT } from "./i18n";

interface Strip { url: string; times: (number | null)[]; from: number; to: number }

export function Thumbnails({ cameraId, grant, from, to, grantFrom, grantTo, pos, onPick }: {
  cameraId: number; grant: number | undefined; from: number; to: number; grantFrom: number; grantTo: number;
  pos: (sec: number) => string; onPick: (sec: number) => void;
}) {
  const t = useT();
  const [strip, setStrip] = useState<Strip | null>(null);
  const [error, setError] = useState("");
  const box = useRef<HTMLDivElement>(null);
  // The covered part of the window, up to now.
  const a = Math.max(from, grantFrom);
  const b = Math.min(to, grantTo, Date.now() / 1000);
  const span = to - from;
  // Asked again only when the window moved by a fifth of its span, or zoomed.
  const key = `${cameraId}:${grant}:${Math.round(a / (span / 5))}:${Math.round(span)}`;
  useEffect(() => {
    if (b - a < 1) { setStrip(null); return; }
    let alive = true;
    const width = box.current?.getBoundingClientRect().width ?? 800;
    const n = Math.max(1, Math.min(24, Math.floor(((b - a) / span) * width / 90)));
    const timer = window.setTimeout(() => {
      thumbnailsStrip(cameraId, a, b, n, grant).then((s) => {
        if (!alive) { URL.revokeObjectURL(s.url); return; }
        setStrip((old) => { if (old) URL.revokeObjectURL(old.url); return { ...s, from: a, to: b }; });
        setError("");
      }).catch((e) => alive && setError(String(e.message ?? e)));
    }, 500);
    return () => { alive = false; window.clearTimeout(timer); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  useEffect(() => () => { if (strip) URL.revokeObjectURL(strip.url); }, []); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="thumbs" ref={box} data-testid="thumbs">
      {strip && (
        <img src={strip.url} alt={t("thumbnails")} data-testid="thumbs-strip" data-count={strip.times.length}
          data-times={JSON.stringify(strip.times)}
          style={{ left: pos(strip.from), width: `calc(${pos(strip.to)} - ${pos(strip.from)})` }}
          onClick={(e) => {
            const r = e.currentTarget.getBoundingClientRect();
            const i = Math.min(strip.times.length - 1, Math.floor(((e.clientX - r.left) / r.width) * strip.times.length));
            const at = strip.times[i] ?? strip.from + ((i + 0.5) * (strip.to - strip.from)) / strip.times.length;
            onPick(at);
          }} />
      )}
      {error && <small className="error">{error}</small>}
    </div>
  );
}
