//! `vidimus export`: a time range of one camera as a standard progressive MP4 that
//! ffprobe accepts, with the requested duration (±1 GOP), decodable, never transcoded.

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use support::*;

fn probe_format(path: &std::path::Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration,format_name:stream=codec_name,width,height,nb_frames",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn packet_md5s(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v", "-c", "copy", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_owned())
        .collect()
}

#[test]
fn exports_a_range_across_segments_as_a_playable_mp4() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("lobby", &format!("{url}/lobby"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(13));
    // Exporting while recording works on what is already on disk.
    let t0 = site.first_start_90k("lobby");
    let live_out = site.dir.path().join("live.mp4");
    let from = format!("{:.3}", (t0 + 90_000) as f64 / 90_000.0);
    let to = format!("{:.3}", (t0 + 4 * 90_000) as f64 / 90_000.0);
    let out = site.vidimus(&[
        "export",
        "--camera",
        "lobby",
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        live_out.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rec.terminate());

    // 5.3 s starting mid-GOP, spanning a segment boundary (segments are 4 s).
    let from_90k = t0 + 90_000 * 33 / 10;
    let to_90k = from_90k + 90_000 * 53 / 10;
    let f = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    let mp4 = site.dir.path().join("export.mp4");
    let out = site.vidimus(&[
        "export",
        "--camera",
        "lobby",
        "--from",
        &f(from_90k),
        "--to",
        &f(to_90k),
        "--out",
        mp4.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        summary["segments"].as_array().unwrap().len() >= 2,
        "{summary}"
    );
    assert!(summary["gaps"].as_array().unwrap().is_empty());
    let p = probe_format(&mp4);
    assert_eq!(
        p["format"]["format_name"].as_str().unwrap(),
        "mov,mp4,m4a,3gp,3g2,mj2"
    );
    assert_eq!(p["streams"][0]["codec_name"], "h264");
    assert_eq!(
        (
            p["streams"][0]["width"].as_u64(),
            p["streams"][0]["height"].as_u64()
        ),
        (Some(1280), Some(720))
    );
    let dur: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(
        (dur - 5.3).abs() <= 2.0,
        "duration {dur} s, wanted 5.3 s ± 1 GOP"
    );
    assert!(
        (summary["duration_secs"].as_f64().unwrap() - 5.3).abs() < 0.05,
        "{summary}"
    );
    decodes_cleanly(&mp4);
    // No transcoding: every exported packet is byte-identical to a recorded one, in
    // the same order (per-packet MD5s from ffmpeg's framemd5 muxer with -c copy).
    let (frames, ..) = ffprobe(&mp4);
    assert_eq!(frames, summary["frames"].as_u64().unwrap());
    let recorded: Vec<String> = site.recordings("lobby")["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| packet_md5s(&site.segment_path(s["path"].as_str().unwrap())))
        .collect();
    let exported = packet_md5s(&mp4);
    assert_eq!(exported.len() as u64, frames);
    assert!(
        recorded
            .windows(exported.len())
            .any(|w| w == exported.as_slice()),
        "exported packets are not a run of recorded packets"
    );
    assert!(std::fs::metadata(&mp4).unwrap().len() == summary["bytes"].as_u64().unwrap());
    assert!(!site.dir.path().join("export.mp4.partial").exists());

    // Clear errors: existing output, empty or inverted range, range without video.
    let out = site.vidimus(&[
        "export",
        "--camera",
        "lobby",
        "--from",
        &f(from_90k),
        "--to",
        &f(to_90k),
        "--out",
        mp4.to_str().unwrap(),
    ]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("exists"));
    let other = site.dir.path().join("other.mp4");
    let out = site.vidimus(&[
        "export",
        "--camera",
        "lobby",
        "--from",
        &f(to_90k),
        "--to",
        &f(from_90k),
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("range is empty")
    );
    let out = site.vidimus(&[
        "export",
        "--camera",
        "lobby",
        "--from",
        "1000000000",
        "--to",
        "1000000060",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no recording"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.vidimus(&[
        "export",
        "--camera",
        "lobby",
        "--from",
        "1000000000",
        "--to",
        "1000200000",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("at most 24 h"));
    assert!(!other.exists());
    let (live_frames, ..) = ffprobe(&live_out);
    assert!(
        live_frames >= 70,
        "export while recording: {live_frames} frames"
    );
}
