//! Vidimus media: pure (no IO) handling of compressed video.
//!
//! - [`fmp4`]: the fragmented-MP4 segment format — the init segment and one fragment
//!   per GOP — written without copying sample data.
//! - [`scan`]: reading a segment back: validating its structure, finding the last
//!   complete fragment (crash recovery), and recovering its metadata (re-indexing).
//! - [`h264`]: H.264 Annex B parsing: NAL units, access units, parameter sets.
//! - [`rtp`]: RTP packetization of H.264 (RFC 6184), used by the simulated camera.
//!
//! Recording never transcodes: samples arrive as the camera encoded them and leave the
//! same way.

pub mod fmp4;
pub mod h264;
pub mod rtp;
pub mod scan;

/// Video codecs Vidimus records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    H264,
    H265,
}

impl VideoCodec {
    /// The name stored in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "h265",
        }
    }

    /// From the MP4 sample entry type.
    pub fn from_sample_entry(fourcc: [u8; 4]) -> Option<Self> {
        match &fourcc {
            b"avc1" | b"avc3" => Some(VideoCodec::H264),
            b"hvc1" | b"hev1" => Some(VideoCodec::H265),
            _ => None,
        }
    }
}
