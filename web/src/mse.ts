// Fragmented MP4 from a WebSocket into Media Source Extensions: the live view and the
// view-only playback (watermarked, never a file) share it. The server sends text
// {"type":"init","codec",...}, the binary init segment, binary fragments, and text
// {"type":"end","reason"} when the stream ends (or its grant does).

export interface StreamEvents {
  /** Waiting, playing (""), or why it cannot play or has ended. */
  onMessage: (m: string) => void;
  /** The server ended the stream; `reason` is its word for why. */
  onEnd?: (reason: string) => void;
  /** The socket closed without an end message. */
  onLost?: () => void;
  /** Keep near the newest frame (live) rather than play from the start. */
  liveEdge: boolean;
  unsupported: (codec: string) => string;
}

/** Plays the stream at `url` in `v`; returns a function that stops it. */
export function playSocket(v: HTMLVideoElement, url: string, ev: StreamEvents): () => void {
  let ms: MediaSource | null = null;
  let sb: SourceBuffer | null = null;
  const queue: ArrayBuffer[] = [];
  let done = false;
  const pump = () => {
    if (!sb || sb.updating || queue.length === 0) return;
    try {
      // Keep ~30 s behind the play position; older video is dropped from the buffer.
      if (v.buffered.length && v.currentTime - v.buffered.start(0) > 30) {
        sb.remove(v.buffered.start(0), v.currentTime - 10);
        return;
      }
      sb.appendBuffer(queue.shift()!);
    } catch {
      queue.length = 0;
    }
  };
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") {
      queue.push(e.data as ArrayBuffer);
      pump();
      return;
    }
    const m = JSON.parse(e.data);
    if (m.type === "end") {
      done = true;
      ev.onEnd?.(m.reason);
      return;
    }
    if (m.type !== "init") return;
    const type = `video/mp4; codecs="${m.codec}"`;
    if (!("MediaSource" in window) || !MediaSource.isTypeSupported(type)) {
      ev.onMessage(ev.unsupported(m.codec));
      done = true;
      ws.close();
      return;
    }
    queue.length = 0;
    ms = new MediaSource();
    v.src = URL.createObjectURL(ms);
    ms.addEventListener("sourceopen", () => {
      sb = ms!.addSourceBuffer(type);
      sb.mode = "segments";
      sb.addEventListener("updateend", () => {
        if (ev.liveEdge && v.buffered.length) {
          const end = v.buffered.end(v.buffered.length - 1);
          if (end - v.currentTime > 2) v.currentTime = end - 0.3;
        }
        if (v.paused) void v.play().catch(() => {});
        pump();
      });
      pump();
    }, { once: true });
    ev.onMessage("");
  };
  ws.onclose = () => {
    if (!done) ev.onLost?.();
  };
  return () => {
    done = true;
    ws.close();
    v.removeAttribute("src");
  };
}
