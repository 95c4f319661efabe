//! The console as an operator uses it (issue 12), in a real browser: Playwright drives
//! Debian's Chromium against `vidimus serve` (web/e2e/operator.mjs). A user without a
//! grant sees why on Live and registers nothing while idle there; an offline camera's
//! tile says why; a camera is never in two tiles; playback near a grant's end plays and
//! says when the grant ends, asking for nothing outside it; the playback clock shows
//! the wall time of the frame across a gap, and a click in a gap plays from its end. Screenshots go to
//! `web/e2e/artifacts/`.

mod support;

use std::time::Duration;
use support::*;

const PW: &str = "correct horse battery";

#[test]
fn the_operator_console_in_chromium() {
    web_dir();
    let bind = format!("127.0.0.1:{}", free_port());
    let (mut cam, url) = simcam_on(&bind, "none");
    // "dead" points at a port nothing listens on: offline, with a reason.
    let dead = format!("rtsp://127.0.0.1:{}/dead", free_port());
    let site = Site::new(
        &[("front", &format!("{url}/front")), ("dead", &dead)],
        // Long segments: the newest seconds stay in a recording still being written
        // (the bundle step), whatever the machine's speed.
        "sync_interval = \"1s\"\nsegment_duration = \"600s\"\nbackoff_initial = \"500ms\"\nbackoff_max = \"1s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    add_user(&site, "eve", PW, "operator");
    add_user(&site, "bo", PW, "operator");
    let mut rec = site.serve();
    // "front" records, stops for a few seconds (a gap), and records again.
    assert!(wait_until(Duration::from_secs(30), || site
        .recordings("front")["segments"]
        .as_array()
        .is_some_and(|s| !s.is_empty())));
    std::thread::sleep(Duration::from_secs(10));
    cam.kill9();
    std::thread::sleep(Duration::from_secs(6));
    let (_cam2, _) = simcam_on(&bind, "none");
    std::thread::sleep(Duration::from_secs(10));

    // Bo works under a grant for the first 8 s of front's recording only.
    let first = site.first_start_90k("front") / 90_000;
    let bo = Client::login(site.http, "bo", PW);
    // Bo sees no camera before a grant (least privilege); ada names it.
    let front = Client::login(site.http, "ada", PW).camera_id("front");
    let r = bo.call(
        "POST",
        "/api/requests",
        Some(
            serde_json::json!({"kind": "system_operation", "purpose": "checking the entrance",
            "cameras": [front], "from": first.to_string(), "to": (first + 8).to_string(),
            "actions": ["view_recorded"], "days": 1, "persons": [{"username": "bo"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["request"]["id"].as_i64().unwrap();
    let manager = Client::login(site.http, "manager", "the manager's password");
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

    let grant_end = (first + 8).to_string();
    let stdout = console_test(
        &site,
        "operator.mjs",
        &[
            ("PASSWORD", PW),
            ("OPERATOR", "ada"),
            ("NOGRANT", "eve"),
            ("SHORT_GRANT", "bo"),
            ("GRANT_END", &grant_end),
        ],
    );
    assert!(stdout.contains("NOGRANT_IDLE_DONE"), "{stdout}");
    // Idle on Live without a grant: not one access attempt was registered.
    let reg = site.vidimus(&["register", "--json", "--user", "eve"]);
    assert!(reg.status.success());
    let reg: serde_json::Value = serde_json::from_slice(&reg.stdout).unwrap();
    assert_eq!(reg, serde_json::json!([]), "registered while idle on Live");
    // The snapshot taken in the browser is registered as a reproduction by ada.
    let reg = site.vidimus(&["register", "--json", "--user", "ada"]);
    let reg: serde_json::Value = serde_json::from_slice(&reg.stdout).unwrap();
    assert!(
        reg.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reproduce"
                && e["served"]["snapshot"] == "image/jpeg"
                && e["whereabouts"]["recipient"] == "e2e court"),
        "the snapshot is registered: {reg:#}"
    );
    // The bookmark and the hold made from it are in the system log.
    let ev: serde_json::Value =
        serde_json::from_slice(&site.vidimus(&["events", "--json"]).stdout).unwrap();
    let ev = ev.as_array().unwrap();
    assert!(ev.iter().any(|e| e["event"] == "bookmark"
        && e["actor"] == "ada"
        && e["detail"]["note"] == "suspicious van at the gate"));
    assert!(
        ev.iter()
            .any(|e| e["event"] == "hold" && e["actor"] == "manager"),
        "{ev:#?}"
    );
    // Playing near the grant's end asked only within it: nothing refused.
    let reg = site.vidimus(&["register", "--json", "--user", "bo"]);
    let reg: serde_json::Value = serde_json::from_slice(&reg.stdout).unwrap();
    let reg = reg.as_array().unwrap();
    assert!(
        reg.iter().any(|e| e["allowed"] == true),
        "bo played: {reg:#?}"
    );
    assert!(
        reg.iter().all(|e| e["allowed"] == true),
        "bo's player asked for video outside the grant: {reg:#?}"
    );
    assert!(rec.terminate());
}
