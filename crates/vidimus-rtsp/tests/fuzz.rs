//! The RTSP re-stream's readers, fuzzed: requests read from a connection's bytes in
//! pieces of any size, the URLs, `Transport` and `Range` headers read from them — no
//! input makes one panic, a buffer never grows past one message's bound, and what is
//! read back fits in what came in.
//!
//! `VIDIMUS_FUZZ_INPUTS` inputs (50,000 in the test suite; `bench/fuzz` runs 10^7).

use vidimus_fuzz::{fuzz, inputs_or};
use vidimus_rtsp::message::{Incoming, MAX_MESSAGE, take};

const DEFAULT: u64 = 50_000;

fn seeds() -> Vec<Vec<u8>> {
    [
        "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        "DESCRIBE rtsp://127.0.0.1:8555/cameras/1/live RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nAuthorization: Digest username=\"op\", realm=\"Vidimus\", nonce=\"1.2.3\", uri=\"rtsp://127.0.0.1:8555/cameras/1/live\", response=\"0123456789abcdef0123456789abcdef\"\r\n\r\n",
        "SETUP rtsp://h/cameras/1/recorded?start=2026-12-04T10:00:00%2B08:00&end=20261204T030000Z/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1,RTP/AVP;unicast;client_port=5000-5001\r\n\r\n",
        "PLAY rtsp://h/cameras/1/recorded?start=2026-12-04%2010:00:00 RTSP/1.0\r\nCSeq: 4\r\nSession: ABCDEF;timeout=60\r\nRange: npt=1:02:03.5-\r\nScale: 2.0\r\n\r\n",
        "SET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 5\r\nContent-Length: 5\r\n\r\nhello",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([vec![b'$', 1, 0, 8, 0x80, 0xc9, 0, 1, 0, 0, 0, 1]])
    .collect()
}

const WORDS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"RTSP/1.0",
    b"RTSP/2.0",
    b"CSeq: ",
    b"Content-Length: ",
    b"Transport: ",
    b"Range: clock=",
    b"Range: npt=",
    b"interleaved=",
    b"client_port=",
    b"/cameras/",
    b"/recorded?start=",
    b"%2B",
    b"$",
    b"\"",
];

#[test]
fn requests_urls_and_headers() {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let from: jiff::Timestamp = "2026-12-04T02:00:00Z".parse().unwrap();
    let r = fuzz("rtsp", &seeds(), WORDS, inputs_or(DEFAULT), |input| {
        let step = 1 + input.last().copied().unwrap_or(0) as usize * 11;
        let mut buf = Vec::new();
        let mut read = 0usize;
        let mut any = false;
        'feed: for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            loop {
                match take(&mut buf) {
                    Ok(Some(Incoming::Request(r))) => {
                        any = true;
                        read += r.uri.len();
                        let _ = vidimus_rtsp::target::parse(&r.uri, &tz);
                        if let Ok(t) = r.transports() {
                            let _ = vidimus_rtsp::transport::choose(t.as_ref());
                        }
                        if let Some(h) = r.header("Range") {
                            let _ = vidimus_rtsp::target::range_start(h, from);
                        }
                        let _ = r.session();
                    }
                    Ok(Some(_)) => any = true,
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            assert!(
                buf.len() <= MAX_MESSAGE + step,
                "the buffer grew to {} bytes",
                buf.len()
            );
        }
        assert!(
            read <= input.len() * 3 + 16,
            "{read} bytes of URLs from {}",
            input.len()
        );
        any
    });
    println!("{r}");
}
