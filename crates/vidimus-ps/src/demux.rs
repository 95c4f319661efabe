//! Reading a program stream back (a device's or a lower platform's, over RTP or from
//! a file): packs, system headers, PSMs and PES packets found by their start codes;
//! the video stream's (0xE0) PES payloads joined and cut into access units where the
//! codec's NAL units say one begins (an access unit delimiter, parameter sets or SEI
//! after a picture, a picture's first slice) — packers differ in how they lay access
//! units into PES packets, and some put the end of one and the start of the next in
//! one. A PES's PTS (and DTS) goes to the first access unit that starts in it. Until
//! a PSM names the codec, each PES with a PTS starts an access unit. Whatever cannot
//! be a stream is skipped to the next start code and counted, never trusted: lengths
//! are checked against what is there, and an access unit larger than
//! [`MAX_ACCESS_UNIT`] is dropped.

use crate::{VIDEO_STREAM_ID, VideoCodec};

/// The largest access unit kept (a 4K key frame is well under it).
pub const MAX_ACCESS_UNIT: usize = 8 << 20;

/// One access unit of the video stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemuxedFrame {
    /// The codec the last PSM named for the stream (`None`: no PSM seen yet, or a
    /// stream type this does not know).
    pub codec: Option<VideoCodec>,
    /// 90 kHz, 33 bits.
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    /// Annex B, as sent.
    pub data: Vec<u8>,
}

/// The access unit being gathered.
#[derive(Debug)]
struct Gathering {
    frame: DemuxedFrame,
    /// A picture's NAL unit is in it.
    vcl: bool,
    /// Where the search for the next NAL unit resumes.
    scanned: usize,
}

/// Reads a program stream pushed to it in pieces of any size.
#[derive(Debug, Default)]
pub struct PsDemuxer {
    buf: Vec<u8>,
    codec: Option<VideoCodec>,
    current: Option<Gathering>,
    /// The times of a PES whose access unit has not begun yet.
    pending: Option<(Option<u64>, Option<u64>)>,
    /// The current access unit outgrew [`MAX_ACCESS_UNIT`]: its PES packets are
    /// dropped until the next one with a PTS.
    oversized: bool,
    skipped: u64,
}

impl PsDemuxer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A demuxer that knows the codec before any PSM says it (from the session's
    /// SDP, or a packer that writes no PSM, as ffmpeg's does not); a PSM still
    /// overrides it.
    pub fn expecting(codec: VideoCodec) -> Self {
        PsDemuxer {
            codec: Some(codec),
            ..Self::default()
        }
    }

    /// Bytes skipped so far because they were not part of a stream (garbage, a lost
    /// piece, an oversized access unit).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The codec the last PSM named.
    pub fn codec(&self) -> Option<VideoCodec> {
        self.codec
    }

    /// Reads `bytes`; the access units completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<DemuxedFrame> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0usize;
        loop {
            let rest = &buf[at..];
            match find_start(rest) {
                None => {
                    // Keep what could be the start of a start code.
                    let keep = rest.len().min(3);
                    self.skipped += (rest.len() - keep) as u64;
                    at += rest.len() - keep;
                    break;
                }
                Some(i) if i > 0 => {
                    self.skipped += i as u64;
                    at += i;
                    continue;
                }
                Some(_) => {}
            }
            let rest = &buf[at..];
            if rest.len() < 4 {
                break;
            }
            match self.unit(rest, &mut out) {
                Unit::Need => break,
                Unit::Used(n) => at += n,
                Unit::Bad => {
                    // Not a unit after all: past this start code.
                    self.skipped += 3;
                    at += 3;
                }
            }
        }
        buf.drain(..at);
        self.buf = buf;
        out
    }

    /// The last access unit, at the end of the stream.
    pub fn finish(&mut self) -> Option<DemuxedFrame> {
        self.buf.clear();
        self.pending = None;
        self.current
            .take()
            .map(|g| g.frame)
            .filter(|f| !f.data.is_empty())
    }

    /// The unit at the start of `b` (which begins with a start code).
    fn unit(&mut self, b: &[u8], out: &mut Vec<DemuxedFrame>) -> Unit {
        match b[3] {
            0xBA => {
                // MPEG-2 pack header: 14 bytes and its stuffing; MPEG-1: 12.
                if b.len() < 5 {
                    return Unit::Need;
                }
                if b[4] & 0xC0 == 0x40 {
                    if b.len() < 14 {
                        return Unit::Need;
                    }
                    let n = 14 + usize::from(b[13] & 0x07);
                    if b.len() < n {
                        Unit::Need
                    } else {
                        Unit::Used(n)
                    }
                } else if b[4] & 0xF0 == 0x20 {
                    if b.len() < 12 {
                        Unit::Need
                    } else {
                        Unit::Used(12)
                    }
                } else {
                    Unit::Bad
                }
            }
            0xB9 => Unit::Used(4),
            id if id >= 0xBB => {
                if b.len() < 6 {
                    return Unit::Need;
                }
                let n = 6 + usize::from(u16::from_be_bytes([b[4], b[5]]));
                if b.len() < n {
                    return Unit::Need;
                }
                let body = &b[6..n];
                match id {
                    0xBC => self.psm(body),
                    VIDEO_STREAM_ID if !self.pes(body, out) => return Unit::Bad,
                    _ => {} // read, or other streams (audio, padding, private)
                }
                Unit::Used(n)
            }
            _ => Unit::Bad,
        }
    }

    /// A PSM's body: the stream type it gives the video stream.
    fn psm(&mut self, body: &[u8]) {
        if body.len() < 6 {
            return;
        }
        let info = usize::from(u16::from_be_bytes([body[2], body[3]]));
        let Some(map) = body.get(4 + info..) else {
            return;
        };
        if map.len() < 2 {
            return;
        }
        let map_len = usize::from(u16::from_be_bytes([map[0], map[1]]));
        let mut es = map.get(2..2 + map_len).unwrap_or(&[]);
        while es.len() >= 4 {
            let (stream_type, id) = (es[0], es[1]);
            let info = usize::from(u16::from_be_bytes([es[2], es[3]]));
            if id == VIDEO_STREAM_ID {
                self.codec = match stream_type {
                    0x1B => Some(VideoCodec::H264),
                    0x24 => Some(VideoCodec::H265),
                    _ => None,
                };
            }
            es = es.get(4 + info..).unwrap_or(&[]);
        }
    }

    /// A video PES packet's body; false if it is not one.
    fn pes(&mut self, body: &[u8], out: &mut Vec<DemuxedFrame>) -> bool {
        if body.len() < 3 || body[0] & 0xC0 != 0x80 {
            return false;
        }
        let flags = body[1] >> 6;
        let header = usize::from(body[2]);
        let Some(payload) = body.get(3 + header..) else {
            return false;
        };
        let times = &body[3..3 + header];
        let (pts, dts) = match flags {
            0b10 if times.len() >= 5 => (Some(timestamp(&times[..5])), None),
            0b11 if times.len() >= 10 => {
                (Some(timestamp(&times[..5])), Some(timestamp(&times[5..10])))
            }
            0b01..=0b11 => return false,
            _ => (None, None),
        };
        if pts.is_some() {
            self.oversized = false;
            match self.codec {
                // The codec unknown: the PES with a PTS starts the access unit.
                None => {
                    if let Some(g) = self.current.take().filter(|g| !g.frame.data.is_empty()) {
                        out.push(g.frame);
                    }
                    self.pending = None;
                    self.current = Some(self.gathering(Some((pts, dts))));
                }
                Some(_) => self.pending = Some((pts, dts)),
            }
        }
        if self.oversized {
            self.skipped += payload.len() as u64;
            return true;
        }
        if self.current.is_none() {
            let times = self.pending.take();
            self.current = Some(self.gathering(times));
        }
        let g = self.current.as_mut().expect("set above");
        if g.frame.data.len() + payload.len() > MAX_ACCESS_UNIT {
            self.skipped += (g.frame.data.len() + payload.len()) as u64;
            self.current = None;
            self.pending = None;
            self.oversized = true;
            return true;
        }
        g.frame.data.extend_from_slice(payload);
        if let Some(codec) = self.codec {
            self.cut(codec, out);
        }
        true
    }

    fn gathering(&self, times: Option<(Option<u64>, Option<u64>)>) -> Gathering {
        let (pts, dts) = times.unwrap_or((None, None));
        Gathering {
            frame: DemuxedFrame {
                codec: self.codec,
                pts,
                dts,
                data: Vec::new(),
            },
            vcl: false,
            scanned: 0,
        }
    }

    /// Cuts the access unit being gathered where the next one begins, as often as
    /// its NAL units say.
    fn cut(&mut self, codec: VideoCodec, out: &mut Vec<DemuxedFrame>) {
        // The NAL header, and the byte after it (the first slice's flag), after the
        // start code.
        let need = match codec {
            VideoCodec::H264 => 2,
            VideoCodec::H265 => 3,
        };
        loop {
            let g = self.current.as_mut().expect("gathering");
            let data = &g.frame.data;
            let Some(q) = find_start(&data[g.scanned..]).map(|q| q + g.scanned) else {
                g.scanned = data.len().saturating_sub(2);
                return;
            };
            let h = q + 3;
            if data.len() < h + need {
                g.scanned = q;
                return;
            }
            let (begins, vcl) = match codec {
                VideoCodec::H264 => {
                    let t = data[h] & 0x1F;
                    let vcl = matches!(t, 1 | 5);
                    let begins = match t {
                        9 => true,
                        6..=8 | 14 | 15 => g.vcl,
                        1 | 5 => g.vcl && data[h + 1] & 0x80 != 0,
                        _ => false,
                    };
                    (begins, vcl)
                }
                VideoCodec::H265 => {
                    let t = (data[h] >> 1) & 0x3F;
                    let vcl = t < 32;
                    let begins = match t {
                        35 => true,
                        32..=34 | 39 | 41..=44 | 48..=55 => g.vcl,
                        0..=31 => g.vcl && data[h + 2] & 0x80 != 0,
                        _ => false,
                    };
                    (begins, vcl)
                }
            };
            // A four-byte start code's leading zero goes with the NAL unit it starts.
            let at = if q > 0 && data[q - 1] == 0 { q - 1 } else { q };
            if begins && at > 0 {
                let rest = g.frame.data.split_off(at);
                let times = self.pending.take();
                let mut next = self.gathering(times);
                next.frame.data = rest;
                let done = std::mem::replace(self.current.as_mut().expect("gathering"), next);
                out.push(done.frame);
                continue;
            }
            if begins {
                // At the very start: the access unit begins here; a PES's times not
                // yet used are its own.
                if let Some((pts, dts)) = self.pending.take() {
                    g.frame.pts = pts;
                    g.frame.dts = dts;
                }
            }
            g.vcl |= vcl;
            g.scanned = h;
        }
    }
}

enum Unit {
    /// More bytes are needed to read it.
    Need,
    /// It was read: its length.
    Used(usize),
    /// The start code does not begin a unit.
    Bad,
}

/// Where the next `00 00 01` is.
fn find_start(b: &[u8]) -> Option<usize> {
    b.windows(3).position(|w| w == [0, 0, 1])
}

/// A 33-bit time stamp (its marker bits not insisted on: devices get them wrong).
fn timestamp(b: &[u8]) -> u64 {
    (u64::from(b[0] >> 1) & 7) << 30
        | u64::from(b[1]) << 22
        | u64::from(b[2] >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4] >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PsMuxer;
    use proptest::prelude::*;

    /// An H.264 key picture of one slice (IDR, first_mb_in_slice 0).
    fn au(n: usize, seed: u8) -> Vec<u8> {
        picture(&[0x65, 0x88], n, seed)
    }

    /// An H.265 key picture of one slice (IDR_W_RADL, first_slice_segment_in_pic).
    fn au265(n: usize, seed: u8) -> Vec<u8> {
        picture(&[0x26, 0x01, 0x88], n, seed)
    }

    fn picture(header: &[u8], n: usize, seed: u8) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1];
        v.extend_from_slice(header);
        // No start code inside: payload bytes never hold two zeros in a row.
        v.extend((0..n).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed) | 1));
        v
    }

    #[test]
    fn what_the_muxer_writes_comes_back_in_any_pieces() {
        let m = PsMuxer::new(VideoCodec::H265);
        let frames: Vec<(Vec<u8>, u64, bool)> = (0..6)
            .map(|i| {
                (
                    au265(if i == 2 { 150_000 } else { 900 }, i as u8),
                    3600 * i,
                    i % 3 == 0,
                )
            })
            .collect();
        let stream: Vec<u8> = frames
            .iter()
            .flat_map(|(a, t, k)| m.pack(a, *t, None, *k))
            .collect();
        for piece in [1usize, 7, 188, 1400, 1 << 20] {
            let mut d = PsDemuxer::new();
            let mut got = Vec::new();
            for c in stream.chunks(piece) {
                got.extend(d.push(c));
            }
            got.extend(d.finish());
            assert_eq!(got.len(), frames.len(), "pieces of {piece}");
            for (g, (a, t, _)) in got.iter().zip(&frames) {
                assert_eq!(&g.data, a);
                assert_eq!(g.pts, Some(*t));
                assert_eq!(g.codec, Some(VideoCodec::H265));
            }
            assert_eq!(d.skipped(), 0);
        }
    }

    #[test]
    fn garbage_between_packs_is_skipped_and_counted() {
        let m = PsMuxer::new(VideoCodec::H264);
        let mut stream = m.pack(&au(500, 1), 0, None, true);
        stream.extend_from_slice(&[0xFF; 37]);
        stream.extend(m.pack(&au(500, 2), 3600, None, false));
        let mut d = PsDemuxer::new();
        let mut got = d.push(&stream);
        got.extend(d.finish());
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].data, au(500, 2));
        assert_eq!(d.skipped(), 37);
    }

    #[test]
    fn an_access_unit_past_the_limit_is_dropped_not_kept() {
        let m = PsMuxer::new(VideoCodec::H264);
        let mut stream = m.pack(&au(MAX_ACCESS_UNIT + 10, 3), 0, None, true);
        stream.extend(m.pack(&au(100, 4), 3600, None, false));
        let mut d = PsDemuxer::new();
        let mut got = d.push(&stream);
        got.extend(d.finish());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, au(100, 4));
        assert!(d.skipped() > MAX_ACCESS_UNIT as u64);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever arrives, in whatever pieces: no panic, and the buffer stays
        /// bounded by what could still be one unit.
        #[test]
        fn any_bytes_in_any_pieces_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..4096),
            cuts in proptest::collection::vec(1usize..600, 1..20),
        ) {
            let mut d = PsDemuxer::new();
            let mut rest = &data[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (a, b) = rest.split_at((*c).min(rest.len()));
                let _ = d.push(a);
                rest = b;
                prop_assert!(d.buf.len() <= 6 + 0xFFFF);
            }
            let _ = d.finish();
        }

        /// A real stream with bytes flipped: no panic.
        #[test]
        fn a_damaged_stream_never_panics(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..40),
        ) {
            let m = PsMuxer::new(VideoCodec::H264);
            let mut stream: Vec<u8> = (0..4u64)
                .flat_map(|i| m.pack(&au(700, i as u8), i * 3600, Some(i * 3600 + 1), i == 0))
                .collect();
            let n = stream.len();
            for (at, v) in flips {
                stream[at % n] = v;
            }
            let mut d = PsDemuxer::new();
            let _ = d.push(&stream);
            let _ = d.finish();
        }
    }
}
