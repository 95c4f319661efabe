//! The masked live view (Art. 10, 30): for a camera with a static privacy mask and a
//! viewer whose grant does not lift it, the camera's frames never reach the browser as
//! recorded. A thread decodes each frame, burns the mask in (solid black) and encodes
//! it again as H.264; the WebSocket carries the same messages as the plain live view
//! (`live`), with the output's own init segment. It runs only while someone watches,
//! one per viewer, and counts against the server's transcoding capacity.
//!
//! A viewer that cannot keep up, or a transcode that falls behind the camera, loses
//! frames up to the next key frame (`{"type":"skip"}`), never the mask.
//!
//! The same machinery serves the live anonymized feed (`anonymized`): there the
//! transcoder also runs the anonymizer as a stage, and a skip starts a new transcoder
//! (and init segment) at the next key frame, so that the anonymizer detects afresh
//! instead of following faces across the gap.

use crate::handout::{Handout, Stop};
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
pub const IN_QUEUE: usize = 64;
/// Messages waiting for the socket.
const OUT_QUEUE: usize = 16;
/// Receive times kept for frames inside the transcoder (a stage holds a few).
const RECEIVED_KEPT: usize = 256;

/// Makes the transcoder a stream starts (or starts again) with.
pub type MakeTranscoder =
    Box<dyn FnMut(&StreamParams, &Ffmpeg) -> Result<Transcoder, String> + Send>;

/// How a live view is decoded and encoded again.
pub struct Reencoding {
    pub make: MakeTranscoder,
    /// A skip starts a new transcoder at the next key frame (else the one there is
    /// goes on).
    pub restart_after_skip: bool,
    /// Frames that may wait for the transcoder before the view skips to the next key
    /// frame: the most it lags behind the camera (at 25 frames/s, 64 are 2.6 s).
    pub queue: usize,
    /// What the view is, for the log.
    pub what: &'static str,
}

impl Reencoding {
    /// The camera's privacy mask burned in.
    pub fn masked(mask: PrivacyMask) -> Self {
        Reencoding {
            make: Box::new(move |params, ffmpeg| {
                Transcoder::for_sample_entry(
                    &params.sample_entry,
                    ffmpeg,
                    EncoderSettings::default(),
                    None,
                    Box::new(|_| Vec::new()),
                )
                .map(|t| t.with_mask(MaskBurner::new(mask.clone())))
                .map_err(|e| e.to_string())
            }),
            restart_after_skip: false,
            queue: IN_QUEUE,
            what: "masked live view",
        }
    }
}

/// Streams a camera's live frames, decoded and encoded again as `reencode` says,
/// until the viewer goes, the camera's channel closes or the hand-out must stop;
/// returns the bytes sent and how it ended.
pub async fn live(
    mut socket: WebSocket,
    sub: LiveSubscription,
    camera: i64,
    user: String,
    mut handout: Handout,
    reencode: Reencoding,
) -> (u64, &'static str) {
    let what = reencode.what;
    let LiveSubscription { gop, mut rx } = sub;
    let mut gop = gop.into_iter();
    let mut sent = 0u64;
    let waiting = Message::Text(r#"{"type":"status","status":"waiting"}"#.into());
    match send(&mut socket, &mut handout, waiting).await {
        Sent::Ok => {}
        Sent::Gone(how) => return (sent, how),
        Sent::Stop(why) => return (sent, crate::live::end_view(socket, why).await),
    }
    let (in_tx, in_rx) = mpsc::channel::<(Arc<LiveFrame>, bool)>(reencode.queue.max(1));
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(OUT_QUEUE);
    let worker = crate::background::below_recording("live transcode", move || {
        transcode(reencode, in_rx, out_tx)
    });
    let mut waiting_for_key = true;
    // Frames were lost since the last one sent to the transcoder.
    let mut gap = false;
    // Ok(how it ended), or Err(why the hand-out must stop).
    let ended: Result<&'static str, Stop> = loop {
        let frame = if let Some(f) = gop.next() {
            Some(Ok(f))
        } else {
            tokio::select! {
                biased;
                why = handout.wait() => break Err(why),
                o = out_rx.recv() => {
                    let msg = match o {
                        Some(Out::Text(t)) => Message::Text(t.into()),
                        Some(Out::Binary(b)) => {
                            sent += b.len() as u64;
                            Message::Binary(b.into())
                        }
                        Some(Out::Failed(e)) => {
                            tracing::error!(error = %e, camera_id = camera, what, "live transcode failed");
                            let msg = serde_json::json!({"type": "end", "reason": "failed", "error": e}).to_string();
                            let _ = send(&mut socket, &mut handout, Message::Text(msg.into())).await;
                            break Ok("failed");
                        }
                        Some(Out::End(_)) | None => break Ok("failed"),
                    };
                    match send(&mut socket, &mut handout, msg).await {
                        Sent::Ok => {}
                        Sent::Gone(why) => break Ok(why),
                        Sent::Stop(why) => break Err(why),
                    }
                    None
                }
                r = rx.recv() => Some(r),
                m = socket.recv() => match m {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break Ok("client closed"),
                    Some(Ok(_)) => None,
                },
            }
        };
        let Some(frame) = frame else { continue };
        let skipped = match frame {
            Ok(f) => {
                if waiting_for_key && !f.is_key {
                    continue;
                }
                waiting_for_key = false;
                if in_tx.try_send((f, std::mem::take(&mut gap))).is_ok() {
                    continue;
                }
                // The transcoder is behind: drop to the next key frame.
                1
            }
            Err(RecvError::Lagged(n)) => n,
            Err(RecvError::Closed) => break Ok("client closed"),
        };
        waiting_for_key = true;
        gap = true;
        let msg = format!(r#"{{"type":"skip","frames":{skipped}}}"#);
        match send(&mut socket, &mut handout, Message::Text(msg.into())).await {
            Sent::Ok => {}
            Sent::Gone(why) => break Ok(why),
            Sent::Stop(why) => break Err(why),
        }
    };
    // Both queues dropped first: the thread may be waiting on either.
    drop(in_tx);
    drop(out_rx);
    let _ = worker.await;
    match ended {
        Ok(how) => {
            tracing::info!(%user, camera_id = camera, what, how, "live view closed");
            (sent, how)
        }
        Err(why) => {
            tracing::info!(%user, camera_id = camera, reason = why.as_str(), what, "live view ended");
            (sent, crate::live::end_view(socket, why).await)
        }
    }
}

/// How long a viewer may take to accept one message: a client that stops reading
/// (or reads a byte a minute) is let go, rather than holding its transcoder — and,
/// for an anonymized feed, the server's one anonymizer.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How a send went.
enum Sent {
    Ok,
    /// The client is gone, or too slow: how the view ended.
    Gone(&'static str),
    /// The hand-out must stop (before the message was sent).
    Stop(Stop),
}

/// Sends `msg` unless the hand-out must stop first, within [`SEND_TIMEOUT`].
async fn send(socket: &mut WebSocket, handout: &mut Handout, msg: Message) -> Sent {
    tokio::select! {
        biased;
        why = handout.wait() => Sent::Stop(why),
        r = tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)) => match r {
            Ok(Ok(())) => Sent::Ok,
            Ok(Err(_)) => Sent::Gone("client closed"),
            Err(_) => Sent::Gone("client too slow"),
        },
    }
}

/// The transcoding thread: live frames in (each with whether frames were lost just
/// before it), fMP4 messages out. A new stream (the camera's parameters changed), or
/// a skip when `restart_after_skip`, starts a new transcoder at its key frame, and the
/// viewer gets a new init segment.
fn transcode(
    mut reencode: Reencoding,
    mut rx: mpsc::Receiver<(Arc<LiveFrame>, bool)>,
    tx: mpsc::Sender<Out>,
) {
    let ffmpeg = Ffmpeg::find();
    struct Current {
        params: Arc<StreamParams>,
        tr: Transcoder,
        muxer: Muxer,
        base: i64,
        last_pts: Option<i64>,
        /// When the recorder received each frame given to the transcoder and not yet
        /// encoded, by pts (for the fragments' `prft`, as in the plain live view).
        received: std::collections::VecDeque<(i64, vidimus_core::time::Wall90k)>,
    }
    let mut cur: Option<Current> = None;
    while let Some((f, after_gap)) = rx.blocking_recv() {
        let new = (after_gap && reencode.restart_after_skip)
            || cur
                .as_ref()
                .is_none_or(|c| !Arc::ptr_eq(&c.params, &f.params) && *c.params != *f.params);
        if new {
            // What the old transcoder still holds is dropped, never sent.
            cur = None;
            if !f.is_key {
                continue;
            }
            let tr = match (reencode.make)(&f.params, &ffmpeg) {
                Ok(t) => t,
                Err(e) => {
                    let _ = tx.blocking_send(Out::Failed(e));
                    return;
                }
            };
            cur = Some(Current {
                params: f.params.clone(),
                tr,
                muxer: Muxer::new(f.params.width, f.params.height),
                base: f.ts,
                last_pts: None,
                received: Default::default(),
            });
        }
        let c = cur.as_mut().expect("set above");
        let au = AccessUnit {
            data: &f.data,
            framing: NalFraming::LengthPrefixed(4),
            pts: (f.ts - c.base).max(0),
        };
        if c.received.len() >= RECEIVED_KEPT {
            c.received.pop_front();
        }
        c.received.push_back((au.pts, f.received));
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
            let wall = match c.received.iter().position(|(p, _)| *p == e.pts) {
                Some(i) => c.received[i].1,
                None => vidimus_core::time::Wall90k::from_system(std::time::SystemTime::now()),
            };
            // This frame's and those presented before it (encoded, or withheld by a
            // stage) are done with.
            c.received.retain(|(p, _)| *p > e.pts);
            for o in c.muxer.frame_at(&c.tr, &e, duration, wall) {
                if tx.blocking_send(o).is_err() {
                    return;
                }
            }
        }
    }
}

/// The longest masked copy made at once (it is decoded and encoded again, in memory).
pub const MAX_COPY_SECS: i64 = 300;

/// A masked copy (Art. 10, 30): the export of a masked camera for someone whose grant
/// does not lift the mask. The recorded range is decoded, the mask burned into every
/// picture and the pictures encoded again into a new MP4 that carries nothing of the
/// recording but those pictures, and in its metadata whom it was made for, under which
/// grant, and that it is masked. Registered (with the copy's SHA-256) before the first
/// byte; the download is watched like any other.
#[allow(clippy::too_many_arguments)]
pub async fn export(
    state: &crate::AppState,
    user: &crate::auth::AuthUser,
    mut granted: crate::grants::Authorized,
    camera_id: i64,
    from: vidimus_core::time::Wall90k,
    to: vidimus_core::time::Wall90k,
    export_id: String,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use axum::http::{HeaderValue, StatusCode, header};
    use sha2::Digest;
    let mask = granted.mask.clone().expect("a masked camera");
    if to.0 - from.0 > MAX_COPY_SECS * 90_000 {
        let e = crate::error::ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "masked_copy_too_long",
            format!(
                "camera {:?} has privacy masks: its export is a masked copy, decoded and encoded again, of at most {MAX_COPY_SECS} s at once; ask for a shorter range",
                granted.camera
            ),
        );
        granted.register_failed(state, &e.message).await;
        return Err(e);
    }
    let prepared =
        match crate::api::prepare_granted(state, camera_id, from, to, granted.within).await {
            Ok(p) => p,
            Err(e) => {
                granted.register_failed(state, &e.message).await;
                return Err(e);
            }
        };
    let (mut granted, handout) = granted.watch(state, true).await?;
    let metadata = serde_json::json!({
        "vidimus": "masked copy",
        "camera": granted.camera,
        "from": from.to_string(),
        "to": to.to_string(),
        "export_id": export_id,
        "request_id": granted.request_id,
        "grant_id": granted.grant_id,
        "user": user.username,
        "privacy_mask": mask,
        "derived": "decoded, privacy masks burned in, encoded again; not the recorded bytes",
    })
    .to_string();
    let files = state.files.clone();
    let stop = handout.stop_signal();
    let made = crate::background::below_recording("masked copy", move || {
        copy(&prepared, &files, mask, &metadata, &|| {
            stop.borrow().is_some()
        })
    })
    .await
    .map_err(crate::error::ApiError::internal)?;
    let (mp4, frames) = match made {
        Ok(m) => m,
        Err(e) => {
            granted.register_failed(state, &e).await;
            return Err(crate::error::ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "masked_copy_failed",
                format!("the masked copy could not be made: {e}"),
            ));
        }
    };
    let sha: String = sha2::Sha256::digest(&mp4)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let len = mp4.len() as u64;
    granted
        .register(
            state,
            serde_json::json!({"outcome": "served", "served": {
                "masked_copy": {"sha256": sha, "bytes": len, "frames": frames}}}),
        )
        .await?;
    let leaf = granted.leaf_index;
    tracing::info!(user = %user.username, camera_id, %from, %to, bytes = len, grant = granted.grant_id, "masked copy served");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let body = bytes::Bytes::from(mp4);
    tokio::spawn(async move {
        for chunk in body.chunks(1 << 20) {
            if tx.send(Ok(body.slice_ref(chunk))).await.is_err() {
                break;
            }
        }
    });
    let ending = crate::grants::HandoutEnd::new(state, granted, len);
    let stream = crate::grants::guarded_body(rx, handout, ending);
    let mut r = axum::response::Response::new(axum::body::Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert("x-vidimus-register-entry", HeaderValue::from(leaf));
    h.insert(
        "x-vidimus-masked-copy-sha256",
        HeaderValue::from_str(&sha).map_err(crate::error::ApiError::internal)?,
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "attachment; filename=\"camera{camera_id}_{}_masked.mp4\"",
            from.unix_millis()
        ))
        .map_err(crate::error::ApiError::internal)?,
    );
    Ok(r)
}

/// Decodes the planned samples, burns the mask in, encodes: the new MP4 (with
/// `metadata` in it) and its frame count. `stopped` is asked before each sample; when
/// it answers yes, nothing is made. Used by the server's masked copies and by
/// `vidimus export` of a masked camera.
pub fn copy(
    prepared: &vidimus_store::export::PreparedExport,
    files: &vidimus_store::SegmentFiles,
    mask: PrivacyMask,
    metadata: &str,
    stopped: &dyn Fn() -> bool,
) -> Result<(Vec<u8>, usize), String> {
    let ffmpeg = Ffmpeg::find();
    let start = prepared.samples.start_90k;
    let mut tr: Option<(usize, Transcoder)> = None;
    let mut encoded = Vec::new();
    let mut failure = None;
    let mut was_stopped = false;
    vidimus_store::export::read_samples(prepared, files, |s| {
        if stopped() {
            was_stopped = true;
            return Ok(false);
        }
        if tr.as_ref().is_none_or(|(e, _)| *e != s.sample_entry) {
            if tr.is_some() {
                failure = Some("the camera's stream parameters change inside the range: export the parts before and after separately".to_owned());
                return Ok(false);
            }
            match Transcoder::for_sample_entry(
                &prepared.samples.entries[s.sample_entry],
                &ffmpeg,
                EncoderSettings::default(),
                None,
                Box::new(|_| Vec::new()),
            ) {
                Ok(t) => tr = Some((s.sample_entry, t.with_mask(MaskBurner::new(mask.clone())))),
                Err(e) => {
                    failure = Some(e.to_string());
                    return Ok(false);
                }
            }
        }
        let (_, t) = tr.as_mut().expect("opened above");
        let au = AccessUnit {
            data: &s.data,
            framing: NalFraming::LengthPrefixed(4),
            pts: s.media_90k - start,
        };
        match t.push(&au) {
            Ok(f) => {
                encoded.extend(f);
                Ok(true)
            }
            Err(e) => {
                failure = Some(e.to_string());
                Ok(false)
            }
        }
    })
    .map_err(|e| e.to_string())?;
    if let Some(e) = failure {
        return Err(e);
    }
    if was_stopped {
        return Err(
            "the hand-out was stopped (grant revoked or expired, or the server stopping)".into(),
        );
    }
    let (_, mut t) = tr.ok_or("no recorded picture in the range")?;
    encoded.extend(t.finish().map_err(|e| e.to_string())?);
    let ps = t
        .parameter_sets()
        .cloned()
        .ok_or("no picture was encoded")?;
    let (w, h) = (prepared.samples.width, prepared.samples.height);
    let frames = encoded.len();
    let mp4 = vidimus_codec::mp4::write(&ps, &encoded, w, h, metadata.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok((mp4, frames))
}
