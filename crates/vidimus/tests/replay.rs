//! All security-relevant state is in the log (issue 11 E3): grants revoked and then
//! un-revoked and extended behind Vidimus's back, a work ID rewritten, a gap and a
//! legal hold deleted, a role raised, a segment moved by an hour — each edit made with
//! the index's logging triggers dropped — are each named by `vidimus verify`, which
//! replays the log against the index. A tool that edits without Vidimus's functions
//! fails instead of editing silently.

mod support;

use serde_json::json;
use std::process::Command;
use std::time::Duration;
use support::*;

fn pw(user: &str) -> String {
    format!("{user}'s long password")
}

#[test]
fn verify_names_every_row_edited_behind_the_logs_back() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let (mut cam, url) = simcam_on(&bind, "none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"2s\"\nbackoff_initial = \"500ms\"\nbackoff_max = \"1s\"",
    );
    site.cli(&[
        "org",
        "add",
        "--name",
        "Futian PSB",
        "--kind",
        "public_security",
        "--region",
        "futian",
    ]);
    add_member(
        &site,
        "li",
        &pw("li"),
        "operator",
        Some("Futian PSB"),
        Some("PSB-0001"),
    );
    add_member(
        &site,
        "wang",
        &pw("wang"),
        "operator",
        Some("Futian PSB"),
        Some("PSB-0002"),
    );
    add_user(&site, "ada", &pw("ada"), "operator");
    duty(&site, "ada");
    let mut rec = site.serve();
    // A gap: the camera goes away for a few seconds.
    assert!(wait_until(Duration::from_secs(30), || site
        .recordings("yard")["segments"]
        .as_array()
        .is_some_and(|s| s.len() >= 2)));
    cam.kill9();
    std::thread::sleep(Duration::from_secs(3));
    let (mut cam, _) = simcam_on(&bind, "none");
    std::thread::sleep(Duration::from_secs(4));
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let yard = mgr.camera_id("yard");
    // A PSB request with two officers, granted.
    let li = Client::login(site.http, "li", &pw("li"));
    let wang = Client::login(site.http, "wang", &pw("wang"));
    let r = li.call(
        "POST",
        "/api/requests",
        Some(
            json!({"kind": "law_enforcement", "purpose": "case 9", "cameras": [yard],
            "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z",
            "actions": ["view_recorded"], "persons": [{"username": "li"}, {"username": "wang"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rid = r.json()["request"]["id"].as_i64().unwrap();
    let r = wang.call(
        "POST",
        &format!("/api/requests/{rid}/confirm"),
        Some(json!({"password": pw("wang")})),
    );
    assert_eq!(r.json()["request"]["status"], "granted");
    let gid = r.json()["request"]["grant"]["id"].as_i64().unwrap();
    // Revoked by the manager; a legal hold placed.
    assert_eq!(
        mgr.call("POST", &format!("/api/grants/{gid}/revoke"), None)
            .status,
        204
    );
    let r = mgr.call(
        "POST",
        "/api/holds",
        Some(json!({"camera_id": yard, "from": "2026-01-01T00:00:00Z",
            "to": "2030-01-01T00:00:00Z", "reason": "case 9"})),
    );
    assert_eq!(r.status, 201);
    assert!(rec.terminate());
    cam.terminate();

    // Before any tampering the index is what the log says.
    let out = site.vidimus(&["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A tool without Vidimus's functions cannot edit a tracked table silently.
    let st = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE legal_hold SET reason = ?', ('x',)); c.commit()",
        ])
        .arg(site.data().join("index.db"))
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("no such function: vidimus_"));

    // The insider drops the triggers and edits.
    let gap = {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT MIN(id) FROM gap').fetchone()[0])",
            ])
            .arg(site.data().join("index.db"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let seg = site.recordings("yard")["segments"][0]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    site.sql_untracked(&format!(
        "UPDATE access_grant SET revoked_90k = NULL, expires_90k = expires_90k + 90000 * 86400 * 300 WHERE id = {gid};
         UPDATE request_person SET work_id = 'FORGED-1' WHERE request_id = {rid} AND work_id = 'PSB-0002';
         DELETE FROM gap WHERE id = {gap};
         DELETE FROM legal_hold;
         UPDATE user_account SET role = 'admin' WHERE username = 'ada';
         UPDATE segment SET start_90k = start_90k - 90000 * 3600 WHERE path = '{seg}';"
    ));
    let out = site.vidimus(&["verify"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for expect in [
        format!("grant {gid}: revoked is none in the index"),
        format!("grant {gid}: expires is "),
        "work_id is \"FORGED-1\" in the index, \"PSB-0002\" in the log".to_owned(),
        format!("gap {gap} is in the log but deleted from the index"),
        "legal hold 1 is in the log but deleted from the index".to_owned(),
        "role is \"admin\" in the index, \"operator\" in the log".to_owned(),
        format!("segment {seg}: start is "),
    ] {
        assert!(text.contains(&expect), "not named: {expect}\n{text}");
    }
    // The subtler insider: a session minted for the manager, ada's password hash
    // swapped, the row log "restarted" over the altered rows, a foreign trigger that
    // would delete register entries as they are written, and a leaf relabelled.
    site.sql_untracked(
        "INSERT INTO login_session (token_hash, user_id, csrf_token, created_90k, expires_90k, peer) \
           SELECT X'00112233', id, 'x', 0, 9000000000000000, '127.0.0.1' FROM user_account WHERE username = 'manager';
         UPDATE user_account SET password_hash = 'swapped' WHERE username = 'ada';
         DELETE FROM row_log_state;
         CREATE TRIGGER z AFTER INSERT ON log_leaf WHEN NEW.kind = 'access' BEGIN DELETE FROM log_leaf WHERE idx = NEW.idx; END;
         UPDATE log_leaf SET kind = 'x' WHERE idx = (SELECT MIN(idx) FROM log_leaf WHERE kind = 'event');",
    );
    let out = site.vidimus(&["verify"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for expect in [
        "login session",
        "password_hash (its SHA-256) is",
        "the row log was restarted over altered rows",
        "foreign trigger \"z\"",
        "was relabelled",
        "FORGED-1",
    ] {
        assert!(text.contains(expect), "not named: {expect}\n{text}");
    }
    // Starting Vidimus again restores the triggers, and the edits stay named.
    let mut rec = site.serve();
    assert!(rec.terminate());
    let out = site.vidimus(&["verify"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FORGED-1"));
}
