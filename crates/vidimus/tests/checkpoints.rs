//! A run's first leaves are signed within seconds (issue 11 E4): a recorder killed
//! 6 s after each start, three times, leaves every leaf older than 3 s at the kill
//! covered by a signed checkpoint — not only those of runs that lived a
//! `checkpoint_interval` (30 s).

mod support;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::*;

/// (leaves written before `before_90k`, size of the largest signed checkpoint).
fn coverage(site: &Site, before_90k: i64) -> (i64, i64) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             n=c.execute('SELECT COUNT(*) FROM log_leaf WHERE at_90k < ?', (int(sys.argv[2]),)).fetchone()[0]; \
             s=c.execute('SELECT COALESCE(MAX(size), 0) FROM log_checkpoint').fetchone()[0]; print(n, s)",
        ])
        .arg(site.data().join("index.db"))
        .arg(before_90k.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(|v| v.parse::<i64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn every_run_signs_its_first_leaves_within_seconds() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    for run in 0..3 {
        let mut rec = site.serve();
        std::thread::sleep(Duration::from_secs(6));
        rec.kill9();
        let killed_90k = (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            * 90_000.0) as i64;
        let (leaves, signed) = coverage(&site, killed_90k - 3 * 90_000);
        assert!(leaves > 0, "run {run}: nothing logged");
        assert!(
            signed >= leaves,
            "run {run}: {leaves} leaves older than 3 s, only {signed} signed"
        );
    }
    // What verify checks of them holds too.
    let out = site.vidimus(&["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    cam.terminate();
}

#[test]
fn the_signing_key_lives_outside_the_data_directory() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new(&[], "");
    // The default site: the key is created outside, readable only by the service.
    let mut rec = site.serve();
    assert!(rec.terminate());
    let key = site.dir.path().join("keys/log-key");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(key.parent().unwrap()), 0o700);
    assert!(!site.data().join("log-key").exists());
    // The command line finds it through the data directory.
    let out = site.vidimus(&["log-key"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim().len(), 64);

    // A key inside the data directory is refused unless the configuration says so.
    let config = std::fs::read_to_string(site.config()).unwrap();
    let inside = config.replace("keys/log-key", "data/secret/log-key");
    std::fs::write(site.config(), &inside).unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config", site.config().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inside the data directory"), "{err}");
    // Nor through a path that only looks elsewhere.
    let dodge = config.replace("keys/log-key", "keys/../data/log-key");
    std::fs::write(site.config(), dodge).unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config", site.config().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // A site from before, whose key is still in its data directory, is told to move it.
    std::fs::rename(&key, site.data().join("log-key")).unwrap();
    std::fs::write(site.config(), &config).unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config", site.config().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("move it to"), "{err}");
    // Explicitly accepted, it starts.
    std::fs::write(
        site.config(),
        config.replace(
            "key_file = \"keys/log-key\"",
            "key_file = \"data/log-key\"\nkey_in_data_dir = true",
        ),
    )
    .unwrap();
    let mut rec = site.serve();
    assert!(rec.terminate());
}

#[test]
fn a_hand_out_is_signed_within_seconds_not_at_the_next_checkpoint_interval() {
    let (mut cam, url) = simcam("none");
    // The recorder checkpoints every 50 s once video is logged; hand-outs must not wait
    // for that.
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"\ncheckpoint_interval = \"50s\"",
    );
    add_user(&site, "ada", "ada's long password", "operator");
    duty(&site, "ada");
    let mut rec = site.serve();
    let c = Client::login(site.http, "ada", "ada's long password");
    let id = c.camera_id("yard");
    assert!(wait_until(Duration::from_secs(40), || site
        .recordings("yard")["segments"]
        .as_array()
        .is_some_and(|s| !s.is_empty())));
    let from = site.first_start_90k("yard") / 90_000 + 1;
    // Three hand-outs 5 s apart: each is covered by a signed checkpoint within 3 s
    // (a recorder checkpoint could cover one of them by chance, not all three).
    for i in 0..3 {
        let r = c.call(
            "GET",
            &format!("/api/cameras/{id}/playback.mp4?from={from}&to={}", from + 2),
            None,
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let leaf: i64 = r
            .header("x-vidimus-register-entry")
            .unwrap()
            .parse()
            .unwrap();
        let now_90k = (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            * 90_000.0) as i64;
        assert!(
            wait_until(Duration::from_secs(3), || coverage(&site, now_90k).1 > leaf),
            "hand-out {i} (leaf {leaf}) not signed within 3 s"
        );
        std::thread::sleep(Duration::from_secs(5));
    }
    assert!(rec.terminate());
    cam.terminate();
}
