//! Every byte handed out is registered, under the grant it is handed out under, and
//! a grant holds for the whole hand-out and no further (issue 11 A, B1).
//!
//! - Range headers of every shape (the review's `bytes=00-`, `bytes= 0-`): each
//!   response is its own register entry naming the bytes it serves; a property test
//!   runs random sequences of them (repeats, aborted downloads, unsatisfiable ranges)
//!   and checks every byte received against the register.
//! - A user with several grants names the one an access is made under.
//! - Revoking a grant (API or command line) or its expiry ends live views and
//!   downloads in progress within a second; bundle downloads are decided again.
//! - Times with offsets are read right; out-of-range times are refused, never panic.

mod support;

use futures::StreamExt;
use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PW: &str = "correct horse battery";

/// A recording site with operator `ada` under a duty grant approved by `manager`.
fn site_with_video(secs: u64) -> (Proc, Site, Proc, Client, i64, i64) {
    let port = free_port();
    let (cam, url) = simcam_on(&format!("127.0.0.1:{port}"), "none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"\nbackoff_initial = \"500ms\"\nbackoff_max = \"1s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    let rec = site.serve();
    let c = Client::login(site.http, "ada", PW);
    let id = c.camera_id("yard");
    let start = wait_for_recording(&site, secs);
    (cam, site, rec, c, id, start)
}

/// Waits until `secs` of closed segments exist; returns the first start (Unix s).
fn wait_for_recording(site: &Site, secs: u64) -> i64 {
    let ok = wait_until(Duration::from_secs(secs + 40), || {
        let r = site.recordings("yard");
        let segs = r["segments"].as_array().cloned().unwrap_or_default();
        let dur: i64 = segs
            .iter()
            .filter_map(|s| Some(s["end_90k"].as_i64()? - s["start_90k"].as_i64()?))
            .sum();
        dur >= secs as i64 * 90_000
    });
    assert!(ok, "not enough video recorded");
    site.first_start_90k("yard") / 90_000 + 1
}

/// The register as JSON (`vidimus register --json`), for one user.
fn register(site: &Site, user: &str) -> Vec<Value> {
    let out = site.vidimus(&["register", "--json", "--user", user]);
    assert!(out.status.success());
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// What one response gave.
#[derive(Debug)]
struct Got {
    status: u16,
    entry: Option<i64>,
    content_range: Option<String>,
    received: u64,
}

/// A GET that reads at most `limit` body bytes, then hangs up (an aborted download).
fn get_partial(port: u16, path: &str, cookie: &str, range: Option<&str>, limit: u64) -> Got {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: {cookie}\r\n"
    );
    if let Some(r) = range {
        req.push_str(&format!("Range: {r}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut received = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    while received < limit {
        let want = buf.len().min((limit - received) as usize);
        match s.read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n as u64,
        }
    }
    Got {
        status,
        entry: header("x-vidimus-register-entry").and_then(|v| v.parse().ok()),
        content_range: header("content-range"),
        received,
    }
}

/// Checks every response against the register: each one that served video names an
/// allowed entry of its own whose `served` range holds every byte received; every
/// served entry belongs to one response; refusals and failures served nothing.
fn check_against_register(site: &Site, gots: &[Got], total: u64) {
    let reg = register(site, "ada");
    let by_leaf = |leaf: i64| reg.iter().find(|e| e["leaf_index"] == leaf);
    let mut leaves = std::collections::HashSet::new();
    for g in gots {
        if (200..300).contains(&g.status) {
            let leaf = g
                .entry
                .unwrap_or_else(|| panic!("no register entry named: {g:?}"));
            assert!(leaves.insert(leaf), "two responses share entry {leaf}");
            let e = by_leaf(leaf).unwrap_or_else(|| panic!("entry {leaf} not registered"));
            assert_eq!(e["kind"], "access");
            assert_eq!(e["allowed"], true);
            assert_eq!(e["outcome"], "served");
            let (a, b, t) = (
                e["served"]["start"].as_u64().unwrap(),
                e["served"]["end"].as_u64().unwrap(),
                e["served"]["total"].as_u64().unwrap(),
            );
            assert_eq!(t, total);
            assert!(g.received <= b + 1 - a, "{g:?} beyond {e}");
            match &g.content_range {
                Some(cr) => assert_eq!(cr, &format!("bytes {a}-{b}/{t}")),
                None => assert_eq!((a, b, g.status), (0, t - 1, 200)),
            }
        } else {
            // A refusal or failure is a JSON error: no entry of its own to name.
            assert!(g.entry.is_none(), "{g:?}");
        }
    }
    let served = reg
        .iter()
        .filter(|e| e["kind"] == "access" && e["outcome"] == "served")
        .count();
    assert_eq!(
        served,
        leaves.len(),
        "served entries without a response, or responses without one"
    );
}

#[test]
fn every_byte_served_is_registered_whatever_the_range_header() {
    let (mut cam, site, mut rec, c, id, start) = site_with_video(8);
    let path = format!(
        "/api/cameras/{id}/export.mp4?from={start}&to={}&recipient=court",
        start + 6
    );
    let full = get_partial(site.http, &path, &c.cookie, None, u64::MAX);
    assert_eq!(full.status, 200);
    let total = full.received;
    let mut gots = vec![full];
    // The review's bypasses and their relatives: each is its own registered entry.
    for range in [
        "bytes=00-",
        "bytes= 0-",
        "bytes=0-",
        "  bytes=0-",
        "bytes=000-0009",
        "bytes=1-",
        "bytes=-100",
        "bytes=0-0",
        "bytes=5-",
    ] {
        let g = get_partial(site.http, &path, &c.cookie, Some(range), u64::MAX);
        assert_eq!(g.status, 206, "{range}");
        assert!(g.entry.is_some(), "{range}: no register entry");
        gots.push(g);
    }
    check_against_register(&site, &gots, total);

    // Random sequences: ranges of every shape, repeats, aborted downloads, refusals.
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let shape = prop_oneof![
        Just(None),
        (0..total, 0..total, 0..3usize).prop_map(|(a, b, zeros)| Some(format!(
            "bytes={}{}-{}",
            "0".repeat(zeros),
            a.min(b),
            a.max(b)
        ))),
        (0..total).prop_map(|a| Some(format!("bytes= {a}-"))),
        (1..total).prop_map(|n| Some(format!("bytes=-{n}"))),
        (total..total + 1000).prop_map(|a| Some(format!("bytes={a}-"))),
        Just(Some("bytes=0-1,5-6".to_owned())),
        Just(Some("bytes=9-2".to_owned())),
        Just(Some("items=0-1".to_owned())),
        Just(Some("bytes=x-".to_owned())),
    ];
    let request = (shape, any::<bool>(), 0..total, any::<bool>());
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let seen = std::cell::RefCell::new(gots);
    let view_path = format!(
        "/api/cameras/{id}/playback.mp4?from={start}&to={}",
        start + 6
    );
    runner
        .run(&proptest::collection::vec(request, 1..6), |seq| {
            for (range, abort, keep, view) in seq {
                let p = if view { &view_path } else { &path };
                let limit = if abort { keep } else { u64::MAX };
                let g = get_partial(site.http, p, &c.cookie, range.as_deref(), limit);
                prop_assert!(
                    [200, 206, 416].contains(&g.status),
                    "{range:?}: {}",
                    g.status
                );
                seen.borrow_mut().push(g);
            }
            Ok(())
        })
        .unwrap();
    let gots = seen.into_inner();
    // Aborted downloads register their ends (bytes sent by then) shortly after.
    std::thread::sleep(Duration::from_secs(1));
    check_against_register(&site, &gots, total);
    let reg = register(&site, "ada");
    for e in reg.iter().filter(|e| e["kind"] == "access_end") {
        let start = reg
            .iter()
            .find(|s| s["leaf_index"] == e["started_leaf"])
            .expect("an end names its start");
        let len = start["served"]["end"].as_u64().unwrap() + 1
            - start["served"]["start"].as_u64().unwrap();
        assert!(e["bytes"].as_u64().unwrap() <= len, "{e}");
    }
    // Unsatisfiable ranges are registered as failed, with nothing served.
    let refused_ranges = gots.iter().filter(|g| g.status == 416).count();
    let failed = reg
        .iter()
        .filter(|e| e["outcome"] == "failed" && e["error"].as_str().unwrap().contains("range"))
        .count();
    assert_eq!(failed, refused_ranges);
    assert!(rec.terminate());
    cam.terminate();
}

/// `GET /api/grants`: the user's grants' ids.
fn grant_ids(c: &Client) -> Vec<i64> {
    c.call("GET", "/api/grants", None)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn an_access_is_registered_under_the_grant_the_user_names() {
    let (mut cam, site, mut rec, c, id, start) = site_with_video(4);
    // A second case for the same user: both allow viewing this camera.
    let out = site.vidimus_stdin(
        &[
            "grant",
            "duty",
            "--user",
            "ada",
            "--by",
            "manager",
            "--purpose",
            "case 2026-17",
        ],
        "the manager's password\n",
    );
    assert!(out.status.success());
    let grants = grant_ids(&c);
    assert_eq!(grants.len(), 2, "{grants:?}");
    let path = format!(
        "/api/cameras/{id}/playback.mp4?from={start}&to={}",
        start + 2
    );
    let r = c.call("GET", &path, None);
    assert_eq!((r.status, r.code().as_str()), (409, "grant_ambiguous"));
    for g in &grants {
        let r = c.call("GET", &format!("{path}&grant={g}"), None);
        assert_eq!(r.status, 200);
        let leaf: i64 = r
            .header("x-vidimus-register-entry")
            .unwrap()
            .parse()
            .unwrap();
        let reg = register(&site, "ada");
        let e = reg.iter().find(|e| e["leaf_index"] == leaf).unwrap();
        assert_eq!(e["grant_id"].as_i64(), Some(*g));
    }
    let reg = register(&site, "ada");
    let ambiguous = reg
        .iter()
        .find(|e| e["allowed"] == false)
        .expect("the ambiguous attempt is registered");
    assert!(
        ambiguous["reason"]
            .as_str()
            .unwrap()
            .contains("several grants"),
        "{ambiguous}"
    );
    // A grant that is not the user's allows nothing.
    let r = c.call("GET", &format!("{path}&grant=999"), None);
    assert_eq!((r.status, r.code().as_str()), (403, "no_grant"));
    assert!(rec.terminate());
    cam.terminate();
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_live(port: u16, cookie: &str, id: i64) -> Ws {
    let mut req = format!("ws://127.0.0.1:{port}/api/cameras/{id}/live")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
    // Wait for video, so the view is really streaming.
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("live video in time")
            .unwrap()
            .unwrap();
        if matches!(m, Message::Binary(_)) {
            return ws;
        }
    }
}

/// Reads until the server ends the view; returns (its reason, frames after `since`).
async fn until_ended(ws: &mut Ws) -> (String, Instant) {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the view must end");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "end" {
                    return (v["reason"].as_str().unwrap().to_owned(), Instant::now());
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return ("closed".into(), Instant::now());
            }
            Some(Ok(_)) => {}
        }
    }
}

/// A blocking connection with a small receive window, so a response is not all in the
/// kernel's buffers at once.
fn small_window(rt: &tokio::runtime::Runtime, port: u16) -> std::net::TcpStream {
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(8 * 1024).unwrap();
        let s = sock
            .connect(([127, 0, 0, 1], port).into())
            .await
            .unwrap()
            .into_std()
            .unwrap();
        s.set_nonblocking(false).unwrap();
        s
    })
}

fn new_duty_grant(site: &Site, c: &Client) -> i64 {
    let before = grant_ids(c);
    let out = site.vidimus_stdin(
        &["grant", "duty", "--user", "ada", "--by", "manager"],
        "the manager's password\n",
    );
    assert!(out.status.success());
    *grant_ids(c)
        .iter()
        .find(|g| !before.contains(g))
        .expect("a new grant")
}

#[test]
fn revocation_and_expiry_end_live_views_and_downloads_within_a_second() {
    let (mut cam, site, mut rec, c, id, start) = site_with_video(32);
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let g1 = grant_ids(&c)[0];

    // 1. Revoked through the API while a live view is open.
    let (reason, lag) = rt.block_on(async {
        let mut ws = open_live(site.http, &c.cookie, id).await;
        let t = Instant::now();
        let r = mgr.call("POST", &format!("/api/grants/{g1}/revoke"), None);
        assert_eq!(r.status, 204);
        let (reason, at) = until_ended(&mut ws).await;
        (reason, at - t)
    });
    assert_eq!(reason, "grant revoked");
    assert!(lag < Duration::from_secs(1), "ended after {lag:?}");

    // 2. Revoked from the command line (another process, another door).
    let g2 = new_duty_grant(&site, &c);
    let (reason, lag) = rt.block_on(async {
        let mut ws = open_live(site.http, &c.cookie, id).await;
        site.cli(&["grant", "revoke", &g2.to_string(), "--by", "manager"]);
        let t = Instant::now();
        let (reason, at) = until_ended(&mut ws).await;
        (reason, at - t)
    });
    assert_eq!(reason, "grant revoked");
    assert!(lag < Duration::from_secs(1), "ended after {lag:?}");

    // 3. Expiry: a grant that ends in three seconds.
    let g3 = new_duty_grant(&site, &c);
    let ends_90k = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 3.0)
        * 90_000.0;
    site.sql(
        "UPDATE access_grant SET expires_90k = ?1 WHERE id = ?2",
        &[&(ends_90k as i64).to_string(), &g3.to_string()],
    );
    let (reason, late) = rt.block_on(async {
        let mut ws = open_live(site.http, &c.cookie, id).await;
        let (reason, _) = until_ended(&mut ws).await;
        let now_90k = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            * 90_000.0;
        (reason, (now_90k - ends_90k) / 90_000.0)
    });
    assert_eq!(reason, "grant expired");
    assert!(late < 1.0, "ended {late} s after expiry");

    // 4. A download in progress (a slow reader) is cut when its grant is revoked.
    let g4 = new_duty_grant(&site, &c);
    let path = format!(
        "/api/cameras/{id}/playback.mp4?from={start}&to={}",
        start + 30
    );
    // A small receive window, so the file is not all in the kernel's buffers.
    let mut s = small_window(&rt, site.http);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: {}\r\n\r\n",
        c.cookie
    )
    .unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..got]).starts_with("HTTP/1.1 200"));
    let head = String::from_utf8_lossy(&buf[..got]).into_owned();
    let length: usize = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    let r = mgr.call("POST", &format!("/api/grants/{g4}/revoke"), None);
    assert_eq!(r.status, 204);
    let t = Instant::now();
    let at_revocation = got;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(got < length, "the whole file ({length} bytes) was served");
    // What was already on its way (the kernel's bounded unsent queue, the client's
    // window) still arrives; nothing more.
    let after = got - at_revocation;
    assert!(
        after < 1 << 20,
        "{after} bytes arrived after the revocation"
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    // 5. Byte ranges asked for while the grant held, read only after it was revoked:
    //    what the server had queued is not served after the revocation either.
    let g5 = new_duty_grant(&site, &c);
    let mut pending = Vec::new();
    for _ in 0..3 {
        let mut s = small_window(&rt, site.http);
        write!(
            s,
            "GET {path}&grant={g5} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nRange: bytes=0-4194303\r\nCookie: {}\r\n\r\n",
            c.cookie
        )
        .unwrap();
        pending.push(s);
    }
    std::thread::sleep(Duration::from_secs(1));
    let r = mgr.call("POST", &format!("/api/grants/{g5}/revoke"), None);
    assert_eq!(r.status, 204);
    std::thread::sleep(Duration::from_millis(500));
    for mut s in pending {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = 0usize;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        assert!(
            got < 1 << 20,
            "{got} bytes of a 4 MiB range served after revocation"
        );
    }

    // Every one of them is registered as ended by its grant.
    std::thread::sleep(Duration::from_millis(500));
    let reg = register(&site, "ada");
    let ends: Vec<(&str, i64)> = reg
        .iter()
        .filter(|e| e["kind"] == "access_end")
        .map(|e| {
            (
                e["ended"].as_str().unwrap(),
                e["grant_id"].as_i64().unwrap(),
            )
        })
        .collect();
    for (why, g) in [
        ("grant revoked", g1),
        ("grant revoked", g2),
        ("grant expired", g3),
        ("grant revoked", g4),
        ("grant revoked", g5),
    ] {
        assert!(ends.contains(&(why, g)), "{why} {g}: {ends:?}");
    }
    assert!(rec.terminate());
    cam.terminate();
}

#[test]
fn bundle_downloads_are_decided_again_and_registered() {
    let (mut cam, site, mut rec, c, id, start) = site_with_video(8);
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let r = c.call(
        "POST",
        &format!("/api/cameras/{id}/bundles"),
        Some(
            serde_json::json!({"from": start.to_string(), "to": (start + 3).to_string(),
            "purpose": "court", "recipient": "court"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let b = r.json();
    let url = b["download"].as_str().unwrap().to_owned();
    let d = c.call("GET", &url, None);
    assert_eq!(d.status, 200);
    assert_eq!(d.body.len() as u64, b["bytes"].as_u64().unwrap());
    let reg = register(&site, "ada");
    let built = reg.iter().find(|e| e["outcome"] == "built").unwrap();
    assert_eq!(built["export_id"], b["export_id"]);
    let leaf: i64 = d
        .header("x-vidimus-register-entry")
        .unwrap()
        .parse()
        .unwrap();
    let dl = reg.iter().find(|e| e["leaf_index"] == leaf).unwrap();
    assert_eq!(dl["whereabouts"]["medium"], "bundle download");
    assert_eq!(dl["served"]["total"], b["bytes"]);

    // A bundle that cannot be built (nothing recorded then) is registered as failed.
    let r = c.call(
        "POST",
        &format!("/api/cameras/{id}/bundles"),
        Some(serde_json::json!({"from": "1000", "to": "1010",
            "purpose": "court", "recipient": "court"})),
    );
    assert!(r.status >= 400, "{}", r.status);
    let reg = register(&site, "ada");
    let failed = reg.iter().rfind(|e| e["action"] == "reproduce").unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_ne!(failed["whereabouts"]["medium"], "bundle download");

    // Revoked: the bundle is no longer handed out, and the attempt is registered.
    let g = grant_ids(&c)[0];
    assert_eq!(
        mgr.call("POST", &format!("/api/grants/{g}/revoke"), None)
            .status,
        204
    );
    let d = c.call("GET", &url, None);
    assert_eq!(d.status, 403, "{}", String::from_utf8_lossy(&d.body));
    assert!(!d.body.starts_with(b"export.mp4"));
    let reg = register(&site, "ada");
    let last = reg.last().unwrap();
    assert_eq!(
        (
            last["allowed"].as_bool(),
            last["whereabouts"]["medium"].as_str()
        ),
        (Some(false), Some("bundle download"))
    );
    assert!(rec.terminate());
    cam.terminate();
}

#[test]
fn times_with_offsets_are_read_right_and_out_of_range_ones_refused() {
    let (mut cam, site, mut rec, c, id, start) = site_with_video(4);
    let fmt = |secs: i64, offset_h: i64| {
        // The same instant written with an offset of `offset_h` hours.
        let out = std::process::Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("@{}", secs + offset_h * 3600),
                "+%Y-%m-%dT%H:%M:%S",
            ])
            .output()
            .unwrap();
        let civil = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        if offset_h == 0 {
            format!("{civil}Z")
        } else {
            format!("{civil}+{offset_h:02}:00")
        }
    };
    let timeline = |from: &str, to: &str| {
        c.call(
            "GET",
            &format!(
                "/api/cameras/{id}/timeline?from={}&to={}",
                from.replace('+', "%2B"),
                to.replace('+', "%2B")
            ),
            None,
        )
    };
    let utc = timeline(&fmt(start - 60, 0), &fmt(start + 3, 0));
    let cst = timeline(&fmt(start - 60, 8), &fmt(start + 3, 8));
    assert_eq!(utc.status, 200);
    assert_eq!(utc.json(), cst.json(), "+08:00 read as another instant");
    assert!(!utc.json()["spans"].as_array().unwrap().is_empty());
    // A civil time without an offset is refused, not guessed.
    let civil = fmt(start, 8).replace("+08:00", "");
    let r = timeline(&civil, &fmt(start + 3, 0));
    assert_eq!((r.status, r.code().as_str()), (400, "bad_time"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no offset")
    );

    // Out of range, negative: refused with the valid range on every door.
    let mgr = Client::login(site.http, "manager", "the manager's password");
    for (who, method, path, body) in [
        (
            &c,
            "GET",
            format!("/api/cameras/{id}/playback.mp4?from=-10&to=-5"),
            None,
        ),
        (
            &c,
            "GET",
            format!("/api/cameras/{id}/export.mp4?from=-10&to=-5&recipient=x"),
            None,
        ),
        (
            &c,
            "GET",
            format!("/api/cameras/{id}/timeline?from=0&to=99999999999999"),
            None,
        ),
        (
            &c,
            "POST",
            format!("/api/cameras/{id}/bundles"),
            Some(serde_json::json!({"from": "-10", "to": "-5", "purpose": "p", "recipient": "r"})),
        ),
        (
            &mgr,
            "POST",
            "/api/holds".to_owned(),
            Some(serde_json::json!({"camera_id": id, "from": "-10", "to": "-5", "reason": "r"})),
        ),
    ] {
        let r = who.call(method, &path, body);
        assert_eq!((r.status, r.code().as_str()), (400, "bad_time"), "{path}");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1970-01-01T00:00:00.000Z to 9999-01-01T00:00:00.000Z"),
            "{path}"
        );
    }
    // The far end displays as itself.
    let r = mgr.call(
        "POST",
        "/api/holds",
        Some(serde_json::json!({"camera_id": id, "from": fmt(start, 8),
            "to": "9998-12-31T00:00:00Z", "reason": "case 7"})),
    );
    assert_eq!(r.status, 201);
    let holds = mgr.call("GET", "/api/holds", None).json();
    assert_eq!(holds[0]["to"], "9998-12-31T00:00:00.000Z");
    assert_eq!(
        holds[0]["from"].as_str().unwrap(),
        fmt(start, 0).replace('Z', ".000Z"),
        "+08:00 stored as another instant"
    );
    // The command line reads offsets the same way and refuses a civil time.
    let out = site.vidimus(&[
        "recordings",
        "list",
        "--camera",
        "yard",
        "--json",
        "--from",
        &fmt(start - 60, 8),
        "--to",
        &fmt(start + 3, 8),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!listed["segments"].as_array().unwrap().is_empty());
    let out = site.vidimus(&["recordings", "list", "--camera", "yard", "--from", &civil]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no offset"));
    // Nothing panicked.
    assert!(rec.is_running());
    assert!(!site.log_text().contains("panicked"), "{}", site.log_text());
    assert!(rec.terminate());
    cam.terminate();
}

/// Video packets in an MP4, with its edit list ignored (what a copier would extract).
fn packets_ignoring_edit_list(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-ignore_editlist",
            "1",
            "-count_packets",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn no_sample_outside_the_granted_range_is_in_the_file() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"10s\"",
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
    let pw = |u: &str| format!("{u}'s long password");
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
    add_user(&site, "manager", "the manager's password", "admin");
    let mut rec = site.serve();
    wait_for_recording(&site, 12);
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let yard = mgr.camera_id("yard");
    // Segments start at a key frame; the clip has one every 2 s. The grant starts
    // 1 s after one, in the middle of a GOP.
    let s = site.first_start_90k("yard") as f64 / 90_000.0;
    let (from, to) = (format!("{:.3}", s + 1.0), format!("{:.3}", s + 5.0));
    let li = Client::login(site.http, "li", &pw("li"));
    let wang = Client::login(site.http, "wang", &pw("wang"));
    let r = li.call(
        "POST",
        "/api/requests",
        Some(
            serde_json::json!({"kind": "law_enforcement", "purpose": "case 12", "cameras": [yard],
            "from": from, "to": to, "actions": ["view_recorded", "reproduce"],
            "persons": [{"username": "li"}, {"username": "wang"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rid = r.json()["request"]["id"].as_i64().unwrap();
    let r = wang.call(
        "POST",
        &format!("/api/requests/{rid}/confirm"),
        Some(serde_json::json!({"password": pw("wang")})),
    );
    assert_eq!(r.json()["request"]["status"], "granted");
    // Playback of the whole granted range: it starts at the first key frame inside
    // it (s + 2), not at the one before (s), even with the edit list ignored.
    let r = li.call(
        "GET",
        &format!("/api/cameras/{yard}/playback.mp4?from={from}&to={to}"),
        None,
    );
    assert_eq!(r.status, 200);
    let mp4 = site.dir.path().join("granted.mp4");
    std::fs::write(&mp4, &r.body).unwrap();
    let n = packets_ignoring_edit_list(&mp4);
    assert!(
        (70..=76).contains(&n),
        "{n} frames: 3 s from s + 2 to s + 5 expected"
    );
    // A bundle of it: whole fragments, none reaching outside the grant.
    let r = li.call(
        "POST",
        &format!("/api/cameras/{yard}/bundles"),
        Some(serde_json::json!({"from": from, "to": to, "purpose": "court", "recipient": "court"})),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let d = li.call("GET", r.json()["download"].as_str().unwrap(), None);
    let bundle = site.dir.path().join("granted.vbundle");
    std::fs::write(&bundle, &d.body).unwrap();
    let out_dir = site.dir.path().join("bundle");
    std::fs::create_dir_all(&out_dir).unwrap();
    assert!(
        std::process::Command::new("tar")
            .arg("-xf")
            .arg(&bundle)
            .arg("-C")
            .arg(&out_dir)
            .status()
            .unwrap()
            .success()
    );
    let n = packets_ignoring_edit_list(&out_dir.join("export.mp4"));
    assert!((1..=76).contains(&n), "{n} frames in the bundle");
    let out = site.vidimus(&["verify", bundle.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(rec.terminate());
    cam.terminate();
}

#[test]
fn a_flood_of_refused_attempts_is_counted_in_the_register_not_written_one_by_one() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    add_user(&site, "eve", PW, "operator"); // no grant
    let mut rec = site.serve();
    let id = Client::login(site.http, "ada", PW).camera_id("yard");
    let eve = Client::login(site.http, "eve", PW);
    let path = format!("/api/cameras/{id}/playback.mp4?from=1800000000&to=1800000060");
    let mut refused = 0;
    let mut counted = 0;
    for _ in 0..45 {
        let r = eve.call("GET", &path, None);
        match (r.status, r.code().as_str()) {
            (403, "no_grant") => refused += 1,
            (429, "too_many_refusals") => {
                assert!(r.header("retry-after").is_some());
                counted += 1
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The burst is registered one by one, the rest counted (a refill or two may
    // land in between on a slow machine).
    assert!((30..=33).contains(&refused), "{refused} refused");
    assert_eq!(refused + counted, 45);
    // Others are not affected.
    assert_eq!(Client::login(site.http, "ada", PW).camera_id("yard"), id);
    // Within a few seconds the counted attempts are one register entry.
    let mut reg = Vec::new();
    assert!(wait_until(Duration::from_secs(15), || {
        reg = register(&site, "eve");
        reg.iter().any(|e| e["attempts"].is_u64())
    }));
    let one_by_one = reg
        .iter()
        .filter(|e| e["allowed"] == false && e["attempts"].is_null())
        .count();
    let summed: u64 = reg.iter().filter_map(|e| e["attempts"].as_u64()).sum();
    assert_eq!(one_by_one, refused);
    assert_eq!(summed, counted as u64, "{reg:#?}");
    assert!(rec.terminate());
}
