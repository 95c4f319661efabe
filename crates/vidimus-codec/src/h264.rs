//! H.264 in-process with OpenH264 (Cisco's BSD-licensed codec, built from the `openh264`
//! crate's bundled source): [`H264Decoder`] and [`H264Encoder`].
//!
//! The decoder runs with `Flush::NoFlush`: it may hold pictures back to reorder them
//! (B-frames) instead of being forced to emit one per call; [`Decoder::finish`] drains
//! them. The encoder never drops a frame (frame skipping off), writes one slice per
//! picture, emits SPS and PPS with every IDR (constant ids, so one `avcC` serves the
//! whole stream) and decides key frames itself (no scene-change IDRs), so that the
//! output has the input's frames and times, one for one.

use openh264::OpenH264API;
use openh264::decoder::{Decoder as OhDecoder, DecoderConfig, Flush};
use openh264::encoder::{
    BitRate, Complexity, Encoder as OhEncoder, EncoderConfig, FrameRate, FrameType,
    IntraFramePeriod, RateControlMode, UsageType, VuiConfig,
};
use openh264::formats::{YUVSlices, YUVSource};
use vidimus_media::VideoCodec;
use vidimus_media::h264::{nal_type, nal_unit_type};

use crate::avc::H264ParameterSets;
use crate::decode::{Decoder, PtsQueue};
use crate::encode::{EncodedFrame, Encoder};
use crate::{AccessUnit, CodecError, Frame, ParameterSets, Plane};

/// H.264 decoding with OpenH264.
pub struct H264Decoder {
    inner: OhDecoder,
    pts: PtsQueue,
    annex_b: Vec<u8>,
}

impl H264Decoder {
    /// A decoder primed with the stream's SPS and PPS (may be empty when the access
    /// units carry them in-band).
    pub fn new(params: &ParameterSets) -> Result<Self, CodecError> {
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let mut inner = OhDecoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| CodecError::Decode(e.to_string()))?;
        if !params.nals.is_empty() {
            inner
                .decode(&params.annex_b())
                .map_err(|e| CodecError::Decode(format!("parameter sets: {e}")))?;
        }
        Ok(H264Decoder {
            inner,
            pts: PtsQueue::default(),
            annex_b: Vec::new(),
        })
    }
}

fn frame_from(yuv: &impl YUVSource, pts: i64) -> Frame {
    let (w, h) = yuv.dimensions();
    let (ys, us, _) = yuv.strides();
    Frame::copy_from(w, h, pts, (ys, us), [yuv.y(), yuv.u(), yuv.v()])
}

impl Decoder for H264Decoder {
    fn decode(&mut self, au: &AccessUnit<'_>) -> Result<Vec<Frame>, CodecError> {
        self.annex_b.clear();
        au.append_annex_b(&mut self.annex_b)?;
        let picture = au.has_picture(VideoCodec::H264)?;
        if picture {
            self.pts.push(au.pts);
        }
        match self.inner.decode(&self.annex_b) {
            Ok(Some(yuv)) => {
                let pts = self.pts.pop().unwrap_or(au.pts);
                Ok(vec![frame_from(&yuv, pts)])
            }
            Ok(None) => Ok(Vec::new()),
            Err(e) => {
                if picture {
                    self.pts.remove(au.pts);
                }
                Err(CodecError::Decode(format!(
                    "access unit at pts {}: {e}",
                    au.pts
                )))
            }
        }
    }

    fn finish(&mut self) -> Result<Vec<Frame>, CodecError> {
        let held = self
            .inner
            .flush_remaining()
            .map_err(|e| CodecError::Decode(format!("flushing: {e}")))?;
        Ok(held
            .iter()
            .map(|yuv| frame_from(yuv, self.pts.pop().unwrap_or(0)))
            .collect())
    }
}

/// How hard the encoder works (OpenH264's complexity mode): speed against quality at a
/// given bitrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    Fast,
    Balanced,
    Thorough,
}

/// Settings of the H.264 encoder.
#[derive(Clone, Debug)]
pub struct EncoderSettings {
    /// Target bitrate, bits per second.
    pub bitrate_bps: u32,
    /// Frames per second of the input (for rate control).
    pub frame_rate: f32,
    /// A key frame every this many frames (and the first frame). 0: only the first and
    /// requested ones.
    pub key_frame_interval: u32,
    /// Encoder threads; 1 keeps one viewer on one core.
    pub threads: u16,
    pub effort: Effort,
}

impl Default for EncoderSettings {
    /// 2 Mbit/s at 25 fps, a key frame every 2 s, one thread, fast.
    fn default() -> Self {
        EncoderSettings {
            bitrate_bps: 2_000_000,
            frame_rate: 25.0,
            key_frame_interval: 50,
            threads: 1,
            effort: Effort::Fast,
        }
    }
}

/// H.264 encoding with OpenH264 (Constrained Baseline-style output: no B-frames, so
/// decode order is presentation order).
pub struct H264Encoder {
    inner: OhEncoder,
    settings: EncoderSettings,
    frames: u64,
    since_key: u32,
    key_requested: bool,
    parameter_sets: Option<H264ParameterSets>,
}

impl H264Encoder {
    pub fn new(settings: EncoderSettings) -> Result<Self, CodecError> {
        let complexity = match settings.effort {
            Effort::Fast => Complexity::Low,
            Effort::Balanced => Complexity::Medium,
            Effort::Thorough => Complexity::High,
        };
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.frame_rate))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(false)
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(complexity)
            .scene_change_detect(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .num_threads(settings.threads)
            .vui(VuiConfig::bt709());
        let inner = OhEncoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| CodecError::Encode(e.to_string()))?;
        Ok(H264Encoder {
            inner,
            settings,
            frames: 0,
            since_key: 0,
            key_requested: false,
            parameter_sets: None,
        })
    }

    /// The SPS and PPS of the output, known once the first frame is encoded.
    pub fn parameter_sets(&self) -> Option<&H264ParameterSets> {
        self.parameter_sets.as_ref()
    }

    fn remember_parameter_sets(&mut self, frame: &EncodedFrame) {
        let nals = frame.nals();
        let find = |t| {
            nals.iter()
                .find(|n| nal_unit_type(n) == t)
                .map(|n| n.to_vec())
        };
        if let (Some(sps), Some(pps)) = (find(nal_type::SPS), find(nal_type::PPS)) {
            self.parameter_sets = Some(H264ParameterSets { sps, pps });
        }
    }
}

/// The frame's planes as OpenH264 reads them, checked so that its asserts cannot fire.
fn yuv_slices(frame: &Frame) -> Result<YUVSlices<'_>, CodecError> {
    let (w, h) = (frame.width(), frame.height());
    if w % 2 != 0 || h % 2 != 0 {
        return Err(CodecError::Frame(format!(
            "H.264 encoding needs an even size, not {w}x{h}"
        )));
    }
    if w.max(h) > 3840 || w.min(h) > 2160 {
        return Err(CodecError::Frame(format!(
            "{w}x{h} is larger than OpenH264 encodes"
        )));
    }
    let (ys, cs) = (frame.stride(Plane::Y), frame.stride(Plane::U));
    Ok(YUVSlices::new(
        (
            &frame.plane(Plane::Y)[..ys * h],
            &frame.plane(Plane::U)[..cs * (h / 2)],
            &frame.plane(Plane::V)[..cs * (h / 2)],
        ),
        (w, h),
        (ys, cs, cs),
    ))
}

impl Encoder for H264Encoder {
    fn encode(&mut self, frame: &Frame) -> Result<Option<EncodedFrame>, CodecError> {
        let yuv = yuv_slices(frame)?;
        let interval = self.settings.key_frame_interval;
        let due = self.key_requested || (interval > 0 && self.since_key >= interval);
        // The first frame is an IDR anyway (and the encoder is set up by it).
        if self.frames > 0 && due {
            self.inner.force_intra_frame();
        }
        let millis = u64::try_from(frame.pts.max(0) / 90).unwrap_or(0);
        let out = self
            .inner
            .encode_at(&yuv, openh264::Timestamp::from_millis(millis))
            .map_err(|e| CodecError::Encode(format!("frame at pts {}: {e}", frame.pts)))?;
        let frame_type = out.frame_type();
        if matches!(frame_type, FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        let encoded = EncodedFrame {
            pts: frame.pts,
            is_key: frame_type == FrameType::IDR,
            annex_b: out.to_vec(),
        };
        self.frames += 1;
        if encoded.is_key {
            self.since_key = 1;
            self.key_requested = false;
            self.remember_parameter_sets(&encoded);
        } else {
            self.since_key += 1;
        }
        Ok(Some(encoded))
    }

    fn request_key_frame(&mut self) {
        self.key_requested = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NalFraming;

    /// A moving gradient, so that P-frames have something to code.
    fn test_frame(i: usize) -> Frame {
        let mut f = Frame::black(320, 240, i as i64 * 3600);
        for (n, px) in f.plane_mut(Plane::Y).iter_mut().enumerate() {
            *px = ((n % 320 + n / 320 + i * 4) % 220 + 16) as u8;
        }
        f
    }

    #[test]
    fn key_frames_first_every_n_and_on_request_and_round_trip() {
        let mut enc = H264Encoder::new(EncoderSettings {
            key_frame_interval: 4,
            ..EncoderSettings::default()
        })
        .unwrap();
        let mut keys = Vec::new();
        let mut encoded = Vec::new();
        for i in 0..10 {
            if i == 6 {
                enc.request_key_frame();
            }
            let e = enc.encode(&test_frame(i)).unwrap().expect("never skipped");
            assert_eq!(e.pts, i as i64 * 3600);
            keys.push(e.is_key);
            encoded.push(e);
        }
        let expect: Vec<bool> = (0..10).map(|i| [0, 4, 6].contains(&i)).collect();
        assert_eq!(keys, expect);
        let sets = enc.parameter_sets().expect("after the first IDR").clone();

        // Decode MP4-style samples with the parameter sets given out of band.
        let params = ParameterSets::from_nals([&sets.sps[..], &sets.pps[..]]);
        let mut dec = H264Decoder::new(&params).unwrap();
        let mut frames = Vec::new();
        for e in &encoded {
            let sample = e.mp4_sample();
            let au = AccessUnit {
                data: &sample,
                framing: NalFraming::LengthPrefixed(4),
                pts: e.pts,
            };
            frames.extend(dec.decode(&au).unwrap());
        }
        frames.extend(dec.finish().unwrap());
        assert_eq!(frames.len(), 10);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!((f.width(), f.height(), f.pts), (320, 240, i as i64 * 3600));
            let want = test_frame(i);
            let err: u64 = (0..240)
                .flat_map(|y| (0..320).map(move |x| (x, y)))
                .map(|(x, y)| u64::from(f.luma(x, y).abs_diff(want.luma(x, y))))
                .sum();
            assert!(
                err / (320 * 240) < 6,
                "frame {i}: mean luma error {}",
                err / (320 * 240)
            );
        }
    }

    #[test]
    fn odd_sizes_are_refused_not_panicked_on() {
        let mut enc = H264Encoder::new(EncoderSettings::default()).unwrap();
        let err = enc.encode(&Frame::black(321, 240, 0)).unwrap_err();
        assert!(matches!(err, CodecError::Frame(_)));
    }

    #[test]
    fn garbage_is_an_error_and_the_decoder_goes_on() {
        let mut dec = H264Decoder::new(&ParameterSets::default()).unwrap();
        let junk = [
            0u8, 0, 0, 1, 0x65, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x41, 0x12,
        ];
        let au = AccessUnit {
            data: &junk,
            framing: NalFraming::AnnexB,
            pts: 0,
        };
        // Either refused or nothing decoded; never a panic.
        let _ = dec.decode(&au);
        assert!(dec.finish().is_ok());
    }
}
