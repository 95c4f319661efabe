//! `vidimus verify`: every fragment's SHA-256 is recorded as it is written and every
//! closed segment is a leaf of a signed Merkle log. A flipped byte is named down to the
//! fragment; a checkpoint checked against another key is called forged; a segment
//! deleted behind the recorder's back is missing with no logged deletion to explain it.

mod support;

use std::time::Duration;
use support::*;

fn verify_json(site: &Site, extra: &[&str]) -> (bool, serde_json::Value) {
    let mut args = vec!["verify", "--json"];
    args.extend_from_slice(extra);
    let out = site.vidimus(&args);
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify: {e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        }),
    )
}

#[test]
fn tampering_is_named() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("door", &format!("{url}/door"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(11));
    assert!(rec.terminate());

    // Untouched: every fragment verifies; every closed segment is a log leaf; the
    // shutdown checkpoint covers the whole log and is signed by this site's key.
    let (ok, all) = verify_json(&site, &[]);
    assert!(ok, "{all}");
    let (rep, log) = (&all["fragments"], &all["log"]);
    assert!(rep["fragments"].as_u64().unwrap() >= 4, "{rep}");
    assert_eq!(rep["unhashed"], 0);
    let segs = site.recordings("door")["segments"]
        .as_array()
        .unwrap()
        .clone();
    assert!(segs.len() >= 3);
    assert!(
        log["leaves"].as_u64().unwrap() >= segs.len() as u64,
        "{log}"
    );
    assert_eq!(log["checkpoint_size"], log["leaves"], "{log}");
    assert!(log["problems"].as_array().unwrap().is_empty(), "{log}");
    let own = String::from_utf8(site.vidimus(&["log-key"]).stdout).unwrap();
    assert_eq!(own.trim(), log["public_key"].as_str().unwrap());

    // 1. One flipped byte inside the second fragment's video data of the first segment.
    let path = site.segment_path(segs[0]["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let mdats: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"mdat")
        .map(|(i, _)| i)
        .collect();
    let at = mdats[1] + 1000;
    // A range that excludes the segment verifies clean (and checks only its segments).
    let (a2, b2) = (
        segs[2]["start_90k"].as_i64().unwrap(),
        segs[2]["end_90k"].as_i64().unwrap(),
    );
    let f = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    let (ok, all) = verify_json(&site, &["--from", &f(a2 + 9000), "--to", &f(b2 - 9000)]);
    assert!(ok, "{all}");
    assert_eq!(all["fragments"]["segments"], 1, "{all}");
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let findings = all["fragments"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{all}");
    assert_eq!(findings[0]["path"], segs[0]["path"]);
    assert_eq!(findings[0]["fragment"], 2);
    let (a, b) = (
        findings[0]["byte_range"][0].as_u64().unwrap(),
        findings[0]["byte_range"][1].as_u64().unwrap(),
    );
    assert!(a <= at as u64 && (at as u64) < b, "{findings:?}");
    // fsck (structure only) stays clean: only the hashes catch this.
    assert!(site.fsck().0);
    let text = String::from_utf8(site.vidimus(&["verify"]).stdout).unwrap();
    assert!(
        text.contains("MODIFIED") && text.contains("fragment 2"),
        "{text}"
    );
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    // 2. Checked against another key, the checkpoint is named as forged.
    let (ok, all) = verify_json(&site, &["--key", &"ab".repeat(32)]);
    assert!(!ok);
    assert!(
        all["log"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("is not signed by key"),
        "{all}"
    );

    // 3. Two segment files swapped: each is named as holding the other's video.
    let (p0, p2) = (
        segs[0]["path"].as_str().unwrap().to_owned(),
        segs[2]["path"].as_str().unwrap().to_owned(),
    );
    let (b0, b2) = (
        std::fs::read(site.segment_path(&p0)).unwrap(),
        std::fs::read(site.segment_path(&p2)).unwrap(),
    );
    std::fs::write(site.segment_path(&p0), &b2).unwrap();
    std::fs::write(site.segment_path(&p2), &b0).unwrap();
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let f = all["fragments"]["findings"].to_string();
    assert!(
        f.contains(&format!("holds the video recorded as segment {p2}"))
            && f.contains(&format!("holds the video recorded as segment {p0}")),
        "{f}"
    );
    std::fs::write(site.segment_path(&p0), &b0).unwrap();
    std::fs::write(site.segment_path(&p2), &b2).unwrap();

    // 4. A truncated file: the fragments cut off are named.
    let p1 = segs[1]["path"].as_str().unwrap().to_owned();
    let b1 = std::fs::read(site.segment_path(&p1)).unwrap();
    std::fs::write(site.segment_path(&p1), &b1[..b1.len() - 1000]).unwrap();
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let f = all["fragments"]["findings"].to_string();
    assert!(
        f.contains("the file was truncated") && f.contains(&p1),
        "{f}"
    );
    std::fs::write(site.segment_path(&p1), &b1).unwrap();
    assert!(verify_json(&site, &[]).0);

    // 5. A segment deleted behind the recorder's back (file and index row) is missing,
    //    and no logged deletion explains it.
    let victim = segs[1]["path"].as_str().unwrap().to_owned();
    std::fs::remove_file(site.segment_path(&victim)).unwrap();
    // With only the file gone, the fragment check names it.
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let f = all["fragments"]["findings"].to_string();
    assert!(
        f.contains(&victim) && f.contains("cannot read the segment"),
        "{f}"
    );
    site.sql("DELETE FROM segment WHERE path = ?", &[&victim]);
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let problems = all["log"]["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p.as_str().unwrap()
            == format!("segment {victim} is missing and no logged deletion explains it")),
        "{all}"
    );

    // 6. Only an index row deleted (the file stays): named as such.
    site.sql("DELETE FROM segment WHERE path = ?", &[&p2]);
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let problems = all["log"]["problems"].to_string();
    assert!(
        problems.contains(&format!(
            "segment {p2}: its index row was deleted but the file is still there"
        )),
        "{problems}"
    );
}

/// Fragments of a segment still being written are logged and covered by a signed
/// checkpoint within `sync_interval + checkpoint_interval` (≤ 1 min), long before the
/// segment closes; rewriting such a fragment together with its recorded hash (so the
/// hash check alone would pass) is caught by the log.
#[test]
fn open_segments_are_covered_before_they_close() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"300s\"\ncheckpoint_interval = \"2s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(9));
    // A crash leaves the segment open: nothing closed it, so only the periodic
    // `fragments` leaves can cover it.
    rec.kill9();
    let segs = site.recordings("yard")["segments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_eq!(segs[0]["state"], "open", "{segs:?}");
    let (ok, all) = verify_json(&site, &[]);
    assert!(ok, "{all}");
    let covered = &all["log"]["covered_kinds"];
    assert!(covered["fragments"].as_u64().unwrap_or(0) >= 2, "{all}");
    assert!(covered.get("segment").is_none(), "{all}");

    // Rewrite fragment 1's video and its recorded hash to match.
    let path = segs[0]["path"].as_str().unwrap().to_owned();
    let file = site.segment_path(&path);
    let mut bytes = std::fs::read(&file).unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    bytes[mdat + 2000] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    let (_, all) = verify_json(&site, &[]);
    let f = &all["fragments"]["findings"][0];
    assert_eq!(f["fragment"], 1, "{all}");
    let (a, b) = (
        f["byte_range"][0].as_u64().unwrap(),
        f["byte_range"][1].as_u64().unwrap(),
    );
    let st = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,hashlib\n\
             d=open(sys.argv[2],'rb').read()[int(sys.argv[4]):int(sys.argv[5])]\n\
             c=sqlite3.connect(sys.argv[1])\n\
             h=bytearray(c.execute('SELECT fragment_hashes FROM segment WHERE path=?',(sys.argv[3],)).fetchone()[0])\n\
             h[32:64]=hashlib.sha256(d).digest()\n\
             c.execute('UPDATE segment SET fragment_hashes=? WHERE path=?',(bytes(h),sys.argv[3])); c.commit()",
        ])
        .arg(site.data().join("index.db"))
        .arg(&file)
        .arg(&path)
        .arg(a.to_string())
        .arg(b.to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    assert!(
        all["fragments"]["findings"].as_array().unwrap().is_empty(),
        "{all}"
    );
    let problems = all["log"]["problems"].to_string();
    assert!(
        problems.contains(&format!("segment {path}: its first"))
            && problems.contains("differ from log leaf"),
        "{problems}"
    );
}

/// The system log: logins (and failed ones), configuration changes, holds placed and
/// released, recorder start and stop are leaves of the integrity log — listed by
/// `vidimus events`, covered by the signed checkpoint, and an edited or deleted entry
/// is named by `vidimus verify`.
#[test]
fn the_system_log_is_tamper_evident() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("hall", &format!("{url}/hall"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    add_user(&site, "wang", "correct horse battery", "operator");
    let mut rec = site.serve();
    let (cookie, csrf) = login(site.http, "wang", "correct horse battery");
    let bad = serde_json::json!({"username": "wang", "password": "guess"}).to_string();
    let r = http(
        site.http,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        bad.as_bytes(),
    );
    assert_eq!(r.status, 401);
    let r = http(
        site.http,
        "POST",
        "/api/logout",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        b"",
    );
    assert_eq!(r.status, 204);
    let out = site.vidimus(&[
        "hold",
        "add",
        "--camera",
        "hall",
        "--from",
        "0",
        "--to",
        "4000000000",
        "--reason",
        "case 7",
        "--by",
        "manager zhao",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.vidimus(&["hold", "release", "1", "--by", "manager zhao"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(rec.terminate());

    let out = site.vidimus(&["events", "--json"]);
    assert!(out.status.success());
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    for want in [
        ("user_added", "root (command line)"),
        ("camera_added", "configuration file"),
        ("recorder_started", "recorder"),
        ("login", "wang"),
        ("login_failed", "wang"),
        ("logout", "wang"),
        ("hold", "manager zhao"),
        ("release", "manager zhao"),
        ("recorder_stopped", "recorder"),
    ] {
        assert!(
            kinds
                .iter()
                .any(|k| k.0 == want.0 && (k.1 == want.1 || want.0 == "user_added")),
            "{want:?} missing from {kinds:?}"
        );
    }
    assert_eq!(
        ev.as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "login_failed")
            .unwrap()["detail"]["peer"],
        "127.0.0.1"
    );
    // Restarting with the same configuration logs no camera change.
    let changes = kinds.iter().filter(|k| k.0.starts_with("camera_")).count();
    assert_eq!(changes, 1, "{kinds:?}");

    let (ok, all) = verify_json(&site, &[]);
    assert!(ok, "{all}");
    assert_eq!(all["log"]["checkpoint_size"], all["log"]["leaves"], "{all}");

    // An insider with the signing key rewrites a hold's reason *and* its leaf hash,
    // then restarts the recorder so that a fresh checkpoint vouches for the rewritten
    // log: the earlier signed checkpoints no longer agree with it, and that is named.
    let st = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,hashlib\n\
             c=sqlite3.connect(sys.argv[1])\n\
             i,d=c.execute(\"SELECT idx,data FROM log_leaf WHERE kind='event' AND CAST(data AS TEXT) LIKE '%case 7%'\").fetchone()\n\
             d=bytes(d).replace(b'case 7',b'case 8')\n\
             c.execute('UPDATE log_leaf SET data=?, leaf_hash=? WHERE idx=?',(d,hashlib.sha256(b'\\x00'+d).digest(),i)); c.commit()",
        ])
        .arg(site.data().join("index.db"))
        .status()
        .unwrap();
    assert!(st.success());
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    assert!(
        all["log"]["problems"]
            .to_string()
            .contains("do not hash to the signed root"),
        "{all}"
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(2));
    assert!(rec.terminate());
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let problems = all["log"]["problems"].to_string();
    assert!(
        problems.contains("are not consistent: the log was rewritten between them")
            && !problems.contains("do not hash to the signed root"),
        "{problems}"
    );

    // Rewrite who failed to log in: the leaf is named as altered.
    let login_failed = ev
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "login_failed")
        .unwrap()["leaf_index"]
        .as_i64()
        .unwrap();
    let sql = |q: &str, arg: i64| site.sql(q, &[&arg.to_string()]);
    sql(
        "UPDATE log_leaf SET data = replace(data, '127.0.0.1', '10.0.0.9') WHERE idx = ?",
        login_failed + 1,
    );
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let problems = all["log"]["problems"].to_string();
    assert!(
        problems.contains(&format!("log leaf {} was altered", login_failed + 1)),
        "{problems}"
    );
    // Delete the entry instead (with its hash): the gap in the log is named, and the
    // signed root no longer matches.
    sql("DELETE FROM log_leaf WHERE idx = ?", login_failed + 1);
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let problems = all["log"]["problems"].to_string();
    assert!(
        problems.contains(&format!("log leaf {} is missing", login_failed + 1)),
        "{problems}"
    );
    assert!(
        problems.contains("do not hash to the signed root") || problems.contains("truncated"),
        "{problems}"
    );
}
