//! `vidimus publish` (issue 13, Art. 31): a recorded range of the scene with faces and a
//! plate (served by GStreamer's RTSP server, recorded by `vidimus serve`) comes out as a
//! publication bundle: an anonymized clip with nothing of the recording in it, its
//! report, a manifest naming the source segments' log leaves, the process and the
//! output's digest, and proofs that `vidimus verify` checks offline — and every kind of
//! tampering is named. The publication is registered as a reproduction for public
//! broadcast; without the weights nothing is read, written or registered. The same
//! from the console, under a grant for publication that yields no raw video.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::bundles::*;
use support::websocket::{Ws, ws};
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

/// A grant for publication (`publish` only) of `camera` from `from` to `to` (Unix
/// seconds), asked for by `asker` (signed in as `username`) and approved by the
/// system manager: the request's id.
fn grant_to_publish(
    (asker, username): (&Client, &str),
    manager: &Client,
    purpose: &str,
    camera: i64,
    (from, to): (&str, &str),
) -> i64 {
    let r = asker.call(
        "POST",
        "/api/requests",
        Some(
            serde_json::json!({"kind": "system_operation", "purpose": purpose,
            "cameras": [camera], "from": from, "to": to,
            "actions": ["publish"], "days": 1, "persons": [{"username": username}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["request"]["id"].as_i64().unwrap();
    let r = manager.call(
        "POST",
        &format!("/api/requests/{id}/approve"),
        Some(serde_json::json!({"kind": "manager_approval"})),
    );
    assert_eq!(
        r.json()["request"]["status"],
        "granted",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    id
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

    // Strict: the re-check finds something on this scene, so nothing is released —
    // nothing written or registered — and the report says where.
    let strict_report = site.dir.path().join("strict-report.json");
    let out = publish(&[
        "--out",
        bundle.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--strict",
        "--report",
        strict_report.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not released"), "{err}");
    assert!(!bundle.exists());
    assert!(!bundle.with_extension("vpub.partial").exists());
    assert_eq!(register(&site).len(), before);
    let r: Value = serde_json::from_slice(&std::fs::read(&strict_report).unwrap()).unwrap();
    assert_eq!(r["released"], false);
    assert_eq!(r["params"]["recheck_rounds"], 0);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["masked_after"] == false && f["frame"].is_u64()),
        "{}",
        r["findings"]
    );
    assert!(r["output"].is_null() && r["output_sha256"].is_null(), "{r}");

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
    // A camera's privacy mask is burned into its publications (Art. 10, 30): the same
    // second published without and with a mask (set from the command line), the
    // masked region black in the second only, and the mask named in the process.
    let second = |name: &str| {
        let out_path = site.dir.path().join(name);
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
            out_path.to_str().unwrap(),
            "--models",
            models.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let b = std::fs::read(&out_path).unwrap();
        let clip = site.dir.path().join(format!("{name}.mp4"));
        std::fs::write(&clip, member(&b, vidimus_integrity::publication::MP4)).unwrap();
        let manifest: Value =
            serde_json::from_slice(member(&b, vidimus_integrity::publication::MANIFEST)).unwrap();
        (first_frame_grey(&clip), manifest)
    };
    let (plain, _) = second("plain.vpub");
    site.cli(&[
        "camera",
        "mask",
        "street",
        "--polygon",
        "0.55,0.1 0.95,0.1 0.95,0.6 0.55,0.6",
    ]);
    let (masked, manifest) = second("masked.vpub");
    let region = (760, 90, 1190, 410);
    let (p, m) = (mean(&plain, region), mean(&masked, region));
    assert!(p > 30.0, "the street is dark where the mask goes ({p:.1})");
    assert!(
        m < 20.0,
        "the masked region of the publication has luma {m:.1}"
    );
    assert!(
        manifest.to_string().contains("privacy_mask"),
        "the process names the mask: {manifest:#}"
    );
    // Removing it is not for the command line's user alone: an administrator
    // proposes it and another approves it (crates/vidimus/tests/privacy_mask.rs).
    let out = site.vidimus(&["camera", "mask", "street", "--clear"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("would expose"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

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

/// Publication from the console, under a grant for publication: the grant yields no
/// raw video (export, playback, bundle, snapshot, thumbnails, live and the view-only
/// stream are refused and registered); in Chromium (web/e2e/publish.mjs) the publisher
/// publishes a range, the job ends published, and the anonymized MP4 and its bundle
/// download, each registered, and the bundle verifies; a strict publication the
/// re-check blocks has nothing to download, and says what was found where; other
/// users see no one's publication.
#[test]
fn a_publication_under_a_grant_for_publication_never_yields_raw_video() {
    web_dir();
    let (_gst, url) = gst_server("scene-faces-plate-720p25.mp4", "h264", false, free_port());
    let site = Site::new(
        &[("street", &url)],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut toml = std::fs::read_to_string(site.config()).unwrap();
    toml.push_str(&format!(
        "[publication]\nmodels = \"{}\"\n",
        shared().join("models").display()
    ));
    std::fs::write(site.config(), toml).unwrap();
    const PW: &str = "press office password";
    add_user(&site, "press", PW, "operator");
    add_user(&site, "nosy", PW, "operator");
    add_user(&site, "manager", "the manager's password", "admin");
    add_user(&site, "deputy", "the deputy's password", "admin");
    site.cli(&[
        "org",
        "add",
        "--name",
        "Municipal data bureau",
        "--kind",
        "data_department",
    ]);
    add_member(
        &site,
        "data",
        PW,
        "operator",
        Some("Municipal data bureau"),
        None,
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(13));
    let t0 = site.first_start_90k("street");
    let secs = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    let press = Client::login(site.http, "press", PW);
    let manager = Client::login(site.http, "manager", "the manager's password");
    let street = manager.camera_id("street");
    grant_to_publish(
        (&press, "press"),
        &manager,
        "appeal for witnesses, Futian police",
        street,
        (&secs(t0), &secs(t0 + 90_000 * 8)),
    );

    // The grant for publication yields no raw video, by any door.
    let (a, b) = (secs(t0 + 90_000), secs(t0 + 90_000 * 4));
    for path in [
        format!("/api/cameras/{street}/export.mp4?from={a}&to={b}&recipient=TV"),
        format!("/api/cameras/{street}/playback.mp4?from={a}&to={b}"),
        format!("/api/cameras/{street}/snapshot.jpg?t={a}&recipient=TV"),
        format!("/api/cameras/{street}/thumbnails.jpg?from={a}&to={b}&n=4"),
    ] {
        let r = press.call("GET", &path, None);
        assert!(
            r.status == 403 || r.status == 404,
            "{path}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert!(!r.body.windows(4).any(|w| w == b"mdat"), "{path}");
    }
    // The live view and the view-only stream (WebSockets) too, before the upgrade.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for path in [
        format!("/api/cameras/{street}/live"),
        format!("/api/cameras/{street}/view?from={a}&to={b}"),
    ] {
        use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
        let mut req = format!("ws://127.0.0.1:{}{path}", site.http)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("cookie", press.cookie.parse().unwrap());
        match rt.block_on(tokio_tungstenite::connect_async(req)) {
            Err(Error::Http(r)) => {
                let body = String::from_utf8_lossy(r.body().as_deref().unwrap_or_default());
                assert_eq!(r.status(), 403, "{path}: {body}");
                assert!(body.contains("no_grant"), "{path}: {body}");
            }
            Err(e) => panic!("{path}: {e}"),
            Ok(_) => panic!("{path}: opened under a grant for publication"),
        }
    }
    let r = press.call(
        "POST",
        &format!("/api/cameras/{street}/bundles"),
        Some(serde_json::json!({"from": a, "to": b, "purpose": "x", "recipient": "TV"})),
    );
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));

    // A publication, as a job.
    let publish = |strict: bool| {
        let r = press.call(
            "POST",
            &format!("/api/cameras/{street}/publications"),
            Some(
                serde_json::json!({"from": a, "to": b, "purpose": "appeal for witnesses",
                "recipient": "Shenzhen TV", "strict": strict}),
            ),
        );
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let pid = r.json()["publication_id"].as_str().unwrap().to_owned();
        let mut last = Value::Null;
        assert!(
            wait_until(Duration::from_secs(300), || {
                last = press
                    .call("GET", &format!("/api/publications/{pid}"), None)
                    .json();
                last["state"] != "running"
            }),
            "{last}"
        );
        (pid, last)
    };
    // In the console: published, and both files downloaded in Chromium.
    let (pa, pb) = (t0 / 90_000 + 2, t0 / 90_000 + 5);
    let stdout = console_test(
        &site,
        "publish.mjs",
        &[
            ("VIDIMUS_USER", "press"),
            ("VIDIMUS_PASSWORD", PW),
            ("FROM", &pa.to_string()),
            ("TO", &pb.to_string()),
        ],
    );
    let line = |k: &str| -> Vec<String> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or_else(|| panic!("no {k} in:\n{stdout}"))
            .split(' ')
            .map(str::to_owned)
            .collect()
    };
    let (pid, shown_sha) = {
        let v = line("PUBLICATION ");
        (v[0].clone(), v[1].clone())
    };
    let job = press
        .call("GET", &format!("/api/publications/{pid}"), None)
        .json();
    assert_eq!(job["state"], "published", "{job}");
    assert_eq!(job["recipient"], "Shenzhen TV");
    assert_eq!(job["sha256"], shown_sha.as_str());
    // About 3 s of pictures: as many as were recorded in the range (a camera starved
    // of CPU by the test beside this one delivers fewer than 25 a second).
    let frames = job["frames"].as_u64().unwrap();
    assert!((25..=77).contains(&frames), "{job}");
    // Someone else does not see it (nor can they download it).
    let nosy = Client::login(site.http, "nosy", PW);
    for p in ["", "/publication.mp4", "/publication.vpub"] {
        assert_eq!(
            nosy.call("GET", &format!("/api/publications/{pid}{p}"), None)
                .status,
            404
        );
    }
    // The clip the browser saved: anonymized H.264 whose digest is the job's.
    let clip = std::path::PathBuf::from(&line("CLIP ")[0]);
    let clip_bytes = std::fs::read(&clip).unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&clip_bytes));
    assert_eq!(job["sha256"], sha.as_str());
    let (n, codec, _, _) = ffprobe(&clip);
    assert_eq!((n, codec.as_str()), (frames, "h264"));
    decodes_cleanly(&clip);
    // The bundle it saved verifies, and holds the same clip.
    let bundle = std::path::PathBuf::from(&line("BUNDLE ")[0]);
    let bundle_bytes = std::fs::read(&bundle).unwrap();
    assert_eq!(member(&bundle_bytes, "publication.mp4"), clip_bytes);
    let (ok, rep) = verify_offline(&bundle, &[]);
    assert!(ok, "{rep}");
    assert_eq!(rep["manifest"]["whereabouts"], "public broadcast");
    assert_eq!(rep["manifest"]["publisher"], "press");
    assert_eq!(rep["manifest"]["publication_id"], pid.as_str());

    // Strict: the re-check finds something on this scene, so nothing is released.
    let (blocked, job) = publish(true);
    assert_eq!(job["state"], "blocked", "{job}");
    assert!(job["left"].as_u64().unwrap() > 0, "{job}");
    let f = &job["findings"][0];
    assert!(f["frame"].is_u64() && f["rect"]["x1"].is_number(), "{job}");
    for p in ["publication.mp4", "publication.vpub"] {
        let r = press.call("GET", &format!("/api/publications/{blocked}/{p}"), None);
        assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.code(), "not_released");
    }
    assert!(
        !site
            .data()
            .join("publications")
            .join(format!("{blocked}.mp4"))
            .exists()
    );

    // A server stopped while a publication is being made: after a restart the job
    // says it was interrupted (its start is registered; nothing was published), and
    // the earlier publication still downloads.
    let start = |press: &Client| {
        let r = press.call(
            "POST",
            &format!("/api/cameras/{street}/publications"),
            Some(
                serde_json::json!({"from": a, "to": b, "purpose": "appeal for witnesses",
                "recipient": "Shenzhen TV"}),
            ),
        );
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        r.json()["publication_id"].as_str().unwrap().to_owned()
    };
    let interrupted = start(&press);
    assert!(rec.terminate());
    let mut rec = site.serve();
    let press = Client::login(site.http, "press", PW);
    let job = press
        .call("GET", &format!("/api/publications/{interrupted}"), None)
        .json();
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"].as_str().unwrap().contains("interrupted"),
        "{job}"
    );
    let job = press
        .call("GET", &format!("/api/publications/{pid}"), None)
        .json();
    assert_eq!(job["state"], "published", "{job}");
    let r = press.call(
        "GET",
        &format!("/api/publications/{pid}/publication.mp4"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body, clip_bytes);

    // A privacy mask set while a publication is being made: the clip, made without
    // it, is not released; the earlier publication (made without a mask) is not
    // handed out any more; with the mask removed again it would be.
    let masked_mid = start(&press);
    let mask_path = format!("/api/cameras/{street}/privacy-mask");
    let r = manager.call(
        "PUT",
        &mask_path,
        Some(serde_json::json!({"polygons": [[[0.6, 0.1], [0.9, 0.1], [0.9, 0.5]]]})),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let mut job = Value::Null;
    assert!(wait_until(Duration::from_secs(300), || {
        job = press
            .call("GET", &format!("/api/publications/{masked_mid}"), None)
            .json();
        job["state"] != "running"
    }));
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("privacy mask changed"),
        "{job}"
    );
    let r = press.call(
        "GET",
        &format!("/api/publications/{pid}/publication.mp4"),
        None,
    );
    assert_eq!((r.status, r.code().as_str()), (409, "mask_changed"));
    // Removing it takes a second administrator.
    let r = manager.call("PUT", &mask_path, Some(serde_json::json!({"polygons": []})));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let change = r.json()["pending"]["id"].as_i64().unwrap();
    let r = Client::login(site.http, "deputy", "the deputy's password").call(
        "POST",
        &format!("{mask_path}/changes/{change}/approve"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // A grant revoked while its publication is being made: nothing is published, and
    // nothing made under it downloads any more.
    let grant = press.call("GET", "/api/grants", None).json()[0]["id"]
        .as_i64()
        .unwrap();
    let revoked = start(&press);
    let r = manager.call("POST", &format!("/api/grants/{grant}/revoke"), None);
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let mut job = Value::Null;
    assert!(wait_until(Duration::from_secs(300), || {
        job = press
            .call("GET", &format!("/api/publications/{revoked}"), None)
            .json();
        job["state"] != "running"
    }));
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"].as_str().unwrap().contains("not published"),
        "{job}"
    );
    let made = |ext: &str| {
        site.data()
            .join("publications")
            .join(format!("{revoked}.{ext}"))
    };
    assert!(!made("mp4").exists() && !made("vpub").exists());
    let r = press.call(
        "GET",
        &format!("/api/publications/{pid}/publication.mp4"),
        None,
    );
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));

    // Open sharing (Art. 22, 23 ¶2): a data department asks; only anonymized
    // publication may be asked for, with the manager's consent; its publications are
    // registered as shared openly, and it gets no raw video.
    let data = Client::login(site.http, "data", PW);
    let ask = |actions: Value| {
        data.call(
            "POST",
            "/api/requests",
            Some(
                serde_json::json!({"kind": "open_sharing", "purpose": "open data portal",
                "cameras": [street], "from": secs(t0), "to": secs(t0 + 90_000 * 8),
                "actions": actions, "days": 1, "persons": [{"username": "data"}]}),
            ),
        )
    };
    let r = ask(serde_json::json!(["view_recorded", "publish"]));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let missing: Vec<String> = r.json()["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        missing.contains(&"anonymized_only".to_owned()),
        "{missing:?}"
    );
    let r = ask(serde_json::json!(["publish"]));
    let id = r.json()["request"]["id"].as_i64().unwrap();
    let r = manager.call(
        "POST",
        &format!("/api/requests/{id}/approve"),
        Some(serde_json::json!({"kind": "manager_consent"})),
    );
    assert_eq!(
        r.json()["request"]["status"],
        "granted",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = data.call(
        "GET",
        &format!("/api/cameras/{street}/export.mp4?from={a}&to={b}&recipient=portal"),
        None,
    );
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    let r = data.call(
        "POST",
        &format!("/api/cameras/{street}/publications"),
        Some(
            serde_json::json!({"from": a, "to": b, "purpose": "open data portal",
            "recipient": "Shenzhen open data portal"}),
        ),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let shared = r.json()["publication_id"].as_str().unwrap().to_owned();

    // The register: refusals of raw video, the publication, each download, the
    // blocked one and its refused downloads.
    assert!(rec.terminate());
    let reg = register(&site);
    let press_entries: Vec<&Value> = reg.iter().filter(|e| e["user"] == "press").collect();
    let raw_refused = press_entries
        .iter()
        .filter(|e| e["action"] != "publish" && e["allowed"] == false)
        .count();
    assert!(raw_refused >= 7, "{press_entries:?}");
    assert!(
        press_entries
            .iter()
            .all(|e| e["action"] == "publish" || e["allowed"] == false),
        "{press_entries:?}"
    );
    let of = |id: &str, outcome: &str| {
        press_entries
            .iter()
            .filter(|e| {
                e["kind"] == "access" && e["publication_id"] == id && e["outcome"] == outcome
            })
            .count()
    };
    assert_eq!(of(&pid, "published"), 1, "{press_entries:?}");
    // Both from the browser, and the clip again after the restart.
    assert_eq!(of(&pid, "served"), 3, "{press_entries:?}");
    // Each download's end is registered too (all of it was served).
    let ended = press_entries
        .iter()
        .filter(|e| e["kind"] == "access_end" && e["publication_id"] == pid.as_str())
        .count();
    assert_eq!(ended, 3, "{press_entries:?}");
    assert_eq!(of(&blocked, "blocked"), 1, "{press_entries:?}");
    assert_eq!(of(&blocked, "refused"), 2, "{press_entries:?}");
    // Each publication's start is registered before a sample is read.
    for id in [&pid, &blocked, &interrupted, &revoked] {
        assert_eq!(of(id, "started"), 1, "{id}: {press_entries:?}");
    }
    assert_eq!(of(&interrupted, "published"), 0);
    assert_eq!(of(&revoked, "published"), 0);
    let started = reg
        .iter()
        .find(|e| e["publication_id"] == shared.as_str() && e["outcome"] == "started")
        .unwrap_or_else(|| panic!("the open-sharing publication's start: {reg:?}"));
    assert_eq!(started["user"], "data");
    assert_eq!(started["request_kind"], "open_sharing");
    assert_eq!(started["whereabouts"]["medium"], "open sharing");
    // The revoked one's second decision is registered as refused.
    assert!(
        press_entries.iter().any(|e| e["kind"] == "access"
            && e["action"] == "publish"
            && e["allowed"] == false
            && e["whereabouts"]["medium"] == "public broadcast"),
        "{press_entries:?}"
    );
    let published = press_entries
        .iter()
        .find(|e| e["publication_id"] == pid.as_str() && e["outcome"] == "published")
        .unwrap();
    assert_eq!(published["whereabouts"]["medium"], "public broadcast");
    assert_eq!(published["whereabouts"]["recipient"], "Shenzhen TV");
    assert_eq!(published["anonymized"], true);
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Mean luma over a rectangle (x0, y0, x1, y1) of a 1280x720 grey picture.
fn mean(a: &[u8], (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(a[y * 1280 + x]);
        }
    }
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

/// Reads `frames` fragments of a live WebSocket: the streams it sent (each from an
/// init segment on; a feed that fell behind starts a new one at a key frame) as
/// files, and the messages' types.
async fn read_fragments(s: &mut Ws, frames: usize) -> Result<(Vec<Vec<u8>>, Vec<String>), String> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let (mut files, mut kinds, mut n, mut init_next) =
        (Vec::<Vec<u8>>::new(), Vec::new(), 0, false);
    while n < frames {
        let Ok(m) = tokio::time::timeout(Duration::from_secs(120), s.next()).await else {
            return Err(format!("no message in 120 s after {n} frames, {kinds:?}"));
        };
        match m.expect("the feed goes on").unwrap() {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                let kind = v["type"].as_str().unwrap_or("").to_owned();
                assert_ne!(kind, "end", "the feed ended: {v}");
                if kind == "init" {
                    init_next = true;
                }
                kinds.push(kind);
            }
            Message::Binary(b) => {
                if init_next {
                    files.push(b.to_vec());
                    init_next = false;
                } else {
                    files
                        .last_mut()
                        .expect("an init segment first")
                        .extend_from_slice(&b);
                    n += 1;
                }
            }
            _ => {}
        }
    }
    Ok((files, kinds))
}

/// Every picture of an fMP4 file, decoded by ffmpeg (yuv420p, 1280x720), with nothing
/// on stderr.
fn decode_all(bytes: &[u8]) -> Vec<vidimus_codec::Frame> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.mp4");
    std::fs::write(&path, bytes).unwrap();
    decodes_cleanly(&path);
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (w, h) = (1280, 720);
    let size = w * h * 3 / 2;
    assert_eq!(out.stdout.len() % size, 0);
    out.stdout
        .chunks(size)
        .enumerate()
        .map(|(i, p)| {
            let (y, uv) = p.split_at(w * h);
            let (u, v) = uv.split_at(w * h / 4);
            vidimus_codec::Frame::from_planes(
                w,
                h,
                i as i64,
                (w, w / 2),
                [y.to_vec(), u.to_vec(), v.to_vec()],
            )
            .unwrap()
        })
        .collect()
}

/// A box, (x1, y1, x2, y2) in pixels.
type PixelBox = (f32, f32, f32, f32);

/// The faces of the scene clip (testdata/README.md).
const FACES: [(&str, PixelBox); 3] = [
    ("large face", (176.0, 104.0, 243.0, 194.0)),
    ("profile face", (581.0, 99.0, 610.0, 139.0)),
    ("tiny face", (1145.0, 54.0, 1168.0, 85.0)),
];

/// The faces the detector sees on a picture: a find over the face's box (IoU at least
/// 0.5) that it is sure of (score at least 0.5; on the raw scene it scores each face
/// 0.56–0.92, and the flat masks with the edges around them at most about 0.26).
fn faces_found(
    det: &vidimus_anonymize::detect::FaceDetector,
    f: &vidimus_codec::Frame,
) -> Vec<&'static str> {
    use vidimus_anonymize::detect::Detector;
    let p = vidimus_anonymize::pipeline::Params::default();
    let mut finds = Vec::new();
    for &scale in [p.face_scale].iter().chain(p.recheck_face_scales.iter()) {
        finds.extend(det.detect(f, scale, p.recheck_face_threshold).unwrap());
    }
    FACES
        .iter()
        .filter(|(_, (x1, y1, x2, y2))| {
            let face = vidimus_anonymize::Rect::new(*x1, *y1, *x2, *y2);
            finds
                .iter()
                .any(|d| d.score >= 0.5 && d.rect.iou(&face) >= 0.5)
        })
        .map(|(n, _)| *n)
        .collect()
}

/// The spread of the luma (largest less smallest) over a face's box.
fn spread(f: &vidimus_codec::Frame, (x1, y1, x2, y2): PixelBox) -> u8 {
    let (mut lo, mut hi) = (255u8, 0u8);
    for y in y1 as usize..y2 as usize {
        for x in x1 as usize..x2 as usize {
            let v = f.luma(x, y);
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    hi - lo
}

/// Reads a feed on until the server closes it within `secs`: its end message's
/// reason and the close code.
async fn feed_end(s: &mut Ws, secs: u64) -> (Option<String>, Option<u16>) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut reason = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(secs), s.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "end" {
                    reason = v["reason"].as_str().map(str::to_owned);
                }
            }
            Ok(Some(Ok(Message::Close(c)))) => return (reason, c.map(|c| u16::from(c.code))),
            Ok(Some(Ok(_))) => {}
            other => panic!("the feed went on: {other:?}"),
        }
    }
}

/// Asks for the feed's upgrade over a bare socket and hangs up as soon as the answer's
/// head arrives: the upgrade may never complete.
fn abandoned_upgrade(port: u16, who: &Client, path: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: {}\r\n\r\n",
        who.cookie
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && c.read(&mut b).unwrap() == 1 {
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Open sharing live (issue 13 item 9; Art. 22, 23, 31): a grant for publication (or
/// open sharing) opens the camera's live anonymized feed and no raw one; every face is
/// destroyed in every picture it carries (the raw live view, under a duty grant, shows
/// them to the same detector); one anonymizer runs at a time (a second feed and a
/// publication meanwhile are told to wait); the feed ends when its grant is revoked;
/// the register names it a reproduction with its recipient, and its end what the
/// anonymizer did.
#[test]
fn a_live_anonymized_feed_carries_no_face_and_opens_only_under_a_grant_for_publication() {
    web_dir();
    let (_gst, url) = gst_server("scene-faces-plate-720p25.mp4", "h264", false, free_port());
    let site = Site::new(
        &[("street", &url)],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut toml = std::fs::read_to_string(site.config()).unwrap();
    toml.push_str(&format!(
        "[publication]\nmodels = \"{}\"\n",
        shared().join("models").display()
    ));
    std::fs::write(site.config(), toml).unwrap();
    const PW: &str = "press office password";
    add_user(&site, "press", PW, "operator");
    add_user(&site, "op", PW, "operator");
    add_user(&site, "manager", "the manager's password", "admin");
    duty(&site, "op");
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(9));
    let t0 = site.first_start_90k("street");
    let secs = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    let press = Client::login(site.http, "press", PW);
    let op = Client::login(site.http, "op", PW);
    let manager = Client::login(site.http, "manager", "the manager's password");
    let street = manager.camera_id("street");
    let feed = format!("/api/cameras/{street}/live/anonymized?recipient=Shenzhen%20TV");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Without a grant for publication: refused before the upgrade, and registered.
    let e = rt.block_on(ws(site.http, &press, &feed)).err().unwrap();
    assert_eq!(e.0, 403, "{e:?}");
    let e = rt.block_on(ws(site.http, &op, &feed)).err().unwrap();
    assert_eq!(e.0, 403, "a duty grant opens no feed for broadcast: {e:?}");

    // The raw live view (under the duty grant) shows the faces to the detector.
    let dir = shared().join("models");
    let faces = vidimus_anonymize::detect::FaceDetector::new(
        &vidimus_anonymize::models::load(&dir, vidimus_anonymize::models::CENTERFACE).unwrap(),
    )
    .unwrap();
    let mut raw = rt
        .block_on(ws(site.http, &op, &format!("/api/cameras/{street}/live")))
        .unwrap();
    let (files, _) = rt
        .block_on(read_fragments(&mut raw, 20))
        .unwrap_or_else(|e| panic!("raw live view: {e}; log:\n{}", site.log_text()));
    drop(raw);
    let raw: Vec<_> = files.iter().flat_map(|f| decode_all(f)).collect();
    assert!(raw.len() >= 20, "{}", raw.len());
    let seen = faces_found(&faces, &raw[10]);
    assert_eq!(seen.len(), 3, "raw live: {seen:?}");
    assert!(spread(&raw[10], FACES[0].1) > 40);

    // A grant for publication, reaching past now.
    grant_to_publish(
        (&press, "press"),
        &manager,
        "live appeal for witnesses, Futian police",
        street,
        (&secs(t0), &secs(t0 + 90_000 * 3600)),
    );
    let grant = press.call("GET", "/api/grants", None).json()[0]["id"]
        .as_i64()
        .unwrap();

    // It opens no raw view, and the feed needs a recipient.
    let e = rt
        .block_on(ws(
            site.http,
            &press,
            &format!("/api/cameras/{street}/live"),
        ))
        .err()
        .unwrap();
    assert_eq!(e.0, 403, "{e:?}");
    let e = rt
        .block_on(ws(
            site.http,
            &press,
            &format!("/api/cameras/{street}/live/anonymized"),
        ))
        .err()
        .unwrap();
    assert_eq!(e.0, 400, "{e:?}");
    assert!(e.1.contains("whereabouts_required"), "{e:?}");

    // In the console (web/e2e/publish_live.mjs): the feed plays, the large face flat.
    let stdout = console_test(
        &site,
        "publish_live.mjs",
        &[("VIDIMUS_USER", "press"), ("VIDIMUS_PASSWORD", PW)],
    );
    assert!(stdout.contains("SPREADS "), "{stdout}");

    // The feed: every picture decodes, and no face is left in any.
    let opened = std::time::Instant::now();
    // The console's feed gives the anonymizer back once its socket has closed.
    let mut s = rt.block_on(async {
        for _ in 0..50 {
            match ws(site.http, &press, &feed).await {
                Err((429, _)) => tokio::time::sleep(Duration::from_millis(200)).await,
                r => return r.unwrap(),
            }
        }
        panic!("the anonymizer was not given back within 10 s of the console's feed");
    });
    let (files, kinds) = rt
        .block_on(read_fragments(&mut s, 60))
        .unwrap_or_else(|e| panic!("the feed: {e}; log:\n{}", site.log_text()));
    // Not asserted (these machines are noisy): how fast the feed came.
    eprintln!(
        "60 anonymized frames in {:.1} s from the upgrade; messages: {kinds:?}",
        opened.elapsed().as_secs_f64()
    );
    let out: Vec<_> = files.iter().flat_map(|f| decode_all(f)).collect();
    assert!(
        out.len() >= 60,
        "{} pictures; messages {kinds:?}",
        out.len()
    );
    for (i, f) in out.iter().enumerate() {
        for (name, b) in FACES {
            assert!(
                spread(f, b) <= 12,
                "picture {i}: the {name} is not destroyed ({})",
                spread(f, b)
            );
        }
        if i % 5 == 0 {
            let seen = faces_found(&faces, f);
            assert!(
                seen.is_empty(),
                "picture {i}: the detector still finds {seen:?}"
            );
        }
    }

    // While it runs, the anonymizer is busy: a second feed and a publication wait.
    let e = rt.block_on(ws(site.http, &press, &feed)).err().unwrap();
    assert_eq!(e.0, 429, "{e:?}");
    let (a, b) = (secs(t0 + 90_000), secs(t0 + 90_000 * 4));
    let r = press.call(
        "POST",
        &format!("/api/cameras/{street}/publications"),
        Some(serde_json::json!({"from": a, "to": b, "purpose": "appeal",
            "recipient": "Shenzhen TV"})),
    );
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));

    // Revoked: the feed ends, and says why.
    let r = manager.call("POST", &format!("/api/grants/{grant}/revoke"), None);
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let ended = rt.block_on(feed_end(&mut s, 5));
    assert_eq!(ended, (Some("grant revoked".into()), Some(1008)));
    // The anonymizer is free again (a publication is then refused by the revoked
    // grant, not by the busy anonymizer).
    assert!(wait_until(Duration::from_secs(10), || {
        press
            .call(
                "POST",
                &format!("/api/cameras/{street}/publications"),
                Some(serde_json::json!({"from": a, "to": b, "purpose": "appeal",
                    "recipient": "Shenzhen TV"})),
            )
            .status
            == 403
    }));

    // A grant whose range ends in a few seconds: the feed ends with it (a grant to
    // publish the pictures of a time publishes none after it).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    grant_to_publish(
        (&press, "press"),
        &manager,
        "a short live appeal",
        street,
        (&secs(t0), &format!("{:.3}", now + 12.0)),
    );
    // An upgrade asked for and abandoned: its start still gets an end.
    let head = abandoned_upgrade(site.http, &press, &feed);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut short = rt.block_on(async {
        for _ in 0..50 {
            match ws(site.http, &press, &feed).await {
                Err((429, _)) => tokio::time::sleep(Duration::from_millis(200)).await,
                r => return r.unwrap(),
            }
        }
        panic!("the anonymizer was not given back after the abandoned upgrade");
    });
    let ended = rt.block_on(feed_end(&mut short, 30));
    assert_eq!(ended, (Some("grant expired".into()), Some(1008)));

    assert!(rec.terminate());
    let reg = register(&site);
    let press_entries: Vec<&Value> = reg.iter().filter(|e| e["user"] == "press").collect();
    // Every feed that started (the console's, this one, the abandoned upgrade, the
    // short one) has exactly one end.
    let starts: Vec<&&Value> = press_entries
        .iter()
        .filter(|e| e["kind"] == "access" && e["outcome"] == "served")
        .collect();
    assert_eq!(starts.len(), 4, "{press_entries:?}");
    for st in &starts {
        let ends = press_entries
            .iter()
            .filter(|e| e["kind"] == "access_end" && e["started_leaf"] == st["leaf_index"])
            .count();
        assert_eq!(ends, 1, "{st}: {press_entries:?}");
    }
    let served: Vec<&&Value> = press_entries
        .iter()
        .filter(|e| e["kind"] == "access" && e["outcome"] == "served")
        .collect();
    assert!(
        served.iter().all(|e| e["served"]["stream"] == "anonymized"
            && e["whereabouts"]["recipient"] == "Shenzhen TV")
    );
    let entry = served[1];
    assert_eq!(entry["action"], "publish");
    assert_eq!(entry["served"]["stream"], "anonymized");
    assert_eq!(entry["whereabouts"]["medium"], "public broadcast");
    assert_eq!(entry["whereabouts"]["recipient"], "Shenzhen TV");
    let ends: Vec<&&Value> = press_entries
        .iter()
        .filter(|e| e["kind"] == "access_end")
        .collect();
    assert_eq!(ends.len(), 4, "{press_entries:?}");
    assert_eq!(
        ends[0]["ended"], "client closed",
        "the console's feed, stopped"
    );
    let end = ends[1];
    assert_eq!(end["ended"], "grant revoked");
    assert!(
        ["not opened", "client closed"].contains(&ends[2]["ended"].as_str().unwrap()),
        "the abandoned upgrade: {}",
        ends[2]
    );
    assert_eq!(ends[3]["ended"], "grant expired");
    let counts = &end["anonymized_feed"];
    eprintln!("the feed's end: {end}");
    assert!(counts["released"].as_u64().unwrap() >= 60, "{counts}");
    assert!(counts["masks"].as_u64().unwrap() >= 3 * 60, "{counts}");
    assert!(end["bytes"].as_u64().unwrap() > 0);
    // The second feed and the publication while it ran: allowed, not made.
    let busy = press_entries
        .iter()
        .filter(|e| {
            e["outcome"] == "failed" && e["error"].as_str().is_some_and(|s| s.contains("busy"))
        })
        .count();
    // (and any retry above while the console's feed was closing).
    assert!(busy >= 2, "{press_entries:?}");
    // The refusals before the grant, of the feed and of the raw view.
    assert!(
        press_entries
            .iter()
            .filter(|e| e["kind"] == "access" && e["allowed"] == false)
            .count()
            >= 2,
        "{press_entries:?}"
    );
}
