//! RTP packetization of H.264 (RFC 6184, packetization mode 1).
//!
//! NAL units that fit the payload size go as single NAL unit packets; larger ones are
//! split into FU-A fragments. The marker bit is set on the last packet of an access unit.

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
    let mut out = Vec::new();
    for nal in nals.iter().filter(|n| !n.is_empty()) {
        if nal.len() <= max_payload {
            out.push(Payload {
                data: nal.to_vec(),
                marker: false,
            });
            continue;
        }
        let indicator = (nal[0] & 0xe0) | FU_A;
        let nal_type = nal[0] & 0x1f;
        let body = &nal[1..];
        let chunk = max_payload - 2;
        let n = body.len().div_ceil(chunk);
        for (i, part) in body.chunks(chunk).enumerate() {
            let mut header = nal_type;
            if i == 0 {
                header |= 0x80;
            }
            if i + 1 == n {
                header |= 0x40;
            }
            let mut data = Vec::with_capacity(part.len() + 2);
            data.push(indicator);
            data.push(header);
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
}
