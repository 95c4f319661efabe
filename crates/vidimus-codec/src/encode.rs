//! The [`Encoder`] interface ([`Frame`]s in, H.264 access units out) with key-frame
//! control, and [`EncodedFrame`], one encoded access unit in the framings a muxer or a
//! raw `.h264` file wants.

use crate::{CodecError, Frame};
use vidimus_media::h264::{nal_type, nal_unit_type, split_annexb};

/// Frames in, encoded access units out; no IO.
///
/// Key frames: the first frame is one, then every `key_frame_interval` frames of the
/// encoder's settings, and the next frame after [`Encoder::request_key_frame`].
pub trait Encoder: Send {
    /// Encodes one frame. `None` only if the encoder dropped it (the H.264 encoder is
    /// configured never to).
    fn encode(&mut self, frame: &Frame) -> Result<Option<EncodedFrame>, CodecError>;

    /// Makes the next encoded frame a key frame (IDR with SPS and PPS), e.g. for a viewer
    /// who joins or seeks.
    fn request_key_frame(&mut self);
}

/// One encoded access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The pts of the frame it was encoded from (90 kHz). Our encoder does not reorder,
    /// so this is also the decode time.
    pub pts: i64,
    /// An IDR picture, preceded by SPS and PPS.
    pub is_key: bool,
    /// The NAL units with 4-byte start codes.
    pub annex_b: Vec<u8>,
}

impl EncodedFrame {
    /// The NAL units, without start codes.
    pub fn nals(&self) -> Vec<&[u8]> {
        split_annexb(&self.annex_b)
    }

    /// The MP4 sample: 4-byte length-prefixed NAL units, without SPS, PPS and access
    /// unit delimiters (those live in the `avcC`, see [`crate::avc`]).
    pub fn mp4_sample(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.annex_b.len());
        for nal in self.nals() {
            if matches!(
                nal_unit_type(nal),
                nal_type::SPS | nal_type::PPS | nal_type::AUD
            ) {
                continue;
            }
            out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            out.extend_from_slice(nal);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp4_sample_leaves_parameter_sets_to_avcc() {
        let f = EncodedFrame {
            pts: 0,
            is_key: true,
            annex_b: vec![
                0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 3, 4,
            ],
        };
        assert_eq!(f.nals().len(), 3);
        assert_eq!(f.mp4_sample(), [0, 0, 0, 3, 0x65, 3, 4]);
    }
}
