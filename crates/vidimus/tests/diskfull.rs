//! A full disk (a real, size-limited tmpfs mounted over the data directory): recording
//! pauses cleanly with every segment closed intact, the alarm fires (metrics, API,
//! system log), nothing within retention is deleted, and recording resumes when space
//! is freed. Needs root (to mount), as CI and `./scripts/test.sh` run here.

mod support;

use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

/// A tmpfs of `mib` MiB mounted on `dir`, unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, mib: u32) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .expect("mount(8)");
        assert!(
            out.status.success(),
            "the disk-full test mounts a small tmpfs and so needs root (or CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Mount(dir.to_owned())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn paused(site: &Site) -> Option<bool> {
    let m = site.metrics();
    m.lines()
        .find_map(|l| l.strip_prefix("vidimus_recording_paused "))
        .map(|v| v.trim() == "1")
}

fn segment_paths(site: &Site, cams: &[&str]) -> HashSet<String> {
    cams.iter()
        .flat_map(|c| {
            site.recordings(c)["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["path"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    n
}

#[test]
fn a_full_disk_pauses_recording_cleanly_and_it_resumes_when_space_returns() {
    let (_cam, url) = simcam("none");
    let cams = ["east", "west"];
    let site = Site::new(
        &[
            ("east", &format!("{url}/east")),
            ("west", &format!("{url}/west")),
        ],
        "sync_interval = \"1s\"\nsegment_duration = \"3s\"\ndisk_reserve = \"3MiB\"\ncapacity_interval = \"2s\"",
    );
    let _mount = Mount::tmpfs(&site.data(), 16);
    // Something else on the same disk that the operator can delete later.
    let ballast = site.data().join("operator-ballast.bin");
    std::fs::write(&ballast, vec![7u8; 6 << 20]).unwrap();
    let mut rec = site.serve();

    // Two cameras at ~3 Mbit/s fill the ~7 MiB left above the reserve in seconds.
    assert!(
        wait_until(Duration::from_secs(90), || paused(&site) == Some(true)),
        "recording never paused; metrics:\n{}\nlog:\n{}",
        site.metrics(),
        site.log_text()
    );
    let m = site.metrics();
    assert!(
        m.contains("vidimus_alarm{alarm=\"disk_full\",severity=\"critical\"} 1"),
        "{m}"
    );
    // The capacity forecast (2 cameras × ~30 GiB/day against 16 MiB) is below the
    // legal minimum: a critical alarm too, naming the article.
    assert!(
        wait_until(Duration::from_secs(10), || site.metrics().contains(
            "vidimus_alarm{alarm=\"capacity\",severity=\"critical\"} 1"
        )),
        "{}",
        site.metrics()
    );
    add_user(&site, "ops", "a long enough password", "operator");
    let (cookie, _) = login(site.http, "ops", "a long enough password");
    let st = http(site.http, "GET", "/api/status", &[("cookie", &cookie)], b"").json();
    assert_eq!(st["recording_paused"], true, "{st}");
    let cap = &st["capacity"];
    assert_eq!(cap["status"], "below_legal_minimum", "{st}");
    assert!(cap["message"].as_str().unwrap().contains("Art. 32"), "{st}");
    assert!(
        st["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "disk_full"
                && a["message"]
                    .as_str()
                    .unwrap()
                    .contains("nothing deleted early")),
        "{st}"
    );

    // Paused means paused: nothing more is written (the index may still log events).
    std::thread::sleep(Duration::from_secs(2));
    let segs_dir = site.data().join("segments");
    let before = dir_bytes(&segs_dir);
    let kept = segment_paths(&site, &cams);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(dir_bytes(&segs_dir), before, "segments grew while paused");
    assert!(kept.len() >= 2, "{kept:?}");
    // Nothing corrupt, everything indexed, every segment plays.
    let (clean, rep) = site.fsck();
    assert!(clean, "{rep}");
    for c in cams {
        check_segments(&site, c, true);
    }

    // The operator frees space: recording resumes by itself.
    std::fs::remove_file(&ballast).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || paused(&site) == Some(false)),
        "recording did not resume; log:\n{}",
        site.log_text()
    );
    assert!(
        wait_until(Duration::from_secs(30), || segment_paths(&site, &cams)
            .difference(&kept)
            .count()
            >= 2),
        "no new segments after space returned"
    );
    assert!(!site.metrics().contains("alarm=\"disk_full\""));
    assert!(rec.terminate());

    // Nothing recorded before the pause was deleted (all within retention).
    let after = segment_paths(&site, &cams);
    assert!(
        kept.is_subset(&after),
        "segments vanished: {:?}",
        kept.difference(&after)
    );
    // The pause is a gap with its cause on each camera, closed when recording resumed.
    for c in cams {
        let gaps: Vec<Value> = site.recordings(c)["gaps"].as_array().unwrap().clone();
        assert!(
            gaps.iter()
                .any(|g| g["cause"].as_str().unwrap().starts_with("disk full")
                    && !g["end"].is_null()),
            "{c}: {gaps:?}"
        );
    }
    // Both transitions are in the (tamper-evident) system log, and all verifies.
    let ev: Value = serde_json::from_slice(&site.vidimus(&["events", "--json"]).stdout).unwrap();
    let has = |event: &str| {
        ev.as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == event && e["detail"]["alarm"] == "disk_full")
    };
    assert!(has("alarm_raised") && has("alarm_cleared"), "{ev}");
    let (clean, rep) = site.fsck();
    assert!(clean, "{rep}");
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for c in cams {
        check_segments(&site, c, true);
    }
}
