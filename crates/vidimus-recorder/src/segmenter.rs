//! Cutting a camera's frames into segments and fragments (sans-IO).
//!
//! Frames go in; [`Output`] commands for the writer come out. A fragment is one GOP
//! (it is emitted when the next key frame arrives, so every duration is known), or a
//! part of a GOP longer than `max_fragment_duration`, which bounds what a crash can
//! lose. A segment starts at a key frame and is closed at the first key frame after
//! `segment_duration`, or when the codec parameters change. Wall-clock times come from
//! [`WallSteer`]; media times from the camera's RTP timestamps.

use crate::writer::{FragmentMsg, OpenMsg, Output};
use vidimus_core::camera::CameraId;
use vidimus_core::steer::WallSteer;
use vidimus_core::time::{Duration90k, Wall90k};
use vidimus_media::VideoCodec;
use vidimus_media::fmp4::{InitParams, Sample, fragment_header, init_segment};
use vidimus_store::SegmentMetadata;

/// Codec parameters of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamParams {
    pub codec: VideoCodec,
    /// RFC 6381 codec string for MSE, e.g. `avc1.64001f`.
    pub rfc6381: String,
    /// The MP4 visual sample entry (avc1/hvc1 + avcC/hvcC).
    pub sample_entry: Vec<u8>,
    pub width: u16,
    pub height: u16,
}

/// Segmenting limits.
#[derive(Clone, Copy, Debug)]
pub struct SegmenterConfig {
    pub segment_duration: Duration90k,
    pub max_fragment_duration: Duration90k,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            segment_duration: Duration90k::from_secs(60),
            max_fragment_duration: Duration90k::from_secs(5),
        }
    }
}

/// One received frame.
#[derive(Debug)]
pub struct Frame {
    /// RTP timestamp, 90 kHz, since the session started (monotonic within a session).
    pub ts: i64,
    pub is_key: bool,
    /// The frame as stored: 4-byte length-prefixed NAL units (shared, not copied,
    /// with live viewers).
    pub data: bytes::Bytes,
}

struct OpenSegment {
    /// Decode time of the next fragment, from the segment start.
    media_pos: u64,
    next_sequence: u32,
}

/// The segmenter of one camera's stream.
pub struct Segmenter {
    camera_id: CameraId,
    camera_name: String,
    cfg: SegmenterConfig,
    params: Option<StreamParams>,
    new_params: Option<StreamParams>,
    steer: Option<WallSteer>,
    seg: Option<OpenSegment>,
    pending: Vec<Frame>,
    last_duration: u32,
    header_buf: Vec<u8>,
    /// Frames dropped while waiting for a key frame.
    pub skipped_before_key: u64,
}

impl Segmenter {
    pub fn new(camera_id: CameraId, camera_name: &str, cfg: SegmenterConfig) -> Self {
        Segmenter {
            camera_id,
            camera_name: camera_name.to_owned(),
            cfg,
            params: None,
            new_params: None,
            steer: None,
            seg: None,
            pending: Vec::with_capacity(64),
            last_duration: 3600,
            header_buf: Vec::with_capacity(4096),
            skipped_before_key: 0,
        }
    }

    /// Whether a segment is open.
    pub fn is_recording(&self) -> bool {
        self.seg.is_some()
    }

    /// Sets the stream's codec parameters (at session start or when they change).
    pub fn set_params(&mut self, p: StreamParams) {
        if self.params.as_ref() != Some(&p) {
            if self.params.is_none() {
                self.params = Some(p);
            } else {
                self.new_params = Some(p);
            }
        }
    }

    /// Feeds one frame; `local_now` is when it was received.
    pub fn push(&mut self, mut frame: Frame, local_now: Wall90k, out: &mut Vec<Output>) {
        if self.seg.is_none() && self.pending.is_empty() {
            if !frame.is_key || self.params.is_none() {
                self.skipped_before_key += 1;
                return;
            }
            if let Some(p) = self.new_params.take() {
                self.params = Some(p);
            }
            let steer = *self
                .steer
                .get_or_insert_with(|| WallSteer::start(local_now));
            self.open(steer.position(), out);
        } else if let Some(last) = self.pending.last() {
            if frame.ts <= last.ts {
                // Timestamps must increase; a camera that repeats one gets a minimal step.
                frame.ts = last.ts + i64::from(self.last_duration.max(1));
            }
            let first_ts = self.pending[0].ts;
            if frame.is_key {
                self.flush(frame.ts, local_now, out);
                let seg = self
                    .seg
                    .as_ref()
                    .expect("segment open while frames pending");
                if seg.media_pos as i64 >= self.cfg.segment_duration.0 || self.new_params.is_some()
                {
                    out.push(Output::Close {
                        camera_id: self.camera_id,
                    });
                    if let Some(p) = self.new_params.take() {
                        self.params = Some(p);
                    }
                    let at = self.steer.expect("steer set while recording").position();
                    self.open(at, out);
                }
            } else if frame.ts - first_ts >= self.cfg.max_fragment_duration.0 {
                self.flush(frame.ts, local_now, out);
            }
        }
        self.pending.push(frame);
    }

    /// The codec of the stream, once parameters are known.
    pub fn codec(&self) -> Option<VideoCodec> {
        self.params.as_ref().map(|p| p.codec)
    }

    /// Ends the session: writes what is pending and closes the segment. The next
    /// session starts a new wall-clock run. Returns where recording ended.
    pub fn finish(&mut self, local_now: Wall90k, out: &mut Vec<Output>) -> Option<Wall90k> {
        if let Some(last) = self.pending.last() {
            let end = last.ts + i64::from(self.last_duration);
            self.flush(end, local_now, out);
        }
        if self.seg.take().is_some() {
            out.push(Output::Close {
                camera_id: self.camera_id,
            });
        }
        self.steer.take().map(|s| s.position())
    }

    /// Stops recording (the disk is full): closes the open segment — everything
    /// already written stays — and drops the frames not yet in a fragment, returning
    /// how many. Recording restarts at the next key frame pushed.
    pub fn pause(&mut self, out: &mut Vec<Output>) -> u64 {
        if self.seg.take().is_some() {
            out.push(Output::Close {
                camera_id: self.camera_id,
            });
        }
        self.steer = None;
        let n = self.pending.len() as u64;
        self.pending.clear();
        n
    }

    /// A fragment emitted by the last `push` could not be stored (the writer is
    /// overloaded): closes the segment so that what was written stays consistent, and
    /// starts a new segment with a new wall-clock run at the pending key frame (or at
    /// the next one). Returns how many pending frames were discarded.
    pub fn interrupt(&mut self, local_now: Wall90k, out: &mut Vec<Output>) -> u64 {
        if self.seg.take().is_some() {
            out.push(Output::Close {
                camera_id: self.camera_id,
            });
        }
        self.steer = None;
        if self.pending.first().is_some_and(|f| f.is_key) {
            let steer = *self
                .steer
                .get_or_insert_with(|| WallSteer::start(local_now));
            self.open(steer.position(), out);
            0
        } else {
            let n = self.pending.len() as u64;
            self.pending.clear();
            n
        }
    }

    /// The wall-clock time recording has reached (end of the last fragment).
    pub fn wall_position(&self) -> Option<Wall90k> {
        self.steer.map(|s| s.position())
    }

    fn open(&mut self, start: Wall90k, out: &mut Vec<Output>) {
        let p = self.params.as_ref().expect("params checked before opening");
        let meta = SegmentMetadata {
            v: 1,
            camera_id: self.camera_id,
            camera_name: self.camera_name.clone(),
            start_90k: start.0,
        };
        let init = init_segment(&InitParams {
            sample_entry: &p.sample_entry,
            width: p.width,
            height: p.height,
            metadata: &meta.to_bytes(),
        });
        out.push(Output::Open(OpenMsg {
            camera_id: self.camera_id,
            start,
            init,
            codec: p.codec,
            width: p.width,
            height: p.height,
            sample_entry: p.sample_entry.clone(),
        }));
        self.seg = Some(OpenSegment {
            media_pos: 0,
            next_sequence: 1,
        });
    }

    /// Emits the pending frames as one fragment; `end_ts` is when the last one ends.
    fn flush(&mut self, end_ts: i64, local_now: Wall90k, out: &mut Vec<Output>) {
        let frames = std::mem::replace(&mut self.pending, Vec::with_capacity(64));
        let mut samples = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().enumerate() {
            let next = frames.get(i + 1).map_or(end_ts, |n| n.ts);
            let d = u32::try_from((next - f.ts).max(1)).unwrap_or(u32::MAX);
            samples.push(Sample {
                duration: d,
                size: f.data.len() as u32,
                is_key: f.is_key,
            });
        }
        if let Some(s) = samples.iter().rev().nth(1).or(samples.last()) {
            self.last_duration = s.duration;
        }
        let media: u64 = samples.iter().map(|s| u64::from(s.duration)).sum();
        let steer = self.steer.as_mut().expect("steer set while recording");
        let wall_start = steer.position();
        let wall_duration = steer.advance(Duration90k(media as i64), local_now);
        let seg = self
            .seg
            .as_mut()
            .expect("segment open while frames pending");
        fragment_header(
            seg.next_sequence,
            seg.media_pos,
            wall_start.0,
            &samples,
            &mut self.header_buf,
        );
        let data_len: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
        out.push(Output::Fragment(FragmentMsg {
            camera_id: self.camera_id,
            header: self.header_buf.clone(),
            frames: frames.into_iter().map(|f| f.data).collect(),
            sequence: seg.next_sequence,
            len: self.header_buf.len() as u64 + data_len,
            media_duration: media,
            samples: samples.len() as u64,
            wall_start,
            wall_duration,
        }));
        seg.media_pos += media;
        seg.next_sequence += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> StreamParams {
        let mut e = vec![0, 0, 0, 36];
        e.extend_from_slice(b"avc1");
        e.extend_from_slice(&[0; 28]);
        StreamParams {
            codec: VideoCodec::H264,
            rfc6381: "avc1.64001f".into(),
            sample_entry: e,
            width: 1280,
            height: 720,
        }
    }

    fn frame(i: i64, gop: i64) -> Frame {
        Frame {
            ts: i * 3600,
            is_key: i % gop == 0,
            data: vec![0; 100].into(),
        }
    }

    fn run(n: i64, gop: i64, cfg: SegmenterConfig) -> Vec<Output> {
        let mut s = Segmenter::new(1, "cam", cfg);
        s.set_params(params());
        let mut out = Vec::new();
        for i in 0..n {
            s.push(frame(i, gop), Wall90k(i * 3600), &mut out);
        }
        s.finish(Wall90k(n * 3600), &mut out);
        out
    }

    #[test]
    fn one_fragment_per_gop_and_rotation_at_key_frames() {
        let cfg = SegmenterConfig {
            segment_duration: Duration90k::from_secs(4),
            ..Default::default()
        };
        // 25 fps, GOP of 50 (2 s), 12 s → 6 GOPs → 3 segments of 2 GOPs.
        let out = run(300, 50, cfg);
        let opens = out.iter().filter(|o| matches!(o, Output::Open(_))).count();
        let closes = out
            .iter()
            .filter(|o| matches!(o, Output::Close { .. }))
            .count();
        let frags: Vec<&FragmentMsg> = out
            .iter()
            .filter_map(|o| match o {
                Output::Fragment(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!((opens, closes, frags.len()), (3, 3, 6));
        assert!(
            frags
                .iter()
                .all(|f| f.samples == 50 && f.media_duration == 180_000)
        );
        // Wall times are contiguous across segments.
        for w in frags.windows(2) {
            assert_eq!(w[0].wall_start + w[0].wall_duration, w[1].wall_start);
        }
    }

    #[test]
    fn waits_for_a_key_frame_and_caps_long_gops() {
        let mut s = Segmenter::new(1, "cam", SegmenterConfig::default());
        s.set_params(params());
        let mut out = Vec::new();
        s.push(
            Frame {
                ts: 0,
                is_key: false,
                data: vec![1].into(),
            },
            Wall90k(0),
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(s.skipped_before_key, 1);
        // One key frame then 10 s of P frames: fragments of at most 5 s.
        for i in 1..=250 {
            s.push(
                Frame {
                    ts: i * 3600,
                    is_key: i == 1,
                    data: vec![1].into(),
                },
                Wall90k(i * 3600),
                &mut out,
            );
        }
        s.finish(Wall90k(251 * 3600), &mut out);
        let frags: Vec<u64> = out
            .iter()
            .filter_map(|o| match o {
                Output::Fragment(f) => Some(f.media_duration),
                _ => None,
            })
            .collect();
        assert!(frags.iter().all(|&d| d <= 5 * 90_000), "{frags:?}");
        assert_eq!(frags.iter().sum::<u64>(), 250 * 3600);
    }

    #[test]
    fn an_interrupted_segment_resumes_in_a_new_one() {
        let mut s = Segmenter::new(1, "cam", SegmenterConfig::default());
        s.set_params(params());
        let mut out = Vec::new();
        for i in 0..=100 {
            s.push(frame(i, 50), Wall90k(i * 3600), &mut out);
        }
        // Frame 100 (a key frame) flushed the second GOP; suppose it was refused.
        assert!(matches!(out.last(), Some(Output::Fragment(f)) if f.sequence == 2));
        out.clear();
        assert_eq!(s.interrupt(Wall90k(100 * 3600), &mut out), 0);
        assert!(matches!(out[0], Output::Close { .. }));
        assert!(matches!(&out[1], Output::Open(o) if o.start == Wall90k(100 * 3600)));
        out.clear();
        for i in 101..=150 {
            s.push(frame(i, 50), Wall90k(i * 3600), &mut out);
        }
        let f: Vec<&FragmentMsg> = out
            .iter()
            .filter_map(|o| match o {
                Output::Fragment(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].sequence, f[0].samples, f[0].wall_start),
            (1, 50, Wall90k(100 * 3600))
        );
    }

    #[test]
    fn parameter_change_starts_a_new_segment() {
        let mut s = Segmenter::new(1, "cam", SegmenterConfig::default());
        s.set_params(params());
        let mut out = Vec::new();
        for i in 0..=100 {
            if i == 60 {
                let mut p = params();
                p.width = 640;
                s.set_params(p);
            }
            s.push(frame(i, 50), Wall90k(i * 3600), &mut out);
        }
        let opens: Vec<u16> = out
            .iter()
            .filter_map(|o| match o {
                Output::Open(m) => Some(m.width),
                _ => None,
            })
            .collect();
        assert_eq!(opens, vec![1280, 640]);
    }
}
