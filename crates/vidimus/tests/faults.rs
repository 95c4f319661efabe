//! Misbehaving cameras: a server killed and restarted, a stall, video that dies while
//! RTCP goes on, garbage and truncated RTP, an invalid SDP. Each must end in a clear, recorded gap, no panic, and nothing
//! stored corrupt. All six run against one recorder at once.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::*;

fn gaps(site: &Site, cam: &str) -> Vec<Value> {
    site.recordings(cam)["gaps"].as_array().unwrap().clone()
}

#[test]
fn faulty_cameras_leave_clear_gaps_and_intact_recordings() {
    let (_stall, stall_url) = simcam("stall-after=3");
    let (_rtcp, rtcp_url) = simcam("rtcp-only-after=3");
    let (_garbage, garbage_url) = simcam("garbage-after=3");
    let (_trunc, trunc_url) = simcam("truncated-rtp-after=3");
    let (_bad, bad_url) = simcam("bad-sdp");
    let restart_bind = format!("127.0.0.1:{}", free_port());
    let (mut restart, restart_url) = simcam_on(&restart_bind, "none");
    let site = Site::new(
        &[
            ("stall", &format!("{stall_url}/s")),
            ("rtcponly", &format!("{rtcp_url}/c")),
            ("garbage", &format!("{garbage_url}/g")),
            ("truncated", &format!("{trunc_url}/t")),
            ("badsdp", &format!("{bad_url}/b")),
            ("restart", &format!("{restart_url}/r")),
        ],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"\nstall_timeout = \"2s\"\n\
         backoff_initial = \"500ms\"\nbackoff_max = \"2s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(5));
    // The restart camera's server dies mid-stream and comes back 3 s later.
    restart.kill9();
    std::thread::sleep(Duration::from_secs(3));
    let (_restart2, _) = simcam_on(&restart_bind, "none");
    std::thread::sleep(Duration::from_secs(7));
    assert!(rec.is_running(), "recorder died:\n{}", site.log_text());
    let metrics = site.metrics();
    assert!(
        rec.terminate(),
        "recorder did not exit cleanly:\n{}",
        site.log_text()
    );
    let log = site.log_text();
    assert!(!log.contains("panicked"), "{log}");

    // Stall: detected by the timeout, recorded as such, reconnected.
    let g = gaps(&site, "stall");
    assert!(
        g.iter().any(|g| g["cause"]
            .as_str()
            .unwrap()
            .contains("stalled: no video frame for 2 s")),
        "{g:?}"
    );
    assert!(metric(&metrics, "vidimus_stream_reconnects_total", "stall").unwrap() >= 1);
    assert!(total_frames(&check_segments(&site, "stall", true)) >= 2 * 25);
    // A camera whose video died but whose RTCP reports go on is stalled too (the
    // timeout counts from the last video frame, not the last packet of any kind).
    let g = gaps(&site, "rtcponly");
    assert!(
        g.iter().any(|g| g["cause"]
            .as_str()
            .unwrap()
            .contains("stalled: no video frame for 2 s")),
        "{g:?}"
    );
    assert!(metric(&metrics, "vidimus_stream_reconnects_total", "rtcponly").unwrap() >= 1);
    assert!(total_frames(&check_segments(&site, "rtcponly", true)) >= 2 * 25);

    // Garbage and truncated RTP: a clear stream error, what came before intact.
    // The bytes are random, so which check trips first varies: any of these is a
    // clear diagnosis (retina names the connection, stream and sequence number too).
    let diagnoses: [(&str, &[&str]); 2] = [
        ("garbage", &["RTSP framing error", "interleaved", "channel"]),
        (
            "truncated",
            &["corrupt RTP header", "Empty NAL", "NAL", "FU-A", "RTP"],
        ),
    ];
    for (cam, says) in diagnoses {
        let g = gaps(&site, cam);
        assert!(!g.is_empty(), "{cam}: no gap recorded");
        let cause = g[0]["cause"].as_str().unwrap();
        eprintln!("{cam}: gap cause: {cause}");
        assert!(
            cause.starts_with("stream error: ") && says.iter().any(|s| cause.contains(s)),
            "{cam}: {cause}"
        );
        assert!(
            total_frames(&check_segments(&site, cam, true)) >= 2 * 25,
            "{cam}"
        );
        assert!(
            metric(&metrics, "vidimus_stream_reconnects_total", cam).unwrap() >= 1,
            "{cam}"
        );
    }

    // Invalid SDP: nothing stored, a gap naming the failed DESCRIBE, retried.
    assert!(
        site.recordings("badsdp")["segments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let g = gaps(&site, "badsdp");
    assert_eq!(g.len(), 1, "{g:?}");
    assert!(
        g[0]["cause"].as_str().unwrap().contains("DESCRIBE failed"),
        "{g:?}"
    );
    assert!(g[0]["attempts"].as_i64().unwrap() >= 2, "{g:?}");
    assert!(
        g[0]["end"].is_null(),
        "still failing, so the gap is still open"
    );

    // Killed and restarted server: recording resumed; one closed gap between the
    // two runs, starting where the first ended and ending where the second began.
    let segs = check_segments(&site, "restart", true);
    let g = gaps(&site, "restart");
    assert_eq!(g.len(), 1, "{g:?}");
    let (gs, ge) = (
        g[0]["start_90k"].as_i64().unwrap(),
        g[0]["end_90k"].as_i64().expect("gap closed"),
    );
    assert!(
        ge - gs >= 2 * 90_000,
        "gap of {} s is shorter than the outage",
        (ge - gs) / 90_000
    );
    assert!(
        segs.iter().any(|s| s["end_90k"].as_i64().unwrap() == gs),
        "gap starts at a segment end"
    );
    assert!(
        segs.iter().any(|s| s["start_90k"].as_i64().unwrap() == ge),
        "gap ends at a segment start"
    );
    assert!(
        segs.iter().any(|s| s["start_90k"].as_i64().unwrap() >= ge),
        "recording resumed"
    );
    assert!(metric(&metrics, "vidimus_stream_gaps_total", "restart").unwrap() >= 1);

    let (clean, report) = site.fsck();
    assert!(clean, "fsck: {report}");
}
