//! The transport of a session, chosen from the client's `Transport` header (RFC 2326
//! §12.39): RTP interleaved on the RTSP connection, or unicast UDP to the client's
//! ports — to the address the RTSP connection comes from, never to a `destination=`
//! the client names (which would aim a stream at someone else). Multicast is not
//! served.

use rtsp_types::headers::{RtpLowerTransport, RtpProfile, Transport, Transports};

/// Where a session's packets go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// `$` frames on the RTSP connection, on these channels.
    Interleaved { rtp: u8, rtcp: u8 },
    /// UDP to the connection's peer, at these ports.
    Udp { rtp: u16, rtcp: u16 },
}

/// Why no transport offered is served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransportError {
    #[error("no Transport header")]
    Missing,
    #[error("the Transport header cannot be read")]
    Unreadable,
    #[error(
        "no transport offered is served: RTP/AVP/TCP interleaved or RTP/AVP unicast with client_port"
    )]
    Unsupported,
}

/// The first transport offered that is served.
pub fn choose(offered: Option<&Transports>) -> Result<Chosen, TransportError> {
    let offered = offered.ok_or(TransportError::Missing)?;
    for t in offered.iter() {
        let Transport::Rtp(rtp) = t else { continue };
        if rtp.profile != RtpProfile::Avp || rtp.params.multicast {
            continue;
        }
        match rtp.lower_transport {
            Some(RtpLowerTransport::Tcp) => {
                let (a, b) = rtp.params.interleaved.unwrap_or((0, Some(1)));
                let rtcp = b.unwrap_or(a.wrapping_add(1));
                return Ok(Chosen::Interleaved { rtp: a, rtcp });
            }
            None | Some(RtpLowerTransport::Udp) => {
                let Some((a, b)) = rtp.params.client_port else {
                    continue;
                };
                if a == 0 {
                    continue;
                }
                return Ok(Chosen::Udp {
                    rtp: a,
                    rtcp: b.unwrap_or(a.wrapping_add(1)),
                });
            }
            _ => continue,
        }
    }
    Err(TransportError::Unsupported)
}

impl Chosen {
    /// The answer's `Transport` header; `server` is this side's UDP ports.
    pub fn reply(&self, ssrc: u32, server: Option<(u16, u16)>) -> String {
        match *self {
            Chosen::Interleaved { rtp, rtcp } => {
                format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp};ssrc={ssrc:08X}")
            }
            Chosen::Udp { rtp, rtcp } => {
                let (s1, s2) = server.unwrap_or((0, 0));
                format!(
                    "RTP/AVP;unicast;client_port={rtp}-{rtcp};server_port={s1}-{s2};ssrc={ssrc:08X}"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Incoming, take};

    fn offered(t: &str) -> Result<Chosen, TransportError> {
        let mut buf = format!(
            "SETUP rtsp://h/cameras/1/live/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: {t}\r\n\r\n"
        )
        .into_bytes();
        let Some(Incoming::Request(r)) = take(&mut buf).unwrap() else {
            panic!()
        };
        let ts = r.transports().map_err(|_| TransportError::Unreadable)?;
        choose(ts.as_ref())
    }

    #[test]
    fn interleaved_udp_and_refusals() {
        assert_eq!(
            offered("RTP/AVP/TCP;unicast;interleaved=0-1"),
            Ok(Chosen::Interleaved { rtp: 0, rtcp: 1 })
        );
        assert_eq!(
            offered("RTP/AVP;unicast;client_port=5000-5001"),
            Ok(Chosen::Udp {
                rtp: 5000,
                rtcp: 5001
            })
        );
        // The first served one of several.
        assert_eq!(
            offered("RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=4-5"),
            Ok(Chosen::Interleaved { rtp: 4, rtcp: 5 })
        );
        assert_eq!(
            offered("RTP/SAVP;unicast;client_port=5000-5001"),
            Err(TransportError::Unsupported)
        );
        assert_eq!(offered("RTP/AVP;unicast"), Err(TransportError::Unsupported));
        assert_eq!(choose(None), Err(TransportError::Missing));
        assert_eq!(
            Chosen::Udp {
                rtp: 5000,
                rtcp: 5001
            }
            .reply(0xABC, Some((6000, 6001))),
            "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=00000ABC"
        );
    }
}
