//! The web console end to end, in a real browser: Playwright (playwright-core) drives
//! Debian's Chromium (`/usr/bin/chromium`) against `vidimus serve` with simulated
//! cameras — log in, a live tile plays, 中文, the timeline shows a gap where a camera
//! was stopped, clicking the timeline plays from that time, frame step and speed, and an
//! export downloads an MP4 that ffprobe accepts with the expected duration ± 1 GOP;
//! a verifiable bundle of the same range downloads and verifies offline; an alarm
//! (storage capacity) shows as a banner.
//! Screenshots are saved in `web/e2e/artifacts/`.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

const PW: &str = "correct horse battery";

#[test]
fn console_in_chromium() {
    let artifacts = web_dir().join("e2e/artifacts");
    let (_a, url_a) = simcam("none");
    let bind_b = format!("127.0.0.1:{}", free_port());
    let (mut cam_b, url_b) = simcam_on(&bind_b, "none");
    let site = Site::new(
        &[
            ("front", &format!("{url_a}/front")),
            ("back", &format!("{url_b}/back")),
        ],
        // An absurd capacity margin puts the forecast below the legal minimum on any
        // disk, so the console must show the alarm banner.
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"\nbackoff_initial = \"500ms\"\nbackoff_max = \"1s\"\ncapacity_interval = \"2s\"\ncapacity_margin_days = 100000000",
    );
    // The RTSP re-stream too: the console's Sharing view shows a grant's RTSP access.
    let mut toml = std::fs::read_to_string(site.config()).unwrap();
    toml.push_str(&format!("[rtsp]\nbind = \"127.0.0.1:{}\"\n", free_port()));
    std::fs::write(site.config(), toml).unwrap();
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    add_user(&site, "root", "the administrator's password", "admin");
    let mut rec = site.serve();
    // "back" records, stops for a few seconds (a gap), and records again.
    std::thread::sleep(Duration::from_secs(8));
    cam_b.kill9();
    std::thread::sleep(Duration::from_secs(4));
    let (_b2, _) = simcam_on(&bind_b, "none");
    std::thread::sleep(Duration::from_secs(6));

    // An interested party with a view-only grant for "back" (Art. 35: the manager
    // approved viewing, nothing else).
    let out = site.vidimus(&[
        "org",
        "add",
        "--name",
        "Zhang family",
        "--kind",
        "interested_party",
    ]);
    assert!(out.status.success());
    add_member(
        &site,
        "zhang",
        "zhang's long password",
        "operator",
        Some("Zhang family"),
        Some("ID 4403"),
    );
    let (zc, zt) = login(site.http, "zhang", "zhang's long password");
    // Zhang sees no camera before a grant; the administrator sees them all.
    let none = http(site.http, "GET", "/api/cameras", &[("cookie", &zc)], b"").json();
    assert_eq!(none, serde_json::json!([]));
    let (rc, _) = login(site.http, "root", "the administrator's password");
    let back = http(site.http, "GET", "/api/cameras", &[("cookie", &rc)], b"")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "back")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let body =
        serde_json::json!({"kind": "interested_party_emergency", "purpose": "stolen bicycle",
        "cameras": [back], "from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
        "actions": ["view_recorded"], "persons": [{"username": "zhang"}]})
        .to_string();
    let r = http(
        site.http,
        "POST",
        "/api/requests",
        &[
            ("cookie", &zc),
            ("x-csrf-token", &zt),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let view_request = r.json()["request"]["id"].as_i64().unwrap();
    let (rc, rt) = login(site.http, "root", "the administrator's password");
    let r = http(
        site.http,
        "POST",
        &format!("/api/requests/{view_request}/approve"),
        &[
            ("cookie", &rc),
            ("x-csrf-token", &rt),
            ("content-type", "application/json"),
        ],
        br#"{"kind": "manager_approval"}"#,
    );
    assert_eq!(
        r.json()["request"]["status"],
        "granted",
        "{}",
        String::from_utf8_lossy(&r.body)
    );

    // Two officers of a PSB, for the two-officer flow in the browser.
    let out = site.vidimus(&[
        "org",
        "add",
        "--name",
        "Futian PSB",
        "--kind",
        "public_security",
    ]);
    assert!(out.status.success());
    for (name, work) in [("li", "PSB-0001"), ("wang", "PSB-0002")] {
        let pw = format!("{name}'s long password");
        add_member(&site, name, &pw, "operator", Some("Futian PSB"), Some(work));
    }

    let view_request = view_request.to_string();
    let stdout = console_test(
        &site,
        "console.mjs",
        &[
            ("VIDIMUS_USER", "ada"),
            ("VIDIMUS_PASSWORD", PW),
            ("VIDIMUS_ADMIN", "root"),
            ("VIDIMUS_ADMIN_PASSWORD", "the administrator's password"),
            ("VIEWER", "zhang"),
            ("VIEWER_PASSWORD", "zhang's long password"),
            ("VIEW_REQUEST", &view_request),
            ("GAP_CAMERA", "back"),
        ],
    );
    let export = stdout
        .lines()
        .find_map(|l| l.strip_prefix("EXPORT "))
        .expect("exported file");
    let (path, secs) = export.rsplit_once(' ').unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            path,
        ])
        .output()
        .unwrap();
    assert!(
        probe.status.success() && probe.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let duration: f64 = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .unwrap();
    let wanted: f64 = secs.parse().unwrap();
    assert!(
        (duration - wanted).abs() <= 2.0,
        "export of {wanted} s lasts {duration} s"
    );
    // The bundle made in the browser verifies offline against the site's key.
    let bundle = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BUNDLE "))
        .expect("bundle file");
    let out = site.vidimus(&["log-key"]);
    let key = String::from_utf8(out.stdout).unwrap();
    // The console shows the key in the same form as `vidimus log-key` and `verify`.
    let shown = stdout
        .lines()
        .find_map(|l| l.strip_prefix("FINGERPRINT "))
        .expect("the console's fingerprint");
    let printed = String::from_utf8_lossy(&out.stderr);
    assert!(
        printed.contains(&format!("fingerprint {shown} ")),
        "console {shown}, log-key {printed}"
    );
    let v = Command::new(bin())
        .args(["verify", bundle, "--key", key.trim(), "--json"])
        .output()
        .unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert!(v.status.success(), "{rep}");
    assert_eq!(rep["manifest"]["exporter"], "ada");
    assert_eq!(rep["manifest"]["purpose"], "e2e: incident 42");
    // The hold placed and released in the browser is in the system log, by the admin.
    let ev: serde_json::Value =
        serde_json::from_slice(&site.vidimus(&["events", "--json"]).stdout).unwrap();
    for event in ["hold", "release", "alarm_acknowledged"] {
        assert!(
            ev.as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"] == event && e["actor"] == "root"),
            "{event} missing: {ev}"
        );
    }
    for shot in [
        "view-only.png",
        "request-pending.png",
        "register.png",
        "holds.png",
        "live-grid.png",
        "live-grid-zh.png",
        "playback.png",
    ] {
        assert!(artifacts.join(shot).exists(), "{shot} missing");
    }
    assert!(rec.terminate());
}
