//! Static privacy masks (issue 13 item 8; Art. 10, 30): an administrator of the system
//! manager sets a camera's mask through the API (limits checked, the change logged);
//! from then on, whoever's grant does not include `unmask` gets the camera with the
//! mask burned into the pixels by the server — the live view (decoded, masked,
//! re-encoded while watched), recorded playback (the `/view` stream), snapshots,
//! thumbnails and exports (a masked copy, decoded and encoded again) — and no file of
//! the recorded bytes (playback.mp4: `409 privacy_masked`, registered; a bundle is a
//! derived bundle of the masked copy, verified offline); the
//! command line's `vidimus export` makes a masked copy too, and lifts the mask only with
//! `--unmasked`, registered as lifted. A grant with `unmask` gets the camera as
//! recorded, registered as lifted. Removing the mask restores files; `verify` is clean.

mod support;

use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use support::bundles::*;
use support::websocket::{Ws, ws};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// The mask: a rectangle on the left of the picture (fractions).
const MASK: [[f64; 2]; 4] = [[0.1, 0.3], [0.4, 0.3], [0.4, 0.7], [0.1, 0.7]];
/// Inside it and well clear of it, in pixels of 1280x720 (x0, y0, x1, y1).
const INSIDE: (usize, usize, usize, usize) = (140, 230, 500, 490);
const OUTSIDE: (usize, usize, usize, usize) = (700, 100, 1200, 600);

/// Mean and largest luma over a rectangle.
fn stats(a: &[u8], (x0, y0, x1, y1): (usize, usize, usize, usize)) -> (f64, u8) {
    let (mut sum, mut max) = (0u64, 0u8);
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(a[y * 1280 + x]);
            max = max.max(a[y * 1280 + x]);
        }
    }
    (sum as f64 / ((x1 - x0) * (y1 - y0)) as f64, max)
}

fn diff(a: &[u8], b: &[u8], (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(a[y * 1280 + x].abs_diff(b[y * 1280 + x]));
        }
    }
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

/// Masked: black (limited range, 16) inside the mask, whatever the recording shows.
fn assert_masked(what: &str, picture: &[u8]) {
    let (mean, max) = stats(picture, INSIDE);
    assert!(
        mean < 20.0 && max < 40,
        "{what}: inside the mask mean {mean:.1}, max {max}"
    );
}

/// A live view of the camera, once its video flows.
async fn live_streaming(port: u16, who: &Client, camera: i64) -> Ws {
    let mut s = ws(port, who, &format!("/api/cameras/{camera}/live"))
        .await
        .unwrap();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), s.next())
            .await
            .expect("live video in time")
            .unwrap()
            .unwrap();
        if matches!(m, Message::Binary(_)) {
            return s;
        }
    }
}

/// Reads on until the server closes the view within 5 s; its close code.
async fn close_code(s: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.next()).await {
            Ok(Some(Ok(Message::Close(c)))) => return c.map(|c| u16::from(c.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("the view went on after its mask changed: {other:?}"),
        }
    }
}

/// Reads a live view for `frames` fragments after its init: (codec, bytes as a file).
async fn read_live(port: u16, who: &Client, camera: i64, frames: usize) -> (String, Vec<u8>) {
    let mut s = ws(port, who, &format!("/api/cameras/{camera}/live"))
        .await
        .unwrap_or_else(|e| panic!("live view refused: {e:?}"));
    let (mut codec, mut bytes, mut n) = (String::new(), Vec::new(), 0);
    while n < frames + 1 {
        let m = tokio::time::timeout(Duration::from_secs(30), s.next())
            .await
            .expect("live frames in time")
            .expect("the view goes on")
            .unwrap();
        match m {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str() {
                    Some("init") => codec = v["codec"].as_str().unwrap().to_owned(),
                    Some("end") => panic!("the live view ended: {v}"),
                    _ => {}
                }
            }
            Message::Binary(b) => {
                bytes.extend_from_slice(&b);
                n += 1;
            }
            _ => {}
        }
    }
    (codec, bytes)
}

/// Reads a `/view` stream to its end: the bytes as a file and how it ended.
async fn read_view(port: u16, who: &Client, path: &str) -> (Vec<u8>, String) {
    let mut s = ws(port, who, path)
        .await
        .unwrap_or_else(|e| panic!("view refused: {e:?}"));
    let (mut bytes, mut end) = (Vec::new(), String::new());
    while let Some(m) = tokio::time::timeout(Duration::from_secs(60), s.next())
        .await
        .expect("the stream goes on")
    {
        match m.unwrap() {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "end" {
                    end = v["reason"].as_str().unwrap_or("").to_owned();
                }
            }
            Message::Binary(b) => bytes.extend_from_slice(&b),
            Message::Close(_) => break,
            _ => {}
        }
    }
    (bytes, end)
}

fn register(site: &Site, user: &str) -> Vec<Value> {
    let out = site.vidimus(&["register", "--json", "--user", user]);
    assert!(out.status.success());
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Who approved each removal of a mask, from the events.
fn removed_with_approval(site: &Site) -> Vec<String> {
    let out = site.vidimus(&["events", "--json"]);
    let events: Value = serde_json::from_slice(&out.stdout).unwrap();
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "privacy_mask_removed")
        .map(|e| e["detail"]["approved_by"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_masked_camera_is_served_masked_to_everyone_without_the_right_to_lift_it() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    add_user(&site, "op", "the operator's password", "operator");
    add_user(&site, "lifter", "the lifter's password", "operator");
    add_user(&site, "nosy", "the nosy one's password", "operator");
    duty(&site, "op");
    add_user(&site, "deputy", "the deputy's password", "admin");
    let out = site.vidimus_stdin(
        &[
            "grant",
            "duty",
            "--user",
            "lifter",
            "--by",
            "manager",
            "--action",
            "view_live",
            "--action",
            "view_recorded",
            "--action",
            "reproduce",
            "--action",
            "unmask",
        ],
        "the manager's password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rec = site.serve();
    assert!(wait_until(Duration::from_secs(40), || site
        .recordings("yard")["segments"]
        .as_array()
        .is_some_and(|s| s.len() >= 2)));
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let op = Client::login(site.http, "op", "the operator's password");
    let lifter = Client::login(site.http, "lifter", "the lifter's password");
    let deputy = Client::login(site.http, "deputy", "the deputy's password");
    let yard = mgr.camera_id("yard");
    let s = site.first_start_90k("yard") as f64 / 90_000.0;
    let (from, to) = (format!("{s:.6}"), format!("{:.6}", s + 3.0));
    let dir = site.dir.path();

    // The recording as it is (the CLI, with the data directory): the region the mask
    // will cover shows something.
    let recorded = dir.join("recorded.mp4");
    site.cli(&[
        "export",
        "--camera",
        "yard",
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        recorded.to_str().unwrap(),
    ]);
    let original = first_frame_grey(&recorded);
    assert!(
        stats(&original, INSIDE).0 > 30.0,
        "the simulated camera's picture is dark where the mask goes"
    );

    // Setting it: administrators only, limits checked, unknown fields refused.
    let path = format!("/api/cameras/{yard}/privacy-mask");
    let r = op.call("PUT", &path, Some(json!({"polygons": [MASK]})));
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = mgr.call(
        "PUT",
        &path,
        Some(json!({"polygons": [[[0.1, 0.1], [1.5, 0.1], [0.2, 0.4]]]})),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.code(), "bad_mask");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("outside the picture")
    );
    let r = mgr.call(
        "PUT",
        &path,
        Some(json!({"polygons": [MASK], "feather": 3})),
    );
    assert!(r.status == 422 || r.status == 400, "{}", r.status);
    let r = mgr.call(
        "PUT",
        "/api/cameras/999/privacy-mask",
        Some(json!({"polygons": [MASK]})),
    );
    assert_eq!(r.status, 404);
    // A plain live view opened before the mask is set ends when it is set (its viewer
    // reconnects and gets the masked one): it must not go on showing what is now hidden.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut before = rt.block_on(live_streaming(site.http, &op, yard));
    let r = mgr.call("PUT", &path, Some(json!({"polygons": [MASK]})));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let closed = rt.block_on(close_code(&mut before));
    assert_eq!(closed, Some(1012));
    // (Its end is registered once its socket is gone: waited for.)
    assert!(
        wait_until(Duration::from_secs(10), || register(&site, "op")
            .iter()
            .any(
                |e| e["action"] == "view_live" && e["ended"] == "privacy mask changed"
            )),
        "the view's end is not registered as a mask change"
    );
    let first_masked = register(&site, "op")
        .iter()
        .filter_map(|e| e["leaf_index"].as_i64())
        .max();
    assert_eq!(r.json()["set_by"], "manager");
    // Everyone who sees the camera sees where it is masked.
    let cams = op.call("GET", "/api/cameras", None).json();
    assert_eq!(cams[0]["privacy_masked"], true, "{cams}");
    assert_eq!(
        op.call("GET", &path, None).json()["polygons"],
        json!([MASK])
    );
    // Someone who does not see the camera (no grant names it) is not told where its
    // masks are.
    let nosy = Client::login(site.http, "nosy", "the nosy one's password");
    assert_eq!(nosy.call("GET", &path, None).status, 404);

    // No file of the recorded bytes without the right to lift it: registered refusals.
    let r = op.call(
        "GET",
        &format!("/api/cameras/{yard}/playback.mp4?from={from}&to={to}"),
        None,
    );
    assert_eq!((r.status, r.code().as_str()), (409, "privacy_masked"));
    // An export is a masked copy: decoded, masked, encoded again; the rest of the
    // picture is the recording; its SHA-256 is registered and named in a header.
    let r = op.call(
        "GET",
        &format!("/api/cameras/{yard}/export.mp4?from={from}&to={to}&recipient=court"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let copy_sha = r.header("x-vidimus-masked-copy-sha256").unwrap().to_owned();
    {
        use sha2::Digest;
        assert_eq!(hex::encode(sha2::Sha256::digest(&r.body)), copy_sha);
    }
    assert!(
        r.body.windows(11).any(|w| w == b"masked copy"),
        "the copy's metadata says it is masked"
    );
    let copied = dir.join("masked-copy.mp4");
    std::fs::write(&copied, &r.body).unwrap();
    decodes_cleanly(&copied);
    let (frames, codec, w, h) = ffprobe(&copied);
    assert_eq!((codec.as_str(), w, h), ("h264", 1280, 720));
    assert!(frames >= 70, "{frames} frames for 3 s");
    let g = first_frame_grey(&copied);
    assert_masked("masked copy", &g);
    let outside = diff(&g, &original, OUTSIDE);
    assert!(
        outside < 8.0,
        "outside the mask the copy differs by {outside:.1}"
    );
    // Longer than a masked copy is made at once: a clear refusal.
    let r = op.call(
        "GET",
        &format!(
            "/api/cameras/{yard}/export.mp4?from={from}&to={:.6}&recipient=court",
            s + 301.0
        ),
        None,
    );
    assert_eq!((r.status, r.code().as_str()), (422, "masked_copy_too_long"));
    // A bundle is of the masked copy, never of the recorded bytes: a derived bundle
    // (the publication format, `derivation: privacy masked`) that verifies offline,
    // holds the masked clip and only the recorded fragments' hashes, and is registered
    // as built with the copy's SHA-256.
    let r = op.call(
        "POST",
        &format!("/api/cameras/{yard}/bundles"),
        Some(json!({"from": from, "to": to, "purpose": "case 7", "recipient": "court"})),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let made = r.json();
    let r = op.call("GET", made["download"].as_str().unwrap(), None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let masked_bundle = dir.join("masked.vbundle");
    std::fs::write(&masked_bundle, &r.body).unwrap();
    let names: Vec<String> = members(&r.body).into_iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "publication.mp4",
            "manifest.json",
            "report.json",
            "proof.json",
            "README.txt"
        ]
    );
    let key = String::from_utf8(site.vidimus(&["log-key"]).stdout).unwrap();
    let (ok, rep) = verify_offline(&masked_bundle, &["--key", key.trim()]);
    assert!(ok, "{rep}");
    let m = &rep["manifest"];
    assert_eq!(m["derivation"], "privacy masked", "{m}");
    assert_eq!(m["whereabouts"], "court");
    assert!(m.get("recheck").is_none(), "{m}");
    assert_eq!(
        m["process"]["params"]["privacy_mask"]["polygons"],
        json!([MASK])
    );
    assert!(
        rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["piece"] == "privacy mask" && c["ok"] == true),
        "{rep}"
    );
    // Read by a person, it says what it is: not anonymized, not for publication.
    let said = std::process::Command::new(bin())
        .arg("verify")
        .arg(&masked_bundle)
        .args(["--key", key.trim()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&said.stdout);
    assert!(
        said.contains("privacy-masked copy (NOT anonymized") && said.contains("VERIFIED"),
        "{said}"
    );
    assert!(!said.contains("re-checked clean"), "{said}");
    let bundled_clip = dir.join("masked-bundle.mp4");
    std::fs::write(&bundled_clip, member(&r.body, "publication.mp4")).unwrap();
    decodes_cleanly(&bundled_clip);
    assert_masked("masked bundle", &first_frame_grey(&bundled_clip));
    // Not a byte of the recording rides along: no recorded fragment is in it.
    let recorded_bytes = std::fs::read(&recorded).unwrap();
    let probe = &recorded_bytes[recorded_bytes.len() / 2..recorded_bytes.len() / 2 + 64];
    assert!(!r.body.windows(64).any(|w| w == probe));
    // Relabelled as an anonymized publication, or sent to the public: not verified.
    let relabelled = dir.join("relabelled.vbundle");
    std::fs::write(
        &relabelled,
        edit_json(&r.body, "manifest.json", |m| {
            m.as_object_mut().unwrap().remove("derivation");
            m["whereabouts"] = json!("public broadcast");
        }),
    )
    .unwrap();
    assert!(!verify_offline(&relabelled, &["--key", key.trim()]).0);
    // Nor does the server make one for the public.
    let r = op.call(
        "POST",
        &format!("/api/cameras/{yard}/bundles"),
        Some(json!({"from": from, "to": to, "purpose": "tv", "recipient": "public broadcast"})),
    );
    assert_eq!((r.status, r.code().as_str()), (422, "not_anonymized"));
    // Longer than a masked copy is made at once: a clear refusal, as for exports.
    let r = op.call(
        "POST",
        &format!("/api/cameras/{yard}/bundles"),
        Some(json!({"from": from, "to": format!("{:.6}", s + 301.0), "purpose": "case 7", "recipient": "court"})),
    );
    assert_eq!((r.status, r.code().as_str()), (422, "masked_copy_too_long"));

    // The command line, with the data directory, is held to the same: its export of
    // the masked camera is a masked copy, registered as burned with its SHA-256; a
    // bundle of the recorded bytes is refused; `--unmasked` lifts the masks, and the
    // register says so.
    let cli_copy = dir.join("cli-masked.mp4");
    let out = site.vidimus(&[
        "export",
        "--camera",
        "yard",
        "--from",
        &from,
        "--to",
        &to,
        "--json",
        "--out",
        cli_copy.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["privacy_mask"], "burned", "{said}");
    decodes_cleanly(&cli_copy);
    let g = first_frame_grey(&cli_copy);
    assert_masked("command-line export", &g);
    assert!(diff(&g, &original, OUTSIDE) < 8.0);
    let cli_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&cli_copy).unwrap()))
    };
    assert_eq!(said["sha256"], cli_sha.as_str());
    assert!(!dir.join("cli-masked.partial").exists());
    let bundle = dir.join("cli.vbundle");
    let out = site.vidimus(&[
        "export",
        "--camera",
        "yard",
        "--from",
        &from,
        "--to",
        &to,
        "--bundle",
        "--purpose",
        "case 7",
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--unmasked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!bundle.exists());
    let cli_raw = dir.join("cli-unmasked.mp4");
    let raw_args = [
        "export",
        "--camera",
        "yard",
        "--from",
        &from,
        "--to",
        &to,
        "--unmasked",
        "--out",
        cli_raw.to_str().unwrap(),
    ];
    // Lifting a mask says why.
    assert!(!site.vidimus(&raw_args).status.success());
    assert!(!cli_raw.exists());
    site.cli(&[&raw_args[..], &["--purpose", "court order 12"]].concat());
    assert!(
        stats(&first_frame_grey(&cli_raw), INSIDE).0 > 30.0,
        "--unmasked did not export the recorded bytes"
    );
    let all = {
        let out = site.vidimus(&["register", "--json"]);
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let by_cli: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["via"]
                .as_str()
                .is_some_and(|v| v.starts_with("command line"))
        })
        .collect();
    assert!(
        by_cli.iter().any(|e| e["privacy_mask"] == "burned"
            && e["served"]["masked_copy"]["sha256"] == cli_sha.as_str()),
        "{by_cli:#?}"
    );
    assert!(
        by_cli.iter().any(|e| e["privacy_mask"] == "lifted"
            && e["purpose"] == "court order 12"
            && e["whereabouts"]["destination"] == cli_raw.to_str().unwrap()),
        "{by_cli:#?}"
    );
    // (The recording exported before the mask was set carries no mask field.)
    assert_eq!(
        by_cli
            .iter()
            .filter(|e| e.get("privacy_mask").is_none())
            .count(),
        1,
        "{by_cli:#?}"
    );

    // A snapshot has the mask burned in; the rest is the recording.
    let r = op.call(
        "GET",
        &format!("/api/cameras/{yard}/snapshot.jpg?t={from}&recipient=court"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let snap = dir.join("snap.jpg");
    std::fs::write(&snap, &r.body).unwrap();
    let g = first_frame_grey(&snap);
    assert_masked("snapshot", &g);
    assert!(stats(&g, OUTSIDE).0 > 20.0);
    // So do the timeline's thumbnails (the cache keeps the recorded key frames; the
    // strip is masked per tile).
    let r = op.call(
        "GET",
        &format!("/api/cameras/{yard}/thumbnails.jpg?from={from}&to={to}&n=1"),
        None,
    );
    if r.status == 200 {
        let t = dir.join("thumb.jpg");
        std::fs::write(&t, &r.body).unwrap();
        assert_masked("thumbnail", &first_frame_grey(&t));
    } else {
        panic!(
            "thumbnails: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }

    // Recorded playback: the masked stream; outside the mask it is the recording.
    let (bytes, end) = rt.block_on(read_view(
        site.http,
        &op,
        &format!("/api/cameras/{yard}/view?from={from}&to={to}"),
    ));
    assert_eq!(end, "completed");
    let viewed = dir.join("viewed.mp4");
    std::fs::write(&viewed, &bytes).unwrap();
    decodes_cleanly(&viewed);
    let g = first_frame_grey(&viewed);
    assert_masked("playback stream", &g);
    let outside = diff(&g, &original, OUTSIDE);
    assert!(outside < 8.0, "outside the mask differs by {outside:.1}");

    // The live view: masked by the server, while watched.
    let (codec, bytes) = rt.block_on(read_live(site.http, &op, yard, 30));
    assert!(codec.starts_with("avc1."), "{codec}");
    let live = dir.join("live.mp4");
    std::fs::write(&live, &bytes).unwrap();
    decodes_cleanly(&live);
    assert_masked("live view", &first_frame_grey(&live));

    // With the right to lift it: as recorded, and a file again.
    let (_, bytes) = rt.block_on(read_live(site.http, &lifter, yard, 5));
    let lifted_live = dir.join("lifted-live.mp4");
    std::fs::write(&lifted_live, &bytes).unwrap();
    assert!(
        stats(&first_frame_grey(&lifted_live), INSIDE).0 > 30.0,
        "a grant with unmask was served the mask"
    );
    let r = lifter.call(
        "GET",
        &format!("/api/cameras/{yard}/playback.mp4?from={from}&to={to}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // The register says which it was, for each.
    let ops = register(&site, "op");
    // Everything served since the mask was set has it burned in.
    let served: Vec<&Value> = ops
        .iter()
        .filter(|e| e["outcome"] == "served" && e["leaf_index"].as_i64() > first_masked)
        .collect();
    assert!(served.len() >= 4, "{ops:#?}");
    assert!(
        served.iter().all(|e| e["privacy_mask"] == "burned"),
        "{served:#?}"
    );
    let refused = ops
        .iter()
        .filter(|e| e["outcome"] == "refused" && e["privacy_mask"] == "refused")
        .count();
    assert_eq!(refused, 1, "{ops:#?}");
    let bundle_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&bundled_clip).unwrap()))
    };
    assert!(
        ops.iter().any(|e| e["outcome"] == "built"
            && e["privacy_mask"] == "burned"
            && e["served"]["masked_copy"]["sha256"] == bundle_sha.as_str()),
        "{ops:#?}"
    );
    assert!(
        ops.iter()
            .any(|e| e["served"]["masked_copy"]["sha256"] == copy_sha.as_str()),
        "{ops:#?}"
    );
    let lifted = register(&site, "lifter");
    let served: Vec<&Value> = lifted
        .iter()
        .filter(|e| e["outcome"] == "served" || e["outcome"] == "started")
        .collect();
    assert!(!served.is_empty());
    assert!(
        served
            .iter()
            .all(|e| e["privacy_mask"] == "lifted"
                && e["unmask_policies"] == json!(["grant.unmask"])),
        "{served:#?}"
    );

    // A change from the command line (another door, the same index) ends the views
    // decided under the old mask too.
    let mut open = rt.block_on(live_streaming(site.http, &op, yard));
    site.cli(&[
        "camera",
        "mask",
        "yard",
        "--polygon",
        "0.1,0.3 0.4,0.3 0.4,0.7 0.1,0.7",
        "--polygon",
        "0.6,0.6 0.9,0.6 0.75,0.9",
    ]);
    let closed = rt.block_on(close_code(&mut open));
    assert_eq!(closed, Some(1012));
    assert_eq!(
        op.call("GET", &path, None).json()["polygons"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Removing or shrinking it takes two administrators (Art. 10): one proposes, the
    // mask stays in place and keeps being burned in; the same one cannot approve.
    let playback = format!("/api/cameras/{yard}/playback.mp4?from={from}&to={to}");
    let r = mgr.call("PUT", &path, Some(json!({"polygons": [MASK]})));
    assert_eq!(
        r.status,
        202,
        "a shrink is held: {}",
        String::from_utf8_lossy(&r.body)
    );
    let shrink = r.json()["pending"]["id"].as_i64().unwrap();
    assert_eq!(r.json()["polygons"].as_array().unwrap().len(), 2);
    assert_eq!(r.json()["pending"]["polygons"], json!([MASK]));
    assert_eq!(r.json()["pending"]["proposed_by"], "manager");
    // Only administrators see a pending change.
    assert!(op.call("GET", &path, None).json()["pending"].is_null());
    let r = mgr.call("PUT", &path, Some(json!({"polygons": []})));
    assert_eq!(r.status, 202);
    let removal = r.json()["pending"]["id"].as_i64().unwrap();
    assert_ne!(removal, shrink, "a new proposal replaces the pending one");
    let decide = |who: &Client, id: i64, how: &str| {
        who.call(
            "POST",
            &format!("/api/cameras/{yard}/privacy-mask/changes/{id}/{how}"),
            None,
        )
    };
    let r = decide(&deputy, shrink, "approve");
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "not_pending"),
        "the replaced proposal is superseded"
    );
    let r = decide(&mgr, removal, "approve");
    assert_eq!((r.status, r.code().as_str()), (403, "own_change"));
    let r = decide(&op, removal, "approve");
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = decide(&deputy, removal + 1000, "approve");
    assert_eq!((r.status, r.code().as_str()), (404, "change_not_found"));
    let r = op.call("GET", &playback, None);
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "privacy_masked"),
        "a proposed removal masks on"
    );
    // Rejected (the proposer withdrawing it): nothing left to approve.
    assert_eq!(decide(&mgr, removal, "reject").json()["state"], "rejected");
    assert_eq!(decide(&deputy, removal, "approve").code(), "not_pending");
    // Proposed on the command line, approved by another administrator in the API:
    // removed, files again, for everyone with the grant; the changes are events.
    // Not without an administrator who proves it is them; not by an operator.
    let out = site.vidimus(&["camera", "mask", "yard", "--clear"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--by ADMIN"));
    let out = site.vidimus_stdin(
        &["camera", "mask", "yard", "--clear", "--by", "op"],
        "the operator's password\n",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an administrator"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.vidimus_stdin(
        &["camera", "mask", "yard", "--clear", "--by", "manager"],
        "the manager's password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("proposed as change"), "{said}");
    let cli_change = mgr.call("GET", &path, None).json()["pending"]["id"]
        .as_i64()
        .unwrap();
    // The same administrator approving it on the command line is still one person.
    let out = site.vidimus_stdin(
        &[
            "camera",
            "mask",
            "yard",
            "--approve",
            &cli_change.to_string(),
            "--by",
            "manager",
        ],
        "the manager's password\n",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("second administrator"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A change of another camera is not this camera's to approve.
    let out = site.vidimus_stdin(
        &[
            "camera",
            "mask",
            "yard",
            "--approve",
            "99999",
            "--by",
            "deputy",
        ],
        "the deputy's password\n",
    );
    assert!(!out.status.success());
    let r = decide(&deputy, cli_change, "approve");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["state"], "applied");
    let r = mgr.call("GET", &path, None);
    assert_eq!(r.json()["polygons"], json!([]));
    assert!(r.json()["pending"].is_null());
    let r = op.call("GET", &playback, None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = site.vidimus(&["events", "--json"]);
    let events = String::from_utf8_lossy(&out.stdout);
    assert!(events.contains("privacy_mask_set") && events.contains("privacy_mask_removed"));
    assert!(
        events.contains("privacy_mask_change_proposed")
            && events.contains("privacy_mask_change_rejected"),
        "{events}"
    );
    assert_eq!(removed_with_approval(&site), ["deputy"]);

    assert!(rec.terminate());
    cam.terminate();
    // Every change of the mask is in the log and replays.
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The console (Chromium): an administrator draws a mask over a camera's live picture
/// and saves it; an operator's live tile of that camera then shows black pixels there
/// (the server's doing: nothing is drawn over the video), marked as masked.
#[test]
fn the_console_draws_a_mask_and_an_operators_live_tile_is_masked() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("lobby", &format!("{url}/lobby"))],
        "sync_interval = \"1s\"\nsegment_duration = \"4s\"",
    );
    add_user(&site, "op", "the operator's password", "operator");
    duty(&site, "op");
    // The administrator watches as recorded (a grant with unmask, approved by another
    // administrator) while drawing.
    add_user(&site, "chief", "the chief's password", "admin");
    let out = site.vidimus_stdin(
        &[
            "grant",
            "duty",
            "--user",
            "manager",
            "--by",
            "chief",
            "--action",
            "view_live",
            "--action",
            "unmask",
        ],
        "the chief's password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rec = site.serve();
    let stdout = console_test(
        &site,
        "privacy.mjs",
        &[
            ("ADMIN_USER", "manager"),
            ("ADMIN_PASSWORD", "the manager's password"),
            ("OP_USER", "op"),
            ("OP_PASSWORD", "the operator's password"),
            ("CAMERA", "lobby"),
            ("SECOND_ADMIN_USER", "chief"),
            ("SECOND_ADMIN_PASSWORD", "the chief's password"),
        ],
    );
    assert!(
        stdout.contains("masked live tile")
            && stdout.contains("masked playback")
            && stdout.contains("mask removed by two administrators"),
        "{stdout}"
    );
    // What was saved (as the console read it back before the removal).
    let m: Value = serde_json::from_str(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("saved polygons "))
            .expect("the saved polygons printed"),
    )
    .unwrap();
    let poly = m[0].as_array().expect("a polygon saved").clone();
    assert_eq!(poly.len(), 4, "{m}");
    for (got, want) in poly.iter().zip(MASK) {
        for k in 0..2 {
            let g = got[k].as_f64().unwrap();
            assert!((g - want[k]).abs() < 0.01, "corner {got} for {want:?}");
        }
    }
    let mgr = Client::login(site.http, "manager", "the manager's password");
    let lobby = mgr.camera_id("lobby");
    let now = mgr
        .call("GET", &format!("/api/cameras/{lobby}/privacy-mask"), None)
        .json();
    assert_eq!(now["polygons"], json!([]), "{now}");
    assert_eq!(removed_with_approval(&site), ["chief"]);
    // The operator's view was registered with the mask burned in.
    let ops = register(&site, "op");
    assert!(
        ops.iter()
            .any(|e| e["action"] == "view_live" && e["privacy_mask"] == "burned"),
        "{ops:#?}"
    );
    assert!(rec.terminate());
    cam.terminate();
}
