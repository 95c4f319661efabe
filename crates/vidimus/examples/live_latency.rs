//! Live-view latency probe, used by `bench/live`.
//!
//! Opens N WebSocket viewers of one camera for S seconds and measures, for every
//! fragment, (a) the time from the frame leaving the simulated camera (the send-time SEI
//! that `vidimus simcam --stamp` puts in every frame) to the viewer holding its
//! fragment, and (b) the part of that from the recorder receiving the frame (the
//! fragment's `prft` box). Prints p50/p99/max in milliseconds.
//!
//! `PATH` (default `live`) is the view under `/api/cameras/{id}/`: `bench/anonymize-live`
//! opens `live/anonymized?recipient=…` with it. Also prints the fragments per second
//! each viewer got.
//!
//! Usage: live_latency PORT COOKIE CAMERA_ID VIEWERS SECONDS [PATH]

use futures::StreamExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn now_90k() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    d.as_secs() as i64 * 90_000 + i64::from(d.subsec_nanos()) * 9 / 100_000
}

/// The prft NTP timestamp at the start of a live fragment, as 90 kHz Unix time.
fn prft_90k(b: &[u8]) -> Option<i64> {
    if b.len() < 24 || &b[4..8] != b"prft" {
        return None;
    }
    let ntp = u64::from_be_bytes(b[16..24].try_into().ok()?);
    Some(vidimus_media::fmp4::unix_90k_from_ntp(ntp))
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 6 && a.len() != 7 {
        eprintln!("usage: live_latency PORT COOKIE CAMERA_ID VIEWERS SECONDS [PATH]");
        std::process::exit(2);
    }
    let path = a.get(6).cloned().unwrap_or_else(|| "live".to_owned());
    let (port, cookie, camera) = (a[1].clone(), a[2].clone(), a[3].clone());
    let viewers: usize = a[4].parse().unwrap();
    let secs: f64 = a[5].parse().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..viewers {
        let (port, cookie, camera, path) =
            (port.clone(), cookie.clone(), camera.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = format!("ws://127.0.0.1:{port}/api/cameras/{camera}/{path}")
                .into_client_request()
                .unwrap();
            req.headers_mut().insert("cookie", cookie.parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req)
                .await
                .expect("connect");
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut lat = Vec::new();
            let mut e2e = Vec::new();
            let mut skips = 0;
            while let Ok(Some(Ok(m))) = tokio::time::timeout_at(end.into(), ws.next()).await {
                match m {
                    Message::Binary(b) => {
                        let now = now_90k();
                        if let Some(t) = prft_90k(&b) {
                            lat.push((now - t) as f64 / 90.0);
                        }
                        if let Some(us) = vidimus_simcam::find_send_time(&b) {
                            e2e.push((now as f64 / 90.0) - us as f64 / 1000.0);
                        }
                    }
                    Message::Text(t) if t.contains("skip") => skips += 1,
                    _ => {}
                }
            }
            (lat, e2e, skips)
        }));
    }
    let (mut all, mut all_e2e) = (Vec::new(), Vec::new());
    let (mut min_frames, mut skips) = (usize::MAX, 0);
    for t in tasks {
        let (l, e, s) = t.await.unwrap();
        min_frames = min_frames.min(l.len());
        skips += s;
        all.extend(l);
        all_e2e.extend(e);
    }
    println!(
        "{path}: viewers={viewers} fragments={} min_per_viewer={min_frames} ({:.1}/s) skips={skips} camera->viewer: {} | recorder->viewer: {}",
        all.len(),
        min_frames as f64 / secs,
        if all_e2e.is_empty() {
            "n/a (simcam without --stamp)".to_owned()
        } else {
            summary(&mut all_e2e)
        },
        summary(&mut all)
    );
}

/// p50/p99/max of latencies in milliseconds.
fn summary(v: &mut [f64]) -> String {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    format!(
        "p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        q(0.5),
        q(0.99),
        v.last().copied().unwrap_or(f64::NAN)
    )
}
