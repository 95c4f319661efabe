//! A program stream over RTP as GB/T 28181 sends it (payload type 96 by custom,
//! `a=rtpmap:96 PS/90000`): each pack split into payloads of at most a given size,
//! the 90 kHz time stamp of its frame on each, the marker on the frame's last packet,
//! the SSRC the session agreed on (the SDP's `y=` line, a decimal number). Over TCP
//! (active or passive) every packet is framed by its 16-bit length (RFC 4571). Both
//! directions, sans-IO.

/// An RTP packet as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub payload_type: u8,
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

/// Why bytes are not an RTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than its header says.
    Truncated,
    /// Not RTP version 2.
    Version(u8),
    /// Padding longer than the payload.
    Padding,
}

impl std::fmt::Display for RtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RtpError::Truncated => write!(f, "an RTP packet shorter than its header"),
            RtpError::Version(v) => write!(f, "RTP version {v}, not 2"),
            RtpError::Padding => write!(f, "RTP padding longer than the packet"),
        }
    }
}

impl std::error::Error for RtpError {}

/// Reads one RTP packet (RFC 3550 §5.1): CSRCs and a header extension skipped,
/// padding removed.
pub fn parse(b: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if b.len() < 12 {
        return Err(RtpError::Truncated);
    }
    let version = b[0] >> 6;
    if version != 2 {
        return Err(RtpError::Version(version));
    }
    let mut start = 12 + 4 * usize::from(b[0] & 0x0F);
    if b[0] & 0x10 != 0 {
        let ext = b.get(start..start + 4).ok_or(RtpError::Truncated)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    let mut end = b.len();
    if b[0] & 0x20 != 0 {
        let pad = usize::from(*b.last().expect("at least 12 bytes"));
        if pad == 0 || pad > end.saturating_sub(start) {
            return Err(RtpError::Padding);
        }
        end -= pad;
    }
    let payload = b.get(start..end).ok_or(RtpError::Truncated)?;
    Ok(RtpPacket {
        payload_type: b[1] & 0x7F,
        marker: b[1] & 0x80 != 0,
        seq: u16::from_be_bytes([b[2], b[3]]),
        timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        payload,
    })
}

/// Splits packs into RTP packets of one session.
#[derive(Clone, Debug)]
pub struct Packetizer {
    pub payload_type: u8,
    pub ssrc: u32,
    seq: u16,
    max_payload: usize,
}

impl Packetizer {
    /// `max_payload` bytes of the pack per packet (1400 keeps a packet under a
    /// typical MTU); `first_seq` is where the sequence numbers start.
    pub fn new(payload_type: u8, ssrc: u32, first_seq: u16, max_payload: usize) -> Self {
        Packetizer {
            payload_type: payload_type & 0x7F,
            ssrc,
            seq: first_seq,
            max_payload: max_payload.max(1),
        }
    }

    /// The packets of one pack (one frame) at `timestamp` (90 kHz), the last marked.
    pub fn packets(&mut self, pack: &[u8], timestamp: u32) -> Vec<Vec<u8>> {
        let chunks: Vec<&[u8]> = pack.chunks(self.max_payload).collect();
        let n = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = Vec::with_capacity(12 + c.len());
                p.push(0x80);
                p.push(if i + 1 == n { 0x80 } else { 0 } | self.payload_type);
                p.extend_from_slice(&self.seq.to_be_bytes());
                p.extend_from_slice(&timestamp.to_be_bytes());
                p.extend_from_slice(&self.ssrc.to_be_bytes());
                p.extend_from_slice(c);
                self.seq = self.seq.wrapping_add(1);
                p
            })
            .collect()
    }
}

/// An RTP packet framed for TCP (RFC 4571): its length, then it.
pub fn frame_rfc4571(packet: &[u8]) -> Vec<u8> {
    let len = u16::try_from(packet.len()).expect("an RTP packet is under 64 KiB");
    let mut out = Vec::with_capacity(2 + packet.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    out
}

/// Reads RFC 4571 framed packets from a TCP byte stream, in pieces of any size.
#[derive(Debug, Default)]
pub struct Rfc4571Reader {
    buf: Vec<u8>,
}

impl Rfc4571Reader {
    pub fn new() -> Self {
        Self::default()
    }

    /// The packets completed by `bytes` (an empty frame is skipped).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while self.buf.len() - at >= 2 {
            let len = usize::from(u16::from_be_bytes([self.buf[at], self.buf[at + 1]]));
            if self.buf.len() - at - 2 < len {
                break;
            }
            if len > 0 {
                out.push(self.buf[at + 2..at + 2 + len].to_vec());
            }
            at += 2 + len;
        }
        self.buf.drain(..at);
        out
    }

    /// Bytes waiting for the rest of their frame (at most 2 + 65535).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// The SSRC of a GB/T 28181 session: the SDP's `y=` field, ten decimal digits (its
/// first says live, 0, or playback, 1), as the 32-bit number RTP carries.
pub fn ssrc_from_y(y: &str) -> Option<u32> {
    let y = y.trim();
    if y.len() != 10 || !y.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    y.parse::<u64>().ok().and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_pack_goes_out_in_marked_packets_and_comes_back() {
        let mut p = Packetizer::new(96, ssrc_from_y("0100000001").unwrap(), 65_534, 1400);
        let pack: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let packets = p.packets(&pack, 123_456);
        assert_eq!(packets.len(), 4);
        let mut tcp = Vec::new();
        for pk in &packets {
            tcp.extend(frame_rfc4571(pk));
        }
        let mut r = Rfc4571Reader::new();
        let mut back = Vec::new();
        for c in tcp.chunks(333) {
            back.extend(r.push(c));
        }
        assert_eq!(r.pending(), 0);
        assert_eq!(back, packets);
        let parsed: Vec<RtpPacket> = back.iter().map(|b| parse(b).unwrap()).collect();
        assert_eq!(
            parsed.iter().map(|p| p.seq).collect::<Vec<_>>(),
            [65_534, 65_535, 0, 1]
        );
        assert_eq!(
            parsed.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [false, false, false, true]
        );
        assert!(
            parsed
                .iter()
                .all(|p| p.timestamp == 123_456 && p.ssrc == 100_000_001 && p.payload_type == 96)
        );
        let joined: Vec<u8> = parsed.iter().flat_map(|p| p.payload.to_vec()).collect();
        assert_eq!(joined, pack);
    }

    #[test]
    fn headers_extensions_and_padding_are_read_and_bad_packets_named() {
        let mut b = vec![0xB1, 0x60, 0, 7, 0, 0, 0, 9, 0, 0, 0, 5];
        b.extend_from_slice(&[0xAA; 4]); // one CSRC
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // extension of one word
        b.extend_from_slice(b"ps");
        b.extend_from_slice(&[0, 0, 3]); // padding of 3
        let p = parse(&b).unwrap();
        assert_eq!(
            (p.payload, p.seq, p.ssrc, p.marker),
            (&b"ps"[..], 7, 5, false)
        );
        assert_eq!(parse(&b[..11]), Err(RtpError::Truncated));
        assert_eq!(parse(&[0x40; 12]), Err(RtpError::Version(1)));
        let mut bad = b.clone();
        *bad.last_mut().unwrap() = 200;
        assert_eq!(parse(&bad), Err(RtpError::Padding));
        assert_eq!(ssrc_from_y("0100000001"), Some(100_000_001));
        assert_eq!(ssrc_from_y("9999999999"), None, "over 32 bits");
        assert_eq!(ssrc_from_y("01000"), None);
        assert_eq!(ssrc_from_y("01000000x1"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn any_bytes_never_panic_the_readers(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            cut in 1usize..500,
        ) {
            let _ = parse(&data);
            let mut r = Rfc4571Reader::new();
            for c in data.chunks(cut) {
                for p in r.push(c) {
                    let _ = parse(&p);
                }
                prop_assert!(r.pending() <= 2 + 0xFFFF);
            }
        }
    }
}
