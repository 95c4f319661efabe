//! A program stream packed by a third party — GStreamer's `mpegpsmux`, as a device
//! or a lower platform would send it — read back by our demuxer: every access unit of
//! the clip, with the codec its PSM names and increasing times, whatever the pieces.

use std::path::Path;
use std::process::Command;
use vidimus_ps::{PsDemuxer, VideoCodec};

/// `clip` packed into a program stream by GStreamer (Debian's python3-gi and
/// gstreamer1.0-plugins-bad, which `scripts/test.sh` installs).
fn gstreamer_ps(clip: &Path, out: &Path) {
    let script = format!(
        r#"
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
p = Gst.parse_launch('filesrc location="{}" ! qtdemux ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! mpegpsmux ! filesink location="{}"')
p.set_state(Gst.State.PLAYING)
m = p.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
p.set_state(Gst.State.NULL)
raise SystemExit(0 if m and m.type == Gst.MessageType.EOS else 1)
"#,
        clip.display(),
        out.display()
    );
    let status = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .status()
        .expect("python3 with GStreamer (apt-get install python3-gi gstreamer1.0-plugins-bad)");
    assert!(
        status.success(),
        "GStreamer could not pack {}",
        clip.display()
    );
}

#[test]
fn gstreamers_program_stream_comes_back_frame_by_frame() {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/clips/cam-h264-720p25.mp4");
    let dir = tempfile::tempdir().unwrap();
    let ps = dir.path().join("gst.ps");
    gstreamer_ps(&clip, &ps);
    let bytes = std::fs::read(&ps).unwrap();
    let frames = {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(&clip)
            .output()
            .expect("ffprobe");
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    for piece in [1316usize, 65_536] {
        let mut d = PsDemuxer::new();
        let mut got = Vec::new();
        for c in bytes.chunks(piece) {
            got.extend(d.push(c));
        }
        got.extend(d.finish());
        assert_eq!(got.len(), frames, "pieces of {piece}");
        assert_eq!(d.codec(), Some(VideoCodec::H264));
        assert_eq!(d.skipped(), 0);
        assert!(
            got.iter()
                .all(|f| f.data.starts_with(&[0, 0, 0, 1]) || f.data.starts_with(&[0, 0, 1]))
        );
        let pts: Vec<u64> = got
            .iter()
            .map(|f| f.pts.expect("every frame timed"))
            .collect();
        assert!(pts.windows(2).all(|w| w[1] > w[0]), "times increase");
        // 25 frames/s: 3600 ticks apart.
        assert_eq!(pts[frames - 1] - pts[0], 3600 * (frames as u64 - 1));
    }
}
