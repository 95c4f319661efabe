//! Snapshots (issue 12): the still of a recorded instant is a reproduction — decided
//! under a grant that allows copies, with its recipient, registered before it is
//! handed out, and marked with its export id; a real JPEG of the camera's size.

mod support;

use std::time::Duration;
use support::*;

const PW: &str = "correct horse battery";

/// `user`'s entries of the access register (`vidimus register --json`).
fn register_of(site: &Site, user: &str) -> serde_json::Value {
    let out = site.vidimus(&["register", "--json", "--user", user]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The register entry at log leaf `leaf`.
fn entry_at(reg: &serde_json::Value, leaf: i64) -> &serde_json::Value {
    reg.as_array()
        .unwrap()
        .iter()
        .find(|e| e["leaf_index"] == leaf)
        .unwrap_or_else(|| panic!("entry {leaf} in {reg:#}"))
}

#[test]
fn a_snapshot_is_a_registered_reproduction() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    add_user(&site, "eve", PW, "operator");
    let mut rec = site.serve();
    let ada = Client::login(site.http, "ada", PW);
    let id = ada.camera_id("yard");
    assert!(wait_until(Duration::from_secs(40), || {
        site.recordings("yard")["segments"]
            .as_array()
            .is_some_and(|s| s.len() >= 2)
    }));
    let t = site.first_start_90k("yard") as f64 / 90_000.0 + 2.5;
    let path = |q: &str| format!("/api/cameras/{id}/snapshot.jpg?t={t:.3}{q}");

    // A copy needs its recipient.
    let r = ada.call("GET", &path(""), None);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    // Without a grant: refused (and registered).
    let eve = Client::login(site.http, "eve", PW);
    let r = eve.call("GET", &path("&recipient=me"), None);
    assert_eq!((r.status, r.code().as_str()), (403, "no_grant"));

    let r = ada.call(
        "GET",
        &path("&recipient=Futian%20court&destination=case%2042"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("snapshot-yard-")
    );
    let leaf: i64 = r
        .header("x-vidimus-register-entry")
        .unwrap()
        .parse()
        .unwrap();
    let jpeg = site.dir.path().join("still.jpg");
    std::fs::write(&jpeg, &r.body).unwrap();
    // A real JPEG of the camera's size.
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&jpeg)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "mjpeg,1280,720"
    );
    // Registered as a reproduction, with its recipient, the frame and the mark.
    let reg = register_of(&site, "ada");
    let e = entry_at(&reg, leaf);
    assert_eq!(e["action"], "reproduce");
    assert_eq!(e["allowed"], true);
    assert_eq!(e["whereabouts"]["recipient"], "Futian court");
    assert_eq!(e["served"]["snapshot"], "image/jpeg");
    let mark = e["export_id"].as_str().unwrap();
    assert!(
        r.body.windows(mark.len()).any(|w| w == mark.as_bytes()),
        "the JPEG carries its export id"
    );
    // No recording at that instant: a failed hand-out, registered as such.
    let r = ada.call(
        "GET",
        &format!("/api/cameras/{id}/snapshot.jpg?t=1000000000&recipient=me"),
        None,
    );
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    assert!(rec.terminate());
}

/// Timeline thumbnails are recorded video: viewed under a grant (never a view-only
/// one), one register entry per strip naming its key frames, not kept by the browser.
#[test]
fn thumbnails_are_a_registered_view_of_key_frames() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    add_user(&site, "eve", PW, "operator");
    site.cli(&[
        "org",
        "add",
        "--name",
        "Zhang family",
        "--kind",
        "interested_party",
    ]);
    add_member(
        &site,
        "zhang",
        "zhang's long password",
        "operator",
        Some("Zhang family"),
        Some("ID 440301"),
    );
    let mut rec = site.serve();
    let ada = Client::login(site.http, "ada", PW);
    let id = ada.camera_id("yard");
    assert!(wait_until(Duration::from_secs(60), || {
        site.recordings("yard")["segments"]
            .as_array()
            .is_some_and(|s| s.len() >= 5)
    }));
    let s = site.first_start_90k("yard") as f64 / 90_000.0;
    let path = format!(
        "/api/cameras/{id}/thumbnails.jpg?from={s:.3}&to={:.3}&n=3",
        s + 12.0
    );
    // Without a grant: refused, registered.
    let eve = Client::login(site.http, "eve", PW);
    let r = eve.call("GET", &path, None);
    assert_eq!((r.status, r.code().as_str()), (403, "no_grant"));

    let r = ada.call("GET", &path, None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let times: Vec<Option<f64>> =
        serde_json::from_str(r.header("x-vidimus-thumbnails").unwrap()).unwrap();
    assert_eq!(times.len(), 3);
    // Each is a key frame at or before the middle of its third, inside the range.
    for (i, t) in times.iter().enumerate() {
        let t = t.unwrap_or_else(|| panic!("{i} recorded: {times:?} from {s}"));
        let mid = s + 2.0 + 4.0 * i as f64;
        assert!(t <= mid + 0.001 && t >= s - 0.001, "{i}: {t} vs {mid}");
    }
    // Three thumbnails of at most 160 px side by side, 16:9.
    let jpeg = site.dir.path().join("thumbs.jpg");
    std::fs::write(&jpeg, &r.body).unwrap();
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&jpeg)
        .output()
        .unwrap();
    let dims = String::from_utf8_lossy(&probe.stdout).trim().to_owned();
    let (w, h) = dims.split_once(',').unwrap();
    let (w, h): (usize, usize) = (w.parse().unwrap(), h.parse().unwrap());
    assert!(w % 3 == 0 && w / 3 <= 160 && w / 3 >= 100, "{dims}");
    assert!((((w / 3) * 9 / 16) as i64 - h as i64).abs() <= 2, "{dims}");
    let leaf: i64 = r
        .header("x-vidimus-register-entry")
        .unwrap()
        .parse()
        .unwrap();
    let reg = register_of(&site, "ada");
    let e = entry_at(&reg, leaf);
    assert_eq!(e["action"], "view_recorded");
    assert_eq!(e["allowed"], true);
    assert_eq!(e["served"]["thumbnails"], 3);
    assert_eq!(e["served"]["key_frames"].as_array().unwrap().len(), 3);
    // The same strip again: the same pictures (decoded once, kept), and a view of its
    // own in the register.
    let again = ada.call("GET", &path, None);
    assert_eq!(again.body, r.body);
    let again_leaf: i64 = again
        .header("x-vidimus-register-entry")
        .unwrap()
        .parse()
        .unwrap();
    assert!(again_leaf > leaf, "{again_leaf} after {leaf}");
    // A strip that ends now: its last part's middle is newer than anything indexed of
    // the segment being written, yet the part has recorded key frames: it shows one.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let r = ada.call(
        "GET",
        &format!(
            "/api/cameras/{id}/thumbnails.jpg?from={:.3}&to={:.3}&n=2",
            now - 9.0,
            now + 3.0
        ),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let times: Vec<Option<f64>> =
        serde_json::from_str(r.header("x-vidimus-thumbnails").unwrap()).unwrap();
    assert!(
        times.iter().all(|t| t.is_some()),
        "the newest part has a picture: {times:?} (now {now})"
    );
    assert!(times[1].unwrap() > times[0].unwrap(), "{times:?}");
    // Eve's refusal is in the register too.
    let reg = register_of(&site, "eve");
    assert!(
        reg.as_array()
            .unwrap()
            .iter()
            .any(|e| e["allowed"] == false && e["action"] == "view_recorded"),
        "{reg:#}"
    );

    // A view-only grant (an interested party, Art. 35): no thumbnails.
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let zhang = Client::login(site.http, "zhang", "zhang's long password");
    let r = zhang.call(
        "POST",
        "/api/requests",
        Some(
            serde_json::json!({"kind": "interested_party_emergency", "purpose": "stolen bicycle",
            "cameras": [id], "from": format!("{s:.3}"), "to": format!("{:.3}", s + 12.0),
            "actions": ["view_recorded"], "persons": [{"username": "zhang"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rid = r.json()["request"]["id"].as_i64().unwrap();
    let r = mgr.call(
        "POST",
        &format!("/api/requests/{rid}/approve"),
        Some(serde_json::json!({"kind": "manager_approval"})),
    );
    assert_eq!(r.json()["request"]["status"], "granted", "{}", r.json());
    let r = zhang.call("GET", &path, None);
    assert_eq!((r.status, r.code().as_str()), (403, "view_only"));
    let reg = register_of(&site, "zhang");
    assert!(
        reg.as_array()
            .unwrap()
            .iter()
            .any(|e| e["allowed"] == false
                && e["reason"].as_str().unwrap_or("").contains("view only")),
        "the view-only refusal is registered: {reg:#}"
    );
    assert!(rec.terminate());
}
