//! `vidimus anonymize` (issue 13, the file interface): the scene clip of ../shared/testdata
//! comes out masked, re-checked and re-encoded, with a report that accounts for it, and
//! with nothing of the original file but its (masked) pictures; bad inputs and missing
//! weights are refused with a message that says what to do.

mod support;

use std::process::Command;
use support::*;

fn ffprobe(args: &[&str], file: &std::path::Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(file)
        .output()
        .expect("ffprobe (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_file_is_anonymized_and_reported_and_bad_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clip = shared().join("testdata/clips/scene-faces-plate-720p25.mp4");
    let models = shared().join("models");
    let out = dir.path().join("published.mp4");
    let report = dir.path().join("report.json");
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(bin())
            .arg("anonymize")
            .args(args)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(&[
        clip.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--models".as_ref(),
        models.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("anonymized 500 frames"), "{stdout}");

    // The report accounts for every frame and names the models by digest.
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["released"], true);
    assert_eq!(r["frames"], 500);
    assert_eq!(r["masks"].as_array().unwrap().len(), 500);
    assert_eq!(
        r["frames_with_masks"], 500,
        "three faces are in every frame"
    );
    let digests: Vec<&str> = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sha256"].as_str().unwrap())
        .collect();
    assert!(
        digests.contains(&"09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"),
        "{digests:?}"
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["masked_after"] == true)
    );
    // On this scene detection masks everything the source holds: the re-check finds
    // nothing there; what it sees on the masks' own edges is listed apart.
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        0,
        "{}",
        r["findings"]
    );
    assert!(
        r["artifacts"]
            .as_array()
            .is_some_and(|a| a.iter().all(|a| a["frame"].is_u64()))
    );
    for stage in ["decode", "detect", "mask", "recheck", "encode"] {
        assert!(
            r["timings_s"][stage].as_f64().unwrap() > 0.0,
            "{stage}: {}",
            r["timings_s"]
        );
    }
    let bytes = std::fs::read(&out).unwrap();
    use sha2::Digest;
    assert_eq!(
        r["output_sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&bytes))
    );

    // One H.264 stream of 500 frames that decodes without error; nothing of the
    // original encoder (x264 writes its name and settings into an SEI), no tags.
    let streams = ffprobe(
        &[
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ],
        &out,
    );
    assert_eq!(streams.trim(), "h264,1280,720,500", "{streams}");
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );
    let original = std::fs::read(&clip).unwrap();
    assert!(
        original.windows(4).any(|w| w == b"x264"),
        "the original names its encoder"
    );
    assert!(
        !bytes.windows(4).any(|w| w == b"x264"),
        "the output carries the original's SEI"
    );
    let tags = ffprobe(
        &["-show_entries", "format_tags:stream_tags", "-of", "json"],
        &out,
    );
    assert!(
        !tags.contains("Lavf") && !tags.contains("encoder"),
        "{tags}"
    );

    // The output exists: not replaced without --force.
    let (ok, _, stderr) = run(&[
        clip.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--models".as_ref(),
        models.as_os_str(),
    ]);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    // No weights: says how to get them.
    let other = dir.path().join("other.mp4");
    let (ok, _, stderr) = run(&[
        clip.as_os_str(),
        "--out".as_ref(),
        other.as_os_str(),
        "--models".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(!ok && stderr.contains("vidimus models fetch"), "{stderr}");
    // Weights that are not the checked file: refused by digest.
    let fake = dir.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(fake.join("centerface.onnx"), b"not a model").unwrap();
    std::fs::copy(models.join("clp_det.onnx"), fake.join("clp_det.onnx")).unwrap();
    let (ok, _, stderr) = run(&[
        clip.as_os_str(),
        "--out".as_ref(),
        other.as_os_str(),
        "--models".as_ref(),
        fake.as_os_str(),
    ]);
    assert!(!ok && stderr.contains("SHA-256"), "{stderr}");
    // Not an MP4.
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, b"these are notes, not video").unwrap();
    let (ok, _, stderr) = run(&[
        text.as_os_str(),
        "--out".as_ref(),
        other.as_os_str(),
        "--models".as_ref(),
        models.as_os_str(),
    ]);
    assert!(!ok && stderr.contains("notes.mp4"), "{stderr}");
    assert!(!other.exists(), "nothing written for a refused input");
}
