//! The compliance console in a real browser (Debian's Chromium through Playwright):
//! registering a system, a refused camera (Art. 10), filing a system end to end and
//! seeing the finding clear, the printable filing report, and the district PSB's
//! inspection. See web/e2e/compliance.mjs; screenshots in `web/e2e/artifacts/`.

mod support;

use support::*;

#[test]
fn filing_a_system_in_chromium_clears_the_finding() {
    web_dir();
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("lobby", &format!("{url}/lobby"))],
        "sync_interval = \"1s\"",
    );
    add_user(&site, "root", "the administrator's password", "admin");
    let out = site.vidimus(&[
        "org",
        "add",
        "--name",
        "Futian PSB",
        "--kind",
        "public_security",
        "--region",
        "Futian",
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
        "compliance.mjs",
        &[
            ("ADMIN", "root"),
            ("ADMIN_PASSWORD", "the administrator's password"),
            ("PSB", "li"),
            ("PSB_PASSWORD", "li's long password"),
        ],
    );
    assert!(stdout.contains("compliance e2e ok"));
    assert!(rec.terminate());
}
