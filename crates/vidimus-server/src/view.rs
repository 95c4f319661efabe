//! View-only playback (Art. 35): an interested party may watch recorded video, never
//! copy it. No file is served under a view-only grant; the recorded video is decoded,
//! a visible watermark is burned into the pixels — who watches, their organisation,
//! the request, the time of viewing and of recording — and it is re-encoded and
//! streamed over a WebSocket as fMP4 fragments for Media Source Extensions, the way
//! live video is. A screen can always be filmed; the watermark makes such a reshoot
//! traceable to its register entry.
//!
//! `GET /api/cameras/{id}/view?from=&to=&grant=` upgrades to a WebSocket and sends
//! text `{"type":"init","codec":…,"width":…,"height":…}`, the binary init segment,
//! one binary fragment per frame, and text `{"type":"end","reason":…}`. The stream is
//! paced to at most [`AHEAD`] in front of real time, so a viewer costs about one
//! real-time transcode. Anyone with `view_recorded` may use it; view-only grants may
//! use nothing else. The watermark is drawn under view-only grants only; a camera's
//! privacy mask is burned in (before the watermark) for every grant that does not
//! lift it (`unmask`), which makes this stream the recorded playback of masked
//! cameras too.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::handout::Stop;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use vidimus_codec::{AccessUnit, EncoderSettings, Ffmpeg, NalFraming, Transcoder, WatermarkText};
use vidimus_core::time::Wall90k;
use vidimus_media::fmp4::{InitParams, Sample, fragment_header, init_segment};

/// How far the stream may run ahead of real time.
pub const AHEAD: Duration = Duration::from_secs(3);

/// Which range, under which grant.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ViewQuery {
    /// Start (RFC 3339 with an offset, or Unix seconds).
    pub from: String,
    /// End (exclusive).
    pub to: String,
    /// The grant (case) the viewing is made under; needed when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
}

/// What a transcoding thread hands the socket.
pub(crate) enum Out {
    Text(String),
    Binary(Vec<u8>),
    End(&'static str),
    Failed(String),
}

/// Plays back a range as a watermarked stream (WebSocket).
#[utoipa::path(get, path = "/api/cameras/{id}/view", params(("id" = i64, Path,), ViewQuery),
    responses((status = 101, description = "WebSocket: init message and segment, then one watermarked fMP4 fragment per frame"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn view(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
    _origin: crate::live::SameOrigin,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let id = crate::api::camera_id(&id)?;
    let (from, to) = crate::api::RangeQuery {
        from: q.from,
        to: q.to,
        grant: q.grant,
    }
    .parse(vidimus_store::export::MAX_EXPORT)?;
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: vidimus_access::request::Action::ViewRecorded,
            camera_id: id,
            from,
            to,
            whereabouts: None,
            grant_id: q.grant,
            export_id: None,
        },
    )
    .await?;
    let prepared = crate::api::prepare_granted(&state, id, from, to, granted.within).await;
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            granted.register_failed(&state, &e.message).await;
            return Err(e);
        }
    };
    let (mut granted, handout) = granted.watch(&state, true).await?;
    // View-only grants (Art. 35) get the watermark; a masked camera its mask (Art. 10,
    // 30) whoever watches, unless the grant lifts it.
    let stream_kind = match (granted.view_only, granted.mask.is_some()) {
        (true, true) => "watermarked, masked",
        (true, false) => "watermarked",
        (false, true) => "masked",
        (false, false) => "transcoded",
    };
    granted
        .register(
            &state,
            serde_json::json!({"outcome": "served", "served": {"stream": stream_kind, "frames": prepared.plan.samples}}),
        )
        .await?;
    let org = granted.entry["org"].as_str().unwrap_or("").to_owned();
    let mark = granted.view_only.then(|| {
        format!(
            "VIEW ONLY - {} ({org}) - request #{}",
            user.username, granted.request_id
        )
    });
    let mask = granted.mask.clone();
    tracing::info!(user = %user.username, camera_id = id, grant = granted.grant_id, "view-only playback opened");
    let end = crate::grants::LiveEnd::new(&state, granted);
    let files = state.files.clone();
    Ok(ws.on_upgrade(move |socket| async move {
        let (bytes, ended) = stream(socket, files, prepared, mark, mask, handout).await;
        end.finish(bytes, &ended).await;
    }))
}

/// Transcodes on a blocking thread and sends what it makes until done, the viewer
/// goes or the hand-out must stop; returns the bytes sent and how it ended.
async fn stream(
    mut socket: WebSocket,
    files: vidimus_store::SegmentFiles,
    prepared: vidimus_store::export::PreparedExport,
    mark: Option<String>,
    mask: Option<vidimus_core::privacy::PrivacyMask>,
    mut handout: crate::handout::Handout,
) -> (u64, String) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Out>(8);
    let stop = handout.stop_signal();
    let worker = crate::background::below_recording("view-only transcode", move || {
        transcode(&prepared, &files, mark, mask, &tx, &stop)
    });
    let mut sent = 0u64;
    let ended = loop {
        let out = tokio::select! {
            biased;
            why = handout.wait() => {
                let reason = why.as_str();
                let msg = format!(r#"{{"type":"end","reason":"{reason}"}}"#);
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = socket.send(Message::Text(msg.into())).await;
                    let _ = socket.send(Message::Close(Some(axum::extract::ws::CloseFrame {
                        code: 1008,
                        reason: reason.into(),
                    }))).await;
                }).await;
                break reason.to_owned();
            }
            m = socket.recv() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break "client closed".to_owned(),
                Some(Ok(_)) => continue,
            },
            o = rx.recv() => o,
        };
        let msg = match out {
            Some(Out::Text(t)) => Message::Text(t.into()),
            Some(Out::Binary(b)) => {
                sent += b.len() as u64;
                Message::Binary(b.into())
            }
            Some(Out::End(reason)) => {
                let msg = format!(r#"{{"type":"end","reason":"{reason}"}}"#);
                let _ = socket.send(Message::Text(msg.into())).await;
                let _ = socket.send(Message::Close(None)).await;
                break reason.to_owned();
            }
            Some(Out::Failed(e)) => {
                tracing::error!(error = %e, "view-only transcode failed");
                let msg =
                    serde_json::json!({"type": "end", "reason": "failed", "error": e}).to_string();
                let _ = socket.send(Message::Text(msg.into())).await;
                break "failed".to_owned();
            }
            None => break "completed".to_owned(),
        };
        let ok = tokio::select! {
            biased;
            why = handout.wait() => break why.as_str().to_owned(),
            r = socket.send(msg) => r.is_ok(),
        };
        if !ok {
            break "client closed".to_owned();
        }
    };
    drop(rx);
    let _ = worker.await;
    (sent, ended)
}

/// The transcoding thread: recorded samples → watermarked H.264 → fMP4 messages.
fn transcode(
    prepared: &vidimus_store::export::PreparedExport,
    files: &vidimus_store::SegmentFiles,
    mark: Option<String>,
    mask: Option<vidimus_core::privacy::PrivacyMask>,
    tx: &tokio::sync::mpsc::Sender<Out>,
    stop: &tokio::sync::watch::Receiver<Option<Stop>>,
) {
    let send = |o: Out| tx.blocking_send(o).is_ok();
    let start = prepared.samples.start_90k;
    let ffmpeg = Ffmpeg::find();
    let began = Instant::now();
    let mut tr: Option<(usize, Transcoder)> = None;
    let mut durations: HashMap<i64, u32> = HashMap::new();
    let mut muxer = Muxer::new(prepared.samples.width, prepared.samples.height);
    let mut failure: Option<String> = None;
    let emit = |muxer: &mut Muxer,
                tr: &Transcoder,
                frames: Vec<vidimus_codec::EncodedFrame>,
                durations: &mut HashMap<i64, u32>|
     -> bool {
        for f in frames {
            let duration = durations.remove(&f.pts).unwrap_or(3600);
            for o in muxer.frame(tr, &f, duration) {
                if !send(o) {
                    return false;
                }
            }
            // Pace: never more than AHEAD in front of real time.
            let ahead = Duration::from_secs_f64(f.pts.max(0) as f64 / 90_000.0)
                .saturating_sub(began.elapsed());
            if ahead > AHEAD {
                std::thread::sleep(ahead - AHEAD);
            }
        }
        true
    };
    let r = vidimus_store::export::read_samples(prepared, files, |s| {
        if stop.borrow().is_some() {
            return Ok(false);
        }
        if tr.as_ref().is_none_or(|(e, _)| *e != s.sample_entry) {
            let mark = mark.clone();
            let text: WatermarkText = Box::new(move |f: &vidimus_codec::Frame| {
                let Some(mark) = &mark else {
                    return Vec::new();
                };
                let now = Wall90k::from_system(std::time::SystemTime::now());
                vec![
                    mark.clone(),
                    format!("viewed {now}"),
                    format!("recorded {}", Wall90k(start + f.pts)),
                ]
            });
            match Transcoder::for_sample_entry(
                &prepared.samples.entries[s.sample_entry],
                &ffmpeg,
                EncoderSettings::default(),
                None,
                text,
            ) {
                Ok(t) => {
                    let t = match &mask {
                        Some(m) => t.with_mask(vidimus_codec::MaskBurner::new(m.clone())),
                        None => t,
                    };
                    tr = Some((s.sample_entry, t))
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    return Ok(false);
                }
            }
        }
        let (_, t) = tr.as_mut().expect("made above");
        // The joined timeline: the stream must not jump over gaps (the console maps
        // it to wall time with the timeline's pieces).
        let pts = s.media_90k - start;
        durations.insert(pts, s.duration);
        let au = AccessUnit {
            data: &s.data,
            framing: NalFraming::LengthPrefixed(4),
            pts,
        };
        match t.push(&au) {
            Ok(frames) => Ok(emit(&mut muxer, &*t, frames, &mut durations)),
            Err(e) => {
                failure = Some(e.to_string());
                Ok(false)
            }
        }
    });
    if let Err(e) = r {
        failure.get_or_insert(e.to_string());
    }
    if let Some(e) = failure {
        send(Out::Failed(e));
        return;
    }
    if stop.borrow().is_some() {
        return;
    }
    if let Some((_, mut t)) = tr {
        match t.finish() {
            Ok(frames) => {
                if !emit(&mut muxer, &t, frames, &mut durations) {
                    return;
                }
            }
            Err(e) => {
                send(Out::Failed(e.to_string()));
                return;
            }
        }
    }
    send(Out::End("completed"));
}

/// fMP4 for MSE: the init segment when the output's parameters are first known, then
/// one fragment per frame.
#[derive(Default)]
pub(crate) struct Muxer {
    width: u16,
    height: u16,
    init: Option<Vec<u8>>,
    sequence: u32,
    header: Vec<u8>,
}

impl Muxer {
    pub(crate) fn new(width: u16, height: u16) -> Self {
        Muxer {
            width,
            height,
            ..Muxer::default()
        }
    }

    pub(crate) fn frame(
        &mut self,
        tr: &Transcoder,
        f: &vidimus_codec::EncodedFrame,
        duration: u32,
    ) -> Vec<Out> {
        self.frame_at(
            tr,
            f,
            duration,
            Wall90k::from_system(std::time::SystemTime::now()),
        )
    }

    /// As [`Muxer::frame`], the fragment's `prft` saying `wall` (a live view: when the
    /// recorder received the frame).
    pub(crate) fn frame_at(
        &mut self,
        tr: &Transcoder,
        f: &vidimus_codec::EncodedFrame,
        duration: u32,
        wall: Wall90k,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        if self.init.is_none()
            && let Some(ps) = tr.parameter_sets()
        {
            let (w, h) = (self.width, self.height);
            let entry = ps.avc1_sample_entry(w, h);
            let init = init_segment(&InitParams {
                sample_entry: &entry,
                width: w,
                height: h,
                metadata: b"",
            });
            out.push(Out::Text(format!(
                r#"{{"type":"init","codec":"{}","width":{w},"height":{h}}}"#,
                ps.codec_string()
            )));
            out.push(Out::Binary(init.clone()));
            self.init = Some(init);
            self.sequence = 1;
        }
        if self.init.is_none() {
            return out;
        }
        let data = f.mp4_sample();
        let sample = Sample {
            duration,
            size: data.len() as u32,
            is_key: f.is_key,
        };
        fragment_header(
            self.sequence,
            u64::try_from(f.pts).unwrap_or(0),
            wall.0,
            &[sample],
            &mut self.header,
        );
        self.sequence = self.sequence.wrapping_add(1);
        let mut msg = Vec::with_capacity(self.header.len() + data.len());
        msg.extend_from_slice(&self.header);
        msg.extend_from_slice(&data);
        out.push(Out::Binary(msg));
        out
    }
}
