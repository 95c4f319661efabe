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
        serde_json::from_slice(&out.stdout).unwrap(),
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

    // 3. A segment deleted behind the recorder's back (file and index row) is missing,
    //    and no logged deletion explains it.
    let victim = segs[1]["path"].as_str().unwrap().to_owned();
    std::fs::remove_file(site.segment_path(&victim)).unwrap();
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM segment WHERE path=?', (sys.argv[2],)); c.commit()",
        ])
        .arg(site.data().join("index.db"))
        .arg(&victim)
        .status()
        .unwrap();
    assert!(status.success());
    let (ok, all) = verify_json(&site, &[]);
    assert!(!ok);
    let problems = all["log"]["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p.as_str().unwrap()
            == format!("segment {victim} is missing and no logged deletion explains it")),
        "{all}"
    );
}
