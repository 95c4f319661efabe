//! RTP packetization of H.264 (RFC 6184, packetization mode 1) and H.265 (RFC 7798).
//!
//! NAL units that fit the payload size go as single NAL unit packets; larger ones are
//! split into fragmentation units (H.264 FU-A, H.265 FU). The marker bit is set on the
//! last packet of an access unit.

/// One RTP payload with its marker bit; the RTP header is added per session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub data: Vec<u8>,
    pub marker: bool,
}

const FU_A: u8 = 28;

/// Packetizes one access unit into payloads of at most `max_payload` bytes.
pub fn packetize_h264(nals: &[&[u8]], max_payload: usize) -> Vec<Payload> {
    assert!(max_payload > 2, "payload size too small for FU-A");
    packetize(nals.iter().filter(|n| !n.is_empty()), max_payload, |nal| {
        // FU indicator (the NAL's F and NRI, type 28), then the FU header's type.
        (vec![(nal[0] & 0xe0) | FU_A], nal[0] & 0x1f, 1)
    })
}

/// H.265's fragmentation unit payload type (RFC 7798 §4.4.3).
const FU_H265: u8 = 49;

/// Packetizes one H.265 access unit into payloads of at most `max_payload` bytes
/// (RFC 7798, no DONL: `sprop-max-don-diff` 0). NAL units shorter than their two-byte
/// header are left out.
pub fn packetize_h265(nals: &[&[u8]], max_payload: usize) -> Vec<Payload> {
    assert!(max_payload > 3, "payload size too small for an H.265 FU");
    packetize(nals.iter().filter(|n| n.len() > 2), max_payload, |nal| {
        // The payload header: the NAL unit's, its type replaced by 49.
        (
            vec![(nal[0] & 0x81) | (FU_H265 << 1), nal[1]],
            (nal[0] >> 1) & 0x3f,
            2,
        )
    })
}

/// NAL units as single packets when they fit, else as fragmentation units:
/// `fu(nal)` gives the payload header, the NAL type for the FU header (start and end
/// bits added here) and how many bytes of the NAL's own header the FUs leave out.
fn packetize<'a>(
    nals: impl Iterator<Item = &'a &'a [u8]>,
    max_payload: usize,
    fu: impl Fn(&[u8]) -> (Vec<u8>, u8, usize),
) -> Vec<Payload> {
    let mut out = Vec::new();
    for nal in nals {
        if nal.len() <= max_payload {
            out.push(Payload {
                data: nal.to_vec(),
                marker: false,
            });
            continue;
        }
        let (header, nal_type, skip) = fu(nal);
        let body = &nal[skip..];
        let chunk = max_payload - header.len() - 1;
        let n = body.len().div_ceil(chunk);
        for (i, part) in body.chunks(chunk).enumerate() {
            let mut fu_header = nal_type;
            if i == 0 {
                fu_header |= 0x80;
            }
            if i + 1 == n {
                fu_header |= 0x40;
            }
            let mut data = Vec::with_capacity(part.len() + header.len() + 1);
            data.extend_from_slice(&header);
            data.push(fu_header);
            data.extend_from_slice(part);
            out.push(Payload {
                data,
                marker: false,
            });
        }
    }
    if let Some(last) = out.last_mut() {
        last.marker = true;
    }
    out
}

/// Writes a 12-byte RTP header (version 2, no padding/extension/CSRC).
pub fn rtp_header(payload_type: u8, marker: bool, seq: u16, timestamp: u32, ssrc: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = 0x80;
    h[1] = (payload_type & 0x7f) | if marker { 0x80 } else { 0 };
    h[2..4].copy_from_slice(&seq.to_be_bytes());
    h[4..8].copy_from_slice(&timestamp.to_be_bytes());
    h[8..12].copy_from_slice(&ssrc.to_be_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reassembles FU-A payloads, as a receiver would.
    fn depacketize(ps: &[Payload]) -> Vec<Vec<u8>> {
        let mut nals = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        for p in ps {
            if p.data[0] & 0x1f == FU_A {
                let h = p.data[1];
                if h & 0x80 != 0 {
                    cur = Some(vec![(p.data[0] & 0xe0) | (h & 0x1f)]);
                }
                cur.as_mut().unwrap().extend_from_slice(&p.data[2..]);
                if h & 0x40 != 0 {
                    nals.push(cur.take().unwrap());
                }
            } else {
                nals.push(p.data.clone());
            }
        }
        nals
    }

    #[test]
    fn fragments_and_reassembles() {
        let big: Vec<u8> = std::iter::once(0x65)
            .chain((0..5000).map(|i| i as u8))
            .collect();
        let small = vec![0x67, 1, 2, 3];
        let ps = packetize_h264(&[&small, &big], 1400);
        assert!(ps.iter().all(|p| p.data.len() <= 1400));
        assert_eq!(ps.iter().filter(|p| p.marker).count(), 1);
        assert!(ps.last().unwrap().marker);
        assert_eq!(depacketize(&ps), vec![small, big]);
    }

    /// Reassembles H.265 FUs, as a receiver would (RFC 7798 §4.4.3).
    fn depacketize_h265(ps: &[Payload]) -> Vec<Vec<u8>> {
        let mut nals = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        for p in ps {
            if (p.data[0] >> 1) & 0x3f == FU_H265 {
                let fu = p.data[2];
                if fu & 0x80 != 0 {
                    cur = Some(vec![(p.data[0] & 0x81) | ((fu & 0x3f) << 1), p.data[1]]);
                }
                cur.as_mut().unwrap().extend_from_slice(&p.data[3..]);
                if fu & 0x40 != 0 {
                    nals.push(cur.take().unwrap());
                }
            } else {
                nals.push(p.data.clone());
            }
        }
        nals
    }

    #[test]
    fn h265_fragments_and_reassembles() {
        // An IDR_W_RADL slice (type 19), layer 0, TID 1; a VPS (32) small enough.
        let big: Vec<u8> = [19 << 1, 1]
            .into_iter()
            .chain((0..7000).map(|i| (i * 7) as u8))
            .collect();
        let vps = vec![32 << 1, 1, 0x0c, 0x01];
        let ps = packetize_h265(&[&vps, &big], 1400);
        assert!(ps.iter().all(|p| p.data.len() <= 1400));
        assert_eq!(ps.iter().filter(|p| p.marker).count(), 1);
        assert!(ps.last().unwrap().marker);
        assert_eq!(ps[0].data, vps);
        assert_eq!(depacketize_h265(&ps), vec![vps, big]);
    }
}
