//! The administration commands: cameras, recordings listing, configuration errors.

mod support;

use std::process::Command;
use support::*;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cameras_are_added_listed_and_removed_without_showing_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, out, err) = run(&[
        "camera",
        "add",
        "--data-dir",
        d,
        "--name",
        "gate-1",
        "--url",
        "rtsp://admin:s3cret@10.1.2.3:554/main",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("rtsp://10.1.2.3:554/main") && !out.contains("s3cret"),
        "{out}"
    );
    let (ok, _, err) = run(&[
        "camera",
        "add",
        "--data-dir",
        d,
        "--name",
        "gate-1",
        "--url",
        "rtsp://h/x",
    ]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&[
        "camera",
        "add",
        "--data-dir",
        d,
        "--name",
        "bad",
        "--url",
        "http://h/x",
    ]);
    assert!(!ok && err.contains("rtsp://"), "{err}");
    let (ok, _, err) = run(&[
        "camera",
        "add",
        "--data-dir",
        d,
        "--name",
        "../etc",
        "--url",
        "rtsp://h/x",
    ]);
    assert!(!ok && err.contains("camera name"), "{err}");

    let (ok, out, _) = run(&["camera", "list", "--data-dir", d, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["name"], "gate-1");
    assert_eq!(v[0]["username"], "admin");
    assert_eq!(v[0]["url"], "rtsp://10.1.2.3:554/main");
    assert!(
        !out.contains("s3cret") && !out.contains("password"),
        "{out}"
    );

    let (ok, out, _) = run(&["camera", "remove", "--data-dir", d, "gate-1"]);
    assert!(ok && out.contains("recordings are kept"), "{out}");
    let (_, out, _) = run(&["camera", "list", "--data-dir", d, "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, out, _) = run(&["camera", "list", "--data-dir", d, "--all"]);
    assert!(out.contains("(removed)"), "{out}");
}

#[test]
fn recordings_list_rejects_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) = run(&["recordings", "list", "--data-dir", d, "--camera", "x"]);
    assert!(!ok && err.contains("no Vidimus index"), "{err}");
    run(&[
        "camera",
        "add",
        "--data-dir",
        d,
        "--name",
        "x",
        "--url",
        "rtsp://h/x",
    ]);
    let (ok, _, err) = run(&["recordings", "list", "--data-dir", d, "--camera", "nope"]);
    assert!(!ok && err.contains("camera \"nope\" not found"), "{err}");
    let (ok, _, err) = run(&[
        "recordings",
        "list",
        "--data-dir",
        d,
        "--camera",
        "x",
        "--from",
        "yesterday",
    ]);
    assert!(!ok && err.contains("invalid time"), "{err}");
    let (ok, _, err) = run(&[
        "recordings",
        "list",
        "--data-dir",
        d,
        "--camera",
        "x",
        "--from",
        "2026-01-02T00:00:00Z",
        "--to",
        "2026-01-01T00:00:00Z",
    ]);
    assert!(!ok && err.contains("--to must be after --from"), "{err}");
    let (ok, out, err) = run(&[
        "recordings",
        "list",
        "--data-dir",
        d,
        "--camera",
        "x",
        "--json",
        "--from",
        "1700000000",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["segments"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (ok, out, _) = run(&["fsck", "--data-dir", d]);
    assert!(ok && out.contains("clean"), "{out}");
}

#[test]
fn configuration_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("v.toml");
    let cases = [
        (
            "data_dir = \"d\"\n[recorder]\nsync_interval = \"0s\"\n",
            "sync_interval",
        ),
        (
            "data_dir = \"d\"\n[recorder]\nsync_interval = \"soon\"\n",
            "soon",
        ),
        ("data_dir = \"d\"\ncolour = 1\n", "colour"),
        (
            "data_dir = \"d\"\n[[camera]]\nname = \"a\"\nurl = \"rtsp://h/1\"\n[[camera]]\nname = \"a\"\nurl = \"rtsp://h/2\"\n",
            "defined twice",
        ),
        (
            "data_dir = \"d\"\n[[camera]]\nname = \"a\"\nurl = \"ftp://h/1\"\n",
            "rtsp://",
        ),
        // An access policy without ids, and one that does not fit its schema.
        (
            "data_dir = \"d\"\n[access]\npolicy = \"no-id.cedar\"\n",
            "has no @id",
        ),
        (
            "data_dir = \"d\"\n[access]\npolicy = \"colour.cedar\"\n",
            "not valid against its schema",
        ),
        (
            "data_dir = \"d\"\n[access]\npolicy = \"missing.cedar\"\n",
            "missing.cedar",
        ),
    ];
    std::fs::write(
        dir.path().join("no-id.cedar"),
        "permit (principal, action, resource);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("colour.cedar"),
        "@id(\"x\") permit (principal, action, resource) when { resource.colour == \"red\" };",
    )
    .unwrap();
    for (text, says) in cases {
        std::fs::write(&cfg, text).unwrap();
        let (ok, _, err) = run(&["serve", "--config", cfg.to_str().unwrap()]);
        assert!(!ok && err.contains(says), "config {text:?}: {err}");
    }
}

#[test]
fn retention_below_the_legal_minimum_is_refused_citing_the_article() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("v.toml");
    let d = dir.path().join("data");
    std::fs::create_dir_all(&d).unwrap();
    let cam = |days: u32, key: bool| {
        format!(
            "data_dir = \"data\"\n[[camera]]\nname = \"a\"\nurl = \"rtsp://h/1\"\nretention_days = {days}\n\
             counter_terrorism_key_target = {key}\n"
        )
    };
    // "Not less than 30 days" (Art. 32) includes 30 (Art. 47).
    for (days, key, refused_by) in [
        (29, false, Some("art32.video_retention_min")),
        (30, false, None),
        (89, true, Some("art32.key_target_video_retention_min")),
        (90, true, None),
    ] {
        std::fs::write(&cfg, cam(days, key)).unwrap();
        let (ok, _, err) = run(&["camera", "list", "--config", cfg.to_str().unwrap()]);
        match refused_by {
            Some(rule) => {
                assert!(!ok, "{days} days (key target {key}) accepted");
                assert!(
                    err.contains("Art. 32") && err.contains(rule) && err.contains("Art. 47"),
                    "{err}"
                );
            }
            None => assert!(
                ok || err.contains("no Vidimus index"),
                "{days} days refused: {err}"
            ),
        }
    }
    let (ok, _, err) = run(&[
        "camera",
        "add",
        "--data-dir",
        d.to_str().unwrap(),
        "--name",
        "b",
        "--url",
        "rtsp://h/2",
        "--retention-days",
        "7",
    ]);
    assert!(
        !ok && err.contains("below the legal minimum of 30 days") && err.contains("Art. 32"),
        "{err}"
    );
    let (ok, _, err) = run(&[
        "camera",
        "add",
        "--data-dir",
        d.to_str().unwrap(),
        "--name",
        "b",
        "--url",
        "rtsp://h/2",
        "--retention-days",
        "45",
    ]);
    assert!(ok, "{err}");
}

#[test]
fn legal_holds_are_placed_listed_and_released_with_attribution() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(&[
        "camera",
        "add",
        "--data-dir",
        d,
        "--name",
        "gate",
        "--url",
        "rtsp://h/x",
    ]);
    let (ok, out, err) = run(&[
        "hold",
        "add",
        "--data-dir",
        d,
        "--camera",
        "gate",
        "--from",
        "2026-11-01T00:00:00Z",
        "--to",
        "2026-11-02T00:00:00Z",
        "--reason",
        "case 2026-117",
        "--by",
        "officer Li",
    ]);
    assert!(ok && out.starts_with("hold 1 placed"), "{out}{err}");
    let (ok, _, err) = run(&[
        "hold",
        "add",
        "--data-dir",
        d,
        "--camera",
        "gate",
        "--from",
        "2026-11-02T00:00:00Z",
        "--to",
        "2026-11-01T00:00:00Z",
        "--reason",
        "x",
        "--by",
        "y",
    ]);
    assert!(!ok && err.contains("must be after"), "{err}");
    let (_, out, _) = run(&["hold", "list", "--data-dir", d]);
    assert!(
        out.contains("case 2026-117") && out.contains("officer Li"),
        "{out}"
    );
    let (ok, _, _) = run(&[
        "hold",
        "release",
        "--data-dir",
        d,
        "1",
        "--by",
        "supervisor Wang",
    ]);
    assert!(ok);
    let (_, out, _) = run(&["hold", "list", "--data-dir", d]);
    assert!(
        !out.contains("case 2026-117"),
        "released holds are not active: {out}"
    );
    let (_, out, _) = run(&["hold", "list", "--data-dir", d, "--all"]);
    assert!(out.contains("released by supervisor Wang"), "{out}");
    let (ok, _, err) = run(&["hold", "release", "--data-dir", d, "1", "--by", "x"]);
    assert!(!ok && err.contains("no active hold 1"), "{err}");
}

/// Every option of every command says what it is for (`--help` never lists a bare
/// flag): found by a new user, `serve --config` and `export --camera` had none.
#[test]
fn every_option_of_every_command_has_help() {
    let help = |path: &[String]| -> String {
        let out = std::process::Command::new(bin())
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Every command and subcommand, from the help's own lists.
    let mut all: Vec<Vec<String>> = vec![vec![]];
    let mut i = 0;
    while i < all.len() {
        let text = help(&all[i]);
        let mut in_commands = false;
        for line in text.lines() {
            if line.starts_with("Commands:") {
                in_commands = true;
            } else if in_commands && line.starts_with("  ") {
                let name = line.split_whitespace().next().unwrap();
                if name != "help" {
                    let mut p = all[i].clone();
                    p.push(name.to_owned());
                    all.push(p);
                }
            } else {
                in_commands = false;
            }
        }
        i += 1;
    }
    assert!(all.len() > 20, "{all:?}");
    let mut bare = Vec::new();
    for c in &all {
        let text = help(c);
        let lines: Vec<&str> = text.lines().collect();
        let mut in_options = false;
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("Options:") || line.starts_with("Arguments:") {
                in_options = true;
                continue;
            }
            if !line.starts_with("  ") {
                in_options = in_options && line.trim().is_empty();
                continue;
            }
            let body = line.trim();
            let indent = line.len() - body.len();
            let spec = body.starts_with('-') || body.starts_with('<') || body.starts_with('[');
            if !in_options
                || !spec
                || body.starts_with("-h, --help")
                || body.starts_with("-V, --version")
            {
                continue;
            }
            // "  -c, --config <CONFIG>  The configuration file", or the help on the
            // next, more indented line (clap's long help).
            let inline = body.contains("  ");
            let below = lines.get(i + 1).is_some_and(|n| {
                let t = n.trim_start();
                n.len() - t.len() > indent && !t.is_empty()
            });
            if !inline && !below {
                bare.push(format!("vidimus {}: {body}", c.join(" ")));
            }
        }
    }
    assert!(
        bare.is_empty(),
        "options without help:\n{}",
        bare.join("\n")
    );
}

/// A mistyped camera URL is named once, with what a camera URL looks like.
#[test]
fn a_mistyped_camera_url_says_which_value_and_what_it_should_look_like() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "camera",
            "add",
            "--name",
            "gate",
            "--url",
            "rtsp//10.0.0.5/stream1",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"rtsp//10.0.0.5/stream1\"") && err.contains("looks like rtsp://host"),
        "{err}"
    );
    assert_eq!(
        err.matches("relative URL without a base").count(),
        1,
        "{err}"
    );
}
