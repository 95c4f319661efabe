#!/usr/bin/python3
"""GStreamer's rtspsrc as an RTSP client for Vidimus tests.

Plays URL (digest user and password given apart, as rtspsrc takes them), depays and
decodes H.264 (avdec_h264) for SECONDS or until the stream ends, and prints
"FRAMES n" (decoded frames) and, on failure, "ERROR ...". Exit code 0 when at least
one frame decoded. Run with Debian's /usr/bin/python3 (python3-gi,
gstreamer1.0-plugins-good, gstreamer1.0-libav).
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--protocols", default="tcp")
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    Gst.init(None)
    pipe = Gst.parse_launch(
        "rtspsrc name=src latency=0 ! rtph264depay ! h264parse ! avdec_h264 ! "
        "fakesink name=sink signal-handoffs=true sync=false"
    )
    src = pipe.get_by_name("src")
    src.set_property("location", args.url)
    src.set_property("user-id", args.user)
    src.set_property("user-pw", args.password)
    src.set_property("protocols", args.protocols)
    frames = [0]
    pipe.get_by_name("sink").connect("handoff", lambda *a: frames.__setitem__(0, frames[0] + 1))
    loop = GLib.MainLoop()
    error = []

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            error.append(f"{err.message} ({dbg})")
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(int(args.seconds * 1000), loop.quit)
    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    print(f"FRAMES {frames[0]}")
    if error:
        print(f"ERROR {error[0]}")
    sys.exit(0 if frames[0] > 0 else 1)


if __name__ == "__main__":
    main()
