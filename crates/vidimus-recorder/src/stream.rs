//! One camera's RTSP session, supervised: connect, record, and on any failure record
//! the gap and reconnect with capped exponential back-off.
//!
//! Only the video stream (H.264 or H.265) is set up; other streams (audio, metadata)
//! are left alone, so they can never fail the recording. A session ends on a retina
//! error, when the camera closes it, or when no video frame arrives within
//! `stall_timeout`.

use crate::segmenter::{Frame, Segmenter, SegmenterConfig, StreamParams};
use crate::stats::StreamStats;
use crate::writer::{Output, WriterHandle};
use futures::StreamExt;
use retina::client::{PlayOptions, SessionGroup, SessionOptions, SetupOptions, Transport};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoParametersCodec};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use vidimus_core::camera::{CameraId, SourceUrl};
use vidimus_core::clock::Clocks;
use vidimus_core::time::Wall90k;
use vidimus_media::VideoCodec;
use vidimus_store::index::IndexOp;

/// How to record one camera.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub camera_id: CameraId,
    pub name: String,
    pub source: SourceUrl,
    pub segmenter: SegmenterConfig,
    pub connect_timeout: Duration,
    pub stall_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

/// Everything a stream task shares with the recorder.
#[derive(Clone)]
pub struct StreamContext {
    pub writer: WriterHandle,
    /// Where received frames go for live viewers.
    pub live: tokio::sync::broadcast::Sender<Arc<crate::live::LiveFrame>>,
    pub stats: Arc<StreamStats>,
    pub clocks: Arc<dyn Clocks>,
    pub group: Arc<SessionGroup>,
}

/// Records a camera until `stop` becomes true. `initial_gap` is a gap to open before
/// the first session (the time the recorder was not running), with its cause.
pub async fn run(
    cfg: StreamConfig,
    ctx: StreamContext,
    initial_gap: Option<(Wall90k, String)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut seg = Segmenter::new(cfg.camera_id, &cfg.name, cfg.segmenter);
    let mut out = Vec::new();
    if let Some((start, cause)) = initial_gap {
        StreamStats::add(&ctx.stats.gaps, 1);
        send(
            &ctx,
            Output::Index(IndexOp::OpenGap {
                camera_id: cfg.camera_id,
                start_90k: start.0,
                cause,
            }),
        );
    }
    let mut backoff = cfg.backoff_initial;
    let mut attempt = 0u64;
    loop {
        if *stop.borrow() {
            break;
        }
        if attempt > 0 {
            StreamStats::add(&ctx.stats.reconnects, 1);
        }
        attempt += 1;
        let ended = tokio::select! {
            e = session(&cfg, &ctx, &mut seg, &mut out) => Some(e),
            _ = stop.wait_for(|s| *s) => None,
        };
        ctx.stats.connected.store(false, Ordering::Relaxed);
        // Whatever was received is written: the pending GOP becomes the last fragment.
        let was_recording = seg.is_recording();
        let now = ctx.clocks.realtime();
        let end = seg.finish(now, &mut out);
        dispatch(&ctx, &mut out);
        let Some(error) = ended else { break };
        *ctx.stats.last_error.lock().expect("error lock") = Some(error.clone());
        if was_recording {
            backoff = cfg.backoff_initial;
            StreamStats::add(&ctx.stats.gaps, 1);
            send(
                &ctx,
                Output::Index(IndexOp::OpenGap {
                    camera_id: cfg.camera_id,
                    start_90k: end.unwrap_or(now).0,
                    cause: error.clone(),
                }),
            );
        } else {
            // Still not recording: the open gap (if any) gets another attempt; a camera
            // that has never recorded gets a gap from its first failure.
            send(
                &ctx,
                Output::Index(IndexOp::OpenGap {
                    camera_id: cfg.camera_id,
                    start_90k: now.0,
                    cause: error.clone(),
                }),
            );
            send(
                &ctx,
                Output::Index(IndexOp::GapAttempt {
                    camera_id: cfg.camera_id,
                    error: error.clone(),
                }),
            );
        }
        tracing::warn!(camera = %cfg.name, %error, retry_in = ?backoff, "camera session ended");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        backoff = (backoff * 2).min(cfg.backoff_max);
    }
}

fn send(ctx: &StreamContext, o: Output) {
    if let Err(e) = ctx.writer.try_send(o) {
        tracing::error!(error = %e, "could not queue an index update for the writer");
    }
}

fn dispatch(ctx: &StreamContext, out: &mut Vec<Output>) {
    for o in out.drain(..) {
        let samples = match &o {
            Output::Fragment(f) => f.samples,
            _ => 0,
        };
        if let Err(e) = ctx.writer.try_send(o) {
            StreamStats::add(&ctx.stats.frames_dropped, samples);
            tracing::error!(samples, error = %e, "fragment not stored");
        }
    }
}

/// Hands the segmenter's output to the writer. If the writer refuses a fragment
/// (backlog full: the disk is slower than the cameras), the loss becomes a gap and
/// recording continues in a new segment, so no segment ever has a hole.
fn dispatch_recording(
    cfg: &StreamConfig,
    ctx: &StreamContext,
    seg: &mut Segmenter,
    out: &mut Vec<Output>,
) {
    let mut lost_at = None;
    let mut lost_frames = 0;
    for o in out.drain(..) {
        match o {
            Output::Fragment(f) if lost_at.is_some() => lost_frames += f.samples,
            Output::Fragment(f) => {
                let (at, samples) = (f.wall_start, f.samples);
                match ctx.writer.try_send(Output::Fragment(f)) {
                    Ok(()) => {}
                    Err(_) => {
                        lost_at = Some(at);
                        lost_frames += samples;
                    }
                }
            }
            o => {
                let _ = ctx.writer.try_send(o);
            }
        }
    }
    let Some(at) = lost_at else { return };
    let now = ctx.clocks.realtime();
    lost_frames += seg.interrupt(now, out);
    StreamStats::add(&ctx.stats.frames_dropped, lost_frames);
    StreamStats::add(&ctx.stats.gaps, 1);
    tracing::error!(camera = %cfg.name, frames = lost_frames, "writer backlog full: video lost, recorded as a gap");
    let _ = ctx.writer.try_send(Output::Index(IndexOp::OpenGap {
        camera_id: cfg.camera_id,
        start_90k: at.0,
        cause: "recorder overloaded: the disk did not keep up, video was lost".to_owned(),
    }));
    if seg.is_recording() {
        out.push(Output::Index(IndexOp::CloseGaps {
            camera_id: cfg.camera_id,
            end_90k: now.0,
        }));
    }
    dispatch(ctx, out);
}

fn params_of(p: Option<ParametersRef<'_>>) -> Result<StreamParams, String> {
    let Some(ParametersRef::Video(v)) = p else {
        return Err("the camera has not sent codec parameters (SPS/PPS) yet".into());
    };
    let codec = match v.codec_params() {
        VideoParametersCodec::H264 { .. } => VideoCodec::H264,
        VideoParametersCodec::H265 { .. } => VideoCodec::H265,
        _ => return Err("unsupported video codec".into()),
    };
    let sample_entry = v
        .mp4_sample_entry()
        .build()
        .map_err(|e| format!("bad codec parameters: {e}"))?;
    let (w, h) = v.pixel_dimensions();
    Ok(StreamParams {
        codec,
        rfc6381: v.rfc6381_codec().to_owned(),
        sample_entry,
        width: u16::try_from(w).map_err(|_| format!("width {w} too large"))?,
        height: u16::try_from(h).map_err(|_| format!("height {h} too large"))?,
    })
}

/// Runs one RTSP session; returns why it ended.
async fn session(
    cfg: &StreamConfig,
    ctx: &StreamContext,
    seg: &mut Segmenter,
    out: &mut Vec<Output>,
) -> String {
    let creds = cfg
        .source
        .credentials()
        .map(|(u, p)| retina::client::Credentials {
            username: u.to_owned(),
            password: p.to_owned(),
        });
    let opts = SessionOptions::default()
        .creds(creds)
        .user_agent(concat!("Vidimus/", env!("CARGO_PKG_VERSION")).to_owned())
        .session_group(ctx.group.clone());
    let connect = async {
        let mut s = retina::client::Session::describe(cfg.source.url().clone(), opts)
            .await
            .map_err(|e| format!("DESCRIBE failed: {e}"))?;
        let found: Vec<String> = s
            .streams()
            .iter()
            .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
            .collect();
        let i = s
            .streams()
            .iter()
            .position(|s| s.media() == "video" && matches!(s.encoding_name(), "h264" | "h265"))
            .ok_or_else(|| {
                format!(
                    "no H.264 or H.265 video stream offered (streams: {})",
                    found.join(", ")
                )
            })?;
        s.setup(
            i,
            SetupOptions::default()
                .transport(Transport::default())
                .frame_format(FrameFormat::MP4),
        )
        .await
        .map_err(|e| format!("SETUP failed: {e}"))?;
        let playing = s
            .play(PlayOptions::default())
            .await
            .map_err(|e| format!("PLAY failed: {e}"))?;
        let demuxed = playing
            .demuxed()
            .map_err(|e| format!("cannot demux: {e}"))?;
        Ok::<_, String>((i, demuxed))
    };
    let (video_i, mut demuxed) = match tokio::time::timeout(cfg.connect_timeout, connect).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return e,
        Err(_) => {
            return format!(
                "connect timed out after {} s",
                cfg.connect_timeout.as_secs_f32()
            );
        }
    };
    let clock_rate = demuxed.streams()[video_i].clock_rate_hz().max(1) as i64;
    let mut got_frame = false;
    let mut live_params: Option<Arc<StreamParams>> = None;
    loop {
        let item = match tokio::time::timeout(cfg.stall_timeout, demuxed.next()).await {
            Err(_) => {
                return format!(
                    "stalled: no video frame for {} s",
                    cfg.stall_timeout.as_secs_f32()
                );
            }
            Ok(None) => return "the camera ended the session".to_owned(),
            Ok(Some(Err(e))) => return format!("stream error: {e}"),
            Ok(Some(Ok(item))) => item,
        };
        let CodecItem::VideoFrame(f) = item else {
            continue;
        };
        if f.stream_id() != video_i {
            continue;
        }
        StreamStats::add(&ctx.stats.frames_received, 1);
        if !got_frame || f.has_new_parameters() {
            match params_of(demuxed.streams()[video_i].parameters()) {
                Ok(p) => {
                    live_params = Some(Arc::new(p.clone()));
                    seg.set_params(p);
                }
                Err(e) => return e,
            }
        }
        let now = ctx.clocks.realtime();
        let ts = f.timestamp().elapsed() * 90_000 / clock_rate;
        // retina flags IDR pictures only; H.265 cameras often send CRA key frames.
        let flagged = f.is_random_access_point();
        let data = bytes::Bytes::from(f.into_data());
        let is_key = flagged || seg.codec().is_some_and(|c| c.is_random_access(&data));
        if ctx.live.receiver_count() > 0
            && let Some(params) = &live_params
        {
            let _ = ctx.live.send(Arc::new(crate::live::LiveFrame {
                ts,
                is_key,
                data: data.clone(),
                received: now,
                params: params.clone(),
            }));
        }
        let frame = Frame { ts, is_key, data };
        let was_recording = seg.is_recording();
        let skipped = seg.skipped_before_key;
        seg.push(frame, now, out);
        if !was_recording && seg.is_recording() {
            ctx.stats.connected.store(true, Ordering::Relaxed);
            let at = seg.wall_position().unwrap_or(now);
            out.push(Output::Index(IndexOp::CloseGaps {
                camera_id: cfg.camera_id,
                end_90k: at.0,
            }));
            tracing::info!(camera = %cfg.name, "recording");
        }
        got_frame = true;
        dispatch_recording(cfg, ctx, seg, out);
        if seg.skipped_before_key > skipped {
            StreamStats::add(&ctx.stats.frames_dropped, seg.skipped_before_key - skipped);
        }
    }
}
