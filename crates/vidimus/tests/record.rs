//! Recording from real RTSP peers: our simulated camera and GStreamer's
//! gst-rtsp-server serving the shared H.264+AAC and H.265 clips.

mod support;

use std::time::Duration;
use support::*;

const GOP: u64 = 50;

#[test]
fn simcam_recording_matches_what_the_camera_sent() {
    let (mut cam, url) = simcam("none");
    let with_creds = url.replace("rtsp://", "rtsp://admin:hunter2@");
    let site = Site::new(
        &[
            ("front", &format!("{url}/a")),
            ("back", &format!("{with_creds}/b")),
        ],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(11));
    let metrics = site.metrics();
    assert!(
        rec.terminate(),
        "recorder did not exit cleanly:\n{}",
        site.log_text()
    );
    // The simulated camera reports what it sent when it stops.
    let out = cam.terminate_output();
    let sent: u64 = out
        .split_whitespace()
        .find_map(|w| w.strip_prefix("frames_sent="))
        .expect("simcam stats")
        .parse()
        .unwrap();

    let mut recorded = 0;
    for name in ["front", "back"] {
        let segs = check_segments(&site, name, true);
        assert!(
            segs.len() >= 2,
            "{name}: expected rotation into several segments, got {}",
            segs.len()
        );
        for s in &segs {
            assert_eq!(s["state"], "closed");
            let frames = s["frames"].as_u64().unwrap();
            // Every frame of the 25 fps clip lasts exactly 3600 ticks of 90 kHz.
            assert_eq!(s["media_duration_90k"].as_u64().unwrap(), frames * 3600);
            // Wall duration follows media duration within the steering bound.
            let wall = s["end_90k"].as_i64().unwrap() - s["start_90k"].as_i64().unwrap();
            let media = s["media_duration_90k"].as_i64().unwrap();
            assert!(
                (wall - media).abs() <= media * 500 / 1_000_000 + 1,
                "{name}: wall {wall} vs media {media}"
            );
        }
        for w in segs.windows(2) {
            assert_eq!(
                w[0]["end_90k"], w[1]["start_90k"],
                "{name}: segments of one session are contiguous"
            );
        }
        let n = total_frames(&segs);
        assert_eq!(
            metric(&metrics, "vidimus_stream_frames_dropped_total", name),
            Some(0)
        );
        assert!(metric(&metrics, "vidimus_stream_frames_written_total", name).unwrap() <= n);
        assert!(
            site.recordings(name)["gaps"].as_array().unwrap().is_empty(),
            "{name}: no gaps expected"
        );
        recorded += n;
    }
    // Everything the camera sent was recorded, but for at most one GOP per stream
    // in flight at shutdown (the recorder writes the pending GOP when it stops).
    assert!(
        recorded <= sent && recorded + 2 * GOP >= sent,
        "sent {sent}, recorded {recorded}"
    );
    let (clean, report) = site.fsck();
    assert!(clean, "fsck: {report}");
    // Credentials never appear in logs, metrics or camera listings.
    let listing = String::from_utf8(site.vidimus(&["camera", "list", "--json"]).stdout).unwrap();
    assert!(listing.contains("\"username\": \"admin\""), "{listing}");
    for text in [site.log_text(), metrics, listing] {
        assert!(!text.contains("hunter2"), "password leaked: {text}");
    }
}

#[test]
fn gstreamer_h264_with_aac_and_h265() {
    let (_g1, url264) = gst_server("cam-h264-720p25.mp4", "h264", true, free_port());
    let (_g2, url265) = gst_server("cam-h265-720p25.mp4", "h265", false, free_port());
    // A long stall timeout: after the 20 s clip ends the server goes quiet, and the
    // recorder must not start a second session within this test.
    let site = Site::new(
        &[("gst264", &url264), ("gst265", &url265)],
        "sync_interval = \"1s\"\nsegment_duration = \"8s\"\nstall_timeout = \"60s\"",
    );
    let mut rec = site.serve();
    let done = wait_until(Duration::from_secs(45), || {
        let m = site.metrics();
        ["gst264", "gst265"]
            .iter()
            .all(|c| metric(&m, "vidimus_stream_frames_received_total", c).unwrap_or(0) >= 500)
    });
    assert!(done, "did not receive the whole clips:\n{}", site.metrics());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        rec.terminate(),
        "recorder did not exit cleanly:\n{}",
        site.log_text()
    );

    for (name, codec) in [("gst264", "h264"), ("gst265", "hevc")] {
        let segs = check_segments(&site, name, true);
        // 8 s segments of a 20 s clip with 2 s GOPs: rotation happened at key frames.
        assert!(segs.len() >= 3, "{name}: {} segments", segs.len());
        for s in &segs {
            let (_, c, w, h) = ffprobe(&site.segment_path(s["path"].as_str().unwrap()));
            assert_eq!((c.as_str(), w, h), (codec, 1280, 720), "{name}");
        }
        // The source has 500 frames (20 s at 25 fps).
        let frames = total_frames(&segs);
        assert!(
            frames.abs_diff(500) <= GOP,
            "{name}: {frames} frames recorded of 500"
        );
        let media: f64 = segs
            .iter()
            .map(|s| s["media_duration_secs"].as_f64().unwrap())
            .sum();
        assert!(
            (media - 20.0).abs() <= 2.0,
            "{name}: {media} s recorded of 20 s"
        );
    }
    let (clean, report) = site.fsck();
    assert!(clean, "fsck: {report}");
}
