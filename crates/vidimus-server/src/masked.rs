//! The masked live view (Art. 10, 30): for a camera with a static privacy mask and a
//! viewer whose grant does not lift it, the camera's frames never reach the browser as
//! recorded. A thread decodes each frame, burns the mask in (solid black) and encodes
//! it again as H.264; the WebSocket carries the same messages as the plain live view
//! (`live`), with the output's own init segment. It runs only while someone watches,
//! one per viewer, and counts against the server's transcoding capacity.
//!
//! A viewer that cannot keep up, or a transcode that falls behind the camera, loses
//! frames up to the next key frame (`{"type":"skip"}`), never the mask.

use crate::handout::Handout;
use crate::view::{Muxer, Out};
use axum::extract::ws::{Message, WebSocket};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use vidimus_codec::{AccessUnit, EncoderSettings, Ffmpeg, MaskBurner, NalFraming, Transcoder};
use vidimus_core::privacy::PrivacyMask;
use vidimus_recorder::live::{LiveFrame, LiveSubscription};
use vidimus_recorder::segmenter::StreamParams;

/// Frames waiting for the transcoder (room for the current GOP a view starts with);
/// more and the view skips to the next key frame.
const IN_QUEUE: usize = 64;
/// Messages waiting for the socket.
const OUT_QUEUE: usize = 16;

/// Streams a camera's live frames with the mask burned in until the viewer goes, the
/// camera's channel closes or the hand-out must stop; returns the bytes sent and how
/// it ended.
pub async fn live(
    mut socket: WebSocket,
    sub: LiveSubscription,
    camera: i64,
    user: String,
    mut handout: Handout,
    mask: PrivacyMask,
) -> (u64, &'static str) {
    let LiveSubscription { gop, mut rx } = sub;
    let mut gop = gop.into_iter();
    let mut sent = 0u64;
    if socket
        .send(Message::Text(
            r#"{"type":"status","status":"waiting"}"#.into(),
        ))
        .await
        .is_err()
    {
        return (sent, "client closed");
    }
    let (in_tx, in_rx) = mpsc::channel::<Arc<LiveFrame>>(IN_QUEUE);
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(OUT_QUEUE);
    let worker = tokio::task::spawn_blocking(move || transcode(mask, in_rx, out_tx));
    let mut waiting_for_key = true;
    let ended = loop {
        let frame = if let Some(f) = gop.next() {
            Some(Ok(f))
        } else {
            tokio::select! {
                biased;
                why = handout.wait() => {
                    drop(in_tx);
                    let _ = worker.await;
                    tracing::info!(%user, camera_id = camera, reason = why.as_str(), "masked live view ended");
                    return (sent, crate::live::end_view(socket, why).await);
                }
                o = out_rx.recv() => {
                    let msg = match o {
                        Some(Out::Text(t)) => Message::Text(t.into()),
                        Some(Out::Binary(b)) => {
                            sent += b.len() as u64;
                            Message::Binary(b.into())
                        }
                        Some(Out::Failed(e)) => {
                            tracing::error!(error = %e, camera_id = camera, "masked live transcode failed");
                            let msg = serde_json::json!({"type": "end", "reason": "failed", "error": e}).to_string();
                            let _ = socket.send(Message::Text(msg.into())).await;
                            break "failed";
                        }
                        Some(Out::End(_)) | None => break "failed",
                    };
                    let ok = tokio::select! {
                        biased;
                        why = handout.wait() => {
                            drop(in_tx);
                            let _ = worker.await;
                            return (sent, crate::live::end_view(socket, why).await);
                        }
                        r = socket.send(msg) => r.is_ok(),
                    };
                    if !ok {
                        break "client closed";
                    }
                    None
                }
                r = rx.recv() => Some(r),
                m = socket.recv() => match m {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break "client closed",
                    Some(Ok(_)) => None,
                },
            }
        };
        let Some(frame) = frame else { continue };
        let f = match frame {
            Ok(f) => f,
            Err(RecvError::Lagged(n)) => {
                waiting_for_key = true;
                let msg = format!(r#"{{"type":"skip","frames":{n}}}"#);
                if socket.send(Message::Text(msg.into())).await.is_err() {
                    break "client closed";
                }
                continue;
            }
            Err(RecvError::Closed) => break "client closed",
        };
        if waiting_for_key && !f.is_key {
            continue;
        }
        waiting_for_key = false;
        if in_tx.try_send(f).is_err() {
            // The transcoder is behind: drop to the next key frame.
            waiting_for_key = true;
            let msg = r#"{"type":"skip","frames":1}"#;
            if socket.send(Message::Text(msg.into())).await.is_err() {
                break "client closed";
            }
        }
    };
    drop(in_tx);
    drop(out_rx);
    let _ = worker.await;
    tracing::info!(%user, camera_id = camera, "masked live view closed");
    (sent, ended)
}

/// The transcoding thread: live frames in, masked H.264 fMP4 messages out. A new
/// stream (the camera's parameters changed) starts a new decoder at its key frame,
/// and the viewer gets a new init segment.
fn transcode(mask: PrivacyMask, mut rx: mpsc::Receiver<Arc<LiveFrame>>, tx: mpsc::Sender<Out>) {
    let ffmpeg = Ffmpeg::find();
    struct Current {
        params: Arc<StreamParams>,
        tr: Transcoder,
        muxer: Muxer,
        base: i64,
        last_pts: Option<i64>,
    }
    let mut cur: Option<Current> = None;
    while let Some(f) = rx.blocking_recv() {
        let new = cur
            .as_ref()
            .is_none_or(|c| !Arc::ptr_eq(&c.params, &f.params) && *c.params != *f.params);
        if new {
            if !f.is_key {
                continue;
            }
            let tr = match Transcoder::for_sample_entry(
                &f.params.sample_entry,
                &ffmpeg,
                EncoderSettings::default(),
                None,
                Box::new(|_| Vec::new()),
            ) {
                Ok(t) => t.with_mask(MaskBurner::new(mask.clone())),
                Err(e) => {
                    let _ = tx.blocking_send(Out::Failed(e.to_string()));
                    return;
                }
            };
            cur = Some(Current {
                params: f.params.clone(),
                tr,
                muxer: Muxer::new(f.params.width, f.params.height),
                base: f.ts,
                last_pts: None,
            });
        }
        let c = cur.as_mut().expect("set above");
        let au = AccessUnit {
            data: &f.data,
            framing: NalFraming::LengthPrefixed(4),
            pts: (f.ts - c.base).max(0),
        };
        let frames = match c.tr.push(&au) {
            Ok(frames) => frames,
            Err(e) => {
                let _ = tx.blocking_send(Out::Failed(e.to_string()));
                return;
            }
        };
        for e in frames {
            let duration = c
                .last_pts
                .map(|p| u32::try_from(e.pts - p).unwrap_or(3600).max(1))
                .unwrap_or(3600);
            c.last_pts = Some(e.pts);
            for o in c.muxer.frame(&c.tr, &e, duration) {
                if tx.blocking_send(o).is_err() {
                    return;
                }
            }
        }
    }
}
