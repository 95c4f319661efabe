//! Retention, legal holds and export bundles through the API: only administrators
//! change retention or place and release holds; a retention below the legal minimum
//! is refused citing the article (Art. 47 makes the minimum itself allowed); an
//! operator's bundle downloads and verifies offline; every act is in the system log.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

#[test]
fn retention_holds_and_bundles_through_the_api() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("lobby", &format!("{url}/lobby"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let out = site.vidimus(&[
        "camera",
        "add",
        "--name",
        "door",
        "--url",
        &format!("{url}/door"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    add_user(&site, "boss", "administrator password", "admin");
    add_user(&site, "op", "operator password", "operator");
    duty(&site, "op");
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(11));
    let boss = Client::login(site.http, "boss", "administrator password");
    let op = Client::login(site.http, "op", "operator password");
    let cams = boss.call("GET", "/api/cameras", None).json();
    let id = |name: &str| {
        cams.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (door, lobby) = (id("door"), id("lobby"));
    let retention = |c: &Client, cam: i64, days: Value, key: bool| {
        c.call(
            "PUT",
            &format!("/api/cameras/{cam}/retention"),
            Some(json!({"retention_days": days, "counter_terrorism_key_target": key})),
        )
    };

    // Retention: administrators only; below the minimum refused with the article.
    let r = retention(&op, door, json!(60), false);
    assert_eq!((r.status, r.code()), (403, "forbidden".into()));
    let r = retention(&boss, door, json!(29), false);
    assert_eq!(
        (r.status, r.code()),
        (422, "retention_below_minimum".into())
    );
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("Art. 32") && msg.contains("30"), "{msg}");
    assert_eq!(
        retention(&boss, door, json!(30), false).status,
        200,
        "Art. 47: 30 is not less than 30"
    );
    let r = retention(&boss, door, json!(60), true);
    assert_eq!(r.status, 422);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("90")
    );
    // Declaring a key target with the default retention means the key-target minimum.
    assert_eq!(retention(&boss, door, Value::Null, true).status, 200);
    assert_eq!(retention(&boss, door, json!(90), true).status, 200);
    let r = retention(&boss, lobby, json!(40), false);
    assert_eq!((r.status, r.code()), (409, "defined_in_config".into()));
    assert_eq!(retention(&boss, 999, json!(40), false).status, 404);
    let listed: Value =
        serde_json::from_slice(&site.vidimus(&["camera", "list", "--json"]).stdout).unwrap();
    let d = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "door")
        .unwrap()
        .clone();
    assert_eq!(
        (d["retention_days"].as_i64(), d["key_target"].as_bool()),
        (Some(90), Some(true))
    );

    // Holds: administrators place and release; operators of the camera see that it is
    // held, not why (the reason is for those who may place holds).
    let hold = json!({"camera_id": lobby, "from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "reason": "case 88"});
    assert_eq!(
        op.call("POST", "/api/holds", Some(hold.clone())).status,
        403
    );
    let r = boss.call(
        "POST",
        "/api/holds",
        Some(json!({"camera_id": lobby, "from": "0", "to": "10", "reason": " "})),
    );
    assert_eq!(r.status, 400, "a hold needs a reason");
    let r = boss.call("POST", "/api/holds", Some(hold));
    assert_eq!(r.status, 201);
    let hid = r.json()["id"].as_i64().unwrap();
    let listed = op.call("GET", "/api/holds", None).json();
    assert_eq!(listed[0]["reason"], "");
    assert_eq!(listed[0]["created_by"], "boss");
    let listed = boss.call("GET", "/api/holds", None).json();
    assert_eq!(listed[0]["reason"], "case 88");
    assert_eq!(
        op.call("POST", &format!("/api/holds/{hid}/release"), None)
            .status,
        403
    );
    assert_eq!(
        boss.call("POST", &format!("/api/holds/{hid}/release"), None)
            .status,
        204
    );
    assert_eq!(
        boss.call("POST", &format!("/api/holds/{hid}/release"), None)
            .status,
        400
    );
    assert!(
        op.call("GET", "/api/holds", None)
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        op.call("GET", "/api/holds?all=true", None).json()[0]["released_by"],
        "boss"
    );

    // Bundles: an operator makes one; it downloads and verifies offline.
    let t0 = site.first_start_90k("door");
    let f = |t: i64| format!("{:.3}", t as f64 / 90_000.0);
    let body = json!({"from": f(t0 + 90_000), "to": f(t0 + 5 * 90_000), "purpose": "insurance claim 5", "recipient": "insurer"});
    let r = op.call(
        "POST",
        &format!("/api/cameras/{door}/bundles"),
        Some(json!({"from": f(t0), "to": f(t0 + 90_000), "purpose": "", "recipient": "x"})),
    );
    assert_eq!(r.status, 400, "a bundle needs a purpose");
    let r = op.call(
        "POST",
        &format!("/api/cameras/{door}/bundles"),
        Some(json!({"from": f(t0), "to": f(t0 + 90_000), "purpose": "x"})),
    );
    assert_eq!((r.status, r.code()), (400, "whereabouts_required".into()));
    let r = op.call("POST", &format!("/api/cameras/{door}/bundles"), Some(body));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let info = r.json();
    let dl = op.call("GET", info["download"].as_str().unwrap(), None);
    assert_eq!(dl.status, 200);
    assert_eq!(dl.header("content-type"), Some("application/x-tar"));
    assert_eq!(dl.body.len() as u64, info["bytes"].as_u64().unwrap());
    let file = site.dir.path().join("from-api.vbundle");
    std::fs::write(&file, &dl.body).unwrap();
    let key = String::from_utf8(site.vidimus(&["log-key"]).stdout).unwrap();
    let v = std::process::Command::new(bin())
        .arg("verify")
        .arg(&file)
        .args(["--key", key.trim(), "--json"])
        .output()
        .unwrap();
    let rep: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert!(v.status.success(), "{rep}");
    assert_eq!(rep["manifest"]["exporter"], "op");
    assert_eq!(rep["manifest"]["purpose"], "insurance claim 5");
    // Only bundles by their id; never other files; never without a session.
    for bad in [
        "/api/exports/..%2F..%2Findex.db",
        "/api/exports/log-key",
        "/api/exports/0123.vbundle",
    ] {
        assert_eq!(op.call("GET", bad, None).status, 404, "{bad}");
    }
    assert_eq!(
        http(
            site.http,
            "GET",
            info["download"].as_str().unwrap(),
            &[],
            b""
        )
        .status,
        401
    );
    assert_eq!(
        boss.call("GET", info["download"].as_str().unwrap(), None)
            .status,
        404,
        "only its exporter downloads a bundle"
    );
    assert!(rec.terminate());

    // The system log has every act, by whom.
    let ev: Value = serde_json::from_slice(&site.vidimus(&["events", "--json"]).stdout).unwrap();
    let by = |event: &str, actor: &str| {
        ev.as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == event && e["actor"] == actor)
    };
    assert!(
        by("camera_changed", "boss") && by("hold", "boss") && by("release", "boss"),
        "{ev}"
    );
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all["log"]["covered_kinds"]["export"], 1, "{all}");
}
