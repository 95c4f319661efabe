//! `vidimus publish` (issue 13, Art. 31): a recorded range of the scene with faces and a
//! plate (served by GStreamer's RTSP server, recorded by `vidimus serve`) comes out as a
//! publication bundle: an anonymized clip with nothing of the recording in it, its
//! report, a manifest naming the source segments' log leaves, the process and the
//! output's digest, and proofs that `vidimus verify` checks offline — and every kind of
//! tampering is named. The publication is registered as a reproduction for public
//! broadcast; without the weights nothing is read, written or registered.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::bundles::*;
use support::*;

fn register(site: &Site) -> Vec<Value> {
    let out = site.vidimus(&["register", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().cloned().unwrap_or_default()
}

fn segments(site: &Site) -> Vec<Value> {
    site.recordings("street")["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_recorded_range_is_published_anonymized_registered_and_proven() {
    let (_gst, url) = gst_server("scene-faces-plate-720p25.mp4", "h264", false, free_port());
    let site = Site::new(
        &[("street", &url)],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(11));
    assert!(rec.terminate());
    // A gap: the recorder is down for a few seconds, then records again.
    let first_end = segments(&site)
        .iter()
        .map(|s| s["end_90k"].as_i64().unwrap())
        .max()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(7));
    assert!(rec.terminate());
    let t0 = site.first_start_90k("street");
    let f = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    // 3 s across a segment boundary, from mid-GOP, while the plate drives through.
    let (from, to) = (t0 + 90_000 * 35 / 10, t0 + 90_000 * 65 / 10);
    let bundle = site.dir.path().join("street.vpub");
    let models = shared().join("models");
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "publish",
            "--camera",
            "street",
            "--from",
            &f(from),
            "--to",
            &f(to),
            "--purpose",
            "appeal for witnesses, Futian police",
            "--publisher",
            "press office",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        site.vidimus(&refs)
    };

    // Without the weights: refused with how to get them; nothing written or registered.
    let before = register(&site).len();
    let out = publish(&[
        "--out",
        bundle.to_str().unwrap(),
        "--models",
        site.dir.path().join("no-models").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vidimus models fetch"), "{err}");
    assert!(!bundle.exists());
    assert_eq!(register(&site).len(), before);

    // Published.
    let out = publish(&[
        "--out",
        bundle.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pid = summary["manifest"]["publication_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = String::from_utf8(site.vidimus(&["log-key"]).stdout).unwrap();
    let key = key.trim().to_owned();
    let bytes = std::fs::read(&bundle).unwrap();

    // Exactly its five members (any tar program reads it).
    let names: Vec<String> = members(&bytes).into_iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "publication.mp4",
            "manifest.json",
            "report.json",
            "proof.json",
            "README.txt"
        ]
    );

    // Verifies offline with the site's key; names its source, process and re-check.
    let (ok, rep) = verify_offline(&bundle, &["--key", &key]);
    assert!(ok, "{rep}");
    assert_eq!(rep["key_trusted"], true);
    let m = &rep["manifest"];
    assert_eq!(m["publication_id"], pid.as_str());
    assert_eq!(m["whereabouts"], "public broadcast");
    assert_eq!(m["publisher"], "press office");
    assert_eq!(m["recheck"]["left"], 0);
    assert!(m["recheck"]["frames"].as_u64().unwrap() > 0, "{m}");
    assert!(m["segments"].as_array().unwrap().len() >= 2, "{m}");
    assert!(m["source"].as_array().unwrap().len() >= 2, "{m}");
    let shas: Vec<&str> = m["process"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sha256"].as_str().unwrap())
        .collect();
    assert!(shas.iter().any(|s| s.starts_with("09189dea")), "{shas:?}");
    assert!(shas.iter().any(|s| s.starts_with("1bb07d36")), "{shas:?}");
    assert!(
        m["process"]["anonymizer"]
            .as_str()
            .unwrap()
            .starts_with("vidimus-anonymize ")
    );
    // 3 s at 25 fps: the requested range, not the whole fragments around it.
    let frames = m["frames"].as_u64().unwrap();
    assert!((73..=77).contains(&frames), "{frames}");
    let pieces: Vec<&str> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["piece"].as_str().unwrap())
        .collect();
    for p in [
        "publication record",
        "re-check",
        "source",
        "report.json",
        "publication.mp4",
    ] {
        assert!(pieces.contains(&p), "{pieces:?}");
    }
    // The log leaf is the manifest's: it names the source leaves, models, output.
    let proof: Value = serde_json::from_slice(member(&bytes, "proof.json")).unwrap();
    let leaf: Value =
        serde_json::from_str(proof["publication_record"]["data"].as_str().unwrap()).unwrap();
    assert_eq!(leaf["kind"], "publication");
    assert_eq!(leaf["sources"], m["segments"]);
    assert_eq!(leaf["mp4_sha256"], m["mp4"]["sha256"]);
    assert_eq!(leaf["models"].as_array().unwrap().len(), 2);
    assert!(leaf["params"]["face_threshold"].is_number(), "{leaf}");
    // The proof carries hashes of the source, never its bytes.
    for s in proof["segments"].as_array().unwrap() {
        assert!(s["fragments"].as_array().unwrap().is_empty(), "{s}");
    }

    // The clip: H.264 1280x720, video only, decodes cleanly, and the faces are masked.
    let clip = site.dir.path().join("clip.mp4");
    std::fs::write(&clip, member(&bytes, "publication.mp4")).unwrap();
    let (n, codec, w, h) = ffprobe(&clip);
    assert_eq!((codec.as_str(), w, h), ("h264", 1280, 720));
    assert_eq!(n, frames);
    decodes_cleanly(&clip);
    let streams = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&streams.stdout).trim(), "video");
    let report: Value = serde_json::from_slice(member(&bytes, "report.json")).unwrap();
    assert_eq!(report["released"], true);
    assert_eq!(report["frames"].as_u64().unwrap(), frames);
    // The large static face (about [176,104,243,194]) is masked in every frame.
    let regions = report["regions"].as_array().unwrap();
    let covers_face = |r: &Value| {
        r.as_array().unwrap().iter().any(|b| {
            let v = |k: &str| b[k].as_f64().unwrap();
            v("x1") <= 180.0 && v("y1") <= 110.0 && v("x2") >= 240.0 && v("y2") >= 190.0
        })
    };
    assert!(regions.iter().all(covers_face), "{:?}", regions.first());

    // Nothing of the recording: no 64-byte run of any source segment's sample data
    // (the key frames before --from included) is anywhere in the bundle.
    for seg in m["segments"].as_array().unwrap() {
        let path = seg["path"].as_str().unwrap();
        let raw = std::fs::read(site.segment_path(path)).unwrap();
        let mdat = raw.windows(4).position(|w| w == b"mdat").unwrap() + 4;
        for k in 0..6 {
            let at = mdat + 100 + k * 8192;
            if at + 64 > raw.len() {
                break;
            }
            let probe = &raw[at..at + 64];
            assert!(
                !bytes.windows(64).any(|w| w == probe),
                "recorded bytes at {at} of {path} are in the bundle"
            );
        }
    }

    // Registered as a reproduction for public broadcast, naming the publication.
    let reg = register(&site);
    let e = reg
        .iter()
        .find(|e| e["publication_id"] == pid.as_str())
        .unwrap_or_else(|| panic!("no register entry for {pid}: {reg:?}"));
    assert_eq!(e["action"], "reproduce");
    assert_eq!(e["whereabouts"]["medium"], "public broadcast");
    assert_eq!(e["anonymized"], true);
    // The store still verifies clean with the new leaf kind.
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Tampering, each named.
    let tampered = site.dir.path().join("tampered.vpub");
    let try_bundle = |b: &[u8], extra: &[&str]| {
        std::fs::write(&tampered, b).unwrap();
        let (ok, rep) = verify_offline(&tampered, extra);
        assert!(!ok, "tampered bundle verified: {rep}");
        (
            rep["first_failure"]["piece"].as_str().unwrap().to_owned(),
            rep["first_failure"]["detail"].as_str().unwrap().to_owned(),
        )
    };
    // A byte of the clip.
    let off = members(&bytes)[0].offset as usize;
    let mut b = bytes.clone();
    b[off + 5000] ^= 0x20;
    let (piece, detail) = try_bundle(&b, &["--key", &key]);
    assert_eq!(piece, "publication.mp4");
    assert!(detail.contains("altered"), "{detail}");
    // The manifest (a changed purpose) no longer matches the logged record.
    let b = edit_json(&bytes, "manifest.json", |m| {
        m["purpose"] = "entertainment".into();
    });
    let (piece, _) = try_bundle(&b, &["--key", &key]);
    assert_eq!(piece, "publication record");
    // A report that disagrees with the re-check (a finding left unmasked), and one
    // changed where it still agrees.
    let b = retar(&bytes, "report.json", |old| {
        let mut v: Value = serde_json::from_slice(old).unwrap();
        v["findings"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "frame": 3, "kind": "face", "masked_after": false,
                "rect": {"x1": 1.0, "y1": 1.0, "x2": 9.0, "y2": 9.0}, "score": 0.5
            }));
        serde_json::to_vec_pretty(&v).unwrap()
    });
    let (piece, _) = try_bundle(&b, &[]);
    assert_eq!(piece, "re-check");
    let b = retar(&bytes, "report.json", |old| {
        let mut v: Value = serde_json::from_slice(old).unwrap();
        v["seconds"] = 0.1.into();
        serde_json::to_vec_pretty(&v).unwrap()
    });
    let (piece, _) = try_bundle(&b, &[]);
    assert_eq!(piece, "report.json");
    // A source fragment hash that was never recorded.
    let b = edit_json(&bytes, "manifest.json", |m| {
        m["source"][0]["sha256"] = "00".repeat(32).into();
    });
    let (piece, _) = try_bundle(&b, &[]);
    assert_eq!(piece, "publication record");
    // A segment's recorded hashes changed in the proof.
    let b = edit_json(&bytes, "proof.json", |p| {
        p["segments"][0]["hashes"][1] = "00".repeat(32).into();
    });
    let (piece, detail) = try_bundle(&b, &[]);
    assert!(piece.starts_with("segment "), "{piece}: {detail}");
    // Bytes smuggled in where a verifier might not look: proof.json's unknown fields
    // and fragment data, the README, a header's spare fields, the padding, after the
    // end of the archive.
    let b = edit_json(&bytes, "proof.json", |p| {
        p["original"] = "AAAA".into();
    });
    assert_eq!(try_bundle(&b, &[]).0, "proof.json");
    let b = edit_json(&bytes, "proof.json", |p| {
        p["segments"][0]["fragments"] = serde_json::json!([
            {"hash_index": 1, "header": "00ff", "mp4_offset": 0, "mp4_len": 2}
        ]);
    });
    assert_eq!(try_bundle(&b, &[]).0, "proof.json");
    let b = retar(&bytes, "README.txt", |old| {
        let mut v = old.to_vec();
        v.extend_from_slice(b"mdat....");
        v
    });
    assert_eq!(try_bundle(&b, &[]).0, "archive");
    let mut b = bytes.clone();
    let hdr = members(&bytes)[1].offset as usize - 512;
    b[hdr + 265] = b'x'; // uname, with the checksum made right again
    b[hdr + 148..hdr + 156].fill(b' ');
    let sum: u32 = b[hdr..hdr + 512].iter().map(|&x| u32::from(x)).sum();
    b[hdr + 148..hdr + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let (piece, detail) = try_bundle(&b, &[]);
    assert_eq!(piece, "archive", "{detail}");
    let mp4m = &members(&bytes)[0];
    let pad_at = (mp4m.offset + mp4m.size) as usize;
    if !pad_at.is_multiple_of(512) {
        let mut b = bytes.clone();
        b[pad_at] = 0x55;
        let (piece, detail) = try_bundle(&b, &[]);
        assert_eq!(piece, "archive", "{detail}");
        assert!(detail.contains("padding"), "{detail}");
    }
    let mut b = bytes.clone();
    b.extend_from_slice(&vidimus_integrity::tar::header("export.mp4", 4, 0).unwrap());
    b.extend_from_slice(b"mdat");
    b.extend(std::iter::repeat_n(0, vidimus_integrity::tar::padding(4)));
    b.extend_from_slice(&vidimus_integrity::tar::END);
    let (piece, detail) = try_bundle(&b, &[]);
    assert_eq!(piece, "archive", "{detail}");
    // The original smuggled in as a sixth member.
    let mut b = bytes[..bytes.len() - 1024].to_vec();
    b.extend_from_slice(&vidimus_integrity::tar::header("export.mp4", 4, 0).unwrap());
    b.extend_from_slice(b"mdat");
    b.extend(std::iter::repeat_n(0, vidimus_integrity::tar::padding(4)));
    b.extend_from_slice(&vidimus_integrity::tar::END);
    let (piece, detail) = try_bundle(&b, &[]);
    assert_eq!(piece, "archive", "{detail}");
    // Another site's key.
    let (piece, _) = try_bundle(&bytes, &["--key", &"ab".repeat(32)]);
    assert_eq!(piece, "key");

    // A range across the gap: 1.5 s before the recorder stopped and 1.5 s after it
    // started again are published — the pictures of those wall times, not 3 s of the
    // joined timeline (which would run past --to into the second run).
    let second_start = segments(&site)
        .iter()
        .map(|s| s["start_90k"].as_i64().unwrap())
        .filter(|&s| s > first_end)
        .min()
        .expect("a segment after the gap");
    assert!(second_start - first_end > 2 * 90_000, "no gap was recorded");
    let across = site.dir.path().join("across.vpub");
    let out = site.vidimus(&[
        "publish",
        "--camera",
        "street",
        "--from",
        &f(first_end - 90_000 * 3 / 2),
        "--to",
        &f(second_start + 90_000 * 3 / 2),
        "--purpose",
        "appeal",
        "--out",
        across.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = s["manifest"]["frames"].as_u64().unwrap();
    assert!((70..=80).contains(&n), "{n} frames across the gap");
    let (ok, rep) = verify_offline(&across, &["--key", &key]);
    assert!(ok, "{rep}");
    // --force is needed to replace it, and the old file stays without it.
    let before = std::fs::read(&across).unwrap();
    let out = site.vidimus(&[
        "publish",
        "--camera",
        "street",
        "--from",
        &f(first_end - 90_000 * 3 / 2),
        "--to",
        &f(first_end - 90_000 / 2),
        "--purpose",
        "appeal",
        "--out",
        across.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read(&across).unwrap(), before);

    // A range with no recording: a clear error, nothing written or registered.
    let entries = register(&site).len();
    let out = site.vidimus(&[
        "publish",
        "--camera",
        "street",
        "--from",
        &f(t0 - 90_000 * 3600),
        "--to",
        &f(t0 - 90_000 * 3590),
        "--purpose",
        "x",
        "--out",
        site.dir.path().join("none.vpub").to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(!site.dir.path().join("none.vpub").exists());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no recording") || err.contains("nothing recorded"),
        "{err}"
    );
    assert_eq!(register(&site).len(), entries);
    // A range longer than an hour is refused before anything is read.
    let out = site.vidimus(&[
        "publish",
        "--camera",
        "street",
        "--from",
        &f(t0),
        "--to",
        &f(t0 + 90_000 * 3601),
        "--purpose",
        "x",
        "--out",
        site.dir.path().join("long.vpub").to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at most 60 minutes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
