//! Live-view start time, used by `bench/access`: opens N WebSocket viewers one after
//! another and measures, for each, the time from connecting to the first message
//! (sent right after the access gate allowed the upgrade and registered it) and to the
//! first video fragment (which waits for the camera's next key frame). Prints p50/p99
//! in milliseconds.
//!
//! Usage: live_start PORT COOKIE CAMERA_ID N

use futures::StreamExt;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn pct(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 5 {
        eprintln!("usage: live_start PORT COOKIE CAMERA_ID N");
        std::process::exit(2);
    }
    let n: usize = a[4].parse().unwrap();
    let (mut first, mut video) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let mut req = format!("ws://127.0.0.1:{}/api/cameras/{}/live", a[1], a[3])
            .into_client_request()
            .unwrap();
        req.headers_mut().insert("cookie", a[2].parse().unwrap());
        let t = Instant::now();
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        let mut got_first = false;
        while let Some(Ok(m)) = ws.next().await {
            if !got_first {
                first.push(t.elapsed().as_secs_f64() * 1000.0);
                got_first = true;
            }
            if matches!(m, Message::Binary(_)) {
                video.push(t.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        let _ = ws.close(None).await;
    }
    let (f50, f99) = pct(first);
    let (v50, v99) = pct(video);
    println!("live start, to first message (after the gate): p50_ms={f50:.2} p99_ms={f99:.2}");
    println!(
        "live start, to first video fragment (next key frame): p50_ms={v50:.1} p99_ms={v99:.1}"
    );
}
