//! `vidimus demo`, the README's first command: simulated cameras record, the printed
//! administrator logs in and plays video under the demo's duty grant, the compliance
//! dashboard shows the demo's registry (a mall with an Art. 20 finding and the filing
//! deadline ahead), and Ctrl-C (SIGTERM) stops it cleanly.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

#[test]
fn the_demo_records_serves_and_shows_its_registry() {
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let child = Command::new(bin())
        .args(["demo", "--cameras", "2"])
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .args(["--bind", &format!("127.0.0.1:{http_port}")])
        .args(["--rtsp-bind", &format!("127.0.0.1:{}", free_port())])
        .args(["--restream-bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(
            std::fs::File::create(dir.path().join("stdout")).unwrap(),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("stderr")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut demo = Proc {
        child,
        name: "demo".into(),
        stdout: None,
    };
    assert!(wait_until(Duration::from_secs(30), || {
        listening(http_port)
    }));
    let password = std::fs::read_to_string(dir.path().join("data/demo-admin-password")).unwrap();
    let admin = Client::login(http_port, "admin", password.trim());
    assert!(wait_until(Duration::from_secs(30), || {
        let cams = admin.call("GET", "/api/cameras", None).json();
        cams.as_array().unwrap().len() == 2
            && cams
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "recording")
    }));
    std::thread::sleep(Duration::from_secs(4));
    let cams = admin.call("GET", "/api/cameras", None).json();
    let id = cams[0]["id"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = admin.call(
        "GET",
        &format!(
            "/api/cameras/{id}/playback.mp4?from={}&to={}",
            now - 60,
            now
        ),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.len() > 10_000);

    let systems = admin.call("GET", "/api/compliance/systems", None).json();
    assert_eq!(systems[0]["id"], "demo-mall", "{systems}");
    let rules: Vec<&str> = systems[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["art20.signage"]);
    assert!(
        systems[0]["upcoming"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["rule_id"] == "art18.filing_deadline" && u["days_left"] == 10),
        "{systems}"
    );
    let facts = admin
        .call("GET", "/api/compliance/systems/demo-mall/facts", None)
        .json();
    assert_eq!(facts["cameras"][0]["recorder_camera"], "demo-cam-1");
    assert!(facts["cameras"][0]["measured"]["oldest_kept"].is_string());
    // The banner is on standard output, the log on standard error, without colours
    // when redirected; the demo writes a configuration file the README's commands take.
    let out = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    let err = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(out.contains("Vidimus demo is running"), "{out}");
    assert!(
        !err.contains("Vidimus demo is running"),
        "banner among the logs"
    );
    assert!(!err.contains('\u{1b}'), "ANSI colours in a redirected log");
    let config = dir.path().join("data/vidimus.toml");
    assert!(
        out.contains(&format!("--config {}", config.display())),
        "{out}"
    );
    let list = Command::new(bin())
        .args([
            "recordings",
            "list",
            "--json",
            "--camera",
            "demo-cam-1",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let rec: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(!rec["segments"].as_array().unwrap().is_empty(), "{rec}");
    // The RTSP URL it prints for its first camera plays in ffprobe, as is.
    let restream = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("RTSP re-stream:"))
        .map(|u| u.trim().to_owned())
        .unwrap_or_else(|| panic!("no RTSP URL in the banner: {out}"));
    assert!(restream.starts_with("rtsp://admin:"), "{restream}");
    assert!(
        restream.ends_with(&format!("/cameras/{id}/live")),
        "{restream}"
    );
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", "tcp", "-show_entries"])
        .args(["stream=codec_name", "-of", "csv=p=0", &restream])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "h264",
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert!(demo.terminate(), "the demo stops cleanly on SIGTERM");
}
