//! Live-view latency probe, used by `bench/live`.
//!
//! Opens N WebSocket viewers of one camera for S seconds and measures, for every
//! fragment, the time from when the recorder received the frame (the fragment's `prft`
//! box) to when the viewer has it. Prints p50/p99/max in milliseconds and the frames
//! each viewer got.
//!
//! Usage: live_latency PORT COOKIE CAMERA_ID VIEWERS SECONDS

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
    if a.len() != 6 {
        eprintln!("usage: live_latency PORT COOKIE CAMERA_ID VIEWERS SECONDS");
        std::process::exit(2);
    }
    let (port, cookie, camera) = (a[1].clone(), a[2].clone(), a[3].clone());
    let viewers: usize = a[4].parse().unwrap();
    let secs: f64 = a[5].parse().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..viewers {
        let (port, cookie, camera) = (port.clone(), cookie.clone(), camera.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = format!("ws://127.0.0.1:{port}/api/cameras/{camera}/live")
                .into_client_request()
                .unwrap();
            req.headers_mut().insert("cookie", cookie.parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req)
                .await
                .expect("connect");
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut lat = Vec::new();
            let mut skips = 0;
            while let Ok(Some(Ok(m))) = tokio::time::timeout_at(end.into(), ws.next()).await {
                match m {
                    Message::Binary(b) => {
                        if let Some(t) = prft_90k(&b) {
                            lat.push((now_90k() - t) as f64 / 90.0);
                        }
                    }
                    Message::Text(t) if t.contains("skip") => skips += 1,
                    _ => {}
                }
            }
            (lat, skips)
        }));
    }
    let mut all = Vec::new();
    let (mut min_frames, mut skips) = (usize::MAX, 0);
    for t in tasks {
        let (l, s) = t.await.unwrap();
        min_frames = min_frames.min(l.len());
        skips += s;
        all.extend(l);
    }
    all.sort_by(f64::total_cmp);
    let q = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "viewers={viewers} fragments={} min_per_viewer={min_frames} skips={skips} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        all.len(),
        q(0.5),
        q(0.99),
        all.last().copied().unwrap_or(f64::NAN)
    );
}
