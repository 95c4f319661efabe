//! Export bundles: `vidimus export --bundle` writes one tar with the playable MP4, a
//! manifest and the proofs; `vidimus verify BUNDLE` checks it offline, on a machine
//! with nothing else, and names the first failing piece for every kind of tampering.

mod support;

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use support::bundles::*;
use support::*;
use vidimus_integrity::tar;

fn first_failure(bundle: &Path, extra: &[&str]) -> (String, String) {
    let (ok, rep) = verify_offline(bundle, extra);
    assert!(!ok, "tampered bundle verified: {rep}");
    (
        rep["first_failure"]["piece"].as_str().unwrap().to_owned(),
        rep["first_failure"]["detail"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn bundles_verify_offline_and_tampering_is_named() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("gate", &format!("{url}/gate"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(13));
    let t0 = site.first_start_90k("gate");
    let f = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    // 5.3 s from mid-GOP across a segment boundary, made while the recorder runs (so
    // its checkpointing and ours interleave).
    let (from, to) = (t0 + 90_000 * 13 / 10, t0 + 90_000 * 66 / 10);
    let bundle = site.dir.path().join("gate.vbundle");
    let out = site.vidimus(&[
        "export",
        "--bundle",
        "--camera",
        "gate",
        "--from",
        &f(from),
        "--to",
        &f(to),
        "--out",
        bundle.to_str().unwrap(),
        "--purpose",
        "case 2026-117: theft at the north gate",
        "--exporter",
        "operator li",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rec.terminate());
    let key = String::from_utf8(site.vidimus(&["log-key"]).stdout).unwrap();
    let key = key.trim();

    // A bundle without a purpose is refused.
    let out = site.vidimus(&[
        "export",
        "--bundle",
        "--camera",
        "gate",
        "--from",
        &f(from),
        "--to",
        &f(to),
        "--out",
        site.dir.path().join("x").to_str().unwrap(),
    ]);
    assert!(!out.status.success());

    // Untouched: verifies offline with the site's key; the first and last checks are
    // the archive and the whole MP4.
    let (ok, rep) = verify_offline(&bundle, &["--key", key]);
    assert!(ok, "{rep}");
    assert_eq!(rep["key_trusted"], true);
    let checks = rep["checks"].as_array().unwrap();
    let n_frag = checks
        .iter()
        .filter(|c| {
            c["piece"]
                .as_str()
                .unwrap()
                .starts_with("export.mp4 fragment")
        })
        .count();
    assert!(n_frag >= 3, "{rep}");
    assert!(
        checks
            .iter()
            .filter(|c| c["piece"].as_str().unwrap().starts_with("segment "))
            .count()
            >= 2
    );
    let m = &rep["manifest"];
    assert_eq!(m["camera"], "gate");
    assert_eq!(m["purpose"], "case 2026-117: theft at the north gate");
    assert_eq!(m["exporter"], "operator li");
    assert_eq!(m["export_id"], summary["manifest"]["export_id"]);
    // Without --key it verifies against the key it carries, and says so.
    let (ok, rep) = verify_offline(&bundle, &[]);
    assert!(ok);
    assert_eq!(rep["key_trusted"], false);

    // The MP4 inside plays, shows the requested 5.3 s (the edit list hides the rest of
    // the whole fragments it carries), and decodes cleanly.
    let bytes = std::fs::read(&bundle).unwrap();
    let mp4 = site.dir.path().join("inner.mp4");
    std::fs::write(&mp4, member(&bytes, "export.mp4")).unwrap();
    let (frames, codec, w, h) = ffprobe(&mp4);
    assert_eq!((codec.as_str(), w, h), ("h264", 1280, 720));
    assert!(frames >= 5 * 25, "{frames}");
    decodes_cleanly(&mp4);
    assert!(
        (m["duration_secs"].as_f64().unwrap() - 5.3).abs() < 0.05,
        "{m}"
    );
    // Any tar program reads the bundle.
    let tar_list = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(tar_list.stdout).unwrap(),
        "export.mp4\nmanifest.json\nproof.json\nREADME.txt\n"
    );

    // The export is in the log, and the store still verifies clean.
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let tampered = site.dir.path().join("tampered.vbundle");
    let try_bundle = |b: &[u8], extra: &[&str]| {
        std::fs::write(&tampered, b).unwrap();
        first_failure(&tampered, extra)
    };

    // 1. One byte of video in the MP4: the fragment is named with its byte range.
    let mp4_off = members(&bytes)[0].offset as usize;
    let proof: Value = serde_json::from_slice(member(&bytes, "proof.json")).unwrap();
    let fr = &proof["segments"][1]["fragments"][0];
    let at = mp4_off + fr["mp4_offset"].as_u64().unwrap() as usize + 500;
    let mut b = bytes.clone();
    b[at] ^= 0x40;
    let (piece, detail) = try_bundle(&b, &["--key", key]);
    let seg1 = proof["segments"][1]["path"].as_str().unwrap();
    assert_eq!(
        piece,
        format!("export.mp4 fragment {seg1}#{}", fr["hash_index"])
    );
    assert!(detail.contains("were modified"), "{detail}");

    // 2. The MP4's header (outside the samples): named as such.
    let mut b = bytes.clone();
    let mvhd = mp4_off + b[mp4_off..].windows(4).position(|w| w == b"mvhd").unwrap();
    b[mvhd + 30] ^= 0x01;
    let (piece, detail) = try_bundle(&b, &[]);
    assert_eq!(piece, "export.mp4");
    assert!(detail.contains("outside the recorded samples"), "{detail}");

    // 3. The manifest: a changed purpose.
    let b = edit_json(&bytes, "manifest.json", |m| {
        m["purpose"] = "routine".into();
    });
    let (piece, detail) = try_bundle(&b, &["--key", key]);
    assert_eq!(piece, "manifest.json");
    assert!(detail.contains("altered"), "{detail}");

    // 4. The proof: a recorded fragment hash, then an inclusion proof step.
    let b = edit_json(&bytes, "proof.json", |p| {
        p["segments"][0]["hashes"][1] = "00".repeat(32).into();
    });
    let (piece, detail) = try_bundle(&b, &[]);
    let seg0 = proof["segments"][0]["path"].as_str().unwrap();
    assert_eq!(piece, format!("segment {seg0}"));
    assert!(detail.contains("content root"), "{detail}");
    let b = edit_json(&bytes, "proof.json", |p| {
        p["export_record"]["inclusion_proof"][0] = "11".repeat(32).into();
    });
    let (piece, _) = try_bundle(&b, &[]);
    assert_eq!(piece, "export record");
    let b = edit_json(&bytes, "proof.json", |p| {
        p["checkpoint"]["size"] = (p["checkpoint"]["size"].as_u64().unwrap() + 1).into();
    });
    assert_eq!(try_bundle(&b, &[]).0, "checkpoint");

    // 5. Another key: against the site's key it is named; carried as the bundle's own
    //    key it disagrees with the manifest's fingerprint.
    let (piece, detail) = try_bundle(&bytes, &["--key", &"ab".repeat(32)]);
    assert_eq!(piece, "key");
    assert!(detail.contains("not the trusted key"), "{detail}");
    let b = edit_json(&bytes, "proof.json", |p| {
        p["public_key"] = "cd".repeat(32).into();
    });
    assert_eq!(try_bundle(&b, &[]).0, "key");

    // 6. Truncated, or a member missing.
    assert_eq!(try_bundle(&bytes[..bytes.len() / 2], &[]).0, "archive");
    let mut b = Vec::new();
    for m in members(&bytes).iter().filter(|m| m.name != "proof.json") {
        b.extend_from_slice(&bytes[m.offset as usize - 512..][..512]);
        b.extend_from_slice(&bytes[m.offset as usize..(m.offset + m.size) as usize]);
        b.extend(std::iter::repeat_n(0, tar::padding(m.size)));
    }
    b.extend_from_slice(&tar::END);
    assert_eq!(try_bundle(&b, &[]).0, "archive");

    // The untouched bundle still verifies (nothing above changed it).
    assert!(verify_offline(&bundle, &["--key", key]).0);
}
