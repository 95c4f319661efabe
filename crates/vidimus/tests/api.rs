//! The HTTP API: authentication, CSRF, rate limiting, JSON errors with stable codes,
//! the timeline (spans and gaps), exports, hostile input, and the OpenAPI document.

mod support;

use std::time::Duration;
use support::*;

const PW: &str = "correct horse battery";

#[test]
fn api_requires_login_and_refuses_bad_input_clearly() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let (mut cam, url) = simcam_on(&bind, "none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"\nbackoff_initial = \"500ms\"\nbackoff_max = \"1s\"",
    );
    add_user(&site, "ada", PW, "operator");
    add_user(&site, "manager", "the manager's password", "admin");
    let mut rec = site.serve();
    let p = site.http;

    // 1. Every endpoint but login and the OpenAPI document rejects anonymous requests.
    let protected = [
        ("GET", "/api/session"),
        ("POST", "/api/logout"),
        ("GET", "/api/cameras"),
        ("GET", "/api/cameras/1/timeline?from=0&to=10"),
        ("GET", "/api/cameras/1/export.mp4?from=0&to=10"),
        ("GET", "/api/cameras/1/playback.mp4?from=0&to=10"),
    ];
    for (m, path) in protected {
        let r = http(p, m, path, &[], b"");
        assert_eq!(
            (r.status, r.code().as_str()),
            (401, "unauthenticated"),
            "{m} {path}"
        );
        assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    }
    // A forged or malformed cookie is no session either.
    let r = http(
        p,
        "GET",
        "/api/cameras",
        &[("cookie", &format!("vidimus_session={}", "ab".repeat(32)))],
        b"",
    );
    assert_eq!(r.status, 401);
    let r = http(
        p,
        "GET",
        "/api/cameras",
        &[("cookie", "vidimus_session=../../etc/passwd")],
        b"",
    );
    assert_eq!(r.status, 401);

    // 2. Login: wrong password, then right; the cookie is HttpOnly and SameSite=Strict.
    let bad = serde_json::json!({"username": "ada", "password": "wrong password!"}).to_string();
    let r = http(
        p,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        bad.as_bytes(),
    );
    assert_eq!((r.status, r.code().as_str()), (401, "bad_credentials"));
    let body = serde_json::json!({"username": "ada", "password": PW}).to_string();
    let r = http(
        p,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200);
    let set_cookie = r.header("set-cookie").unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let (cookie, csrf) = login(p, "ada", PW);
    let auth = [("cookie", cookie.as_str())];
    let r = http(p, "GET", "/api/session", &auth, b"");
    assert_eq!(r.json()["username"], "ada");
    assert_eq!(r.json()["csrf_token"], csrf.as_str());
    // The client's request id is echoed.
    let r = http(
        p,
        "GET",
        "/api/session",
        &[("cookie", cookie.as_str()), ("x-request-id", "trace-42")],
        b"",
    );
    assert_eq!(r.header("x-request-id"), Some("trace-42"));

    // 3. Cameras and the timeline, with a gap where the camera was stopped. Without a
    //    grant an operator sees no camera at all (least privilege); the manager's
    //    administrators see every one, with its URL.
    let r = http(p, "GET", "/api/cameras", &auth, b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!([]));
    let mgr = Client::login(p, "manager", "the manager's password");
    let cams = mgr.call("GET", "/api/cameras", None).json();
    assert_eq!(cams[0]["name"], "yard");
    assert!(cams[0]["url"].as_str().unwrap().starts_with("rtsp://"));
    let id = cams[0]["id"].as_i64().unwrap();
    let r = http(
        p,
        "GET",
        &format!("/api/cameras/{id}/timeline?from=0&to=10"),
        &auth,
        b"",
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "camera_not_found"),
        "a camera the operator may not see is not found"
    );
    std::thread::sleep(Duration::from_secs(5));
    cam.kill9();
    std::thread::sleep(Duration::from_secs(3));
    let (_cam2, _) = simcam_on(&bind, "none");
    std::thread::sleep(Duration::from_secs(6));
    let segs = site.recordings("yard")["segments"]
        .as_array()
        .unwrap()
        .clone();
    let t0 = segs[0]["start_90k"].as_i64().unwrap() / 90_000 - 5;
    let t1 = t0 + 60;
    let r = mgr.call(
        "GET",
        &format!("/api/cameras/{id}/timeline?from={t0}&to={t1}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let tl = r.json();
    let spans = tl["spans"].as_array().unwrap();
    let gaps = tl["gaps"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "{tl}");
    assert_eq!(gaps.len(), 1, "{tl}");
    assert_eq!(gaps[0]["start_90k"], spans[0]["end_90k"], "{tl}");
    assert!(gaps[0]["end_90k"].as_i64().unwrap() <= spans[1]["start_90k"].as_i64().unwrap() + 1);
    assert!(!gaps[0]["cause"].as_str().unwrap().is_empty());

    // 4. Export through the API: a standard MP4 with the requested duration ± 1 GOP.
    //    Without a grant no video is served (and the attempt is registered); a
    //    reproduction must say where the copy goes.
    let s0 = spans[0]["start_90k"].as_i64().unwrap();
    let (from, to) = (
        (s0 + 90_000) as f64 / 90_000.0,
        (s0 + 4 * 90_000) as f64 / 90_000.0,
    );
    let export_path = format!("/api/cameras/{id}/export.mp4?from={from}&to={to}&recipient=court");
    let r = http(p, "GET", &export_path, &auth, b"");
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "no_grant"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    duty(&site, "ada");
    let r = http(
        p,
        "GET",
        &format!("/api/cameras/{id}/export.mp4?from={from}&to={to}"),
        &auth,
        b"",
    );
    assert_eq!((r.status, r.code().as_str()), (400, "whereabouts_required"));
    let r = http(
        p,
        "GET",
        &format!("/api/cameras/{id}/playback.mp4?from={from}&to={to}"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    let r = http(p, "GET", &export_path, &auth, b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"yard_")
    );
    let mp4 = site.dir.path().join("api.mp4");
    std::fs::write(&mp4, &r.body).unwrap();
    // Byte ranges (for seeking) return exactly that slice of the same file.
    let full = r.body.clone();
    for (range, lo, hi) in [
        ("bytes=100-199", 100, 200),
        ("bytes=5000-", 5000, full.len()),
        ("bytes=-300", full.len() - 300, full.len()),
    ] {
        let r = http(
            p,
            "GET",
            &export_path,
            &[("cookie", cookie.as_str()), ("range", range)],
            b"",
        );
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes {lo}-{}/{}", hi - 1, full.len())
        );
        let first_diff = r.body.iter().zip(&full[lo..hi]).position(|(a, b)| a != b);
        assert!(
            r.body == full[lo..hi],
            "{range}: wrong bytes: got {} bytes, want {}, first difference at {first_diff:?}\n{}",
            r.body.len(),
            hi - lo,
            site.log_text()
                .lines()
                .filter(|l| l.contains("ERROR"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let r = http(
        p,
        "GET",
        &export_path,
        &[
            ("cookie", cookie.as_str()),
            ("range", &format!("bytes={}-", full.len())),
        ],
        b"",
    );
    assert_eq!((r.status, r.code().as_str()), (416, "bad_range"));
    let (frames, codec, ..) = ffprobe(&mp4);
    assert_eq!(codec, "h264");
    assert!((75..=75 + 50).contains(&frames), "{frames} frames for 3 s");
    decodes_cleanly(&mp4);

    // 5. Malformed ranges, unknown cameras, huge ranges: clear 4xx with stable codes.
    let cases = [
        (
            format!("/api/cameras/{id}/timeline?from=yesterday&to=10"),
            400,
            "bad_time",
        ),
        (
            format!("/api/cameras/{id}/timeline?from=100&to=10"),
            400,
            "bad_time",
        ),
        (format!("/api/cameras/{id}/timeline?from=0"), 400, ""),
        (
            format!("/api/cameras/{id}/timeline?from=0&to={}", 40 * 86400),
            400,
            "range_too_large",
        ),
        (
            format!(
                "/api/cameras/{id}/export.mp4?from=0&to={}&recipient=x",
                2 * 86400
            ),
            400,
            "range_too_large",
        ),
        (
            format!("/api/cameras/{id}/export.mp4?from=1000&to=1010&recipient=x"),
            404,
            "no_recording",
        ),
        (
            "/api/cameras/999/timeline?from=0&to=10".to_owned(),
            404,
            "camera_not_found",
        ),
        (
            "/api/cameras/abc/timeline?from=0&to=10".to_owned(),
            404,
            "camera_not_found",
        ),
        (
            "/api/cameras/..%2F..%2Fetc%2Fpasswd/timeline?from=0&to=10".to_owned(),
            404,
            "camera_not_found",
        ),
        ("/api/../../etc/passwd".to_owned(), 400, "bad_request"),
        ("/../../../etc/passwd".to_owned(), 400, "bad_request"),
        ("/assets/..%2e/..%2e/etc/passwd".to_owned(), 200, ""),
        ("/api/no/such/endpoint".to_owned(), 404, "not_found"),
    ];
    for (path, status, code) in &cases {
        let r = http(p, "GET", path, &auth, b"");
        assert_eq!(
            r.status,
            *status,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if !code.is_empty() {
            assert_eq!(r.code(), *code, "{path}");
        }
        assert!(
            !String::from_utf8_lossy(&r.body).contains("root:"),
            "{path}"
        );
    }
    // Oversized bodies are refused before they are read.
    let huge = vec![b'x'; 100 * 1024];
    let r = http(
        p,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        &huge,
    );
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    // The framework's own rejections are JSON with stable codes too.
    let csrf_auth = [
        ("cookie", cookie.as_str()),
        ("x-csrf-token", csrf.as_str()),
        ("content-type", "application/json"),
    ];
    for (body, ct, status, code) in [
        (&b"{not json"[..], "application/json", 400, "bad_request"),
        (
            &b"{\"reason\": 5}"[..],
            "application/json",
            422,
            "invalid_body",
        ),
        (
            &b"reason=x"[..],
            "text/plain",
            415,
            "unsupported_media_type",
        ),
    ] {
        let mut h = csrf_auth.to_vec();
        h[2] = ("content-type", ct);
        let r = http(p, "POST", "/api/requests/1/close", &h, body);
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    let r = http(p, "DELETE", "/api/cameras", &csrf_auth, b"");
    assert_eq!((r.status, r.code().as_str()), (405, "method_not_allowed"));
    // A live view from another site's page (cross-site WebSocket hijacking) is refused.
    let ws_headers = |origin: &str| {
        vec![
            ("cookie", cookie.clone()),
            ("connection", "Upgrade".to_owned()),
            ("upgrade", "websocket".to_owned()),
            ("sec-websocket-version", "13".to_owned()),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==".to_owned()),
            ("origin", origin.to_owned()),
        ]
    };
    let live = format!("/api/cameras/{id}/live");
    let evil = ws_headers("https://evil.example");
    let evil: Vec<(&str, &str)> = evil.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = http(p, "GET", &live, &evil, b"");
    assert_eq!((r.status, r.code().as_str()), (403, "bad_origin"));

    // 6. CSRF: a state-changing request without the token is refused.
    let r = http(p, "POST", "/api/logout", &auth, b"");
    assert_eq!((r.status, r.code().as_str()), (403, "csrf"));
    let r = http(
        p,
        "POST",
        "/api/logout",
        &[("cookie", cookie.as_str()), ("x-csrf-token", "wrong")],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = http(
        p,
        "POST",
        "/api/logout",
        &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        http(p, "GET", "/api/session", &auth, b"").status,
        401,
        "logged out"
    );

    // The embedded console: its page, with a strict Content-Security-Policy, and its assets.
    let r = http(p, "GET", "/", &[], b"");
    assert_eq!(r.status, 200);
    let page = String::from_utf8_lossy(&r.body).into_owned();
    assert!(page.contains("<div id=\"root\">"), "{page}");
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    let js = page
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = http(p, "GET", &js, &[], b"");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/javascript; charset=utf-8"))
    );
    assert_eq!(http(p, "POST", "/", &[], b"").status, 404);

    // 7. The OpenAPI document describes every endpoint.
    let r = http(p, "GET", "/api/openapi.json", &[], b"");
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/login",
        "/api/logout",
        "/api/session",
        "/api/cameras",
        "/api/cameras/{id}/timeline",
        "/api/cameras/{id}/export.mp4",
        "/api/cameras/{id}/playback.mp4",
        "/api/cameras/{id}/live",
        "/api/gb28181/links",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }

    // 8. Failed logins are rate-limited (per address and per user name).
    let mut last = 0;
    for _ in 0..6 {
        last = http(
            p,
            "POST",
            "/api/login",
            &[("content-type", "application/json")],
            bad.as_bytes(),
        )
        .status;
    }
    assert_eq!(last, 429);
    let r = http(
        p,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "rate_limited"),
        "even the right password waits"
    );
    assert!(r.header("retry-after").is_some());

    assert!(rec.terminate());
    assert!(!site.log_text().contains(PW), "password in the log");

    // 9. The access register has the refused attempt and each access, with the grant,
    //    its purpose and persons, the range, and a reproduction's whereabouts.
    let out = site.vidimus(&["register", "--json", "--user", "ada"]);
    assert!(out.status.success());
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reg = reg.as_array().unwrap();
    let refused = &reg[0];
    assert_eq!(
        (refused["allowed"].as_bool(), refused["action"].as_str()),
        (Some(false), Some("reproduce"))
    );
    assert!(refused["reason"].as_str().unwrap().contains("no grant"));
    let view = reg.iter().find(|e| e["action"] == "view_recorded").unwrap();
    assert_eq!(view["allowed"], true);
    assert_eq!(view["camera"], "yard");
    assert_eq!(view["purpose"], "operating the system");
    assert_eq!(view["request_kind"], "system_operation");
    assert_eq!(view["persons"][0]["user"], "ada");
    assert_eq!(view["policies"][0], "grant.view_recorded");
    let copy = reg
        .iter()
        .find(|e| e["kind"] == "access" && e["action"] == "reproduce" && e["allowed"] == true)
        .unwrap();
    // Its end: the bytes served.
    let end = reg
        .iter()
        .find(|e| e["kind"] == "access_end" && e["started_leaf"] == copy["leaf_index"])
        .expect("the download's end is registered");
    assert_eq!(end["bytes"].as_u64(), Some(full.len() as u64));
    assert_eq!(copy["whereabouts"]["recipient"], "court");
    assert_eq!(copy["whereabouts"]["medium"], "download");
    assert!(copy["from"].as_str().is_some() && copy["grant_id"].as_i64().is_some());
    // The copy carries its mark: the register entry's export id, the request and the
    // grant, inside the MP4's metadata, so a leaked copy leads back to its entry.
    let mark = copy["export_id"].as_str().unwrap();
    assert_eq!(mark.len(), 32);
    let inside = String::from_utf8_lossy(&full);
    assert!(
        inside.contains(&format!("\"export_id\":\"{mark}\"")),
        "no mark in the file"
    );
    assert!(inside.contains(&format!("\"request_id\":{}", copy["request_id"])));
    assert!(inside.contains("\"user\":\"ada\""));
    // Every request is its own register entry, whatever its Range header: the whole
    // download, each byte range (naming the bytes it served), the unsatisfiable range
    // and the range with no recording (allowed, but registered as failed).
    let copies: Vec<&serde_json::Value> = reg
        .iter()
        .filter(|e| e["kind"] == "access" && e["action"] == "reproduce" && e["allowed"] == true)
        .collect();
    let served: Vec<(u64, u64)> = copies
        .iter()
        .filter(|e| e["outcome"] == "served")
        .map(|e| {
            (
                e["served"]["start"].as_u64().unwrap(),
                e["served"]["end"].as_u64().unwrap(),
            )
        })
        .collect();
    let n = full.len() as u64;
    assert_eq!(
        served,
        [(0, n - 1), (100, 199), (5000, n - 1), (n - 300, n - 1)],
        "{copies:#?}"
    );
    let failed: Vec<&str> = copies
        .iter()
        .filter(|e| e["outcome"] == "failed")
        .map(|e| e["error"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed[0].contains("unsatisfiable range"), "{failed:?}");
    let csv = String::from_utf8(site.vidimus(&["register", "--user", "ada"]).stdout).unwrap();
    assert!(
        csv.starts_with("leaf_index,kind,at,allowed,outcome,action,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), reg.len() + 1);
}
