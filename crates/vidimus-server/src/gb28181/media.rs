//! The media of a GB/T 28181 live session: the camera's frames from the live fan-out,
//! each packed as MPEG-PS (`vidimus-ps`, parameter sets before every key frame) and
//! sent in RTP with the SSRC the superior asked for — over UDP, or over TCP with RFC
//! 4571 framing, this side connecting (the superior's `a=setup:passive`) or listening
//! (`a=setup:active`) — until the superior says BYE, the camera's channel closes, or
//! the hand-out must stop (grant revoked or expired). The loops are `relay`'s, shared
//! with the RTSP re-stream; playback and download of recordings too.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use vidimus_codec::bitstream::{AccessUnit, NalFraming, ParameterSets};
use vidimus_gb28181::sdp::{MediaSdp, Setup, Transport};
use vidimus_ps::rtp::{Packetizer, frame_rfc4571};
use vidimus_ps::{PsMuxer, VideoCodec};

/// RTP payload size: under a 1500-byte MTU with IP, UDP and RTP headers.
const MAX_PAYLOAD: usize = 1400;
/// How long a TCP media connection may take to be made.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// Where the media goes, prepared when the INVITE is answered.
pub enum Path {
    Udp {
        socket: UdpSocket,
        to: SocketAddr,
    },
    /// This side connects to the superior.
    TcpConnect(SocketAddr),
    /// The superior connects to this side, from this address (the offer's `c=`):
    /// connections from anywhere else are closed unread.
    TcpListen(TcpListener, IpAddr),
}

/// The media path an offer asks for, opened on `ip`, and our side of it for the
/// answer: the transport and port.
pub async fn prepare(offer: &MediaSdp, ip: IpAddr) -> std::io::Result<(Path, Transport, u16)> {
    let to: SocketAddr = format!("{}:{}", offer.address, offer.port)
        .parse()
        .or_else(|_| {
            offer
                .address
                .parse::<IpAddr>()
                .map(|a| SocketAddr::new(a, offer.port))
        })
        .map_err(|_| {
            std::io::Error::other(format!(
                "the offer's media address {:?} is not an IP address",
                offer.address
            ))
        })?;
    Ok(match offer.transport {
        Transport::Udp => {
            let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
            let port = socket.local_addr()?.port();
            (Path::Udp { socket, to }, Transport::Udp, port)
        }
        Transport::Tcp(Setup::Active) => {
            let l = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
            let port = l.local_addr()?.port();
            (
                Path::TcpListen(l, to.ip()),
                Transport::Tcp(Setup::Passive),
                port,
            )
        }
        // The superior listens (or lets us choose): we connect, from port 9 by
        // RFC 4145's custom for the active side.
        Transport::Tcp(Setup::Passive | Setup::ActPass) => {
            (Path::TcpConnect(to), Transport::Tcp(Setup::Active), 9)
        }
    })
}

/// An open media path.
pub(super) enum Sink {
    Udp { socket: UdpSocket, to: SocketAddr },
    Tcp(TcpStream),
}

impl Sink {
    pub(super) async fn open(path: Path) -> std::io::Result<Sink> {
        Ok(match path {
            Path::Udp { socket, to } => Sink::Udp { socket, to },
            Path::TcpConnect(to) => {
                let s = tokio::time::timeout(CONNECT_WITHIN, TcpStream::connect(to))
                    .await
                    .map_err(|_| std::io::Error::other(format!("no TCP connection to {to}")))??;
                s.set_nodelay(true)?;
                Sink::Tcp(s)
            }
            Path::TcpListen(l, from) => {
                let deadline = tokio::time::Instant::now() + CONNECT_WITHIN;
                loop {
                    let (s, peer) = tokio::time::timeout_at(deadline, l.accept())
                        .await
                        .map_err(|_| {
                            std::io::Error::other("the superior did not connect for media")
                        })??;
                    if peer.ip().to_canonical() == from.to_canonical() {
                        s.set_nodelay(true)?;
                        break Sink::Tcp(s);
                    }
                    tracing::warn!(%peer, expected = %from, "gb28181: a media connection from elsewhere was closed");
                }
            }
        })
    }

    pub(super) async fn send(&mut self, packets: &[Vec<u8>]) -> std::io::Result<u64> {
        let mut n = 0;
        match self {
            Sink::Udp { socket, to } => {
                for p in packets {
                    socket.send_to(p, *to).await?;
                    n += p.len() as u64;
                }
            }
            Sink::Tcp(s) => {
                let mut buf = Vec::with_capacity(packets.iter().map(|p| p.len() + 2).sum());
                for p in packets {
                    buf.extend(frame_rfc4571(p));
                }
                s.write_all(&buf).await?;
                n = buf.len() as u64;
            }
        }
        Ok(n)
    }
}

/// Recorded or live access units packed as MPEG-PS in RTP: the parameter sets of
/// the stream's sample entry before every key frame, one pack per access unit, RTP
/// payload type 96 with the session's SSRC.
pub(super) struct PackRtp {
    rtp: Packetizer,
    /// The sample entry packed for, its muxer, parameter sets (Annex B) and NAL length.
    current: Option<(Vec<u8>, PsMuxer, Vec<u8>, u8)>,
    au: Vec<u8>,
}

impl PackRtp {
    pub(super) fn new(ssrc: u32) -> Self {
        PackRtp {
            rtp: Packetizer::new(96, ssrc, 1, MAX_PAYLOAD),
            current: None,
            au: Vec::new(),
        }
    }

    /// The RTP packets of one access unit (length-prefixed NAL units, as recorded) of
    /// a stream with `sample_entry`, at `pts` (90 kHz).
    pub(super) fn packets(
        &mut self,
        sample_entry: &[u8],
        data: &[u8],
        pts: i64,
        key: bool,
    ) -> Result<Vec<Vec<u8>>, String> {
        if self
            .current
            .as_ref()
            .is_none_or(|(e, ..)| e != sample_entry)
        {
            let (codec, ps) = ParameterSets::from_sample_entry(sample_entry)
                .map_err(|e| format!("the stream cannot be sent: {e}"))?;
            let codec = match codec {
                vidimus_media::VideoCodec::H264 => VideoCodec::H264,
                vidimus_media::VideoCodec::H265 => VideoCodec::H265,
            };
            let mut prefix = Vec::new();
            for nal in &ps.nals {
                prefix.extend_from_slice(&[0, 0, 0, 1]);
                prefix.extend_from_slice(nal);
            }
            self.current = Some((
                sample_entry.to_vec(),
                PsMuxer::new(codec),
                prefix,
                ps.nal_length_size,
            ));
        }
        let (_, mux, prefix, nal_len) = self.current.as_ref().expect("set above");
        self.au.clear();
        if key {
            self.au.extend_from_slice(prefix);
        }
        AccessUnit {
            data,
            framing: NalFraming::LengthPrefixed(*nal_len),
            pts,
        }
        .append_annex_b(&mut self.au)
        .map_err(|e| format!("a recorded access unit is malformed: {e}"))?;
        let pts = pts.max(0) as u64;
        let pack = mux.pack(&self.au, pts, None, key);
        Ok(self.rtp.packets(&pack, pts as u32))
    }
}

/// A GB/T 28181 session's media path: access units packed as PS in RTP, sent on the
/// sink.
pub(super) struct GbOut {
    sink: Sink,
    pack: PackRtp,
}

impl GbOut {
    pub(super) async fn open(path: Path, ssrc: u32) -> Result<GbOut, String> {
        let sink = Sink::open(path)
            .await
            .map_err(|e| format!("media not sent: {e}"))?;
        Ok(GbOut {
            sink,
            pack: PackRtp::new(ssrc),
        })
    }
}

impl crate::relay::Out for GbOut {
    async fn send(
        &mut self,
        entry: &[u8],
        data: &[u8],
        pts: i64,
        key: bool,
    ) -> Result<u64, String> {
        let packets = self.pack.packets(entry, data, pts, key)?;
        self.sink
            .send(&packets)
            .await
            .map_err(|e| format!("the superior's media path failed: {e}"))
    }
}
