//! `vidimus fsck`: an untouched store is clean; damage is named; `--repair` adopts
//! orphans; `--reindex` rebuilds the index from the files alone.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn fsck_finds_damage_and_reindex_rebuilds_from_files() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("a", &format!("{url}/a")), ("b", &format!("{url}/b"))],
        "sync_interval = \"1s\"\nsegment_duration = \"2s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(7));
    // While the recorder runs, open segments and not-yet-indexed files are expected.
    let (clean, report) = site.fsck();
    assert!(clean, "fsck while recording: {report}");
    assert!(rec.terminate());
    let (clean, report) = site.fsck();
    assert!(clean, "{report}");
    let before: Vec<_> = ["a", "b"]
        .iter()
        .map(|c| site.recordings(c)["segments"].clone())
        .collect();
    let segs = before[0].as_array().unwrap();
    assert!(segs.len() >= 3, "{segs:?}");

    // 1. The index is lost entirely: --reindex rebuilds it from the files.
    for f in ["index.db", "index.db-wal", "index.db-shm"] {
        let _ = std::fs::remove_file(site.data().join(f));
    }
    let out = site.vidimus(&["fsck"]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no Vidimus index")
    );
    let out = site.vidimus(&["fsck", "--reindex"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, cam) in ["a", "b"].iter().enumerate() {
        let after = site.recordings(cam)["segments"].clone();
        let strip = |v: &serde_json::Value| -> Vec<(String, i64, i64, i64, i64, i64)> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["path"].as_str().unwrap().to_owned(),
                        s["start_90k"].as_i64().unwrap(),
                        s["end_90k"].as_i64().unwrap(),
                        s["frames"].as_i64().unwrap(),
                        s["bytes"].as_i64().unwrap(),
                        s["media_duration_90k"].as_i64().unwrap(),
                    )
                })
                .collect()
        };
        let (b, a) = (strip(&before[i]), strip(&after));
        // Start times come from the files (first fragment's prft), ends from the
        // last fragment's prft + duration: within a frame of what the recorder indexed.
        assert_eq!(b.len(), a.len(), "{cam}");
        for (x, y) in b.iter().zip(&a) {
            assert_eq!((&x.0, x.3, x.4, x.5), (&y.0, y.3, y.4, y.5), "{cam}");
            assert!(
                (x.1 - y.1).abs() <= 1 && (x.2 - y.2).abs() <= 3600,
                "{cam}: {x:?} vs {y:?}"
            );
        }
    }
    let (clean, report) = site.fsck();
    assert!(clean, "after reindex: {report}");

    // 2. A truncated file is named, with what is wrong.
    let victim = site.segment_path(segs[1]["path"].as_str().unwrap());
    let len = std::fs::metadata(&victim).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap();
    f.set_len(len - 1000).unwrap();
    drop(f);
    let (clean, report) = site.fsck();
    assert!(!clean);
    let text = report.to_string();
    assert!(
        text.contains(segs[1]["path"].as_str().unwrap()) && text.contains("complete"),
        "{text}"
    );

    // 3. A deleted file is named as missing.
    let gone = site.segment_path(segs[2]["path"].as_str().unwrap());
    std::fs::remove_file(&gone).unwrap();
    let (_, report) = site.fsck();
    assert!(report.to_string().contains("file is missing"), "{report}");

    // 4. An unknown file is an orphan; --repair adopts it (a copy of a good segment
    //    under a new name — it overlaps its original, which fsck warns about).
    let orphan_rel = segs[0]["path"]
        .as_str()
        .unwrap()
        .replace(".mp4", "-copy.mp4");
    std::fs::copy(
        site.segment_path(segs[0]["path"].as_str().unwrap()),
        site.segment_path(&orphan_rel),
    )
    .unwrap();
    let (_, report) = site.fsck();
    assert!(report.to_string().contains("orphan"), "{report}");
    let out = site.vidimus(&["fsck", "--repair"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&orphan_rel), "{text}");
    let (_, report) = site.fsck();
    let text = report.to_string();
    assert!(
        !text.contains("orphan")
            && text.contains("starts")
            && text.contains("before the previous segment"),
        "{text}"
    );
}
