//! View-only is view-only (issue 11 C; Art. 35): under an interested party's
//! view-only grant no file is served (`playback.mp4` refused and registered); the
//! recorded video comes as a WebSocket stream with a watermark burned into the
//! pixels — the top right of each frame differs from the recording, the bottom right
//! (left clear) does not — and the stream decodes cleanly.

mod support;

use futures::StreamExt;
use serde_json::json;
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Mean absolute difference of two grey frames over a rectangle.
fn diff(a: &[u8], b: &[u8], (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(a[y * 1280 + x].abs_diff(b[y * 1280 + x]));
        }
    }
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

#[test]
fn a_view_only_grant_gets_a_watermarked_stream_and_no_file() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("shop", &format!("{url}/shop"))],
        "sync_interval = \"1s\"\nsegment_duration = \"10s\"",
    );
    site.cli(&[
        "org",
        "add",
        "--name",
        "Zhang family",
        "--kind",
        "interested_party",
    ]);
    add_member(
        &site,
        "zhang",
        "zhang's long password",
        "operator",
        Some("Zhang family"),
        Some("ID 440301"),
    );
    add_user(&site, "manager", "the manager's password", "admin");
    let mut rec = site.serve();
    assert!(wait_until(Duration::from_secs(40), || site
        .recordings("shop")["segments"]
        .as_array()
        .is_some_and(|s| s.len() >= 2)));
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let shop = mgr.camera_id("shop");
    // From a key frame (a segment's start), 4 s.
    let s = site.first_start_90k("shop") as f64 / 90_000.0;
    let (from, to) = (format!("{s:.6}"), format!("{:.6}", s + 4.0));
    let zhang = Client::login(site.http, "zhang", "zhang's long password");
    let r = zhang.call(
        "POST",
        "/api/requests",
        Some(
            json!({"kind": "interested_party_emergency", "purpose": "stolen bicycle",
            "cameras": [shop], "from": from, "to": to, "actions": ["view_recorded"],
            "persons": [{"username": "zhang"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rid = r.json()["request"]["id"].as_i64().unwrap();
    let r = mgr.call(
        "POST",
        &format!("/api/requests/{rid}/approve"),
        Some(json!({"kind": "manager_approval"})),
    );
    assert_eq!(r.json()["request"]["status"], "granted", "{}", r.json());

    // No file, however asked.
    let r = zhang.call(
        "GET",
        &format!("/api/cameras/{shop}/playback.mp4?from={from}&to={to}"),
        None,
    );
    assert_eq!((r.status, r.code().as_str()), (403, "view_only"));
    let out = site.vidimus(&["register", "--json", "--user", "zhang"]);
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        reg.as_array()
            .unwrap()
            .iter()
            .any(|e| e["allowed"] == false
                && e["reason"].as_str().unwrap_or("").contains("view only")),
        "{reg:#}"
    );

    // Nor the raw live stream (the camera's own bytes, a file by another name).
    let r = zhang.call(
        "POST",
        "/api/requests",
        Some(
            json!({"kind": "interested_party_emergency", "purpose": "watching the door",
            "cameras": [shop], "actions": ["view_live"], "persons": [{"username": "zhang"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let live_rid = r.json()["request"]["id"].as_i64().unwrap();
    let r = mgr.call(
        "POST",
        &format!("/api/requests/{live_rid}/approve"),
        Some(json!({"kind": "manager_approval"})),
    );
    let live_grant = r.json()["request"]["grant"]["id"].as_i64().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt.block_on(async {
        let mut req = format!(
            "ws://127.0.0.1:{}/api/cameras/{shop}/live?grant={live_grant}",
            site.http
        )
        .into_client_request()
        .unwrap();
        req.headers_mut()
            .insert("cookie", zhang.cookie.parse().unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Ok(_) => panic!("a live view under a view-only grant"),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => (
                r.status().as_u16(),
                String::from_utf8_lossy(r.body().as_deref().unwrap_or_default()).into_owned(),
            ),
            Err(e) => panic!("{e}"),
        }
    });
    assert_eq!(refused.0, 403);
    assert!(refused.1.contains("view_only"), "{}", refused.1);
    let view_grant = {
        let gs = zhang.call("GET", "/api/grants", None).json();
        gs.as_array()
            .unwrap()
            .iter()
            .find(|g| g["request_id"] == rid)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };

    // The stream: init, fragments, end.
    let (codec, bytes, end) = rt.block_on(async {
        let mut req = format!(
            "ws://127.0.0.1:{}/api/cameras/{shop}/view?from={from}&to={to}&grant={view_grant}",
            site.http
        )
        .into_client_request()
        .unwrap();
        req.headers_mut()
            .insert("cookie", zhang.cookie.parse().unwrap());
        let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
        let (mut codec, mut bytes, mut end) = (String::new(), Vec::new(), String::new());
        while let Some(m) = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("the stream goes on")
        {
            match m.unwrap() {
                Message::Text(t) => {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "init" {
                        codec = v["codec"].as_str().unwrap().to_owned();
                    } else if v["type"] == "end" {
                        end = v["reason"].as_str().unwrap().to_owned();
                    }
                }
                Message::Binary(b) => bytes.extend_from_slice(&b),
                Message::Close(_) => break,
                _ => {}
            }
        }
        (codec, bytes, end)
    });
    assert!(codec.starts_with("avc1."), "{codec}");
    assert_eq!(end, "completed");
    let streamed = site.dir.path().join("streamed.mp4");
    std::fs::write(&streamed, &bytes).unwrap();
    let (frames, c, w, h) = ffprobe(&streamed);
    assert_eq!((c.as_str(), w, h), ("h264", 1280, 720));
    assert!((95..=101).contains(&frames), "{frames} frames for 4 s");
    decodes_cleanly(&streamed);

    // The watermark is in the pixels: against the recording of the same instant, the
    // top right (a copy of the mark) differs, the bottom right (left clear) does not.
    let out = site.vidimus(&[
        "export",
        "--camera",
        "shop",
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        site.dir.path().join("recorded.mp4").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (
        first_frame_grey(&streamed),
        first_frame_grey(&site.dir.path().join("recorded.mp4")),
    );
    let marked = diff(&a, &b, (900, 20, 1260, 110));
    let clear = diff(&a, &b, (1000, 620, 1270, 710));
    assert!(marked > 20.0, "top right differs by only {marked:.1}");
    assert!(clear < 8.0, "bottom right differs by {clear:.1}");

    // A loop of refused files under the view-only grant is a burst like any other:
    // after 30 it is counted, not answered, and not registered one entry each.
    let before = register_len(&site, "zhang");
    let mut codes = Vec::new();
    for _ in 0..40 {
        let r = zhang.call(
            "GET",
            &format!("/api/cameras/{shop}/playback.mp4?from={from}&to={to}"),
            None,
        );
        codes.push(r.code());
    }
    assert!(codes.iter().any(|c| c == "too_many_refusals"), "{codes:?}");
    let added = register_len(&site, "zhang") - before;
    assert!(
        added <= 31,
        "{added} register entries for 40 refused attempts"
    );
    assert!(rec.terminate());
    cam.terminate();
}

fn register_len(site: &Site, user: &str) -> usize {
    let out = site.vidimus(&["register", "--json", "--user", user]);
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    reg.as_array().unwrap().len()
}
