// One live tile: fragmented MP4 from the WebSocket into Media Source Extensions.
import { useEffect, useRef, useState } from "react";
import { liveUrl } from "./api";
import { playSocket } from "./mse";
import { useT } from "./i18n";

export function LiveTile({ cameraId, name, grant }: { cameraId: number; name: string; grant?: number }) {
  const t = useT();
  const video = useRef<HTMLVideoElement>(null);
  const [message, setMessage] = useState<string>(t("waiting"));

  useEffect(() => {
    const v = video.current!;
    let stop: (() => void) | null = null;
    let retry: number | undefined;
    let ended = false;
    const connect = () => {
      stop = playSocket(v, liveUrl(cameraId, grant), {
        liveEdge: true,
        onMessage: setMessage,
        unsupported: (codec) => t("unsupportedCodec", { codec }),
        // The grant was revoked or expired: the view ends, and stays ended.
        onEnd: (reason) => { ended = true; setMessage(t("viewEnded", { reason })); v.removeAttribute("src"); },
        onLost: () => {
          if (ended) return;
          setMessage(t("connectionLost"));
          retry = window.setTimeout(connect, 2000);
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
  }, [cameraId, grant]);

  return (
    <div className="tile" data-camera={cameraId}>
      <video ref={video} muted playsInline autoPlay />
      <div className="tile-label">{name}</div>
      {message && <div className="tile-message">{message}</div>}
    </div>
  );
}
