//! Snapshots (issue 12): the still of a recorded instant is a reproduction — decided
//! under a grant that allows copies, with its recipient, registered before it is
//! handed out, and marked with its export id; a real JPEG of the camera's size.

mod support;

use std::time::Duration;
use support::*;

const PW: &str = "correct horse battery";

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
    let out = site.vidimus(&["register", "--json", "--user", "ada"]);
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = reg
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["leaf_index"] == leaf)
        .unwrap_or_else(|| panic!("entry {leaf} in {reg:#}"));
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
