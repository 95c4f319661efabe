//! The SDP of GB/T 28181 media sessions (2016 §F, 2022 §F), read and written.
//!
//! An `INVITE` offers `s=Play` (live), `s=Playback` or `s=Download` (recordings between
//! the `t=` times, of the channel in `u=`), one `m=video` line over RTP/AVP (UDP) or
//! TCP/RTP/AVP with `a=setup` saying who connects, payload 96 `PS/90000`, and the GB
//! lines `y=` (the SSRC, ten decimal digits) and `f=` (media parameters). The answer
//! names where the media comes from and, for the SSRC, what is really sent — which
//! must be what the offer asked, or the superior drops the stream (a cascade's classic
//! fault).

/// What is wrong with an SDP.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("SDP line {0:?} is not `x=value`")]
    Line(String),
    #[error("SDP has no {0}")]
    Missing(&'static str),
    #[error("SDP {field} {value:?} is not {what}")]
    Value {
        field: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("the SDP is not text")]
    NotText,
}

fn bad(field: &'static str, value: &str, what: &'static str) -> SdpError {
    SdpError::Value {
        field,
        value: value.chars().take(64).collect(),
        what,
    }
}

/// What the session is for (`s=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Play,
    Playback,
    Download,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Play => "Play",
            SessionKind::Playback => "Playback",
            SessionKind::Download => "Download",
        }
    }
}

/// The media's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// RTP over UDP (`RTP/AVP`).
    Udp,
    /// RTP over TCP with RFC 4571 framing (`TCP/RTP/AVP`); `setup` as RFC 4145 has it.
    Tcp(Setup),
}

/// RFC 4145 `a=setup`: who opens the TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// This side connects.
    Active,
    /// This side listens.
    Passive,
    /// Either (only in offers).
    ActPass,
}

impl Setup {
    fn parse(s: &str) -> Result<Setup, SdpError> {
        match s.trim() {
            "active" => Ok(Setup::Active),
            "passive" => Ok(Setup::Passive),
            "actpass" => Ok(Setup::ActPass),
            other => Err(bad("a=setup", other, "active, passive or actpass")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
        }
    }

    /// The answer's setup to an offer's.
    pub fn answer(self) -> Setup {
        match self {
            Setup::Active => Setup::Passive,
            Setup::Passive | Setup::ActPass => Setup::Active,
        }
    }
}

/// One side of a GB/T 28181 media session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaSdp {
    /// `o=`'s user: the sender's 20-digit code.
    pub origin: String,
    pub kind: SessionKind,
    /// `c=`: where media is sent or received (may differ from the signalling address:
    /// behind NAT, set the media address explicitly).
    pub address: String,
    /// `m=video`'s port.
    pub port: u16,
    pub transport: Transport,
    /// `a=rtpmap`s of the video line: payload type and encoding name (`PS`, `H264`, …).
    pub rtpmaps: Vec<(u8, String)>,
    /// `a=recvonly`, `a=sendonly`, …
    pub direction: Option<String>,
    /// `u=`: `channel:0` of a playback or download.
    pub uri: Option<String>,
    /// `t=`: start and stop, Unix seconds for recordings (GB/T 28181's reading), 0 0 live.
    pub times: (u64, u64),
    /// `y=`: the SSRC in decimal.
    pub ssrc: Option<u32>,
    /// `a=downloadspeed`.
    pub download_speed: Option<u32>,
    /// `f=` as given.
    pub format: Option<String>,
}

impl MediaSdp {
    pub fn parse(body: &[u8]) -> Result<MediaSdp, SdpError> {
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotText)?;
        let mut origin = None;
        let mut kind = None;
        let mut session_c = None;
        let mut media_c = None;
        let mut video: Option<(u16, &str, Vec<u8>)> = None;
        let mut in_video = false;
        let mut rtpmaps = Vec::new();
        let mut direction = None;
        let mut setup = None;
        let mut uri = None;
        let mut times = (0, 0);
        let mut ssrc = None;
        let mut download_speed = None;
        let mut format = None;
        for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .filter(|(k, _)| k.len() == 1)
                .ok_or_else(|| SdpError::Line(line.chars().take(80).collect()))?;
            match key {
                "o" => origin = value.split_whitespace().next().map(str::to_owned),
                "s" => {
                    kind = Some(match value.trim() {
                        v if v.eq_ignore_ascii_case("Play") => SessionKind::Play,
                        v if v.eq_ignore_ascii_case("Playback") => SessionKind::Playback,
                        v if v.eq_ignore_ascii_case("Download") => SessionKind::Download,
                        v => return Err(bad("s=", v, "Play, Playback or Download")),
                    })
                }
                "c" => {
                    let addr = value
                        .split_whitespace()
                        .nth(2)
                        .ok_or_else(|| bad("c=", value, "IN IP4 address"))?
                        .to_owned();
                    if in_video {
                        media_c = Some(addr);
                    } else if video.is_none() {
                        session_c = Some(addr);
                    }
                }
                "t" => {
                    let mut it = value.split_whitespace().map(str::parse::<u64>);
                    match (it.next(), it.next()) {
                        (Some(Ok(a)), Some(Ok(b))) => times = (a, b),
                        _ => return Err(bad("t=", value, "two times")),
                    }
                }
                "u" => uri = Some(value.trim().to_owned()),
                "y" => {
                    let v = value.trim();
                    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad("y=", v, "an SSRC of up to ten digits"));
                    }
                    ssrc = Some(
                        v.parse::<u64>()
                            .ok()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| bad("y=", v, "an SSRC below 2^32"))?,
                    );
                }
                "f" => format = Some(value.trim().to_owned()).filter(|f| !f.is_empty()),
                "m" => {
                    let mut it = value.split_whitespace();
                    let media = it.next().unwrap_or_default();
                    in_video = media == "video" && video.is_none();
                    if in_video {
                        let port = it.next().unwrap_or_default();
                        let port = port
                            .parse()
                            .map_err(|_| bad("m=video port", port, "a port"))?;
                        let proto = it.next().ok_or(SdpError::Missing("m=video protocol"))?;
                        let pts = it
                            .map(|p| {
                                p.parse()
                                    .map_err(|_| bad("m=video payload", p, "a payload type"))
                            })
                            .collect::<Result<Vec<u8>, _>>()?;
                        video = Some((port, proto, pts));
                    }
                }
                "a" if in_video || video.is_none() => {
                    let (name, val) = value.split_once(':').unwrap_or((value, ""));
                    match name {
                        "rtpmap" if in_video => {
                            let (pt, enc) = val
                                .split_once(' ')
                                .ok_or_else(|| bad("a=rtpmap", val, "`pt name/clock`"))?;
                            let pt = pt
                                .parse()
                                .map_err(|_| bad("a=rtpmap", pt, "a payload type"))?;
                            let name = enc.split('/').next().unwrap_or_default().to_owned();
                            rtpmaps.push((pt, name));
                        }
                        "setup" => setup = Some(Setup::parse(val)?),
                        "sendonly" | "recvonly" | "sendrecv" | "inactive" => {
                            direction = Some(name.to_owned())
                        }
                        "downloadspeed" => {
                            download_speed = Some(
                                val.trim()
                                    .parse()
                                    .map_err(|_| bad("a=downloadspeed", val, "a number"))?,
                            )
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let (port, proto, _) = video.ok_or(SdpError::Missing("m=video line"))?;
        let transport = match proto {
            "RTP/AVP" => Transport::Udp,
            "TCP/RTP/AVP" | "RTP/AVP/TCP" => Transport::Tcp(setup.unwrap_or(Setup::Passive)),
            other => return Err(bad("m=video protocol", other, "RTP/AVP or TCP/RTP/AVP")),
        };
        Ok(MediaSdp {
            origin: origin.ok_or(SdpError::Missing("o= line"))?,
            kind: kind.ok_or(SdpError::Missing("s= line"))?,
            address: media_c.or(session_c).ok_or(SdpError::Missing("c= line"))?,
            port,
            transport,
            rtpmaps,
            direction,
            uri,
            times,
            ssrc,
            download_speed,
            format,
        })
    }

    /// Whether the session carries MPEG-PS (`PS/90000`), the one payload sent.
    pub fn ps_payload(&self) -> Option<u8> {
        self.rtpmaps
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case("PS"))
            .map(|(pt, _)| *pt)
    }

    pub fn to_text(&self) -> String {
        let family = if self.address.contains(':') {
            "IP6"
        } else {
            "IP4"
        };
        let mut s = format!(
            "v=0\r\no={} 0 0 IN {family} {}\r\ns={}\r\n",
            self.origin,
            self.address,
            self.kind.as_str()
        );
        if let Some(u) = &self.uri {
            s.push_str(&format!("u={u}\r\n"));
        }
        s.push_str(&format!(
            "c=IN {family} {}\r\nt={} {}\r\n",
            self.address, self.times.0, self.times.1
        ));
        let proto = match self.transport {
            Transport::Udp => "RTP/AVP",
            Transport::Tcp(_) => "TCP/RTP/AVP",
        };
        let pts: Vec<String> = self.rtpmaps.iter().map(|(pt, _)| pt.to_string()).collect();
        s.push_str(&format!(
            "m=video {} {proto} {}\r\n",
            self.port,
            pts.join(" ")
        ));
        if let Some(d) = &self.direction {
            s.push_str(&format!("a={d}\r\n"));
        }
        for (pt, name) in &self.rtpmaps {
            s.push_str(&format!("a=rtpmap:{pt} {name}/90000\r\n"));
        }
        if let Transport::Tcp(setup) = self.transport {
            s.push_str(&format!(
                "a=setup:{}\r\na=connection:new\r\n",
                setup.as_str()
            ));
        }
        if let Some(d) = self.download_speed {
            s.push_str(&format!("a=downloadspeed:{d}\r\n"));
        }
        if let Some(y) = self.ssrc {
            s.push_str(&format!("y={y:010}\r\n"));
        }
        s.push_str(&format!("f={}\r\n", self.format.as_deref().unwrap_or("")));
        s
    }
}

/// The SSRC GB/T 28181 asks for (§9.2.1): `0` for live or `1` for a recording, the
/// 4th–8th digits of the domain, then a four-digit serial number.
pub fn gb_ssrc(kind: SessionKind, domain: &str, serial: u16) -> u32 {
    let lead = match kind {
        SessionKind::Play => 0u64,
        _ => 1,
    };
    let middle: u64 = domain.get(3..8).and_then(|d| d.parse().ok()).unwrap_or(0);
    // At most 1_999_999_999, below 2^32.
    (lead * 1_000_000_000 + middle * 10_000 + u64::from(serial % 10_000)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A live offer as WVP-GB28181-pro sends it, TCP passive.
    const OFFER: &str = "v=0\r\no=44030500002000000001 0 0 IN IP4 10.0.0.5\r\ns=Play\r\n\
        c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=video 30120 TCP/RTP/AVP 96 97 98 99\r\na=recvonly\r\n\
        a=rtpmap:96 PS/90000\r\na=rtpmap:98 H264/90000\r\na=rtpmap:97 MPEG4/90000\r\n\
        a=rtpmap:99 H265/90000\r\na=setup:passive\r\na=connection:new\r\ny=0100000001\r\nf=\r\n";

    #[test]
    fn a_live_offer_parses_and_is_answered() {
        let o = MediaSdp::parse(OFFER.as_bytes()).unwrap();
        assert_eq!(o.kind, SessionKind::Play);
        assert_eq!((o.address.as_str(), o.port), ("10.0.0.5", 30120));
        assert_eq!(o.transport, Transport::Tcp(Setup::Passive));
        assert_eq!(o.ps_payload(), Some(96));
        assert_eq!(o.ssrc, Some(100000001));
        assert_eq!(o.direction.as_deref(), Some("recvonly"));
        let answer = MediaSdp {
            origin: "44030500001320000001".into(),
            address: "10.0.0.9".into(),
            port: 0,
            transport: Transport::Tcp(Setup::Passive.answer()),
            rtpmaps: vec![(96, "PS".into())],
            direction: Some("sendonly".into()),
            ..o.clone()
        };
        let back = MediaSdp::parse(answer.to_text().as_bytes()).unwrap();
        assert_eq!(back, answer);
        assert!(answer.to_text().contains("y=0100000001\r\n"));
    }

    #[test]
    fn a_playback_offer_names_its_channel_and_times() {
        let offer = "v=0\no=44030500002000000001 0 0 IN IP4 10.0.0.5\ns=Playback\n\
            u=44030500001320000001:0\nc=IN IP4 10.0.0.5\nt=1796263200 1796266800\n\
            m=video 6000 RTP/AVP 96\na=recvonly\na=rtpmap:96 PS/90000\ny=1000000002\n";
        let o = MediaSdp::parse(offer.as_bytes()).unwrap();
        assert_eq!(o.kind, SessionKind::Playback);
        assert_eq!(o.uri.as_deref(), Some("44030500001320000001:0"));
        assert_eq!(o.times, (1796263200, 1796266800));
        assert_eq!(o.transport, Transport::Udp);
        assert_eq!(o.format, None);
    }

    #[test]
    fn bad_sdp_says_what_is_wrong() {
        let cases: &[(&str, SdpError)] = &[
            ("v=0\ns=Play\n", SdpError::Missing("m=video line")),
            ("v=0\nhello\n", SdpError::Line("hello".into())),
            (
                "o=1 0 0 IN IP4 h\ns=Talk\n",
                bad("s=", "Talk", "Play, Playback or Download"),
            ),
            (
                "o=1 0 0 IN IP4 h\ns=Play\nc=IN IP4 h\nt=0 0\nm=video 70000 RTP/AVP 96\n",
                bad("m=video port", "70000", "a port"),
            ),
            (
                "o=1 0 0 IN IP4 h\ns=Play\nc=IN IP4 h\nm=video 1 RTP/AVP 96\ny=99999999999\n",
                bad("y=", "99999999999", "an SSRC of up to ten digits"),
            ),
            (
                "o=1 0 0 IN IP4 h\ns=Play\nc=IN IP4 h\nm=video 1 RTP/AVP 96\ny=4999999999\n",
                bad("y=", "4999999999", "an SSRC below 2^32"),
            ),
            (
                "o=1 0 0 IN IP4 h\ns=Play\nc=IN IP4 h\nm=video 1 SCTP 96\n",
                bad("m=video protocol", "SCTP", "RTP/AVP or TCP/RTP/AVP"),
            ),
            (
                "o=1 0 0 IN IP4 h\ns=Play\nm=video 1 RTP/AVP 96\n",
                SdpError::Missing("c= line"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                &MediaSdp::parse(text.as_bytes()).unwrap_err(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn ssrcs_follow_the_standard() {
        assert_eq!(gb_ssrc(SessionKind::Play, "4403050000", 1), 305_000_001);
        assert_eq!(
            gb_ssrc(SessionKind::Playback, "4403050000", 12),
            1_305_000_012
        );
        assert_eq!(
            gb_ssrc(SessionKind::Download, "9999999999", 9999),
            1_999_999_999
        );
    }
}
