//! The simulated camera: a small RTSP server that loops an H.264 clip.
//!
//! `vidimus simcam` and `vidimus demo` use it as a camera; tests and benchmarks use it
//! as a cheap source of many streams and as a misbehaving peer ([`Fault`]). It serves
//! the same clip on every path, over RTSP/TCP with interleaved RTP (RFC 2326 §10.12),
//! paced in real time. The clip ships in the binary (`assets/clip-720p25.h264`), so the
//! simulated camera needs no file at run time.
//!
//! The clip is packetized once ([`Clip`]); each session only adds RTP headers.

mod rtsp;

pub use rtsp::serve;

use std::sync::atomic::AtomicU64;
use std::time::Duration;
use vidimus_media::h264::{access_units, nal_type, nal_unit_type, split_annexb};
use vidimus_media::rtp::{Payload, packetize_h264};

/// The built-in clip: 10 s of 1280x720, 25 fps, H.264 High, ~2 Mbit/s, GOP 50.
pub const BUILTIN_CLIP: &[u8] = include_bytes!("../assets/clip-720p25.h264");

/// Largest RTP payload (keeps packets under a 1500-byte MTU).
const MAX_PAYLOAD: usize = 1400;

/// One frame, ready to send.
#[derive(Debug)]
pub struct ClipFrame {
    pub payloads: Vec<Payload>,
    pub is_idr: bool,
}

/// A clip packetized for sending.
#[derive(Debug)]
pub struct Clip {
    pub frames: Vec<ClipFrame>,
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
    pub fps: u32,
}

/// A clip that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("clip has no SPS/PPS")]
    NoParameterSets,
    #[error("clip does not start with an IDR frame")]
    NoIdr,
}

impl Clip {
    /// Packetizes an Annex B H.264 stream at `fps` frames per second.
    pub fn from_annexb(data: &[u8], fps: u32) -> Result<Clip, ClipError> {
        let nals = split_annexb(data);
        let find = |t| {
            nals.iter()
                .find(|n| nal_unit_type(n) == t)
                .map(|n| n.to_vec())
        };
        let sps = find(nal_type::SPS).ok_or(ClipError::NoParameterSets)?;
        let pps = find(nal_type::PPS).ok_or(ClipError::NoParameterSets)?;
        let aus = access_units(&nals);
        if !aus.first().is_some_and(|a| a.is_idr) {
            return Err(ClipError::NoIdr);
        }
        let frames = aus
            .iter()
            .map(|au| ClipFrame {
                payloads: packetize_h264(&au.nals, MAX_PAYLOAD),
                is_idr: au.is_idr,
            })
            .collect();
        Ok(Clip {
            frames,
            sps,
            pps,
            fps,
        })
    }

    /// The built-in clip.
    pub fn builtin() -> Clip {
        Clip::from_annexb(BUILTIN_CLIP, 25).expect("built-in clip is valid")
    }

    /// The SDP `fmtp` parameters.
    fn fmtp(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let pli: String = self
            .sps
            .get(1..4)
            .unwrap_or(&[0x64, 0, 0x1f])
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        format!(
            "packetization-mode=1;profile-level-id={pli};sprop-parameter-sets={},{}",
            b64.encode(&self.sps),
            b64.encode(&self.pps)
        )
    }
}

/// A way for the simulated camera to misbehave, for fault tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// Stops sending media after this long, but keeps the connection open.
    StallAfter(Duration),
    /// Stops sending video after this long, but goes on sending RTCP sender reports
    /// (as a camera whose encoder died while its network stack lives on does).
    RtcpOnlyAfter(Duration),
    /// Closes the connection after this long.
    CloseAfter(Duration),
    /// After this long, sends random bytes instead of interleaved RTP, then closes.
    GarbageAfter(Duration),
    /// After this long, sends RTP packets cut short (some below the 12-byte header).
    TruncatedRtpAfter(Duration),
    /// Answers DESCRIBE with an invalid SDP.
    BadSdp,
}

impl std::str::FromStr for Fault {
    type Err = String;
    /// `none`, `bad-sdp`, or `stall-after=SECS`, `rtcp-only-after=SECS`, `close-after=SECS`,
    /// `garbage-after=SECS`, `truncated-rtp-after=SECS`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = s.split_once('=').unwrap_or((s, ""));
        let secs = || {
            arg.parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0 && v.is_finite())
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("fault {name} needs =SECONDS"))
        };
        Ok(match name {
            "none" => Fault::None,
            "bad-sdp" => Fault::BadSdp,
            "stall-after" => Fault::StallAfter(secs()?),
            "rtcp-only-after" => Fault::RtcpOnlyAfter(secs()?),
            "close-after" => Fault::CloseAfter(secs()?),
            "garbage-after" => Fault::GarbageAfter(secs()?),
            "truncated-rtp-after" => Fault::TruncatedRtpAfter(secs()?),
            _ => return Err(format!("unknown fault {s:?}")),
        })
    }
}

/// The UUID of the send-time SEI (`user_data_unregistered`), 16 ASCII bytes.
pub const SEND_TIME_UUID: &[u8; 16] = b"VIDIMUS-SENT-AT!";

/// An H.264 SEI NAL unit (user data unregistered) holding `t` as 16 hex digits of
/// microseconds since the Unix epoch, after [`SEND_TIME_UUID`]. Hex keeps the payload
/// free of zero bytes, so no emulation prevention is needed.
pub fn send_time_sei(t: std::time::SystemTime) -> Vec<u8> {
    let micros = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let mut nal = vec![0x06, 0x05, 32];
    nal.extend_from_slice(SEND_TIME_UUID);
    nal.extend_from_slice(format!("{micros:016x}").as_bytes());
    nal.push(0x80);
    nal
}

/// Finds a send-time SEI in frame data and returns its time (µs since the epoch).
pub fn find_send_time(data: &[u8]) -> Option<u64> {
    let at = data.windows(16).position(|w| w == SEND_TIME_UUID)? + 16;
    let hex = std::str::from_utf8(data.get(at..at + 16)?).ok()?;
    u64::from_str_radix(hex, 16).ok()
}

/// Counters of a running simulated camera.
#[derive(Debug, Default)]
pub struct SimcamStats {
    pub sessions: AtomicU64,
    pub frames_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_clip_is_ten_seconds_with_a_key_frame_every_two() {
        let c = Clip::builtin();
        assert_eq!(c.frames.len(), 250);
        let idrs: Vec<usize> = c
            .frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_idr)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(idrs, vec![0, 50, 100, 150, 200]);
        assert!(
            c.fmtp()
                .starts_with("packetization-mode=1;profile-level-id=64")
        );
    }

    #[test]
    fn send_time_round_trip() {
        let t = std::time::UNIX_EPOCH + Duration::from_micros(1_795_927_174_123_456);
        let sei = send_time_sei(t);
        assert!(
            !sei.windows(2).any(|w| w == [0, 0]),
            "no emulation prevention needed"
        );
        assert_eq!(find_send_time(&sei), Some(1_795_927_174_123_456));
        assert_eq!(find_send_time(b"nothing here"), None);
    }

    #[test]
    fn faults_parse() {
        assert_eq!(
            "stall-after=2.5".parse::<Fault>().unwrap(),
            Fault::StallAfter(Duration::from_millis(2500))
        );
        assert_eq!(
            "rtcp-only-after=3".parse::<Fault>().unwrap(),
            Fault::RtcpOnlyAfter(Duration::from_secs(3))
        );
        assert_eq!("bad-sdp".parse::<Fault>().unwrap(), Fault::BadSdp);
        assert!("stall-after".parse::<Fault>().is_err());
        assert!("explode".parse::<Fault>().is_err());
    }
}
