//! Access units into RTP packets for one session: H.264 (RFC 6184) or H.265 (RFC
//! 7798), payload type 96, the session's SSRC, sequence numbers from a random start,
//! timestamps the access units' 90 kHz times from a random base (RFC 3550 §5.1).

use vidimus_media::VideoCodec;
use vidimus_media::rtp::{packetize_h264, packetize_h265, rtp_header};

/// RTP payload size: under a 1500-byte MTU with IP, UDP and RTP headers.
pub const MAX_PAYLOAD: usize = 1400;

/// One session's packer.
pub struct Packer {
    codec: VideoCodec,
    pub ssrc: u32,
    seq: u16,
    ts_base: u32,
    /// The 90 kHz time of the first access unit packed (timestamps count from it).
    first: Option<i64>,
}

impl Packer {
    /// `seed` gives the SSRC, the first sequence number and the timestamp base.
    pub fn new(codec: VideoCodec, seed: u64) -> Self {
        Packer {
            codec,
            ssrc: (seed >> 32) as u32 | 1,
            seq: seed as u16,
            ts_base: (seed >> 16) as u32,
            first: None,
        }
    }

    /// The next sequence number and the RTP time of the first access unit, for
    /// `RTP-Info` (RFC 2326 §12.33).
    pub fn rtp_info(&self) -> (u16, u32) {
        (self.seq, self.ts_base)
    }

    /// The packets of one access unit at `pts` (90 kHz), its NAL units unframed.
    pub fn packets(&mut self, nals: &[&[u8]], pts: i64) -> Vec<Vec<u8>> {
        let first = *self.first.get_or_insert(pts);
        let ts = self.ts_base.wrapping_add((pts - first) as u32);
        let payloads = match self.codec {
            VideoCodec::H264 => packetize_h264(nals, MAX_PAYLOAD),
            VideoCodec::H265 => packetize_h265(nals, MAX_PAYLOAD),
        };
        payloads
            .into_iter()
            .map(|p| {
                let h = rtp_header(crate::sdp::PAYLOAD_TYPE, p.marker, self.seq, ts, self.ssrc);
                self.seq = self.seq.wrapping_add(1);
                let mut out = Vec::with_capacity(12 + p.data.len());
                out.extend_from_slice(&h);
                out.extend_from_slice(&p.data);
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_and_timestamps_follow_the_access_units() {
        let mut p = Packer::new(VideoCodec::H264, 0x1234_5678_9abc_def0);
        let (seq0, ts0) = p.rtp_info();
        let a = p.packets(&[&[0x65; 3000]], 9000);
        let b = p.packets(&[&[0x41, 1, 2]], 9000 + 3600);
        let seq = |pk: &Vec<u8>| u16::from_be_bytes([pk[2], pk[3]]);
        let ts = |pk: &Vec<u8>| u32::from_be_bytes([pk[4], pk[5], pk[6], pk[7]]);
        assert_eq!(seq(&a[0]), seq0);
        assert_eq!(seq(&b[0]), seq0.wrapping_add(a.len() as u16));
        assert_eq!(ts(&a[0]), ts0);
        assert_eq!(ts(&b[0]), ts0.wrapping_add(3600));
        assert!(
            a.last().unwrap()[1] & 0x80 != 0,
            "marker on the last packet"
        );
        assert!(a.iter().all(|pk| pk.len() <= 12 + MAX_PAYLOAD));
        assert_eq!(&a[0][8..12], &p.ssrc.to_be_bytes());
    }
}
