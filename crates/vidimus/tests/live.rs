//! Live view over WebSocket: init segment, then one fMP4 fragment per frame starting at
//! a key frame; the stream is playable; many viewers share one RTSP session; a slow
//! viewer is told it skipped and resumes at a key frame.

mod support;

use futures::StreamExt;
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PW: &str = "correct horse battery";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, cookie: Option<&str>, recv_buf: Option<u32>) -> Result<Ws, String> {
    let mut req = format!("ws://127.0.0.1:{port}/api/cameras/1/live")
        .into_client_request()
        .unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(n) = recv_buf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    let stream = sock.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(stream))
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(15), ws.next())
        .await
        .expect("live message in time")
        .unwrap()
        .unwrap()
}

/// Reads until the init segment; returns (init JSON, init bytes).
async fn read_init(ws: &mut Ws) -> (serde_json::Value, Vec<u8>) {
    loop {
        if let Message::Text(t) = next(ws).await {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "init" {
                let Message::Binary(b) = next(ws).await else {
                    panic!("init segment expected")
                };
                return (v, b.to_vec());
            }
        }
    }
}

#[test]
fn live_view_streams_playable_fmp4_to_many_viewers() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("gate", &format!("{url}/gate"))],
        "sync_interval = \"1s\"\nlive_buffer_frames = 16",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    let mut rec = site.serve();
    let (cookie, _) = login(site.http, "ada", PW);
    let p = site.http;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Anonymous viewers are refused before the upgrade.
        let e = connect(p, None, None).await.unwrap_err();
        assert!(e.contains("401"), "{e}");

        // Five viewers at once, each reading 100 frames concurrently.
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let mut ws = connect(p, Some(&cookie), None).await.unwrap();
            tasks.push(tokio::spawn(async move {
                let (info, init) = read_init(&mut ws).await;
                assert!(
                    info["codec"].as_str().unwrap().starts_with("avc1."),
                    "{info}"
                );
                assert_eq!(
                    (info["width"].as_u64(), info["height"].as_u64()),
                    (Some(1280), Some(720))
                );
                let mut file = init;
                let mut frames = 0;
                while frames < 100 {
                    match next(&mut ws).await {
                        Message::Binary(b) => {
                            file.extend_from_slice(&b);
                            frames += 1;
                        }
                        Message::Text(t) => panic!("unexpected {t}"),
                        _ => {}
                    }
                }
                file
            }));
        }
        let mut files = Vec::new();
        for t in tasks {
            files.push(t.await.unwrap());
        }
        let first = files.swap_remove(0);
        // What a viewer received is a playable fragmented MP4 starting at a key frame.
        let path = site.dir.path().join("live.mp4");
        std::fs::write(&path, first).unwrap();
        let (frames, codec, w, h) = ffprobe(&path);
        assert_eq!((frames, codec.as_str(), w, h), (100, "h264", 1280, 720));
        decodes_cleanly(&path);

        // A viewer with a tiny receive buffer that stops reading falls more than
        // live_buffer_frames behind: it is told, and resumes at a key frame.
        let mut slow = connect(p, Some(&cookie), Some(4096)).await.unwrap();
        read_init(&mut slow).await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let mut skipped = false;
        let mut after_skip = None;
        for _ in 0..2000 {
            match next(&mut slow).await {
                Message::Text(t) if t.contains("\"skip\"") => skipped = true,
                Message::Binary(b) if skipped => {
                    after_skip = Some(b.to_vec());
                    break;
                }
                _ => {}
            }
        }
        assert!(skipped, "the slow viewer was never told it skipped");
        // The first fragment after the skip holds a key frame (trun sample flags).
        let frag = after_skip.expect("video resumed after the skip");
        let moof = frag.windows(4).position(|w| w == b"trun").expect("trun");
        let flags = u32::from_be_bytes(
            frag[moof + 4 + 12 + 8..moof + 4 + 12 + 12]
                .try_into()
                .unwrap(),
        );
        assert_eq!(flags & 0x0001_0000, 0, "resumed on a non-key frame");
    });
    let metrics = site.metrics();
    assert!(rec.terminate());
    // All viewers shared the recorder's one session with the camera.
    assert_eq!(
        metric(&metrics, "vidimus_stream_reconnects_total", "gate"),
        Some(0)
    );
    let out = cam.terminate_output();
    assert!(out.contains("sessions=1 "), "{out}");
}

/// An H.265 camera: browsers cannot decode it through MSE, so the live view offers the
/// camera's H.264 sub-stream when one is configured (`live_url`), while the H.265 main
/// stream is what is recorded. Without a sub-stream, the init message names the HEVC
/// codec, and the console says it cannot show it.
#[test]
fn h265_camera_is_viewed_through_its_h264_substream() {
    let (_gst, url265) = gst_server("cam-h265-720p25.mp4", "h265", false, free_port());
    let (_gst2, url265b) = gst_server("cam-h265-720p25.mp4", "h265", false, free_port());
    let (_sim, sub) = simcam("none");
    let dir = tempfile::tempdir().unwrap();
    let http = free_port();
    std::fs::write(
        dir.path().join("vidimus.toml"),
        format!(
            "data_dir = \"data\"\nbind = \"127.0.0.1:{http}\"\n[recorder]\nsync_interval = \"1s\"\n\
             [[camera]]\nname = \"hevc\"\nurl = \"{url265}\"\nlive_url = \"{sub}/sub\"\n\
             [[camera]]\nname = \"hevc-only\"\nurl = \"{url265b}\"\n"
        ),
    )
    .unwrap();
    let site = Site { dir, http };
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    let mut rec = site.serve();
    let (cookie, _) = login(http, "ada", PW);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ws = connect_camera(http, &cookie, 1).await;
        let (info, _) = read_init(&mut ws).await;
        assert!(
            info["codec"].as_str().unwrap().starts_with("avc1."),
            "sub-stream expected: {info}"
        );
        let mut ws = connect_camera(http, &cookie, 2).await;
        let (info, _) = read_init(&mut ws).await;
        let codec = info["codec"].as_str().unwrap();
        assert!(
            codec.starts_with("hvc1") || codec.starts_with("hev1"),
            "{info}"
        );
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(rec.terminate());
    for cam in ["hevc", "hevc-only"] {
        let segs = site.recordings(cam)["segments"].as_array().unwrap().clone();
        assert!(
            !segs.is_empty() && segs.iter().all(|s| s["codec"] == "h265"),
            "{cam}: {segs:?}"
        );
    }
}

async fn connect_camera(port: u16, cookie: &str, id: i64) -> Ws {
    let mut req = format!("ws://127.0.0.1:{port}/api/cameras/{id}/live")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The wall time (90 kHz) in a live fragment's `prft` box (NTP, right after the box
/// header, the full box's version and flags and the reference track id).
fn fragment_wall_90k(b: &[u8]) -> i64 {
    assert_eq!(&b[4..8], b"prft");
    let ntp = u64::from_be_bytes(b[16..24].try_into().unwrap());
    let secs = (ntp >> 32) as i64 - 2_208_988_800;
    let frac = ((ntp & 0xffff_ffff) * 90_000) >> 32;
    secs * 90_000 + frac as i64
}

/// A new view starts from the key frame already received (the fan-out keeps the
/// current GOP), not at the camera's next one (issue 12: live start under 300 ms):
/// its first fragment is a frame the recorder received before the viewer connected.
#[test]
fn a_new_view_starts_from_the_key_frame_already_received() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("gate", &format!("{url}/gate"))],
        "sync_interval = \"1s\"",
    );
    add_user(&site, "ada", PW, "operator");
    duty(&site, "ada");
    let mut rec = site.serve();
    let (cookie, _) = login(site.http, "ada", PW);
    assert!(wait_until(Duration::from_secs(30), || site
        .recordings("gate")["segments"]
        .as_array()
        .is_some_and(|s| !s.is_empty())));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let from_before = rt.block_on(async {
        let mut from_before = 0;
        for _ in 0..5 {
            let connected = (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
                * 90_000.0) as i64;
            let mut ws = connect_camera(site.http, &cookie, 1).await;
            read_init(&mut ws).await;
            let first = loop {
                if let Message::Binary(b) = next(&mut ws).await {
                    break b;
                }
            };
            if fragment_wall_90k(&first) < connected {
                from_before += 1;
            }
            let _ = ws.close(None).await;
            // Somewhere else in the GOP next time.
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        from_before
    });
    // (A key frame that arrives just as a viewer connects is the only exception.)
    assert!(
        from_before >= 4,
        "only {from_before} of 5 views started from a frame received before they connected"
    );
    assert!(rec.terminate());
}
