//! The session description (RFC 4566) of a camera's stream as the re-stream serves it:
//! one video track, payload type 96, its codec's parameter sets in `sprop-…`
//! (RFC 6184 §8.1, RFC 7798 §7.1), `a=range` for a recording.

use base64::Engine;
use vidimus_media::VideoCodec;

/// The RTP payload type of the video track.
pub const PAYLOAD_TYPE: u8 = 96;
/// The track's control URL, relative to the content base.
pub const TRACK: &str = "trackID=0";

/// What the description says.
pub struct Describe<'a> {
    pub codec: VideoCodec,
    /// Parameter sets, NAL units without framing (SPS and PPS; VPS, SPS and PPS).
    pub parameter_sets: &'a [Vec<u8>],
    pub title: &'a str,
    /// The server's address as the client reached it (`o=`).
    pub origin: &'a str,
    /// A recording's length in seconds; `None` for live.
    pub duration: Option<f64>,
}

impl Describe<'_> {
    pub fn to_text(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let pt = PAYLOAD_TYPE;
        let (rtpmap, fmtp) = match self.codec {
            VideoCodec::H264 => {
                let sps = self.of_type(|n| n[0] & 0x1f == 7);
                let pps = self.of_type(|n| n[0] & 0x1f == 8);
                let pli: String = sps
                    .first()
                    .and_then(|s| s.get(1..4))
                    .unwrap_or(&[0x42, 0xe0, 0x1f])
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect();
                let sprop: Vec<String> = sps.iter().chain(&pps).map(|n| b64.encode(n)).collect();
                (
                    "H264/90000",
                    format!(
                        "packetization-mode=1;profile-level-id={pli};sprop-parameter-sets={}",
                        sprop.join(",")
                    ),
                )
            }
            VideoCodec::H265 => {
                let t = |want: u8| {
                    self.of_type(|n| (n[0] >> 1) & 0x3f == want)
                        .iter()
                        .map(|n| b64.encode(n))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                (
                    "H265/90000",
                    format!(
                        "sprop-vps={};sprop-sps={};sprop-pps={}",
                        t(32),
                        t(33),
                        t(34)
                    ),
                )
            }
        };
        let title: String = self.title.chars().filter(|c| !c.is_control()).collect();
        let origin: String = self.origin.chars().filter(|c| !c.is_control()).collect();
        let ip = if origin.contains(':') { "IP6" } else { "IP4" };
        let range = match self.duration {
            Some(d) => format!("a=range:npt=0-{d:.3}\r\n"),
            None => "a=range:npt=now-\r\n".into(),
        };
        format!(
            "v=0\r\no=- 0 0 IN {ip} {origin}\r\ns={title}\r\nc=IN {ip} 0.0.0.0\r\nt=0 0\r\n\
             a=control:*\r\n{range}m=video 0 RTP/AVP {pt}\r\na=rtpmap:{pt} {rtpmap}\r\n\
             a=fmtp:{pt} {fmtp}\r\na=control:{TRACK}\r\n"
        )
    }

    fn of_type(&self, f: impl Fn(&[u8]) -> bool) -> Vec<&[u8]> {
        self.parameter_sets
            .iter()
            .filter(|n| n.len() > 1 && f(n))
            .map(Vec::as_slice)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_names_profile_and_parameter_sets() {
        let ps = vec![
            vec![0x67, 0x64, 0x00, 0x1f, 0xac],
            vec![0x68, 0xee, 0x3c, 0x80],
        ];
        let text = Describe {
            codec: VideoCodec::H264,
            parameter_sets: &ps,
            title: "Gate\r\na=evil",
            origin: "127.0.0.1",
            duration: None,
        }
        .to_text();
        assert!(text.contains("a=rtpmap:96 H264/90000\r\n"), "{text}");
        assert!(text.contains("profile-level-id=64001F;sprop-parameter-sets=Z2QAH6w=,aO48gA=="));
        assert!(text.contains("s=Gatea=evil\r\n"));
        assert!(!text.contains("\r\na=evil"));
    }

    #[test]
    fn h265_has_its_three_sets_and_a_recording_its_range() {
        let ps = vec![
            vec![0x40, 0x01, 1],
            vec![0x42, 0x01, 2],
            vec![0x44, 0x01, 3],
        ];
        let text = Describe {
            codec: VideoCodec::H265,
            parameter_sets: &ps,
            title: "x",
            origin: "::1",
            duration: Some(60.0),
        }
        .to_text();
        assert!(text.contains("a=rtpmap:96 H265/90000\r\n"));
        assert!(
            text.contains("sprop-vps=QAEB;sprop-sps=QgEC;sprop-pps=RAED"),
            "{text}"
        );
        assert!(text.contains("a=range:npt=0-60.000\r\n"));
        assert!(text.contains("IN IP6 ::1"));
    }
}
