//! Lawful access, scenario by scenario from the regulation: a PSB with two officers
//! and work IDs (Art. 33 ¶1, 34) gets access once both confirm, one officer does not;
//! another state organ inside its jurisdiction does (Art. 33 ¶3), outside it only with
//! the manager's consent; an interested party views with the manager's approval but
//! cannot export, and exports after the PSB's approval (Art. 35). Every access and
//! refused attempt is in the register with its persons, work IDs, purpose, request,
//! camera and range; editing a register entry is caught by `vidimus verify`.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

fn pw(user: &str) -> String {
    format!("{user}'s long password")
}

fn member(site: &Site, user: &str, role: &str, org: &str, work_id: Option<&str>) {
    add_member(site, user, &pw(user), role, Some(org), work_id);
}

fn missing(r: &Value) -> Vec<String> {
    r["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn access_scenarios_from_the_articles() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[
            ("bank", &format!("{url}/bank")),
            ("metro", &format!("{url}/metro")),
        ],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
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
    site.cli(&[
        "org",
        "add",
        "--name",
        "Transport Bureau",
        "--kind",
        "state_organ",
        "--industry",
        "transport",
    ]);
    site.cli(&[
        "org",
        "add",
        "--name",
        "Zhang family",
        "--kind",
        "interested_party",
    ]);
    add_user(&site, "mgr", &pw("mgr"), "admin");
    member(&site, "li", "operator", "Futian PSB", Some("PSB-0001"));
    member(&site, "wang", "operator", "Futian PSB", Some("PSB-0002"));
    member(&site, "chief", "admin", "Futian PSB", Some("PSB-0100"));
    member(&site, "chen", "operator", "Transport Bureau", Some("TB-01"));
    member(&site, "zhou", "operator", "Transport Bureau", Some("TB-02"));
    member(
        &site,
        "zhang",
        "operator",
        "Zhang family",
        Some("ID 440301199001011234"),
    );
    let mut rec = site.serve();
    site.cli(&[
        "camera",
        "place",
        "bank",
        "--system",
        "branch-7",
        "--region",
        "futian",
        "--industry",
        "banking",
    ]);
    site.cli(&[
        "camera",
        "place",
        "metro",
        "--system",
        "line-1",
        "--region",
        "nanshan",
        "--industry",
        "transport",
    ]);
    std::thread::sleep(Duration::from_secs(10));
    let c = |u: &str| Client::login(site.http, u, &pw(u));
    let (li, wang, chief, chen, zhou, zhang, mgr) = (
        c("li"),
        c("wang"),
        c("chief"),
        c("chen"),
        c("zhou"),
        c("zhang"),
        c("mgr"),
    );
    let cam_id = |n: &str| mgr.camera_id(n);
    let (bank, metro) = (cam_id("bank"), cam_id("metro"));
    let t0 = site.first_start_90k("bank");
    let f = |t: i64| format!("{:.3}", t as f64 / 90_000.0);
    let (from, to) = (f(t0 + 90_000), f(t0 + 4 * 90_000));
    let play = |who: &Client, cam: i64| {
        who.call(
            "GET",
            &format!("/api/cameras/{cam}/playback.mp4?from={from}&to={to}"),
            None,
        )
    };
    let export = |who: &Client, cam: i64| {
        who.call(
            "GET",
            &format!("/api/cameras/{cam}/export.mp4?from={from}&to={to}&recipient=case%20file&destination=evidence%20room"),
            None,
        )
    };
    let file = |who: &Client, kind: &str, cam: i64, actions: &[&str], persons: Value| {
        let r = who.call(
            "POST",
            "/api/requests",
            Some(
                json!({"kind": kind, "purpose": format!("{kind} on camera {cam}"), "cameras": [cam],
                        "from": from, "to": to, "actions": actions, "days": 3, "persons": persons}),
            ),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    };
    let confirm = |who: &Client, user: &str, id: i64| {
        let r = who.call(
            "POST",
            &format!("/api/requests/{id}/confirm"),
            Some(json!({"password": pw(user)})),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    };
    let approve = |who: &Client, id: i64, kind: &str| {
        who.call(
            "POST",
            &format!("/api/requests/{id}/approve"),
            Some(json!({"kind": kind})),
        )
    };

    // 1. PSB, two officers with work IDs (Art. 33 ¶1, 34): granted once both confirm.
    let r = file(
        &li,
        "law_enforcement",
        bank,
        &["view_recorded", "reproduce"],
        json!([{"username": "li"}, {"username": "wang"}]),
    );
    let rid = r["request"]["id"].as_i64().unwrap();
    assert_eq!(missing(&r), ["confirmations"]);
    assert_eq!(r["missing"][0]["article"], "Art. 34(3)");
    assert_eq!(
        play(&li, bank).code(),
        "no_grant",
        "no video before registration is complete"
    );
    // A wrong password does not confirm.
    let bad = wang.call(
        "POST",
        &format!("/api/requests/{rid}/confirm"),
        Some(json!({"password": "guess"})),
    );
    assert_eq!(bad.status, 403);
    let r = confirm(&wang, "wang", rid);
    assert_eq!(r["request"]["status"], "granted", "{r}");
    assert_eq!(play(&li, bank).status, 200);
    assert_eq!(export(&wang, bank).status, 200);
    // The grant names the bank camera only, and only the two officers.
    assert_eq!(play(&li, metro).code(), "no_grant");
    assert_eq!(play(&chief, bank).code(), "no_grant");

    // 2. One officer: refused by Art. 34(1); no grant, no video.
    let r = file(
        &li,
        "law_enforcement",
        metro,
        &["view_recorded"],
        json!([{"username": "li"}]),
    );
    let lone = r["request"]["id"].as_i64().unwrap();
    assert_eq!(missing(&r), ["two_officers"]);
    assert_eq!(r["missing"][0]["article"], "Art. 34(1)");
    assert_eq!(play(&li, metro).code(), "no_grant");
    // Its filer withdraws it; others cannot.
    let why = Some(json!({"reason": "filed by mistake"}));
    assert_eq!(
        wang.call("POST", &format!("/api/requests/{lone}/close"), why.clone())
            .status,
        404
    );
    let r = li.call("POST", &format!("/api/requests/{lone}/close"), why);
    assert_eq!(r.json()["request"]["status"], "withdrawn");
    // Documents are attached with their SHA-256 (the body limit is larger here).
    let warrant = vec![b'%'; 100_000];
    let r = http(
        site.http,
        "POST",
        &format!("/api/requests/{rid}/attachments?name=warrant.pdf"),
        &[("cookie", &li.cookie), ("x-csrf-token", &li.csrf)],
        &warrant,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let att = &r.json()["request"]["attachments"][0];
    assert_eq!(
        (att["name"].as_str(), att["bytes"].as_i64()),
        (Some("warrant.pdf"), Some(100_000))
    );
    assert_eq!(att["sha256"].as_str().unwrap().len(), 64);
    // An interested party cannot make a law-enforcement request at all.
    let r = zhang.call("POST", "/api/requests", Some(json!({"kind": "law_enforcement", "purpose": "x",
        "cameras": [bank], "from": from, "to": to, "actions": ["view_recorded"], "persons": [{"username": "zhang"}]})));
    assert_eq!((r.status, r.code()), (422, "not_allowed".into()));

    // 3. Another state organ: inside its jurisdiction (the metro serves transport).
    let r = file(
        &chen,
        "administrative_in_jurisdiction",
        metro,
        &["view_recorded"],
        json!([{"username": "chen"}, {"username": "zhou"}]),
    );
    let r = confirm(&zhou, "zhou", r["request"]["id"].as_i64().unwrap());
    assert_eq!(r["request"]["status"], "granted");
    assert_eq!(play(&chen, metro).status, 200);
    //    The bank is outside it: not as "in jurisdiction", and outside only with the
    //    manager's consent (or the PSB's permission).
    let r = file(
        &chen,
        "administrative_in_jurisdiction",
        bank,
        &["view_recorded"],
        json!([{"username": "chen"}, {"username": "zhou"}]),
    );
    let wrong = r["request"]["id"].as_i64().unwrap();
    let r = confirm(&zhou, "zhou", wrong);
    assert_eq!(missing(&r), ["jurisdiction"]);
    let r = mgr.call(
        "POST",
        &format!("/api/requests/{wrong}/close"),
        Some(json!({"reason": "outside the bureau's jurisdiction"})),
    );
    assert_eq!(r.json()["request"]["status"], "refused");
    let r = file(
        &chen,
        "administrative_outside_jurisdiction",
        bank,
        &["view_recorded"],
        json!([{"username": "chen"}, {"username": "zhou"}]),
    );
    let out_id = r["request"]["id"].as_i64().unwrap();
    let r = confirm(&zhou, "zhou", out_id);
    assert_eq!(missing(&r), ["consent_or_permission"]);
    assert_eq!(r["missing"][0]["article"], "Art. 33 ¶3");
    // Its metro grant does not stretch to the bank.
    assert_eq!(play(&chen, bank).code(), "no_grant");
    // Only the right approvers: not the requester's colleagues, not an operator.
    assert_eq!(
        approve(&zhou, out_id, "manager_consent").status,
        403,
        "a person on it is no approver"
    );
    assert_eq!(approve(&chief, out_id, "manager_approval").status, 403);
    let r = approve(&mgr, out_id, "manager_consent");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["request"]["status"], "granted");
    assert_eq!(play(&chen, bank).status, 200);

    // 4. An interested party (Art. 35): views upon the manager's approval, view only.
    let r = file(
        &zhang,
        "interested_party_emergency",
        bank,
        &["view_recorded"],
        json!([{"username": "zhang"}]),
    );
    let view_id = r["request"]["id"].as_i64().unwrap();
    assert_eq!(missing(&r), ["manager_approval"]);
    assert_eq!(play(&zhang, bank).code(), "no_grant");
    assert_eq!(
        approve(&mgr, view_id, "manager_approval").json()["request"]["status"],
        "granted"
    );
    //    View only (Art. 35): it watches a watermarked stream, never a file.
    assert_eq!(play(&zhang, bank).code(), "view_only");
    //    It tries to export: refused (and registered).
    assert_eq!(export(&zhang, bank).status, 403);
    //    Reproduction for evidence needs the PSB's approval as well.
    let r = file(
        &zhang,
        "interested_party_emergency",
        bank,
        &["view_recorded", "reproduce"],
        json!([{"username": "zhang"}]),
    );
    let copy_id = r["request"]["id"].as_i64().unwrap();
    assert_eq!(
        missing(&r),
        ["manager_approval", "psb_reproduction_approval"]
    );
    approve(&mgr, copy_id, "manager_approval");
    assert_eq!(export(&zhang, bank).status, 403);
    let r = approve(&chief, copy_id, "psb_reproduction_approval");
    assert_eq!(
        r.json()["request"]["status"],
        "granted",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(export(&zhang, bank).status, 200);

    // 5. Revoked: no more video.
    let gid = mgr
        .call("GET", &format!("/api/requests/{view_id}"), None)
        .json()["request"]["grant"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        mgr.call("POST", &format!("/api/grants/{gid}/revoke"), None)
            .status,
        204
    );
    let r = zhang
        .call("GET", &format!("/api/requests/{view_id}"), None)
        .json();
    assert!(r["request"]["grant"]["revoked_90k"].is_i64());
    assert!(
        r["request"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "revoked")
    );
    assert!(rec.terminate());

    // 6. The register: every access and every refused attempt, with all fields.
    let reg: Value = serde_json::from_slice(&site.vidimus(&["register", "--json"]).stdout).unwrap();
    let reg = reg.as_array().unwrap();
    let psb_copy = reg
        .iter()
        .find(|e| e["user"] == "wang" && e["action"] == "reproduce" && e["allowed"] == true)
        .expect("the PSB export is registered");
    assert_eq!(psb_copy["request_id"], rid);
    assert_eq!(psb_copy["request_kind"], "law_enforcement");
    assert_eq!(psb_copy["work_id"], "PSB-0002");
    assert_eq!(psb_copy["org"], "Futian PSB");
    assert_eq!(
        psb_copy["purpose"],
        format!("law_enforcement on camera {bank}")
    );
    assert_eq!(psb_copy["camera"], "bank");
    assert_eq!(
        psb_copy["persons"],
        json!([{"user": "li", "work_id": "PSB-0001"}, {"user": "wang", "work_id": "PSB-0002"}])
    );
    assert_eq!(psb_copy["whereabouts"]["recipient"], "case file");
    assert_eq!(psb_copy["whereabouts"]["destination"], "evidence room");
    assert!(
        psb_copy["from"].is_string() && psb_copy["to"].is_string() && psb_copy["at"].is_string()
    );
    let refused: Vec<&Value> = reg.iter().filter(|e| e["allowed"] == false).collect();
    assert!(
        refused
            .iter()
            .any(|e| e["user"] == "zhang" && e["action"] == "reproduce"),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|e| e["user"] == "chen" && e["camera"] == "bank")
    );
    assert!(refused.iter().all(|e| e["reason"].is_string()));
    // Zhang's attempt to take the view-only viewing as a file is registered, refused.
    assert!(reg.iter().any(|e| e["user"] == "zhang"
        && e["action"] == "view_recorded"
        && e["allowed"] == false
        && e["reason"].as_str().unwrap_or("").contains("view only")));
    let (ok, _) = verify(&site);
    assert!(ok);

    // 7. Editing a register entry in the database is caught.
    site.sql(
        "UPDATE log_leaf SET data = replace(data, 'evidence room', 'home') WHERE kind = 'access'",
        &[],
    );
    let (ok, all) = verify(&site);
    assert!(!ok);
    assert!(
        all["log"]["problems"].to_string().contains("was altered"),
        "{all}"
    );
}

fn verify(site: &Site) -> (bool, Value) {
    let out = site.vidimus(&["verify", "--json"]);
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}
