//! The authorisation matrix: every video-serving endpoint (live, playback, export,
//! bundle) × every organisation kind × every request state (none, pending, approved,
//! expired, revoked, wrong camera, wrong time range, a viewing grant used to copy).
//! Only the lawful cells succeed; every refusal is registered; a refused response
//! carries no video. Administrative endpoints (retention, holds) succeed only for the
//! system manager's administrators.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const KINDS: [&str; 8] = [
    "system_manager",
    "public_security",
    "state_security",
    "state_organ",
    "data_department",
    "interested_party",
    "testing_body",
    "contractor",
];

const STATES: [&str; 8] = [
    "none",
    "pending",
    "approved",
    "expired",
    "revoked",
    "wrong_camera",
    "wrong_time",
    "view_grant_copy",
];

/// The request kind an organisation of `kind` files, if any.
fn filing(kind: &str) -> Option<&'static str> {
    match kind {
        "system_manager" => Some("system_operation"),
        "public_security" | "state_security" => Some("law_enforcement"),
        "state_organ" | "data_department" => Some("administrative_in_jurisdiction"),
        "interested_party" => Some("interested_party_emergency"),
        _ => None,
    }
}

fn pw(u: &str) -> String {
    format!("{u} password 123")
}

fn member(site: &Site, user: &str, role: &str, org: Option<&str>, work: &str) {
    add_member(site, user, &pw(user), role, org, Some(work));
}

fn live_ok(port: u16, cookie: &str, cam: i64) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = format!("ws://127.0.0.1:{port}/api/cameras/{cam}/live")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert("cookie", cookie.parse().unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Ok((mut ws, _)) => {
                let _ = ws.close(None).await;
                true
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 403, "live refusal is a 403");
                false
            }
            Err(e) => panic!("live: {e}"),
        }
    })
}

fn refusals(site: &Site) -> usize {
    let out = site.vidimus(&["register", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["allowed"] == false)
        .count()
}

#[test]
fn only_the_lawful_cells_succeed() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[
            ("cam", &format!("{url}/cam")),
            ("other", &format!("{url}/other")),
        ],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    member(&site, "mgr", "admin", None, "M-1");
    for k in KINDS {
        let out = site.vidimus(&[
            "org",
            "add",
            "--name",
            &format!("org-{k}"),
            "--kind",
            k,
            "--region",
            "luohu",
        ]);
        assert!(out.status.success() || k == "system_manager");
    }
    member(
        &site,
        "psbchief",
        "admin",
        Some("org-public_security"),
        "P-0",
    );
    // Two members per (kind, state); the system manager's are in the site's own org.
    for k in KINDS {
        for s in STATES {
            for x in ["a", "b"] {
                let org = (k != "system_manager").then(|| format!("org-{k}"));
                member(
                    &site,
                    &format!("{k}-{s}-{x}"),
                    "operator",
                    org.as_deref(),
                    &format!("W-{k}-{s}-{x}"),
                );
            }
        }
    }
    let mut rec = site.serve();
    for c in ["cam", "other"] {
        let out = site.vidimus(&[
            "camera",
            "place",
            c,
            "--region",
            "luohu",
            "--industry",
            "banking",
        ]);
        assert!(out.status.success());
    }
    std::thread::sleep(Duration::from_secs(9));
    let client = |u: &str| Client::login(site.http, u, &pw(u));
    let mgr = client("mgr");
    let chief = client("psbchief");
    let id_of = |n: &str| mgr.camera_id(n);
    let (cam, other) = (id_of("cam"), id_of("other"));
    let t0 = site.first_start_90k("cam");
    let f = |t: i64| format!("{:.3}", t as f64 / 90_000.0);
    let (from, to) = (f(t0 + 90_000), f(t0 + 3 * 90_000));

    let mut cells = 0;
    for k in KINDS {
        for s in STATES {
            let (ua, ub) = (format!("{k}-{s}-a"), format!("{k}-{s}-b"));
            let a = client(&ua);
            // Set up the state.
            if let Some(kind) = filing(k).filter(|_| s != "none") {
                let all = vec!["view_live", "view_recorded", "reproduce"];
                let actions = match s {
                    "view_grant_copy" => vec!["view_live", "view_recorded"],
                    "wrong_time" => vec!["view_recorded", "reproduce"],
                    _ => all,
                };
                let (rf, rt) = if s == "wrong_time" {
                    (
                        "2020-01-01T00:00:00Z".to_owned(),
                        "2020-01-02T00:00:00Z".to_owned(),
                    )
                } else {
                    (
                        "2020-01-01T00:00:00Z".to_owned(),
                        "2100-01-01T00:00:00Z".to_owned(),
                    )
                };
                let persons = if k == "interested_party" || k == "system_manager" {
                    json!([{"username": ua}])
                } else {
                    json!([{"username": ua}, {"username": ub}])
                };
                let r = a.call(
                    "POST",
                    "/api/requests",
                    Some(json!({
                    "kind": kind, "purpose": format!("matrix {k} {s}"),
                    "cameras": [if s == "wrong_camera" { other } else { cam }],
                    "from": rf, "to": rt, "actions": actions, "persons": persons})),
                );
                assert_eq!(
                    r.status,
                    201,
                    "{k} {s}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                let rid = r.json()["request"]["id"].as_i64().unwrap();
                if s != "pending" {
                    if persons.as_array().unwrap().len() == 2 {
                        let b = client(&ub);
                        let r = b.call(
                            "POST",
                            &format!("/api/requests/{rid}/confirm"),
                            Some(json!({"password": pw(&ub)})),
                        );
                        assert_eq!(r.status, 200);
                    }
                    if k == "system_manager" || k == "interested_party" {
                        assert_eq!(
                            mgr.call(
                                "POST",
                                &format!("/api/requests/{rid}/approve"),
                                Some(json!({"kind": "manager_approval"}))
                            )
                            .status,
                            200
                        );
                    }
                    if k == "interested_party" && actions.contains(&"reproduce") {
                        assert_eq!(
                            chief
                                .call(
                                    "POST",
                                    &format!("/api/requests/{rid}/approve"),
                                    Some(json!({"kind": "psb_reproduction_approval"}))
                                )
                                .status,
                            200
                        );
                    }
                    let r = a.call("GET", &format!("/api/requests/{rid}"), None).json();
                    assert_eq!(r["request"]["status"], "granted", "{k} {s}: {r}");
                    let gid = r["request"]["grant"]["id"].as_i64().unwrap();
                    match s {
                        "expired" => site.sql(
                            "UPDATE access_grant SET expires_90k = 0 WHERE id = ?",
                            &[&gid.to_string()],
                        ),
                        "revoked" => assert_eq!(
                            mgr.call("POST", &format!("/api/grants/{gid}/revoke"), None)
                                .status,
                            204
                        ),
                        _ => {}
                    }
                }
            }
            // The lawful cells.
            let granted = filing(k).is_some() && matches!(s, "approved" | "view_grant_copy");
            // An interested party's grant without reproduction is view only (Art. 35):
            // no file and no raw live stream; it watches recorded video watermarked
            // (tests/view_only.rs).
            let view_only = k == "interested_party" && s == "view_grant_copy";
            let expect = [
                ("live", granted && !view_only),
                ("playback", granted && !view_only),
                ("export", granted && s == "approved"),
                ("bundle", granted && s == "approved"),
            ];
            for (endpoint, lawful) in expect {
                let before = refusals(&site);
                let ok = match endpoint {
                    "live" => live_ok(site.http, &a.cookie, cam),
                    "playback" | "export" => {
                        let path = if endpoint == "playback" {
                            format!("/api/cameras/{cam}/playback.mp4?from={from}&to={to}")
                        } else {
                            format!(
                                "/api/cameras/{cam}/export.mp4?from={from}&to={to}&recipient=court"
                            )
                        };
                        let r = a.call("GET", &path, None);
                        if r.status != 200 {
                            assert_eq!(r.status, 403, "{k} {s} {endpoint}");
                            assert!(
                                r.header("content-type")
                                    .unwrap()
                                    .starts_with("application/json"),
                                "no video in a refusal"
                            );
                            assert!(!r.body.windows(4).any(|w| w == b"mdat"));
                        }
                        r.status == 200
                    }
                    _ => {
                        let r = a.call("POST", &format!("/api/cameras/{cam}/bundles"),
                            Some(json!({"from": from, "to": to, "purpose": "matrix", "recipient": "court"})));
                        if r.status != 201 {
                            assert_eq!(
                                r.status,
                                403,
                                "{k} {s} {endpoint}: {}",
                                String::from_utf8_lossy(&r.body)
                            );
                        }
                        r.status == 201
                    }
                };
                assert_eq!(
                    ok,
                    lawful,
                    "{k} × {s} × {endpoint}: expected {}",
                    if lawful { "allowed" } else { "refused" }
                );
                if !ok {
                    assert_eq!(
                        refusals(&site),
                        before + 1,
                        "{k} × {s} × {endpoint}: the refusal is registered"
                    );
                }
                cells += 1;
            }
        }
        // Administrative endpoints: only the system manager's administrators.
        let a = client(&format!("{k}-none-a"));
        let r = a.call(
            "PUT",
            &format!("/api/cameras/{cam}/retention"),
            Some(json!({"retention_days": 45, "counter_terrorism_key_target": false})),
        );
        assert_eq!(r.status, 403, "{k}: retention");
        let r = a.call(
            "POST",
            "/api/holds",
            Some(json!({"camera_id": cam, "from": "0", "to": "10", "reason": "x"})),
        );
        assert_eq!(r.status, 403, "{k}: hold");
    }
    assert_eq!(cells, KINDS.len() * STATES.len() * 4);
    // An administrator of a PSB is no administrator of the system.
    let r = chief.call(
        "PUT",
        &format!("/api/cameras/{cam}/retention"),
        Some(json!({"retention_days": 45, "counter_terrorism_key_target": false})),
    );
    assert_eq!(r.status, 403);
    let hold = json!({"camera_id": cam, "from": "0", "to": "10", "reason": "x"});
    assert_eq!(
        chief.call("POST", "/api/holds", Some(hold.clone())).status,
        403
    );
    assert_eq!(mgr.call("POST", "/api/holds", Some(hold)).status, 201);
    assert!(rec.terminate());
}
