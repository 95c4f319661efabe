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
    /// Offer this stream's frames to live viewers (false when the camera has a separate
    /// live sub-stream).
    pub publish_live: bool,
}

/// Everything a stream task shares with the recorder.
#[derive(Clone)]
pub struct StreamContext {
    pub writer: WriterHandle,
    /// Where received frames go for live viewers.
    pub live: crate::live::LiveSender,
    pub stats: Arc<StreamStats>,
    pub clocks: Arc<dyn Clocks>,
    pub group: Arc<SessionGroup>,
    /// Whether recording is paused (disk full).
    pub status: crate::status::SiteStatus,
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
        // A new viewer must not start from the lost session's pictures.
        ctx.live.clear();
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

/// An RTSP session playing its video stream.
struct Connected {
    video_i: usize,
    demuxed: retina::client::Demuxed,
    clock_rate: i64,
    codec: Option<VideoCodec>,
}

/// One video frame from a session, with new codec parameters when they changed.
struct ReceivedFrame {
    ts: i64,
    is_key: bool,
    data: bytes::Bytes,
    new_params: Option<StreamParams>,
}

/// DESCRIBE, SETUP (video only, TCP) and PLAY, within `timeout`.
async fn connect(
    source: &SourceUrl,
    group: &Arc<SessionGroup>,
    timeout: Duration,
) -> Result<Connected, String> {
    let creds = source
        .credentials()
        .map(|(u, p)| retina::client::Credentials {
            username: u.to_owned(),
            password: p.to_owned(),
        });
    let opts = SessionOptions::default()
        .creds(creds)
        .user_agent(concat!("Vidimus/", env!("CARGO_PKG_VERSION")).to_owned())
        .session_group(group.clone());
    let connect = async {
        let mut s = retina::client::Session::describe(source.url().clone(), opts)
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
        let clock_rate = demuxed.streams()[i].clock_rate_hz().max(1) as i64;
        Ok::<_, String>(Connected {
            video_i: i,
            demuxed,
            clock_rate,
            codec: None,
        })
    };
    match tokio::time::timeout(timeout, connect).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "connect timed out after {} s",
            timeout.as_secs_f32()
        )),
    }
}

impl Connected {
    /// The next video frame, or why the session ended. The stall is measured from the
    /// call (the last video frame), not from the last item of any kind: a camera whose
    /// video has died while its RTCP reports (or its audio) go on is stalled.
    async fn next_frame(&mut self, stall_timeout: Duration) -> Result<ReceivedFrame, String> {
        let deadline = tokio::time::Instant::now() + stall_timeout;
        loop {
            let item = match tokio::time::timeout_at(deadline, self.demuxed.next()).await {
                Err(_) => {
                    return Err(format!(
                        "stalled: no video frame for {} s",
                        stall_timeout.as_secs_f32()
                    ));
                }
                Ok(None) => return Err("the camera ended the session".to_owned()),
                Ok(Some(Err(e))) => return Err(format!("stream error: {e}")),
                Ok(Some(Ok(item))) => item,
            };
            let CodecItem::VideoFrame(f) = item else {
                continue;
            };
            if f.stream_id() != self.video_i {
                continue;
            }
            let new_params = if self.codec.is_none() || f.has_new_parameters() {
                let p = params_of(self.demuxed.streams()[self.video_i].parameters())?;
                self.codec = Some(p.codec);
                Some(p)
            } else {
                None
            };
            let ts = f.timestamp().elapsed() * 90_000 / self.clock_rate;
            // retina flags IDR pictures only; H.265 cameras often send CRA key frames.
            let flagged = f.is_random_access_point();
            let data = bytes::Bytes::from(f.into_data());
            let is_key = flagged || self.codec.is_some_and(|c| c.is_random_access(&data));
            return Ok(ReceivedFrame {
                ts,
                is_key,
                data,
                new_params,
            });
        }
    }
}

/// Runs one RTSP session; returns why it ended.
async fn session(
    cfg: &StreamConfig,
    ctx: &StreamContext,
    seg: &mut Segmenter,
    out: &mut Vec<Output>,
) -> String {
    let mut conn = match connect(&cfg.source, &ctx.group, cfg.connect_timeout).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    let mut live_params: Option<Arc<StreamParams>> = None;
    let mut paused = false;
    loop {
        let ReceivedFrame {
            ts,
            is_key,
            data,
            new_params,
        } = match conn.next_frame(cfg.stall_timeout).await {
            Ok(f) => f,
            Err(e) => return e,
        };
        StreamStats::add(&ctx.stats.frames_received, 1);
        if let Some(p) = new_params {
            live_params = Some(Arc::new(p.clone()));
            seg.set_params(p);
        }
        let now = ctx.clocks.realtime();
        // Every frame, watched or not: the current GOP is kept for the next viewer
        // to start at once (see `live`).
        if cfg.publish_live
            && let Some(params) = &live_params
        {
            ctx.live.send(Arc::new(crate::live::LiveFrame {
                ts,
                is_key,
                data: data.clone(),
                received: now,
                params: params.clone(),
            }));
        }
        if ctx.status.disk_full() {
            // Paused: the segment is closed intact at its last fragment, frames are
            // not kept, and the gap says why. Live viewing goes on.
            if !paused {
                paused = true;
                let at = seg.wall_position().unwrap_or(now);
                let lost = seg.pause(out);
                StreamStats::add(&ctx.stats.frames_dropped, lost);
                StreamStats::add(&ctx.stats.gaps, 1);
                tracing::error!(camera = %cfg.name, "disk full: recording paused");
                out.push(Output::Index(IndexOp::OpenGap {
                    camera_id: cfg.camera_id,
                    start_90k: at.0,
                    cause: "disk full: recording paused until space is freed (nothing within retention is deleted)".to_owned(),
                }));
                dispatch(ctx, out);
            }
            StreamStats::add(&ctx.stats.frames_dropped, 1);
            continue;
        }
        if std::mem::take(&mut paused) {
            tracing::warn!(camera = %cfg.name, "disk space available: recording resumes at the next key frame");
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
        dispatch_recording(cfg, ctx, seg, out);
        if seg.skipped_before_key > skipped {
            StreamStats::add(&ctx.stats.frames_dropped, seg.skipped_before_key - skipped);
        }
    }
}

/// Serves a camera's live sub-stream (e.g. H.264 beside an H.265 main stream that
/// browsers cannot decode): connects only while someone is watching, publishes every
/// frame to the live channel, records nothing.
pub async fn run_live_only(cfg: StreamConfig, ctx: StreamContext, mut stop: watch::Receiver<bool>) {
    let mut backoff = cfg.backoff_initial;
    loop {
        // Wait for a viewer.
        while ctx.live.receiver_count() == 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        let ended = tokio::select! {
            e = live_session(&cfg, &ctx) => e,
            _ = stop.wait_for(|s| *s) => return,
        };
        ctx.live.clear();
        match ended {
            None => backoff = cfg.backoff_initial, // nobody watching any more
            Some(error) => {
                tracing::warn!(camera = %cfg.name, %error, retry_in = ?backoff, "live sub-stream ended");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(cfg.backoff_max);
            }
        }
    }
}

/// One live-only session: `None` when the last viewer left, else the error.
async fn live_session(cfg: &StreamConfig, ctx: &StreamContext) -> Option<String> {
    let mut conn = match connect(&cfg.source, &ctx.group, cfg.connect_timeout).await {
        Ok(c) => c,
        Err(e) => return Some(e),
    };
    let mut params: Option<Arc<StreamParams>> = None;
    let mut idle_since: Option<std::time::Instant> = None;
    loop {
        let f = match conn.next_frame(cfg.stall_timeout).await {
            Ok(f) => f,
            Err(e) => return Some(e),
        };
        if let Some(p) = f.new_params {
            params = Some(Arc::new(p));
        }
        if ctx.live.receiver_count() == 0 {
            // Keep the session a little while for a viewer who comes straight back.
            if idle_since
                .get_or_insert_with(std::time::Instant::now)
                .elapsed()
                > Duration::from_secs(10)
            {
                return None;
            }
            continue;
        }
        idle_since = None;
        if let Some(p) = &params {
            ctx.live.send(Arc::new(crate::live::LiveFrame {
                ts: f.ts,
                is_key: f.is_key,
                data: f.data,
                received: ctx.clocks.realtime(),
                params: p.clone(),
            }));
        }
    }
}
