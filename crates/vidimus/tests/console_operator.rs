//! The console as an operator uses it (issue 12), in a real browser: Playwright drives
//! Debian's Chromium against `vidimus serve` (web/e2e/operator.mjs). A user without a
//! grant sees why on Live and registers nothing while idle there; an offline camera's
//! tile says why; a camera is never in two tiles. Screenshots go to
//! `web/e2e/artifacts/`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

const PW: &str = "correct horse battery";

#[test]
fn the_operator_console_in_chromium() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    assert!(
        web.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "run ./scripts/test.sh: it installs Chromium and the console's npm packages"
    );
    let (_cam, url) = simcam("none");
    // "dead" points at a port nothing listens on: offline, with a reason.
    let dead = format!("rtsp://127.0.0.1:{}/dead", free_port());
    let site = Site::new(
        &[("front", &format!("{url}/front")), ("dead", &dead)],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"\nbackoff_initial = \"500ms\"\nbackoff_max = \"1s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    add_user(&site, "eve", PW, "operator");
    let mut rec = site.serve();
    assert!(wait_until(Duration::from_secs(30), || site
        .recordings("front")["segments"]
        .as_array()
        .is_some_and(|s| !s.is_empty())));

    let artifacts = web.join("e2e/artifacts");
    let out = Command::new("node")
        .arg(web.join("e2e/operator.mjs"))
        .current_dir(&web)
        .env("BASE_URL", format!("http://127.0.0.1:{}", site.http))
        .env("PASSWORD", PW)
        .env("OPERATOR", "ada")
        .env("NOGRANT", "eve")
        .env("ARTIFACTS", &artifacts)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "operator e2e failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("NOGRANT_IDLE_DONE"), "{stdout}");
    // Idle on Live without a grant: not one access attempt was registered.
    let reg = site.vidimus(&["register", "--json", "--user", "eve"]);
    assert!(reg.status.success());
    let reg: serde_json::Value = serde_json::from_slice(&reg.stdout).unwrap();
    assert_eq!(reg, serde_json::json!([]), "registered while idle on Live");
    assert!(rec.terminate());
}
