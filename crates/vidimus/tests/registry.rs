//! The registry and compliance on a live system, through the API: registration
//! refused by the rulebook (Art. 10, 11) with the article cited, who may read and
//! write what (manager's administrators, the PSB of the district, testing bodies),
//! dated workflows whose findings clear (filing), correction notices that raise the
//! tier once their period passes, measured retention of linked recorded cameras, the
//! inspection checklist, printable reports, and the facts document evaluating
//! offline to the same findings.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use vidimus_compliance::Date;

fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Date::from_unix_secs_cst(secs)
}

#[test]
fn registry_workflows_and_findings_through_the_api() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("lobby", &format!("{url}/lobby"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    let mut cfg = std::fs::read_to_string(site.config()).unwrap();
    cfg.push_str("[compliance]\neffective_date = \"2026-01-01\"\n");
    std::fs::write(site.config(), cfg).unwrap();
    for (name, kind, region) in [
        ("Futian PSB", "public_security", Some("Futian")),
        ("Nanshan PSB", "public_security", Some("Nanshan")),
        ("Shenzhen Security Testing Centre", "testing_body", None),
        ("Zhang family", "interested_party", None),
    ] {
        let mut args = vec!["org", "add", "--name", name, "--kind", kind];
        if let Some(r) = region {
            args.extend(["--region", r]);
        }
        site.cli(&args);
    }
    add_user(&site, "boss", "administrator password", "admin");
    add_user(&site, "op", "operator password", "operator");
    add_member(
        &site,
        "li",
        "li's password 1",
        "operator",
        Some("Futian PSB"),
        Some("PSB-0001"),
    );
    add_member(
        &site,
        "wang",
        "wang's password 1",
        "operator",
        Some("Futian PSB"),
        Some("PSB-0002"),
    );
    add_member(
        &site,
        "nan",
        "nan's password 1",
        "operator",
        Some("Nanshan PSB"),
        Some("PSB-0900"),
    );
    add_member(
        &site,
        "tester",
        "tester's password",
        "operator",
        Some("Shenzhen Security Testing Centre"),
        None,
    );
    add_member(
        &site,
        "zhang",
        "zhang's password",
        "operator",
        Some("Zhang family"),
        Some("ID 1"),
    );
    let mut rec = site.serve();
    let boss = Client::login(site.http, "boss", "administrator password");
    let op = Client::login(site.http, "op", "operator password");
    let li = Client::login(site.http, "li", "li's password 1");
    let nan = Client::login(site.http, "nan", "nan's password 1");
    let wang = Client::login(site.http, "wang", "wang's password 1");
    let tester = Client::login(site.http, "tester", "tester's password");
    let zhang = Client::login(site.http, "zhang", "zhang's password");
    let today = today();
    let day = |n: i64| today.add_days(n).to_string();

    // Registration, and the installation rules at registration.
    let bank = json!({
        "id": "bank-0042", "name": "Example Bank, Shennan Road", "district": "Futian",
        "site_category": "item_4", "owner": "Shenzhen Property Co.",
        "user": "Example Bank Shenzhen Branch", "manager": "Example Bank Shenzhen Branch"
    });
    let r = boss.call("POST", "/api/registry/systems", Some(bank.clone()));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = boss.call("POST", "/api/registry/systems", Some(bank.clone()));
    assert_eq!((r.status, r.code()), (409, "system_exists".into()));
    let r = op.call(
        "POST",
        "/api/registry/systems",
        Some(json!({"id": "x", "name": "x", "site_category": "item_7"})),
    );
    assert_eq!(r.status, 403, "an operator does not keep the registry");
    let shop = json!({"id": "shop-1", "name": "Workshop", "district": "Futian", "site_category": "outside_scope"});
    let r = boss.call("POST", "/api/registry/systems", Some(shop.clone()));
    assert_eq!((r.status, r.code()), (422, "refused_by_rulebook".into()));
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("Art. 11") && msg.contains("Art. 39(2)"),
        "{msg}"
    );
    let mut shop_ok = shop.clone();
    shop_ok["personal_security_purpose"] = json!("protection of the workshop's stock");
    assert_eq!(
        boss.call("POST", "/api/registry/systems", Some(shop_ok))
            .status,
        201
    );

    let cameras = "/api/registry/systems/bank-0042/cameras";
    let r = boss.call(
        "POST",
        cameras,
        Some(json!({"id": "room-301", "location_type": "hotel_guest_room"})),
    );
    assert_eq!((r.status, r.code()), (422, "refused_by_rulebook".into()));
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("Art. 10") && msg.contains("Art. 39(1)") && msg.contains("hotel guest rooms"),
        "{msg}"
    );
    let r = boss.call(
        "POST",
        cameras,
        Some(json!({"id": "lobby", "locaton_type": "lobby"})),
    );
    assert_eq!((r.status, r.code()), (400, "invalid_registry_entry".into()));
    // Place types are a closed vocabulary: free text is refused, with the nearest.
    let r = boss.call(
        "POST",
        cameras,
        Some(json!({"id": "room-302", "location_type": "guest_room"})),
    );
    assert_eq!((r.status, r.code()), (400, "invalid_registry_entry".into()));
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("unknown location_type \"guest_room\": did you mean hotel_guest_room?"),
        "{msg}"
    );
    let r = boss.call(
        "POST",
        cameras,
        Some(json!({
            "id": "lobby", "name": "Lobby", "recorder_camera": "lobby", "location_type": "bank_hall",
            "public_area": true, "signage": true, "network_interface": true,
            "purpose": "public safety of the banking hall"
        })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = boss.call("POST", cameras, Some(json!({"id": "door", "location_type": "entrance", "network_interface": false, "retention_days": 30})));
    assert_eq!(r.status, 201);
    for (coll, doc) in [
        ("persons", json!({"name": "Li Wei", "role": "responsible"})),
        (
            "persons",
            json!({"name": "Chen Jing", "role": "maintenance"}),
        ),
        (
            "documents",
            json!({"kind": "design_plan", "title": "Design plan v3"}),
        ),
        (
            "documents",
            json!({"kind": "compliance_demonstration_report", "title": "Compliance demonstration"}),
        ),
        (
            "documents",
            json!({"kind": "completion_acceptance_report", "title": "Acceptance report"}),
        ),
        (
            "documents",
            json!({"kind": "system_diagrams", "title": "As-built diagrams"}),
        ),
        (
            "products",
            json!({"name": "IP camera", "in_certification_catalog": true, "certification": "CCC 1"}),
        ),
    ] {
        let r = boss.call(
            "POST",
            &format!("/api/registry/systems/bank-0042/{coll}"),
            Some(doc),
        );
        assert_eq!(
            r.status,
            201,
            "{coll}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    // A document's file: kept with its SHA-256, which the facts then name.
    let view = boss
        .call("GET", "/api/registry/systems/bank-0042", None)
        .json();
    let plan = view["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["doc"]["kind"] == "design_plan")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let file_path = format!("/api/registry/systems/bank-0042/documents/{plan}/file");
    let pdf = b"%PDF-1.4 design plan v3 of the banking hall".to_vec();
    let upload = |c: &Client, name: &str| {
        http(
            site.http,
            "POST",
            &format!("{file_path}?name={name}"),
            &[
                ("cookie", &c.cookie),
                ("x-csrf-token", &c.csrf),
                ("content-type", "application/pdf"),
            ],
            &pdf,
        )
    };
    assert_eq!(upload(&op, "plan.pdf").status, 403);
    assert_eq!(
        upload(&boss, "..%2Fplan.pdf").status,
        400,
        "no paths in names"
    );
    let r = upload(&boss, "plan-v3.pdf");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sha = r.json()["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    let got = li.call("GET", &file_path, None);
    assert_eq!(
        (got.status, got.body.clone()),
        (200, pdf.clone()),
        "the district's PSB may read it"
    );
    assert_eq!(got.header("x-content-sha256"), Some(sha.as_str()));
    assert!(
        got.header("content-disposition")
            .unwrap()
            .contains("plan-v3.pdf")
    );
    let facts = boss
        .call("GET", "/api/compliance/systems/bank-0042/facts", None)
        .json();
    let doc = facts["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "design_plan")
        .unwrap()
        .clone();
    assert_eq!(
        (doc["sha256"].as_str(), doc["file"].as_str()),
        (Some(sha.as_str()), Some("plan-v3.pdf"))
    );

    // Events: who records what.
    let events = "/api/registry/systems/bank-0042/events";
    let testing = json!({"kind": "testing_report", "date": day(-35), "passed": true,
        "testing_body": "Shenzhen Security Testing Centre", "copy_to_psb": day(-34)});
    assert_eq!(li.call("POST", events, Some(testing.clone())).status, 403);
    assert_eq!(tester.call("POST", events, Some(testing)).status, 201);
    for e in [
        json!({"kind": "completion_acceptance", "date": day(-31)}),
        json!({"kind": "emergency_plan", "date": day(-31)}),
    ] {
        assert_eq!(boss.call("POST", events, Some(e)).status, 201);
    }
    assert_eq!(
        boss.call(
            "POST",
            events,
            Some(json!({"kind": "inspection", "date": day(0)}))
        )
        .status,
        403
    );

    // Reading: the PSB of the district, not of another; not an interested party.
    assert_eq!(
        zhang.call("GET", "/api/compliance/systems", None).status,
        403
    );
    assert_eq!(
        nan.call("GET", "/api/registry/systems/bank-0042", None)
            .status,
        404
    );
    assert_eq!(
        nan.call("GET", "/api/compliance/systems", None).json(),
        json!([])
    );
    let overview = li.call("GET", "/api/compliance/systems", None).json();
    assert_eq!(overview.as_array().unwrap().len(), 2, "{overview}");

    // Accepted 31 days ago and not filed: Art. 18 ¶1 → Art. 41(1). The door camera has
    // no network interface: Art. 21 → Art. 41(3).
    let report = boss
        .call("GET", "/api/compliance/systems/bank-0042", None)
        .json();
    assert_eq!(
        rule_ids(&report),
        ["art18.filing_deadline", "art21.network_interface"],
        "{report:#}"
    );
    let f = &report["findings"][0];
    assert_eq!(
        (f["article"].as_str(), f["penalty_article"].as_str()),
        (Some("Art. 18 ¶1"), Some("Art. 41(1)"))
    );
    assert_eq!(f["deadline"], day(-1));
    let bank_row = overview
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "bank-0042")
        .unwrap()
        .clone();
    assert_eq!(bank_row["status"], "findings");
    assert_eq!(
        bank_row["findings"][0]["fines"][0]["min"], 10000,
        "{bank_row}"
    );

    // The linked recorded camera carries what the recorder measured.
    std::thread::sleep(Duration::from_secs(6));
    let facts = boss
        .call("GET", "/api/compliance/systems/bank-0042/facts", None)
        .json();
    let lobby = &facts["cameras"][0];
    assert_eq!(
        lobby["retention_days"], 30,
        "the rulebook minimum applies: {lobby}"
    );
    assert_eq!(lobby["measured"]["recording_since"], day(0));
    assert_eq!(lobby["measured"]["oldest_kept"], day(0));
    assert_eq!(facts["system"]["log_retention_days"], 36500);
    assert_eq!(facts["regulation"]["effective_date"], "2026-01-01");

    // Two Futian officers view the lobby camera under a registered request: the
    // register's entry becomes an access event of the system (Art. 24(3), 34).
    let lobby_id = boss.camera_id("lobby");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (from, to) = ((now - 60).to_string(), now.to_string());
    let r = li.call(
        "POST",
        "/api/requests",
        Some(
            json!({"kind": "law_enforcement", "purpose": "case 2026-117",
        "cameras": [lobby_id], "from": from, "to": to, "actions": ["view_recorded"], "days": 1,
        "persons": [{"username": "li"}, {"username": "wang"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rid = r.json()["request"]["id"].as_i64().unwrap();
    let r = wang.call(
        "POST",
        &format!("/api/requests/{rid}/confirm"),
        Some(json!({"password": "wang's password 1"})),
    );
    assert_eq!(r.json()["request"]["status"], "granted");
    let r = li.call(
        "GET",
        &format!("/api/cameras/{lobby_id}/playback.mp4?from={from}&to={to}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let facts = boss
        .call("GET", "/api/compliance/systems/bank-0042/facts", None)
        .json();
    let access: Vec<&Value> = facts["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "access")
        .collect();
    assert_eq!(access.len(), 1, "{access:?}");
    assert_eq!(
        (
            &access[0]["party"],
            &access[0]["staff"],
            &access[0]["work_ids"],
            &access[0]["registered"]
        ),
        (&json!("psb"), &json!(2), &json!(true), &json!(true))
    );
    let report = boss
        .call("GET", "/api/compliance/systems/bank-0042", None)
        .json();
    assert!(!rule_ids(&report).iter().any(|r| r.starts_with("art34.")));

    // The same facts evaluated offline give the same findings.
    let file = site.dir.path().join("facts.json");
    std::fs::write(&file, facts.to_string()).unwrap();
    let out = std::process::Command::new(bin())
        .args(["compliance", "evaluate", file.to_str().unwrap()])
        .args(["--as-of", &day(0), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rule_ids(&offline), rule_ids(&report));

    // Nothing filed yet: nothing for the PSB to acknowledge.
    let r = li.call(
        "POST",
        events,
        Some(json!({"kind": "filing_acknowledged", "date": day(0)})),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "bad_request"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // Filing clears the finding.
    let r = boss.call(
        "POST",
        events,
        Some(json!({"kind": "filing", "date": day(0), "materials": [
        "filing_declaration_form", "design_plan", "compliance_demonstration_report",
        "completion_acceptance_report", "product_certification", "contractor_business_licence",
        "testing_report"]})),
    );
    assert_eq!(r.status, 201);
    let report = boss
        .call("GET", "/api/compliance/systems/bank-0042", None)
        .json();
    assert_eq!(rule_ids(&report), ["art21.network_interface"]);

    // The PSB acknowledges the filing (the manager cannot acknowledge its own); the
    // checklist says so.
    let ack = json!({"kind": "filing_acknowledged", "date": day(0)});
    assert_eq!(
        boss.call("POST", events, Some(ack.clone())).status,
        403,
        "the system manager does not acknowledge its own filing"
    );
    assert_eq!(li.call("POST", events, Some(ack)).status, 201);
    let checklist = li
        .call("GET", "/api/compliance/systems/bank-0042/inspection", None)
        .json();
    let lines = checklist["checklist"][1]["facts"].to_string();
    assert!(
        lines.contains(&format!("filing acknowledged by the PSB on {}", day(0))),
        "{lines}"
    );

    // The PSB orders a correction within 10 days; after the period the tier is refusal.
    let r = li.call(
        "POST",
        events,
        Some(
            json!({"kind": "correction_notice", "date": day(0), "rule": "art21.network_interface"}),
        ),
    );
    assert_eq!(r.status, 400, "a notice sets a period");
    let r = li.call("POST", events, Some(json!({"kind": "correction_notice", "date": day(0), "rule": "art99.none", "deadline": day(10)})));
    assert_eq!(r.status, 400, "a notice names a rule of the rulebook");
    assert_eq!(
        li.call(
            "POST",
            events,
            Some(json!({"kind": "inspection", "date": day(0), "inspector": "Futian PSB"}))
        )
        .status,
        201
    );
    let r = li.call("POST", events, Some(json!({"kind": "correction_notice", "date": day(0), "rule": "art21.network_interface", "deadline": day(10)})));
    assert_eq!(r.status, 201);
    assert_eq!(
        li.call(
            "POST",
            cameras,
            Some(json!({"id": "x", "location_type": "lobby"}))
        )
        .status,
        403
    );
    let f = &boss
        .call(
            "GET",
            &format!("/api/compliance/systems/bank-0042?as_of={}", day(10)),
            None,
        )
        .json()["findings"][0];
    assert_eq!(
        (f["tier"].as_str(), f["correction_deadline"].as_str()),
        (Some("first_instance"), Some(day(10).as_str()))
    );
    let f = &boss
        .call(
            "GET",
            &format!("/api/compliance/systems/bank-0042?as_of={}", day(11)),
            None,
        )
        .json()["findings"][0];
    assert_eq!(f["tier"], "correction_refused");
    assert_eq!(
        f["fines"][0],
        json!({"party": "unit", "min": 10000, "max": 30000, "modality": "shall"})
    );

    // The inspection checklist and the printable reports.
    let insp = li
        .call("GET", "/api/compliance/systems/bank-0042/inspection", None)
        .json();
    let items = insp["checklist"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["rule_ids"], json!(["art21.network_interface"]));
    // The checklist names its findings in words, not rule ids.
    assert_eq!(
        items[0]["findings"],
        json!(["camera door: no network interface is left for shared networking"])
    );
    assert!(
        items[3]["facts"]
            .to_string()
            .contains("camera lobby: retention 30 days configured"),
        "{}",
        items[3]
    );
    let page = boss.call(
        "GET",
        "/api/compliance/systems/bank-0042/report.html?kind=filing",
        None,
    );
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("Filing declaration form") && html.contains("Report on passing testing"),
        "{html}"
    );
    let page = li.call(
        "GET",
        "/api/compliance/systems/bank-0042/report.html?kind=inspection",
        None,
    );
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("Art. 36 ¶2(4)") && html.contains("art21.network_interface"),
        "{html}"
    );

    // Every change is in the system log.
    let out = site.vidimus(&["events", "--json"]);
    let log = String::from_utf8_lossy(&out.stdout);
    for e in [
        "registry_system_added",
        "registry_entry_added",
        "registry_event_recorded",
    ] {
        assert!(log.contains(e), "{e} not in the system log");
    }
    assert!(rec.terminate());
}
