// One live tile: fragmented MP4 from the WebSocket into Media Source Extensions.
import { useEffect, useRef, useState } from "react";
import { liveUrl } from "./api";
import { useT } from "./i18n";

export function LiveTile({ cameraId, name, grant }: { cameraId: number; name: string; grant?: number }) {
  const t = useT();
  const video = useRef<HTMLVideoElement>(null);
  const [message, setMessage] = useState<string>(t("waiting"));

  useEffect(() => {
    const v = video.current!;
    let ws: WebSocket | null = null;
    let ms: MediaSource | null = null;
    let sb: SourceBuffer | null = null;
    const queue: ArrayBuffer[] = [];
    let closed = false;
    let retry: number | undefined;

    const pump = () => {
      if (!sb || sb.updating || queue.length === 0) return;
      try {
        // Keep ~30 s behind the live edge; older video is dropped from the buffer.
        if (v.buffered.length && v.currentTime - v.buffered.start(0) > 30) {
          sb.remove(v.buffered.start(0), v.currentTime - 10);
          return;
        }
        sb.appendBuffer(queue.shift()!);
      } catch {
        queue.length = 0;
      }
    };

    const connect = () => {
      ws = new WebSocket(liveUrl(cameraId, grant));
      ws.binaryType = "arraybuffer";
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") {
          const m = JSON.parse(ev.data);
          if (m.type === "end") {
            // The grant was revoked or expired: the view ends, and stays ended.
            closed = true;
            setMessage(t("viewEnded", { reason: m.reason }));
            v.removeAttribute("src");
            return;
          }
          if (m.type === "init") {
            const type = `video/mp4; codecs="${m.codec}"`;
            if (!("MediaSource" in window) || !MediaSource.isTypeSupported(type)) {
              setMessage(t("unsupportedCodec", { codec: m.codec }));
              ws?.close();
              closed = true;
              return;
            }
            queue.length = 0;
            ms = new MediaSource();
            v.src = URL.createObjectURL(ms);
            ms.addEventListener("sourceopen", () => {
              sb = ms!.addSourceBuffer(type);
              sb.mode = "segments";
              sb.addEventListener("updateend", () => {
                // Stay near the live edge.
                if (v.buffered.length) {
                  const end = v.buffered.end(v.buffered.length - 1);
                  if (end - v.currentTime > 2) v.currentTime = end - 0.3;
                  if (v.paused) void v.play().catch(() => {});
                }
                pump();
              });
              pump();
            }, { once: true });
            setMessage("");
          }
          return;
        }
        queue.push(ev.data as ArrayBuffer);
        pump();
      };
      ws.onclose = () => {
        if (closed) return;
        setMessage(t("connectionLost"));
        retry = window.setTimeout(connect, 2000);
      };
    };
    connect();
    return () => {
      closed = true;
      window.clearTimeout(retry);
      ws?.close();
      v.removeAttribute("src");
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cameraId, grant]);

  return (
    <div className="tile" data-camera={cameraId}>
      <video ref={video} muted playsInline autoPlay />
      <div className="tile-label">{name}</div>
      {message && <div className="tile-message">{message}</div>}
    </div>
  );
}
