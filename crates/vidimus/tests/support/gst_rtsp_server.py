#!/usr/bin/python3
"""A third-party RTSP peer for Vidimus tests: GStreamer's gst-rtsp-server.

Serves an MP4 file (H.264 or H.265 video, AAC audio if present) at
rtsp://127.0.0.1:PORT/stream without re-encoding, paced in real time.
Prints "READY rtsp://..." on stdout once listening. Run with Debian's
/usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0).
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--codec", choices=["h264", "h265"], required=True)
    ap.add_argument("--audio", action="store_true", help="also serve the AAC track")
    args = ap.parse_args()
    Gst.init(None)
    parse = "h264parse ! rtph264pay" if args.codec == "h264" else "h265parse ! rtph265pay"
    launch = (
        f'( filesrc location="{args.file}" ! qtdemux name=d '
        f"d.video_0 ! queue ! {parse} name=pay0 pt=96 config-interval=-1 "
    )
    if args.audio:
        launch += "d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 "
    launch += ")"
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)
    server.get_mount_points().add_factory("/stream", factory)
    if server.attach(None) == 0:
        print("cannot listen", file=sys.stderr)
        sys.exit(1)
    print(f"READY rtsp://127.0.0.1:{args.port}/stream", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
