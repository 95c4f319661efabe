//! Every screen of the console in a real browser (Debian's Chromium through
//! Playwright), in English and 简体中文, at 1440×900, 1280×720 and 390×844, as an
//! administrator and as a PSB officer: a screenshot of each under
//! `web/e2e/artifacts/walk/`, and in Chinese no visible English word outside the
//! allow list (names, ids, units) — including what the server writes (findings,
//! alarms, errors, the printable reports). Synchronized playback of two cameras is
//! walked first (one wall time, one pause, one speed, each playback registered). See
//! web/e2e/walk.mjs.

mod support;

use support::*;

#[test]
fn every_screen_in_both_languages_at_three_sizes() {
    web_dir();
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[
            ("lobby", &format!("{url}/lobby")),
            ("gate", &format!("{url}/gate")),
        ],
        "sync_interval = \"1s\"",
    );
    add_user(&site, "root", "the administrator's password", "admin");
    // The administrator's duty grant: playback of every camera (synchronized playback),
    // its purpose in Chinese as a Chinese site would write it.
    add_user(&site, "zhao", "zhao's long password", "admin");
    let out = site.vidimus_stdin(
        &[
            "grant",
            "duty",
            "--user",
            "root",
            "--by",
            "zhao",
            "--purpose",
            "日常值守",
        ],
        "zhao's long password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.vidimus(&[
        "org",
        "add",
        "--name",
        "Futian PSB",
        "--kind",
        "public_security",
        "--region",
        "futian",
    ]);
    assert!(out.status.success());
    add_member(
        &site,
        "li",
        "li's long password",
        "operator",
        Some("Futian PSB"),
        Some("PSB-0001"),
    );
    let mut rec = site.serve();
    let stdout = console_test(
        &site,
        "walk.mjs",
        &[
            ("ADMIN", "root"),
            ("ADMIN_PASSWORD", "the administrator's password"),
            ("PSB", "li"),
            ("PSB_PASSWORD", "li's long password"),
        ],
    );
    assert!(stdout.contains("walk e2e ok"));
    assert!(rec.terminate());
}
