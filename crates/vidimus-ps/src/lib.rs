//! MPEG-2 program streams (ISO/IEC 13818-1 §2.5) as GB/T 28181 carries video: each
//! access unit becomes one *pack* — a pack header with the system clock reference, on
//! key frames the system header and the program stream map (PSM) naming the stream's
//! codec, then the access unit in PES packets of at most 64 KiB with its PTS (and
//! DTS). What goes in is an Annex B access unit (start codes), with the parameter
//! sets in front of each key frame; what comes out are the pack's bytes, to be sent
//! over RTP (RFC 2250 style: split into payloads at any byte) or written to a file
//! that `ffprobe -f mpeg` reads. Sans-IO: no clock, no socket.
//!
//! [`PsDemuxer`] reads such a stream back, as a device or a lower platform sends it
//! (in any pieces, with garbage, lost bytes and other streams mixed in): the video's
//! access units with their times, and the codec its PSM names. [`rtp`] carries packs
//! over RTP, on UDP or framed for TCP (RFC 4571).

mod demux;
pub mod rtp;
pub use demux::{DemuxedFrame, MAX_ACCESS_UNIT, PsDemuxer};

/// The video codec of the stream, as the PSM names it (ISO/IEC 13818-1 Table 2-34;
/// GB/T 28181-2022 Annex C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    /// `stream_type` 0x1B.
    H264,
    /// `stream_type` 0x24.
    H265,
}

impl VideoCodec {
    pub fn stream_type(self) -> u8 {
        match self {
            VideoCodec::H264 => 0x1B,
            VideoCodec::H265 => 0x24,
        }
    }
}

/// The PES `stream_id` of the (first) video stream.
pub const VIDEO_STREAM_ID: u8 = 0xE0;

/// The largest PES payload one packet carries (its 16-bit length also counts the
/// three flag bytes and the PTS/DTS).
const MAX_PES_PAYLOAD: usize = 0xFFFF - 3 - 10;

/// `program_mux_rate` in units of 50 bytes/s: 20 Mbit/s, above any camera's stream
/// (it is a bound for a decoder's buffer model, not a promise of the rate).
const MUX_RATE: u32 = 50_000;

/// Packs access units of one video stream into a program stream.
#[derive(Clone, Debug)]
pub struct PsMuxer {
    codec: VideoCodec,
    /// The PSM's version, incremented (mod 32) when the codec changes.
    psm_version: u8,
}

impl PsMuxer {
    pub fn new(codec: VideoCodec) -> Self {
        PsMuxer {
            codec,
            psm_version: 0,
        }
    }

    /// The stream's codec changes (a camera reconfigured): the next key frame's PSM
    /// says so, with a new version.
    pub fn set_codec(&mut self, codec: VideoCodec) {
        if codec != self.codec {
            self.codec = codec;
            self.psm_version = (self.psm_version + 1) & 0x1F;
        }
    }

    /// One pack carrying the Annex B access unit `au`, presented at `pts` and decoded
    /// at `dts` (90 kHz, 33 bits; `dts` only when it differs). A key frame (`key`)
    /// also carries the system header and the PSM, so a receiver can start there.
    pub fn pack(&self, au: &[u8], pts: u64, dts: Option<u64>, key: bool) -> Vec<u8> {
        let dts = dts.filter(|d| *d != pts);
        let scr = dts.unwrap_or(pts);
        let mut out = Vec::with_capacity(au.len() + au.len() / MAX_PES_PAYLOAD * 20 + 64);
        pack_header(&mut out, scr);
        if key {
            system_header(&mut out);
            psm(&mut out, self.codec, self.psm_version);
        }
        let mut first = true;
        for chunk in au.chunks(MAX_PES_PAYLOAD) {
            pes(&mut out, chunk, first.then_some((pts, dts)));
            first = false;
        }
        if au.is_empty() {
            pes(&mut out, &[], Some((pts, dts)));
        }
        out
    }
}

/// Writes a 33-bit time stamp with its marker bits: `prefix` in the high nibble
/// (0b0010 PTS alone, 0b0011 PTS followed by DTS, 0b0001 the DTS).
fn timestamp(out: &mut Vec<u8>, prefix: u8, t: u64) {
    let t = t & 0x1_FFFF_FFFF;
    out.extend_from_slice(&[
        (prefix << 4) | (((t >> 30) as u8 & 0x07) << 1) | 1,
        (t >> 22) as u8,
        ((((t >> 15) & 0x7F) as u8) << 1) | 1,
        (t >> 7) as u8,
        (((t & 0x7F) as u8) << 1) | 1,
    ]);
}

/// The pack header (§2.5.3.3): the system clock reference (`scr`, 90 kHz base; the
/// 27 MHz extension 0), the mux rate, no stuffing.
fn pack_header(out: &mut Vec<u8>, scr: u64) {
    let b = scr & 0x1_FFFF_FFFF;
    out.extend_from_slice(&[0, 0, 1, 0xBA]);
    out.extend_from_slice(&[
        0x40 | (((b >> 30) as u8 & 0x07) << 3) | 0x04 | ((b >> 28) as u8 & 0x03),
        (b >> 20) as u8,
        ((((b >> 15) & 0x1F) as u8) << 3) | 0x04 | ((b >> 13) as u8 & 0x03),
        (b >> 5) as u8,
        (((b & 0x1F) as u8) << 3) | 0x04,
        0x01,
    ]);
    let r = MUX_RATE << 2 | 0x03;
    out.extend_from_slice(&[(r >> 16) as u8, (r >> 8) as u8, r as u8]);
    out.push(0xF8);
}

/// The system header (§2.5.3.5): one video stream, a 1 MiB P-STD buffer.
fn system_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, 1, 0xBB]);
    let streams = [(VIDEO_STREAM_ID, 1u8, 1024u16)];
    let len = 6 + 3 * streams.len() as u16;
    out.extend_from_slice(&len.to_be_bytes());
    let rate = MUX_RATE;
    out.extend_from_slice(&[
        0x80 | ((rate >> 15) as u8 & 0x7F),
        (rate >> 7) as u8,
        ((rate as u8 & 0x7F) << 1) | 1,
        // audio_bound 0, fixed 0, CSPS 0
        0x00,
        // audio lock 1, video lock 1, marker, video_bound 1
        0xE1,
        // packet_rate_restriction 0, reserved
        0x7F,
    ]);
    for (id, scale, size) in streams {
        out.push(id);
        out.push(0xC0 | (scale << 5) | ((size >> 8) as u8 & 0x1F));
        out.push(size as u8);
    }
}

/// The program stream map (§2.5.4): the one video stream and its codec, with the
/// MPEG-2 CRC.
fn psm(out: &mut Vec<u8>, codec: VideoCodec, version: u8) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 1, 0xBC]);
    let entries = [(codec.stream_type(), VIDEO_STREAM_ID)];
    let len = 10 + 4 * entries.len() as u16;
    out.extend_from_slice(&len.to_be_bytes());
    // current_next_indicator 1, reserved, version; reserved, marker.
    out.extend_from_slice(&[0x80 | 0x60 | (version & 0x1F), 0xFF]);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&(4 * entries.len() as u16).to_be_bytes());
    for (stream_type, id) in entries {
        out.extend_from_slice(&[stream_type, id, 0, 0]);
    }
    let crc = crc32_mpeg2(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PES packet (§2.4.3.6) of the video stream: with the PTS (and DTS) when `times`,
/// else a continuation of the access unit.
fn pes(out: &mut Vec<u8>, payload: &[u8], times: Option<(u64, Option<u64>)>) {
    out.extend_from_slice(&[0, 0, 1, VIDEO_STREAM_ID]);
    let (flags, header_len) = match times {
        Some((_, Some(_))) => (0xC0, 10),
        Some((_, None)) => (0x80, 5),
        None => (0x00, 0),
    };
    let len = 3 + header_len + payload.len();
    debug_assert!(len <= 0xFFFF);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    // '10', not scrambled, data_alignment on the first packet of an access unit.
    out.push(if times.is_some() { 0x84 } else { 0x80 });
    out.push(flags);
    out.push(header_len as u8);
    match times {
        Some((pts, Some(dts))) => {
            timestamp(out, 0b0011, pts);
            timestamp(out, 0b0001, dts);
        }
        Some((pts, None)) => timestamp(out, 0b0010, pts),
        None => {}
    }
    out.extend_from_slice(payload);
}

/// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial 0xFFFFFFFF, not reflected, no final
/// XOR (ISO/IEC 13818-1 Annex A).
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_mpeg2s() {
        // The check value of CRC-32/MPEG-2 ("123456789").
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }

    /// Reads a 33-bit time stamp back, checking its marker bits.
    fn read_ts(b: &[u8]) -> u64 {
        assert_eq!(b[0] & 1, 1);
        assert_eq!(b[2] & 1, 1);
        assert_eq!(b[4] & 1, 1);
        (u64::from(b[0] >> 1) & 7) << 30
            | u64::from(b[1]) << 22
            | u64::from(b[2] >> 1) << 15
            | u64::from(b[3]) << 7
            | u64::from(b[4] >> 1)
    }

    #[test]
    fn a_key_frame_pack_has_its_headers_and_its_times() {
        let m = PsMuxer::new(VideoCodec::H265);
        let au = [0, 0, 0, 1, 0x40, 0x01, 0xAA];
        let pts = (1u64 << 33) - 7; // near the 33-bit wrap
        let p = m.pack(&au, pts, Some(pts - 3600), true);
        assert_eq!(&p[..4], &[0, 0, 1, 0xBA]);
        assert_eq!(p[4] >> 6, 0b01, "MPEG-2 pack header");
        assert_eq!(&p[14..18], &[0, 0, 1, 0xBB]);
        let sh_len = u16::from_be_bytes([p[18], p[19]]) as usize;
        let psm_at = 20 + sh_len;
        assert_eq!(&p[psm_at..psm_at + 4], &[0, 0, 1, 0xBC]);
        let psm_len = u16::from_be_bytes([p[psm_at + 4], p[psm_at + 5]]) as usize;
        let psm = &p[psm_at..psm_at + 6 + psm_len];
        assert_eq!(psm[12], 0x24, "stream_type H.265");
        assert_eq!(psm[13], 0xE0);
        let crc = u32::from_be_bytes(psm[psm.len() - 4..].try_into().unwrap());
        assert_eq!(crc32_mpeg2(&psm[..psm.len() - 4]), crc);
        let pes = &p[psm_at + 6 + psm_len..];
        assert_eq!(&pes[..4], &[0, 0, 1, 0xE0]);
        assert_eq!(pes[7], 0xC0);
        assert_eq!(read_ts(&pes[9..14]), pts);
        assert_eq!(read_ts(&pes[14..19]), pts - 3600);
        assert_eq!(&pes[19..], &au);
        assert_eq!(u16::from_be_bytes([pes[4], pes[5]]) as usize, pes.len() - 6);
    }

    #[test]
    fn a_large_access_unit_spans_pes_packets_and_only_the_first_has_times() {
        let m = PsMuxer::new(VideoCodec::H264);
        let au: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let p = m.pack(&au, 90_000, None, false);
        // No system header or PSM on a frame that is not a key frame.
        assert_eq!(&p[14..18], &[0, 0, 1, 0xE0]);
        let (mut at, mut payload, mut timed) = (14, Vec::new(), 0);
        while at < p.len() {
            assert_eq!(&p[at..at + 4], &[0, 0, 1, 0xE0]);
            let len = u16::from_be_bytes([p[at + 4], p[at + 5]]) as usize;
            let hl = p[at + 8] as usize;
            if p[at + 7] & 0x80 != 0 {
                timed += 1;
            }
            payload.extend_from_slice(&p[at + 9 + hl..at + 6 + len]);
            at += 6 + len;
        }
        assert_eq!(at, p.len());
        assert_eq!(timed, 1);
        assert_eq!(payload, au);
    }

    #[test]
    fn the_scr_encodes_the_time() {
        let m = PsMuxer::new(VideoCodec::H264);
        for t in [0u64, 1, 3600, 1 << 32, (1 << 33) - 1] {
            let p = m.pack(&[0, 0, 0, 1, 0x65], t, None, false);
            let b = &p[4..10];
            for (i, bit) in [(0, 2), (2, 2), (4, 2)] {
                assert_eq!(b[i] >> bit & 1, 1, "marker");
            }
            let scr = (u64::from(b[0] >> 3) & 7) << 30
                | (u64::from(b[0]) & 3) << 28
                | u64::from(b[1]) << 20
                | (u64::from(b[2] >> 3) & 0x1F) << 15
                | (u64::from(b[2]) & 3) << 13
                | u64::from(b[3]) << 5
                | u64::from(b[4] >> 3);
            assert_eq!(scr, t);
        }
    }
}
