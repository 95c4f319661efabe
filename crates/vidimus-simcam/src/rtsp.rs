//! The RTSP server side of the simulated camera.

use crate::{Clip, Fault, SimcamStats};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use vidimus_media::rtp::rtp_header;

const PAYLOAD_TYPE: u8 = 96;
/// Requests larger than this are refused (and the connection closed).
const MAX_REQUEST: usize = 64 * 1024;

/// Accepts connections until `stop` becomes true (or the listener fails); one task per
/// client. On stop, each session finishes the frame it is sending and closes, so
/// `frames_sent` counts only whole frames.
pub async fn serve(
    listener: TcpListener,
    clip: Arc<Clip>,
    fault: Fault,
    stamp: bool,
    stats: Arc<SimcamStats>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut next_id = 1u64;
    let mut stop_accept = stop.clone();
    loop {
        let (sock, peer) = tokio::select! {
            r = listener.accept() => r?,
            _ = async { drop(stop_accept.wait_for(|s| *s).await) } => return Ok(()),
        };
        let stop = stop.clone();
        let _ = sock.set_nodelay(true);
        let (clip, stats) = (clip.clone(), stats.clone());
        let id = next_id;
        next_id += 1;
        tokio::spawn(async move {
            if let Err(e) = Conn::new(sock, clip, fault, stamp, stats, id, stop)
                .run()
                .await
            {
                tracing::debug!(%peer, error = %e, "simcam connection ended");
            }
        });
    }
}

struct Request {
    method: String,
    url: String,
    cseq: String,
    transport: Option<String>,
}

/// One client connection.
struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
    clip: Arc<Clip>,
    fault: Fault,
    stats: Arc<SimcamStats>,
    session_id: String,
    channel: Option<u8>,
    ssrc: u32,
    seq: u16,
    rtp_start: u32,
    rng: u64,
    stop: watch::Receiver<bool>,
    /// Prefix every frame with an SEI stating when it was sent (for latency benches).
    stamp: bool,
}

impl Conn {
    fn new(
        sock: TcpStream,
        clip: Arc<Clip>,
        fault: Fault,
        stamp: bool,
        stats: Arc<SimcamStats>,
        id: u64,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut c = Conn {
            sock,
            buf: Vec::with_capacity(4096),
            clip,
            fault,
            stats,
            session_id: format!("{:016X}", seed),
            channel: None,
            ssrc: 0,
            seq: 0,
            rtp_start: 0,
            rng: seed | 1,
            stop,
            stamp,
        };
        c.ssrc = c.random() as u32;
        c.seq = c.random() as u16;
        c.rtp_start = c.random() as u32;
        c
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: enough for SSRCs and garbage.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Reads until one request is buffered; skips interleaved data from the client
    /// (RTCP receiver reports). `Ok(None)` at end of stream.
    async fn read_request(&mut self) -> std::io::Result<Option<Request>> {
        loop {
            if let Some(r) = self.take_request()? {
                return Ok(Some(r));
            }
            let mut chunk = [0u8; 4096];
            let n = self.sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn take_request(&mut self) -> std::io::Result<Option<Request>> {
        loop {
            if self.buf.first() == Some(&b'$') {
                if self.buf.len() < 4 {
                    return Ok(None);
                }
                let len = 4 + usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
                if self.buf.len() < len {
                    return Ok(None);
                }
                self.buf.drain(..len);
                continue;
            }
            break;
        }
        let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.buf.len() > MAX_REQUEST {
                return Err(std::io::Error::other("request too large"));
            }
            return Ok(None);
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_owned();
        let url = first.next().unwrap_or("").to_owned();
        let (mut cseq, mut transport, mut content_len) = (String::from("0"), None, 0usize);
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "cseq" => cseq = v.to_owned(),
                    "transport" => transport = Some(v.to_owned()),
                    "content-length" => content_len = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let total = end + 4 + content_len;
        if self.buf.len() < total {
            if total > MAX_REQUEST {
                return Err(std::io::Error::other("request too large"));
            }
            return Ok(None);
        }
        self.buf.drain(..total);
        Ok(Some(Request {
            method,
            url,
            cseq,
            transport,
        }))
    }

    async fn respond(
        &mut self,
        cseq: &str,
        status: &str,
        headers: &str,
        body: &str,
    ) -> std::io::Result<()> {
        let mut r =
            format!("RTSP/1.0 {status}\r\nCSeq: {cseq}\r\nServer: Vidimus-simcam\r\n{headers}");
        if !body.is_empty() {
            r.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        r.push_str("\r\n");
        r.push_str(body);
        self.sock.write_all(r.as_bytes()).await
    }

    fn sdp(&self) -> String {
        if self.fault == Fault::BadSdp {
            return "this is not an SDP\r\nm=video garbage\r\n".to_owned();
        }
        format!(
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=Vidimus simulated camera\r\nt=0 0\r\na=control:*\r\n\
             m=video 0 RTP/AVP {PAYLOAD_TYPE}\r\na=rtpmap:{PAYLOAD_TYPE} H264/90000\r\n\
             a=fmtp:{PAYLOAD_TYPE} {}\r\na=framerate:{}\r\na=control:trackID=0\r\n",
            self.clip.fmtp(),
            self.clip.fps
        )
    }

    async fn run(mut self) -> std::io::Result<()> {
        while let Some(req) = self.read_request().await? {
            let cseq = req.cseq.clone();
            match req.method.as_str() {
                "OPTIONS" => {
                    self.respond(
                        &cseq,
                        "200 OK",
                        "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n",
                        "",
                    )
                    .await?
                }
                "DESCRIBE" => {
                    let base = format!(
                        "Content-Base: {}/\r\nContent-Type: application/sdp\r\n",
                        req.url.trim_end_matches('/')
                    );
                    let sdp = self.sdp();
                    self.respond(&cseq, "200 OK", &base, &sdp).await?
                }
                "SETUP" => {
                    let t = req.transport.unwrap_or_default();
                    let interleaved = t
                        .split(';')
                        .find_map(|p| p.strip_prefix("interleaved="))
                        .and_then(|v| v.split('-').next())
                        .and_then(|v| v.parse::<u8>().ok());
                    match (t.contains("RTP/AVP/TCP"), interleaved) {
                        (true, Some(ch)) => {
                            self.channel = Some(ch);
                            let h = format!(
                                "Transport: RTP/AVP/TCP;unicast;interleaved={ch}-{};ssrc={:08X}\r\nSession: {};timeout=60\r\n",
                                ch + 1,
                                self.ssrc,
                                self.session_id
                            );
                            self.respond(&cseq, "200 OK", &h, "").await?
                        }
                        _ => {
                            self.respond(&cseq, "461 Unsupported Transport", "", "")
                                .await?
                        }
                    }
                }
                "PLAY" => {
                    let Some(ch) = self.channel else {
                        self.respond(&cseq, "455 Method Not Valid in This State", "", "")
                            .await?;
                        continue;
                    };
                    let h = format!(
                        "Session: {}\r\nRange: npt=0.000-\r\nRTP-Info: url={}/trackID=0;seq={};rtptime={}\r\n",
                        self.session_id,
                        req.url.trim_end_matches('/'),
                        self.seq,
                        self.rtp_start
                    );
                    self.respond(&cseq, "200 OK", &h, "").await?;
                    self.stats.sessions.fetch_add(1, Relaxed);
                    return self.stream(ch).await;
                }
                "GET_PARAMETER" | "SET_PARAMETER" => {
                    let h = format!("Session: {}\r\n", self.session_id);
                    self.respond(&cseq, "200 OK", &h, "").await?
                }
                "TEARDOWN" => {
                    self.respond(&cseq, "200 OK", "", "").await?;
                    return Ok(());
                }
                _ => self.respond(&cseq, "501 Not Implemented", "", "").await?,
            }
        }
        Ok(())
    }

    /// Sends the clip in real time, looping, answering keep-alives in between.
    async fn stream(mut self, channel: u8) -> std::io::Result<()> {
        let clip = self.clip.clone();
        let frame_ticks = 90_000 / clip.fps.max(1);
        let mut tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(clip.fps.max(1))));
        let started = Instant::now();
        let mut n: u64 = 0;
        let mut out = Vec::with_capacity(256 * 1024);
        let mut chunk = [0u8; 4096];
        let mut stop = self.stop.clone();
        loop {
            tokio::select! {
                _ = async { drop(stop.wait_for(|s| *s).await) } => {
                    let _ = self.sock.shutdown().await;
                    return Ok(());
                }
                _ = tick.tick() => {
                    let elapsed = started.elapsed();
                    match self.fault {
                        Fault::StallAfter(d) if elapsed >= d => continue,
                        Fault::RtcpOnlyAfter(d) if elapsed >= d => {
                            // A sender report every 5 frames on the RTCP channel.
                            if n.is_multiple_of(5) {
                                let ts = self.rtp_start.wrapping_add((n as u32).wrapping_mul(frame_ticks));
                                let sr = sender_report(self.ssrc, ts, n);
                                out.clear();
                                out.push(b'$');
                                out.push(channel + 1);
                                out.extend_from_slice(&(sr.len() as u16).to_be_bytes());
                                out.extend_from_slice(&sr);
                                self.sock.write_all(&out).await?;
                            }
                            n += 1;
                            continue;
                        }
                        Fault::CloseAfter(d) if elapsed >= d => return Ok(()),
                        Fault::GarbageAfter(d) if elapsed >= d => {
                            let junk: Vec<u8> = (0..4096).map(|_| self.random() as u8).collect();
                            self.sock.write_all(&junk).await?;
                            self.sock.flush().await?;
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            return Ok(());
                        }
                        _ => {}
                    }
                    let truncate = matches!(self.fault, Fault::TruncatedRtpAfter(d) if elapsed >= d);
                    let frame = &clip.frames[(n % clip.frames.len() as u64) as usize];
                    let ts = self.rtp_start.wrapping_add((n as u32).wrapping_mul(frame_ticks));
                    out.clear();
                    if self.stamp {
                        let sei = crate::send_time_sei(std::time::SystemTime::now());
                        let h = rtp_header(PAYLOAD_TYPE, false, self.seq, ts, self.ssrc);
                        self.seq = self.seq.wrapping_add(1);
                        out.push(b'$');
                        out.push(channel);
                        out.extend_from_slice(&((12 + sei.len()) as u16).to_be_bytes());
                        out.extend_from_slice(&h);
                        out.extend_from_slice(&sei);
                    }
                    for p in &frame.payloads {
                        let h = rtp_header(PAYLOAD_TYPE, p.marker, self.seq, ts, self.ssrc);
                        self.seq = self.seq.wrapping_add(1);
                        let mut len = 12 + p.data.len();
                        if truncate {
                            len = (self.random() % 16) as usize; // often shorter than a header
                        }
                        out.push(b'$');
                        out.push(channel);
                        out.extend_from_slice(&(len as u16).to_be_bytes());
                        out.extend_from_slice(&h[..len.min(12)]);
                        out.extend_from_slice(&p.data[..len.saturating_sub(12)]);
                    }
                    self.sock.write_all(&out).await?;
                    self.stats.frames_sent.fetch_add(1, Relaxed);
                    self.stats.bytes_sent.fetch_add(out.len() as u64, Relaxed);
                    n += 1;
                }
                r = self.sock.read(&mut chunk) => {
                    let got = r?;
                    if got == 0 {
                        return Ok(());
                    }
                    self.buf.extend_from_slice(&chunk[..got]);
                    while let Some(req) = self.take_request()? {
                        let h = format!("Session: {}\r\n", self.session_id);
                        if req.method == "TEARDOWN" {
                            self.respond(&req.cseq, "200 OK", &h, "").await?;
                            return Ok(());
                        }
                        self.respond(&req.cseq, "200 OK", &h, "").await?;
                    }
                }
            }
        }
    }
}

/// An RTCP sender report (RFC 3550 §6.4.1) without report blocks: what a camera sends
/// on its control channel every few seconds.
fn sender_report(ssrc: u32, rtp_ts: u32, packets: u64) -> [u8; 28] {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // NTP time: seconds since 1900, and the fraction.
    let secs = (now.as_secs() + 2_208_988_800) as u32;
    let frac = ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut p = [0u8; 28];
    p[0] = 0x80; // V=2, no padding, no report blocks
    p[1] = 200; // SR
    p[2..4].copy_from_slice(&6u16.to_be_bytes()); // 28 bytes: 7 words, less one
    p[4..8].copy_from_slice(&ssrc.to_be_bytes());
    p[8..12].copy_from_slice(&secs.to_be_bytes());
    p[12..16].copy_from_slice(&frac.to_be_bytes());
    p[16..20].copy_from_slice(&rtp_ts.to_be_bytes());
    p[20..24].copy_from_slice(&(packets as u32).to_be_bytes());
    p
}
