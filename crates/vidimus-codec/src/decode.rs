//! The [`Decoder`] interface (access units in, [`Frame`]s out) and choosing one for a
//! stream: H.264 in-process with OpenH264 ([`crate::h264::H264Decoder`]), H.265 through
//! Debian's `ffmpeg` ([`crate::ffmpeg::FfmpegDecoder`]).
//!
//! Timestamps: a decoder outputs pictures in presentation order, one per coded picture.
//! Each access unit's pts goes into a [`PtsQueue`]; each picture that comes out takes the
//! smallest pts still queued — right for any reordering (B-frames), since presentation
//! order is pts order.

use std::collections::BTreeMap;

use crate::ffmpeg::{Ffmpeg, FfmpegDecoder};
use crate::h264::H264Decoder;
use crate::{AccessUnit, CodecError, Frame, ParameterSets};
use vidimus_media::VideoCodec;

/// Compressed access units in, decoded frames out (presentation order), no IO of its
/// own (the ffmpeg implementation talks to a subprocess behind it).
pub trait Decoder: Send {
    /// Decodes one access unit (decode order); returns the frames that became ready,
    /// possibly none (the decoder may hold pictures back to reorder them).
    fn decode(&mut self, au: &AccessUnit<'_>) -> Result<Vec<Frame>, CodecError>;

    /// End of stream: returns the frames still held back. Call once, after the last
    /// access unit.
    fn finish(&mut self) -> Result<Vec<Frame>, CodecError>;
}

/// A decoder for `codec`, primed with its parameter sets. H.265 runs `ffmpeg` (at the
/// path `ffmpeg` names) and fails with [`CodecError::FfmpegMissing`] when it is not there.
pub fn open_decoder(
    codec: VideoCodec,
    params: &ParameterSets,
    ffmpeg: &Ffmpeg,
) -> Result<Box<dyn Decoder>, CodecError> {
    Ok(match codec {
        VideoCodec::H264 => Box::new(H264Decoder::new(params)?),
        VideoCodec::H265 => Box::new(FfmpegDecoder::new(ffmpeg, codec, params)?),
    })
}

/// The presentation times of access units sent to a decoder whose pictures have not
/// come out yet (a multiset, smallest first).
#[derive(Debug, Default)]
pub struct PtsQueue(BTreeMap<i64, u32>);

impl PtsQueue {
    pub fn push(&mut self, pts: i64) {
        *self.0.entry(pts).or_default() += 1;
    }

    /// Takes out one occurrence of `pts` (an access unit the decoder refused).
    pub fn remove(&mut self, pts: i64) {
        if let Some(n) = self.0.get_mut(&pts) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&pts);
            }
        }
    }

    /// The smallest pts still queued.
    pub fn pop(&mut self) -> Option<i64> {
        let mut first = self.0.first_entry()?;
        let pts = *first.key();
        *first.get_mut() -= 1;
        if *first.get() == 0 {
            first.remove();
        }
        Some(pts)
    }

    pub fn len(&self) -> usize {
        self.0.values().map(|&n| n as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pts_queue_gives_presentation_order() {
        // Decode order I P B B (pts 0 3 1 2): pictures come out 0 1 2 3.
        let mut q = PtsQueue::default();
        for pts in [0, 3, 1, 2, 2] {
            q.push(pts);
        }
        q.remove(2);
        q.remove(99);
        assert_eq!(q.len(), 4);
        let out: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(out, [0, 1, 2, 3]);
        assert!(q.is_empty());
    }

    #[test]
    fn h265_without_ffmpeg_is_a_clear_error() {
        let missing = Ffmpeg::at("/nonexistent/ffmpeg");
        let err = open_decoder(VideoCodec::H265, &ParameterSets::default(), &missing)
            .err()
            .expect("no ffmpeg");
        assert!(matches!(err, CodecError::FfmpegMissing(_)));
        assert!(
            err.to_string()
                .starts_with("H.265 needs ffmpeg (apt-get install ffmpeg)")
        );
    }
}
