//! The program stream and RTP readers, fuzzed: no input makes one panic, and what they
//! give back is bounded.
//!
//! `VIDIMUS_FUZZ_INPUTS` inputs each (50,000 in the test suite; `bench/fuzz` runs 10^7).

use vidimus_fuzz::{fuzz, inputs_or};
use vidimus_ps::rtp::{self, Packetizer, Rfc4571Reader};
use vidimus_ps::{MAX_ACCESS_UNIT, PsDemuxer};
use vidimus_ps::{PsMuxer, VideoCodec};

const DEFAULT: u64 = 50_000;

/// An H.264 access unit: AUD, SPS, PPS and a slice of `n` bytes (a key frame), or an
/// AUD and a non-IDR slice.
fn h264(n: usize, key: bool) -> Vec<u8> {
    let mut au = vec![0, 0, 0, 1, 0x09, 0xf0];
    if key {
        au.extend([
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8,
        ]);
        au.extend([0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        au.extend([0, 0, 1, 0x65, 0x88]);
    } else {
        au.extend([0, 0, 1, 0x41, 0x9a]);
    }
    au.extend((0..n).map(|i| (i as u8).wrapping_mul(31) | 1));
    au
}

fn h265(n: usize) -> Vec<u8> {
    let mut au = vec![0, 0, 0, 1, 0x46, 0x01, 0x10];
    au.extend([0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01]);
    au.extend([0, 0, 0, 1, 0x26, 0x01, 0xaf]);
    au.extend((0..n).map(|i| (i as u8).wrapping_mul(7) | 1));
    au
}

fn seeds() -> Vec<Vec<u8>> {
    let m = PsMuxer::new(VideoCodec::H264);
    let mut two = m.pack(&h264(300, true), 3600, None, true);
    two.extend(m.pack(&h264(200, false), 7200, Some(3600), false));
    vec![
        two,
        m.pack(&h264(70_000, true), 0, None, true),
        PsMuxer::new(VideoCodec::H265).pack(&h265(500), 90_000, None, true),
    ]
}

const WORDS: &[&[u8]] = &[
    b"\x00\x00\x01\xba",
    b"\x00\x00\x01\xbb",
    b"\x00\x00\x01\xbc",
    b"\x00\x00\x01\xe0",
    b"\x00\x00\x01\xc0",
    b"\x00\x00\x01\xb9",
    b"\x00\x00\x01",
    b"\xff\xff",
    b"\x00\x00\x00\x01\x09",
];

#[test]
fn program_streams() {
    let r = fuzz("ps demux", &seeds(), WORDS, inputs_or(DEFAULT), |input| {
        let mut d = match input.first() {
            Some(b) if b & 1 == 1 => PsDemuxer::expecting(VideoCodec::H265),
            _ => PsDemuxer::new(),
        };
        let step = 1 + input.last().copied().unwrap_or(0) as usize * 13;
        let mut frames = Vec::new();
        for chunk in input.chunks(step) {
            frames.extend(d.push(chunk));
        }
        frames.extend(d.finish());
        let out: usize = frames.iter().map(|f| f.data.len()).sum();
        assert!(
            frames.iter().all(|f| f.data.len() <= MAX_ACCESS_UNIT),
            "an access unit over the cap"
        );
        // Nothing is made up: at most the input's bytes come out (start codes may be
        // added in front of NAL units, four bytes at most each).
        assert!(
            out <= input.len() * 2 + 64,
            "{out} bytes out of {}",
            input.len()
        );
        !frames.is_empty()
    });
    println!("{r}");
}

#[test]
fn rtp_packets_and_tcp_framing() {
    let mut packetizer = Packetizer::new(96, 100000001, 1, 1400);
    let mut seeds = Vec::new();
    for pack in seeds_packs() {
        let packets = packetizer.packets(&pack, 3600);
        let mut framed = Vec::new();
        for p in &packets {
            framed.extend(rtp::frame_rfc4571(p));
        }
        seeds.push(framed);
        seeds.extend(packets);
    }
    let r = fuzz(
        "rtp",
        &seeds,
        &[b"\x80\x60", b"\x80\xe0", b"\xa0", b"\x00\x00", b"\xff\xff"],
        inputs_or(DEFAULT),
        |input| {
            let one = rtp::parse(input);
            if let Ok(p) = &one {
                assert!(p.payload.len() <= input.len());
            }
            let mut reader = Rfc4571Reader::new();
            let mut n = 0;
            for chunk in input.chunks(1 + input.len() % 7) {
                for packet in reader.push(chunk) {
                    assert!(packet.len() <= 65_535);
                    let _ = rtp::parse(&packet);
                    n += 1;
                }
            }
            assert!(reader.pending() <= input.len());
            one.is_ok() || n > 0
        },
    );
    println!("{r}");
}

fn seeds_packs() -> Vec<Vec<u8>> {
    seeds()
}
