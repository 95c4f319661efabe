//! Vidimus media: pure (no IO) handling of compressed video.
//!
//! - [`fmp4`]: the fragmented-MP4 segment format — the init segment and one fragment
//!   per GOP — written without copying sample data.
//! - [`scan`]: reading a segment back: validating its structure, finding the last
//!   complete fragment (crash recovery), and recovering its metadata (re-indexing).
//! - [`export`]: progressive MP4 (moov + mdat, edit list) for exports.
//! - [`mp4file`]: the video track of an ordinary MP4 file (ours or anyone's) read back:
//!   sample entry and samples (for anonymizing a file).
//! - [`h264`]: H.264 Annex B parsing: NAL units, access units, parameter sets.
//! - [`rtp`]: RTP packetization of H.264 (RFC 6184) and H.265 (RFC 7798), used by the
//!   simulated camera and the RTSP re-stream.
//!
//! Recording never transcodes: samples arrive as the camera encoded them and leave the
//! same way.

pub mod export;
pub mod fmp4;
pub mod h264;
pub mod mp4file;
pub mod rtp;
pub mod scan;

#[cfg(test)]
mod tests {
    use super::VideoCodec;

    #[test]
    fn random_access_points() {
        let cra = [0, 0, 0, 3, 21 << 1, 1, 0xaa];
        let trail = [0, 0, 0, 3, 1 << 1, 1, 0xaa];
        let sei_then_idr = [0, 0, 0, 2, 39 << 1, 1, 0, 0, 0, 2, 19 << 1, 1];
        assert!(VideoCodec::H265.is_random_access(&cra));
        assert!(!VideoCodec::H265.is_random_access(&trail));
        assert!(VideoCodec::H265.is_random_access(&sei_then_idr));
        assert!(VideoCodec::H264.is_random_access(&[0, 0, 0, 2, 0x65, 0x88]));
        assert!(!VideoCodec::H264.is_random_access(&[0, 0, 0, 2, 0x41, 0x9a]));
        assert!(!VideoCodec::H264.is_random_access(&[0, 0, 0, 9])); // truncated: no panic
        assert!(!VideoCodec::H265.is_random_access(&[0xff, 0xff, 0xff, 0xff, 2, 0]));
    }
}

/// Video codecs Vidimus records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    H264,
    H265,
}

impl VideoCodec {
    /// Whether a frame (4-byte length-prefixed NAL units, as stored in MP4) is a
    /// random access point: an IDR picture for H.264; any IRAP picture (IDR, CRA or
    /// BLA, NAL types 16–23) for H.265. Cameras commonly send CRA key frames, which
    /// some depacketizers do not flag.
    pub fn is_random_access(self, frame: &[u8]) -> bool {
        let mut pos = 0usize;
        while pos + 4 < frame.len() {
            let len =
                u32::from_be_bytes([frame[pos], frame[pos + 1], frame[pos + 2], frame[pos + 3]])
                    as usize;
            let Some(&hdr) = frame.get(pos + 4) else {
                break;
            };
            let rap = match self {
                VideoCodec::H264 => hdr & 0x1f == 5,
                VideoCodec::H265 => (16..=23).contains(&((hdr >> 1) & 0x3f)),
            };
            if rap {
                return true;
            }
            pos = pos.saturating_add(4).saturating_add(len);
        }
        false
    }

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
