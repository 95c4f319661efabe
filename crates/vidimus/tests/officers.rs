//! Two officers are two real people, in their own jurisdiction (issue 11 D; Art. 33,
//! 34, 35): persons on a request are accounts whose work IDs come from their accounts;
//! a confirmation cannot rewrite a work ID; a PSB approves only for cameras in its own
//! district and does not see another PSB's requests; no one approves their own grant,
//! from the API or the command line; a password entered to confirm is rate-limited
//! like a login and every wrong one is in the system log.

mod support;

use serde_json::{Value, json};
use support::*;

fn pw(user: &str) -> String {
    format!("{user}'s long password")
}

fn member(site: &Site, user: &str, role: &str, org: Option<&str>, work_id: Option<&str>) {
    add_member(site, user, &pw(user), role, org, work_id);
}

#[test]
fn officers_are_accounts_in_their_own_district() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("bank", &format!("{url}/bank"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    for (name, region) in [("Futian PSB", "futian"), ("Nanshan PSB", "nanshan")] {
        site.cli(&[
            "org",
            "add",
            "--name",
            name,
            "--kind",
            "public_security",
            "--region",
            region,
        ]);
    }
    site.cli(&[
        "org",
        "add",
        "--name",
        "Zhang family",
        "--kind",
        "interested_party",
    ]);
    member(&site, "mgr", "admin", None, None);
    member(
        &site,
        "li",
        "operator",
        Some("Futian PSB"),
        Some("PSB-0001"),
    );
    member(
        &site,
        "wang",
        "operator",
        Some("Futian PSB"),
        Some("PSB-0002"),
    );
    member(&site, "noid", "operator", Some("Futian PSB"), None);
    member(
        &site,
        "futian-chief",
        "admin",
        Some("Futian PSB"),
        Some("PSB-0100"),
    );
    member(
        &site,
        "nanshan-chief",
        "admin",
        Some("Nanshan PSB"),
        Some("NS-0100"),
    );
    member(
        &site,
        "zhang",
        "operator",
        Some("Zhang family"),
        Some("ID 440301"),
    );
    let mut rec = site.serve();
    site.cli(&[
        "camera", "place", "bank", "--system", "branch-7", "--region", "futian",
    ]);
    let c = |u: &str| Client::login(site.http, u, &pw(u));
    let (li, wang, mgr, zhang) = (c("li"), c("wang"), c("mgr"), c("zhang"));
    let (futian, nanshan) = (c("futian-chief"), c("nanshan-chief"));
    let bank = mgr.camera_id("bank");
    let body = |kind: &str, actions: &[&str], persons: Value| {
        json!({"kind": kind, "purpose": "case 2026-88", "cameras": [bank],
               "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z",
               "actions": actions, "days": 3, "persons": persons})
    };

    // D1. An invented work ID for a colleague is refused; so is a person without an
    //     account, one without a work ID, and the same person twice.
    let r = li.call(
        "POST",
        "/api/requests",
        Some(body(
            "law_enforcement",
            &["view_recorded"],
            json!([{"username": "li"}, {"username": "wang", "work_id": "INVENTED-777"}]),
        )),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("INVENTED-777") && msg.contains("Art. 34(2)"),
        "{msg}"
    );
    for (persons, article) in [
        (
            json!([{"username": "li"}, {"username": "ghost"}]),
            "Art. 33",
        ),
        (
            json!([{"username": "li"}, {"username": "noid"}]),
            "Art. 34(2)",
        ),
    ] {
        let r = li.call(
            "POST",
            "/api/requests",
            Some(body("law_enforcement", &["view_recorded"], persons.clone())),
        );
        assert_eq!(r.status, 422, "{persons}");
        let m = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(m.contains(article), "{persons}: {m}");
    }
    let r = li.call(
        "POST",
        "/api/requests",
        Some(body(
            "law_enforcement",
            &["view_recorded"],
            json!([{"username": "li"}, {"username": "li"}]),
        )),
    );
    assert_eq!(
        r.status, 400,
        "a duplicate person is a clear error, not a 500"
    );
    // Filed right: the work IDs are the accounts'.
    let r = li.call(
        "POST",
        "/api/requests",
        Some(body(
            "law_enforcement",
            &["view_recorded"],
            json!([{"username": "li", "work_id": "PSB-0001"}, {"username": "wang"}]),
        )),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rid = r.json()["request"]["id"].as_i64().unwrap();
    let works: Vec<String> = r.json()["request"]["persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["work_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(works, ["PSB-0001", "PSB-0002"]);
    // A confirmation naming another work ID is refused and changes nothing.
    let r = wang.call(
        "POST",
        &format!("/api/requests/{rid}/confirm"),
        Some(json!({"password": pw("wang"), "work_id": "OTHER-1"})),
    );
    assert_eq!(r.status, 422);
    let got = li.call("GET", &format!("/api/requests/{rid}"), None).json();
    assert_eq!(got["request"]["persons"][1]["work_id"], "PSB-0002");
    assert_eq!(got["request"]["status"], "pending");

    // D2. Another district's PSB does not see Futian's requests at all.
    for (m, path) in [
        ("GET", format!("/api/requests/{rid}")),
        ("POST", format!("/api/requests/{rid}/close")),
    ] {
        let r = nanshan.call(m, &path, Some(json!({"reason": "not mine"})));
        assert_eq!(r.status, 404, "{m} {path}");
    }
    let r = http(
        site.http,
        "POST",
        &format!("/api/requests/{rid}/attachments?name=x.pdf"),
        &[("cookie", &nanshan.cookie), ("x-csrf-token", &nanshan.csrf)],
        b"%PDF",
    );
    assert_eq!(r.status, 404);
    let listed = nanshan.call("GET", "/api/requests", None).json();
    assert!(listed.as_array().unwrap().is_empty(), "{listed}");
    assert_eq!(
        futian
            .call("GET", &format!("/api/requests/{rid}"), None)
            .status,
        200
    );
    //     An interested party's reproduction is approved only by the PSB of the
    //     camera's district (Art. 35 ¶1).
    let r = zhang.call(
        "POST",
        "/api/requests",
        Some(body(
            "interested_party_emergency",
            &["view_recorded", "reproduce"],
            json!([{"username": "zhang"}]),
        )),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let zid = r.json()["request"]["id"].as_i64().unwrap();
    let approve = |who: &Client, kind: &str| {
        who.call(
            "POST",
            &format!("/api/requests/{zid}/approve"),
            Some(json!({"kind": kind})),
        )
    };
    let r = approve(&nanshan, "psb_reproduction_approval");
    assert_eq!(r.status, 404, "another district's PSB does not find it");
    let r = approve(&futian, "psb_reproduction_approval");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // B3. Least privilege: cameras, timelines and holds only of granted cameras; URLs
    //     only to the system manager's administrators; hold reasons only to those
    //     who may place holds.
    let r = approve(&mgr, "manager_approval");
    assert_eq!(r.json()["request"]["status"], "granted", "{}", r.json());
    let r = mgr.call(
        "POST",
        "/api/holds",
        Some(json!({"camera_id": bank, "from": "2026-01-01T00:00:00Z",
            "to": "2026-01-02T00:00:00Z", "reason": "investigation 17 of the Futian PSB"})),
    );
    assert_eq!(r.status, 201);
    let cams = |who: &Client| who.call("GET", "/api/cameras", None).json();
    assert!(
        cams(&mgr)[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("rtsp://")
    );
    assert_eq!(cams(&zhang)[0]["name"], "bank");
    assert_eq!(
        cams(&zhang)[0]["url"],
        "",
        "a camera's address is the manager's"
    );
    assert!(
        cams(&li).as_array().unwrap().is_empty(),
        "li holds no grant"
    );
    assert!(cams(&nanshan).as_array().unwrap().is_empty());
    let tl = format!("/api/cameras/{bank}/timeline?from=0&to=100");
    assert_eq!(li.call("GET", &tl, None).status, 404);
    assert_eq!(zhang.call("GET", &tl, None).status, 200);
    let holds = |who: &Client| who.call("GET", "/api/holds", None).json();
    assert_eq!(
        holds(&mgr)[0]["reason"],
        "investigation 17 of the Futian PSB"
    );
    assert_eq!(holds(&zhang)[0]["reason"], "");
    assert!(holds(&li).as_array().unwrap().is_empty());

    // The register: a PSB's administrators see the accesses to cameras of their own
    // district, not other districts' cases.
    assert_eq!(
        li.call(
            "GET",
            &format!("/api/cameras/{bank}/playback.mp4?from=0&to=10"),
            None
        )
        .status,
        403
    );
    let reg = |who: &Client| who.call("GET", "/api/register", None).json();
    assert!(
        reg(&futian)
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["camera"] == "bank"),
        "{}",
        reg(&futian)
    );
    assert!(
        reg(&nanshan).as_array().unwrap().is_empty(),
        "{}",
        reg(&nanshan)
    );
    // A timeline only of the granted range: zhang's grant is 2026-01-01 00:00–01:00,
    // so today's recording is not on it; the manager sees it.
    assert!(wait_until(std::time::Duration::from_secs(30), || site
        .recordings("bank")["segments"]
        .as_array()
        .is_some_and(|s| !s.is_empty())));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tl = format!(
        "/api/cameras/{bank}/timeline?from={}&to={}",
        now - 600,
        now + 60
    );
    let spans = |who: &Client| {
        who.call("GET", &tl, None).json()["spans"]
            .as_array()
            .unwrap()
            .len()
    };
    assert!(spans(&mgr) > 0);
    assert_eq!(spans(&zhang), 0, "a timeline beyond the grant's range");

    // A PSB's district is its regions: a "banking" PSB is not the bank's district.
    site.cli(&[
        "org",
        "add",
        "--name",
        "Banking PSB",
        "--kind",
        "public_security",
        "--industry",
        "banking",
    ]);
    member(
        &site,
        "bank-chief",
        "admin",
        Some("Banking PSB"),
        Some("BK-1"),
    );
    let bank_chief = c("bank-chief");
    let r = bank_chief.call(
        "POST",
        &format!("/api/requests/{zid}/approve"),
        Some(json!({"kind": "psb_reproduction_approval"})),
    );
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    // One person with two accounts is not two officers.
    member(
        &site,
        "li-again",
        "operator",
        Some("Futian PSB"),
        Some("PSB-0001"),
    );
    let r = li.call(
        "POST",
        "/api/requests",
        Some(body(
            "law_enforcement",
            &["view_recorded"],
            json!([{"username": "li"}, {"username": "li-again"}]),
        )),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));

    // D3. No one approves their own grant, from any door.
    let out = site.vidimus_stdin(
        &["grant", "duty", "--user", "mgr", "--by", "mgr"],
        &format!("{}\n", pw("mgr")),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no one approves their own request"), "{err}");
    // From the command line too the approver proves it is them.
    member(&site, "ops", "operator", None, None);
    let out = site.vidimus_stdin(
        &["grant", "duty", "--user", "ops", "--by", "mgr"],
        "a guess\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));
    let out = site.vidimus_stdin(
        &[
            "grant", "duty", "--user", "ops", "--by", "mgr", "--days", "100000",
        ],
        &format!("{}\n", pw("mgr")),
    );
    assert!(!out.status.success(), "a grant of 100,000 days");
    let r = mgr.call(
        "POST",
        "/api/requests",
        Some(
            json!({"kind": "system_operation", "purpose": "operating", "cameras": [bank],
            "actions": ["view_live"], "persons": [{"username": "mgr"}]}),
        ),
    );
    assert_eq!(r.status, 201);
    let own = r.json()["request"]["id"].as_i64().unwrap();
    let r = mgr.call(
        "POST",
        &format!("/api/requests/{own}/approve"),
        Some(json!({"kind": "manager_approval"})),
    );
    assert_eq!(r.status, 403);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("their own")
    );

    // D4. Guessing the confirming password is rate-limited like login, and logged.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = wang.call(
            "POST",
            &format!("/api/requests/{rid}/confirm"),
            Some(json!({"password": "guess"})),
        );
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..5], [403; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let r = wang.call(
        "POST",
        &format!("/api/requests/{rid}/confirm"),
        Some(json!({"password": pw("wang")})),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "rate_limited"),
        "even the right password waits"
    );
    let out = site.vidimus(&["events", "--json"]);
    let events = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        events.matches("confirm a request").count(),
        5,
        "every wrong password checked is in the system log"
    );
    assert!(
        events.contains("approve a duty grant"),
        "the command line's too"
    );
    assert!(rec.terminate());
    cam.terminate();
}
