//! H.265 (and, if wanted, H.264) decoding through Debian's `ffmpeg`, behind the same
//! [`Decoder`] interface: there is no maintained pure-Rust or bundled-source H.265
//! decoder, and `apt-get install ffmpeg` is what the test script already installs.
//!
//! ```text
//! decode(au) --channel--> writer thread --stdin (Annex B)--> ffmpeg -f hevc -i pipe:0
//!                                                                 -f yuv4mpegpipe pipe:1
//! frames <--channel-- reader thread (y4m: header W H C420, then FRAME + I420) <--stdout
//! ```
//!
//! Both channels are bounded. When the input channel is full, `decode` waits for a frame
//! or for room in the input, whichever comes first (ffmpeg may be decoding, or may need
//! more input before it outputs anything); a process that has gone is an error with its
//! stderr. `-probesize 32 -analyzeduration 0` start decoding at the first parameter
//! sets instead of buffering megabytes to probe the stream. `-fps_mode
//! passthrough` makes ffmpeg emit exactly one frame per coded picture, never duplicating
//! or dropping one. A missing binary is [`CodecError::FfmpegMissing`], never a panic.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use vidimus_media::VideoCodec;

use crate::decode::{Decoder, PtsQueue};
use crate::{AccessUnit, CodecError, Frame, ParameterSets};

/// Where the `ffmpeg` binary is.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    path: PathBuf,
}

impl Ffmpeg {
    /// The first `ffmpeg` on `PATH` (or just `ffmpeg`, which then fails as missing).
    pub fn find() -> Self {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("ffmpeg"))
                .find(|p| p.is_file())
        });
        Ffmpeg {
            path: found.unwrap_or_else(|| PathBuf::from("ffmpeg")),
        }
    }

    /// A given binary.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Ffmpeg { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the binary is there.
    pub fn is_available(&self) -> bool {
        self.path.is_file()
    }

    fn missing(&self) -> CodecError {
        CodecError::FfmpegMissing(self.path.display().to_string())
    }
}

type FrameResult = Result<Frame, String>;

/// How long `decode` waits for a frame before trying to queue its input again.
const INPUT_POLL: Duration = Duration::from_millis(2);

/// Decoding through an `ffmpeg` subprocess.
pub struct FfmpegDecoder {
    codec: VideoCodec,
    child: Child,
    input: Option<SyncSender<Vec<u8>>>,
    frames: Receiver<FrameResult>,
    threads: Vec<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
    pts: PtsQueue,
}

impl FfmpegDecoder {
    /// Starts `ffmpeg` for `codec` and sends it the parameter sets.
    pub fn new(
        ffmpeg: &Ffmpeg,
        codec: VideoCodec,
        params: &ParameterSets,
    ) -> Result<Self, CodecError> {
        if !ffmpeg.is_available() {
            return Err(ffmpeg.missing());
        }
        let demuxer = match codec {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "hevc",
        };
        let mut child = Command::new(ffmpeg.path())
            .args(["-hide_banner", "-loglevel", "error", "-threads", "1"])
            .args(["-probesize", "32", "-analyzeduration", "0", "-f", demuxer])
            .args(["-i", "pipe:0", "-map", "0:v:0", "-fps_mode", "passthrough"])
            .args(["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "pipe:1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    ffmpeg.missing()
                }
                _ => CodecError::Ffmpeg(format!("starting {}: {e}", ffmpeg.path().display())),
            })?;
        let (mut stdin, stdout, mut stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        let (input, input_rx) = sync_channel::<Vec<u8>>(16);
        let (frames_tx, frames) = sync_channel::<FrameResult>(4);
        let writer = std::thread::spawn(move || {
            for chunk in input_rx {
                if stdin.write_all(&chunk).is_err() {
                    break; // ffmpeg has gone; the reader reports it
                }
            }
        });
        let reader = std::thread::spawn(move || read_y4m(BufReader::new(stdout), &frames_tx));
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_string(&mut text);
            text
        });
        let decoder = FfmpegDecoder {
            codec,
            child,
            input: Some(input),
            frames,
            threads: vec![writer, reader],
            stderr: Some(stderr),
            pts: PtsQueue::default(),
        };
        if !params.nals.is_empty() {
            decoder.send(params.annex_b(), &mut Vec::new())?;
        }
        Ok(decoder)
    }

    /// Queues bytes for ffmpeg; while the queue is full, takes frames into `out`.
    fn send(&self, mut chunk: Vec<u8>, out: &mut Vec<Frame>) -> Result<(), CodecError> {
        let input = self
            .input
            .as_ref()
            .ok_or_else(|| CodecError::Ffmpeg("decoder already finished".into()))?;
        loop {
            match input.try_send(chunk) {
                Ok(()) => return Ok(()),
                // Wait for a frame or for room, whichever comes first: ffmpeg may be
                // decoding, or may need more input before its next frame.
                Err(TrySendError::Full(c)) => {
                    chunk = c;
                    match self.frames.recv_timeout(INPUT_POLL) {
                        Ok(Ok(frame)) => out.push(frame),
                        Ok(Err(e)) => return Err(CodecError::Ffmpeg(e)),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            return Err(CodecError::Ffmpeg("ffmpeg stopped".into()));
                        }
                    }
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(CodecError::Ffmpeg("ffmpeg stopped reading".into()));
                }
            }
        }
    }

    fn stamp(&mut self, frames: &mut [Frame]) {
        for f in frames {
            f.pts = self.pts.pop().unwrap_or(0);
        }
    }

    /// The process's exit and what it said, as an error.
    fn failure(&mut self, what: &str) -> CodecError {
        drop(self.input.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill(); // it stopped making sense; do not wait on it
        }
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
        let said = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        CodecError::Ffmpeg(format!("{what} ({status}): {}", said.trim()))
    }
}

impl Decoder for FfmpegDecoder {
    fn decode(&mut self, au: &AccessUnit<'_>) -> Result<Vec<Frame>, CodecError> {
        let mut chunk = Vec::with_capacity(au.data.len() + 16);
        au.append_annex_b(&mut chunk)?;
        if au.has_picture(self.codec)? {
            self.pts.push(au.pts);
        }
        let mut out = Vec::new();
        if let Err(e) = self.send(chunk, &mut out) {
            return Err(self.failure(&e.to_string()));
        }
        loop {
            match self.frames.try_recv() {
                Ok(Ok(frame)) => out.push(frame),
                Ok(Err(e)) => return Err(self.failure(&e)),
                Err(_) => break, // empty, or closed: finish() reports how it ended
            }
        }
        self.stamp(&mut out);
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Frame>, CodecError> {
        drop(self.input.take()); // the writer closes ffmpeg's stdin
        let mut out = Vec::new();
        for frame in self.frames.iter() {
            match frame {
                Ok(f) => out.push(f),
                Err(e) => return Err(self.failure(&e)),
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let status = self
            .child
            .wait()
            .map_err(|e| CodecError::Ffmpeg(format!("waiting for ffmpeg: {e}")))?;
        if !status.success() {
            return Err(self.failure("ffmpeg failed"));
        }
        self.stamp(&mut out);
        Ok(out)
    }
}

impl Drop for FfmpegDecoder {
    fn drop(&mut self) {
        drop(self.input.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Reads a YUV4MPEG2 stream of 4:2:0 frames and sends them (pts 0) until EOF.
fn read_y4m(mut r: impl BufRead, out: &SyncSender<FrameResult>) {
    let mut line = Vec::new();
    let header = match read_line(&mut r, &mut line) {
        Ok(true) => parse_y4m_header(&line),
        Ok(false) => return, // no output at all: finish() reports ffmpeg's exit
        Err(e) => Err(e),
    };
    let (w, h) = match header {
        Ok(size) => size,
        Err(e) => {
            let _ = out.send(Err(e));
            return;
        }
    };
    let (cw, ch) = crate::frame::chroma_size(w, h);
    loop {
        match read_line(&mut r, &mut line) {
            Ok(true) if line.starts_with(b"FRAME") => {}
            Ok(true) => {
                let _ = out.send(Err("y4m: expected FRAME".into()));
                return;
            }
            Ok(false) => return,
            Err(e) => {
                let _ = out.send(Err(e));
                return;
            }
        }
        let mut planes = [vec![0; w * h], vec![0; cw * ch], vec![0; cw * ch]];
        for p in &mut planes {
            if let Err(e) = r.read_exact(p) {
                let _ = out.send(Err(format!("y4m: truncated frame: {e}")));
                return;
            }
        }
        let frame = Frame::from_planes(w, h, 0, (w, cw), planes).map_err(|e| e.to_string());
        if out.send(frame).is_err() {
            return; // the decoder was dropped
        }
    }
}

/// Reads one `\n`-terminated line (without the newline); false at EOF.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool, String> {
    line.clear();
    let n = r
        .take(4096)
        .read_until(b'\n', line)
        .map_err(|e| format!("y4m: {e}"))?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(n > 0)
}

/// `YUV4MPEG2 W1280 H720 F25:1 Ip A1:1 C420jpeg ...`: the size, checking 4:2:0.
fn parse_y4m_header(line: &[u8]) -> Result<(usize, usize), String> {
    let text = String::from_utf8_lossy(line);
    let mut tokens = text.split(' ');
    if tokens.next() != Some("YUV4MPEG2") {
        return Err(format!("y4m: bad header {text:?}"));
    }
    let (mut w, mut h, mut chroma) = (0usize, 0usize, "420jpeg".to_string());
    for t in tokens {
        match t.split_at_checked(1) {
            Some(("W", v)) => w = v.parse().unwrap_or(0),
            Some(("H", v)) => h = v.parse().unwrap_or(0),
            Some(("C", v)) => chroma = v.to_string(),
            _ => {}
        }
    }
    if w == 0 || h == 0 || !chroma.starts_with("420") {
        return Err(format!("y4m: want a 4:2:0 frame size, got {text:?}"));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y4m_stream() {
        let mut s = b"YUV4MPEG2 W4 H2 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n".to_vec();
        for i in 0..2u8 {
            s.extend_from_slice(b"FRAME\n");
            s.extend_from_slice(&[i; 8]);
            s.extend_from_slice(&[128; 4]);
        }
        let (tx, rx) = sync_channel(4);
        read_y4m(&s[..], &tx);
        drop(tx);
        let frames: Vec<_> = rx.iter().collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (frames[1].width(), frames[1].height(), frames[1].luma(3, 1)),
            (4, 2, 1)
        );

        let (tx, rx) = sync_channel(4);
        read_y4m(&b"YUV4MPEG2 W4 H2 C444\n"[..], &tx);
        assert!(rx.recv().unwrap().is_err());
        let (tx, rx) = sync_channel(4);
        read_y4m(&s[..s.len() - 3], &tx);
        assert!(rx.recv().unwrap().is_ok());
        assert!(rx.recv().unwrap().is_err()); // truncated second frame
    }

    #[test]
    fn a_failing_ffmpeg_is_an_error_not_a_hang() {
        // `false` stands in for an ffmpeg that exits at once.
        let Some(false_bin) = ["/bin/false", "/usr/bin/false"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
        else {
            return;
        };
        let mut d = FfmpegDecoder::new(
            &Ffmpeg::at(false_bin),
            VideoCodec::H265,
            &ParameterSets::default(),
        )
        .unwrap();
        let data = [0u8, 0, 0, 1, 0x26, 0x01, 0xaf];
        let au = AccessUnit {
            data: &data,
            framing: crate::NalFraming::AnnexB,
            pts: 0,
        };
        let failed_early = (0..64).any(|_| d.decode(&au).is_err());
        let err = d.finish();
        assert!(failed_early || err.is_err());
        if let Err(e) = err {
            assert!(e.to_string().starts_with("ffmpeg"), "{e}");
        }
    }

    #[test]
    fn missing_binary() {
        let err = FfmpegDecoder::new(
            &Ffmpeg::at("/nonexistent/ffmpeg"),
            VideoCodec::H265,
            &ParameterSets::default(),
        )
        .err()
        .expect("missing");
        assert!(err.to_string().contains("apt-get install ffmpeg"), "{err}");
    }
}
