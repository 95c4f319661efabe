//! Every parser that reads a peer's bytes, fuzzed: no input makes one panic.
//!
//! `VIDIMUS_FUZZ_INPUTS` inputs each (50,000 in the test suite; `bench/fuzz` runs 10^7).
//! What a parser accepts must also survive being written and read again.

use vidimus_access::digest::{Authorization, Challenge};
use vidimus_fuzz::{fuzz, inputs_or};
use vidimus_gb28181::manscdp::Envelope;
use vidimus_gb28181::mansrtsp::Control;
use vidimus_gb28181::sdp::MediaSdp;
use vidimus_gb28181::sip::{Message, StreamReader};
use vidimus_gb28181::xml;

const DEFAULT: u64 = 50_000;

const REGISTER: &str = "REGISTER sip:44030500002000000001@4403050000 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.9:5060;rport;branch=z9hG4bK1371463273\r\n\
From: <sip:44030500001320000001@4403050000>;tag=2043466181\r\n\
To: <sip:44030500001320000001@4403050000>\r\n\
Call-ID: 1011047669\r\nCSeq: 2 REGISTER\r\n\
Contact: <sip:44030500001320000001@10.0.0.9:5060>\r\n\
Authorization: Digest username=\"44030500001320000001\", realm=\"4403050000\", nonce=\"abc\", uri=\"sip:44030500002000000001@4403050000\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n\
Max-Forwards: 70\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n";

const UNAUTHORIZED: &str = "SIP/2.0 401 Unauthorized\r\n\
Via: SIP/2.0/UDP 10.0.0.9:5060;rport=5060;branch=z9hG4bK1371463273;received=10.0.0.9\r\n\
From: <sip:44030500001320000001@4403050000>;tag=2043466181\r\n\
To: <sip:44030500001320000001@4403050000>;tag=99\r\nCall-ID: 1011047669\r\nCSeq: 1 REGISTER\r\n\
WWW-Authenticate: Digest realm=\"4403050000\", nonce=\"6d1f.0a0b.ffee\", algorithm=MD5, qop=\"auth\"\r\n\
Content-Length: 0\r\n\r\n";

const CATALOG: &str = "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n<CmdType>Catalog</CmdType>\r\n\
<SN>17430</SN>\r\n<DeviceID>44030500002000000001</DeviceID>\r\n<SumNum>1</SumNum>\r\n<DeviceList Num=\"1\">\r\n\
<Item>\r\n<DeviceID>44030500001320000001</DeviceID>\r\n<Name>Gate &amp; yard</Name>\r\n<Manufacturer>Vidimus</Manufacturer>\r\n\
<CivilCode>440305</CivilCode>\r\n<Parental>0</Parental>\r\n<Status>ON</Status>\r\n</Item>\r\n</DeviceList>\r\n</Response>\r\n";

const RECORD_INFO: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Query><CmdType>RecordInfo</CmdType><SN>7</SN>\
<DeviceID>44030500001320000001</DeviceID><StartTime>2026-12-03T10:00:00</StartTime>\
<EndTime>2026-12-03T11:00:00+08:00</EndTime><Type>all</Type></Query>";

const SDP: &str = "v=0\r\no=44030500002000000001 0 0 IN IP4 10.0.0.5\r\ns=Playback\r\nu=44030500001320000001:0\r\n\
c=IN IP4 10.0.0.5\r\nt=1796263200 1796266800\r\nm=video 30120 TCP/RTP/AVP 96 98\r\na=recvonly\r\n\
a=rtpmap:96 PS/90000\r\na=rtpmap:98 H264/90000\r\na=setup:passive\r\na=connection:new\r\na=downloadspeed:4\r\ny=1000000001\r\nf=v/2/4/25/1/4000a///\r\n";

const PLAY: &str = "PLAY MANSRTSP/1.0\r\nCSeq: 5\r\nScale: 2.0\r\nRange: npt=100-\r\n";

fn sip_seeds() -> Vec<Vec<u8>> {
    let with_body = |first: &str, ctype: &str, body: &str| {
        format!(
            "{first}\r\nVia: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKx\r\nFrom: <sip:44030500002000000001@4403050000>;tag=1\r\n\
             To: <sip:44030500001320000001@4403050000>\r\nCall-ID: c1\r\nCSeq: 20 MESSAGE\r\n\
             Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    vec![
        REGISTER.as_bytes().to_vec(),
        UNAUTHORIZED.as_bytes().to_vec(),
        with_body(
            "MESSAGE sip:44030500001320000001@4403050000 SIP/2.0",
            "Application/MANSCDP+xml",
            CATALOG,
        ),
        with_body(
            "INVITE sip:44030500001320000001@10.0.0.9:5060 SIP/2.0",
            "application/sdp",
            SDP,
        ),
        with_body(
            "INFO sip:44030500001320000001@10.0.0.9:5060 SIP/2.0",
            "Application/MANSRTSP",
            PLAY,
        ),
    ]
}

const SIP_WORDS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\n ",
    b"Content-Length: ",
    b"l: ",
    b"Via: SIP/2.0/UDP ",
    b";branch=",
    b"<sip:",
    b">",
    b";tag=",
    b"\"",
    b"\\",
    b"SIP/2.0 ",
    b"CSeq: ",
    b"[::1]:",
    b"@",
    b",",
];

/// Reads every header value the signalling reads, and writes the message again.
fn read_all(m: &Message) {
    if let Message::Request(r) = m {
        let _ = (r.call_id(), r.cseq(), r.from(), r.to(), r.top_via());
        let _ = r.response(200, "OK", Some("t"));
    }
    for v in m.headers().values("Contact") {
        let _ = vidimus_gb28181::sip::NameAddr::parse(v);
    }
    for v in m.headers().values("Via") {
        let _ = vidimus_gb28181::sip::Via::parse(v);
    }
    for n in ["WWW-Authenticate", "Authorization"] {
        if let Some(v) = m.headers().get(n) {
            let _ = Challenge::parse(v);
            let _ = Authorization::parse(v);
        }
    }
}

#[test]
fn sip_datagrams() {
    let r = fuzz(
        "sip datagram",
        &sip_seeds(),
        SIP_WORDS,
        inputs_or(DEFAULT),
        |input| match Message::parse_datagram(input) {
            Ok(m) => {
                read_all(&m);
                let again = Message::parse_datagram(&m.to_bytes())
                    .unwrap_or_else(|e| panic!("what was read cannot be read again: {e}"));
                assert_eq!(again.to_bytes(), m.to_bytes(), "writing is not stable");
                true
            }
            Err(_) => false,
        },
    );
    println!("{r}");
}

#[test]
fn sip_streams() {
    let r = fuzz(
        "sip stream",
        &sip_seeds(),
        SIP_WORDS,
        inputs_or(DEFAULT),
        |input| {
            let mut s = StreamReader::default();
            let step = 1 + input.first().copied().unwrap_or(0) as usize % 97;
            let mut ok = false;
            for chunk in input.chunks(step) {
                s.push(chunk);
                loop {
                    match s.next_message() {
                        Ok(Some(m)) => {
                            read_all(&m);
                            ok = true;
                        }
                        Ok(None) => break,
                        Err(_) => return ok,
                    }
                }
            }
            ok
        },
    );
    println!("{r}");
}

#[test]
fn manscdp_bodies() {
    let seeds = vec![
        CATALOG.as_bytes().to_vec(),
        RECORD_INFO.as_bytes().to_vec(),
        xml::Charset::Gb18030.encode(&CATALOG.replace("Gate", "南山区")),
    ];
    let words: &[&[u8]] = &[
        b"<Item>",
        b"</Item>",
        b"<![CDATA[",
        b"]]>",
        b"&#x",
        b"&amp;",
        b"<!DOCTYPE a>",
        b"<?xml ",
        b"encoding=\"UTF-8\"",
        b"<SumNum>",
        b"<StartTime>2026-12-03T10:00:00</StartTime>",
        b"\xd6\xd0",
    ];
    let r = fuzz(
        "manscdp",
        &seeds,
        words,
        inputs_or(DEFAULT),
        |input| match Envelope::parse(input) {
            Ok(env) => {
                let _ = env.command();
                let again = env.root.to_document(env.charset);
                let back = Envelope::parse(&again)
                    .unwrap_or_else(|e| panic!("what was read cannot be read again: {e}"));
                assert_eq!(back.root, env.root, "the tree does not survive writing");
                true
            }
            Err(_) => false,
        },
    );
    println!("{r}");
}

#[test]
fn sdp_bodies() {
    let r = fuzz(
        "sdp",
        &[SDP.as_bytes().to_vec()],
        &[
            b"\r\nm=video ",
            b"\r\na=setup:",
            b"\r\ny=",
            b"\r\nc=IN IP4 ",
        ],
        inputs_or(DEFAULT),
        |input| match MediaSdp::parse(input) {
            Ok(sdp) => {
                let back = MediaSdp::parse(sdp.to_text().as_bytes())
                    .unwrap_or_else(|e| panic!("what was read cannot be read again: {e}"));
                assert_eq!(back.to_text(), sdp.to_text());
                true
            }
            Err(_) => false,
        },
    );
    println!("{r}");
}

#[test]
fn mansrtsp_bodies() {
    let seeds = vec![
        PLAY.as_bytes().to_vec(),
        b"PAUSE MANSRTSP/1.0\r\nCSeq: 7\r\nPauseTime: now\r\n".to_vec(),
    ];
    let r = fuzz(
        "mansrtsp",
        &seeds,
        &[b"Scale: ", b"Range: npt=", b"-", b"now"],
        inputs_or(DEFAULT),
        |input| match Control::parse(input) {
            Ok(c) => {
                assert_eq!(Control::parse(c.to_text().as_bytes()).ok(), Some(c));
                true
            }
            Err(_) => false,
        },
    );
    println!("{r}");
}

#[test]
fn digest_headers() {
    let seeds = vec![
        b"Digest realm=\"4403050000\", nonce=\"6d1f.0a0b.ffee\", algorithm=MD5, qop=\"auth\"".to_vec(),
        b"Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\", qop=auth, nc=00000001, cnonce=\"c\"".to_vec(),
    ];
    let r = fuzz(
        "digest",
        &seeds,
        &[b"\"", b"\\", b",", b"="],
        inputs_or(DEFAULT),
        |input| {
            let Ok(s) = std::str::from_utf8(input) else {
                return false;
            };
            let c = Challenge::parse(s);
            let a = Authorization::parse(s);
            // (What is written reads back the same, unless writing it, with its
            // escapes, made it longer than a header may be.)
            let fits = |h: &str| h.len() <= vidimus_access::digest::MAX_HEADER;
            if let Ok(c) = &c
                && fits(&c.to_header())
            {
                assert_eq!(Challenge::parse(&c.to_header()).as_ref(), Ok(c));
            }
            if let Ok(a) = &a {
                if fits(&a.to_header()) {
                    assert_eq!(Authorization::parse(&a.to_header()).as_ref(), Ok(a));
                }
                let _ = a.verify("password", "REGISTER");
            }
            c.is_ok() || a.is_ok()
        },
    );
    println!("{r}");
}

/// The registrar fed what a device (or anyone) may send: no panic, and nobody is
/// registered without answering a challenge with the account's password.
#[test]
fn registrar_requests() {
    use vidimus_access::digest::NonceMint;
    use vidimus_gb28181::id::GbId;
    use vidimus_gb28181::registrar::{DeviceAccount, DeviceEvent, Registrar, RegistrarConfig};
    let mut reg = Registrar::new(
        RegistrarConfig {
            realm: "4403050000".into(),
            ..RegistrarConfig::default()
        },
        vec![DeviceAccount {
            id: GbId::parse("44030500001320000001").unwrap(),
            password: "device secret".into(),
        }],
        NonceMint::new([5; 32]),
    );
    let mut now = 0u64;
    let r = fuzz(
        "registrar",
        &sip_seeds(),
        SIP_WORDS,
        inputs_or(DEFAULT),
        |input| {
            let Ok(Message::Request(req)) = Message::parse_datagram(input) else {
                return false;
            };
            now += 1000;
            let mut ev = Vec::new();
            let answered = reg
                .receive(
                    &req,
                    "10.0.0.9:5060",
                    now,
                    "2026-12-04T20:00:00.000",
                    &mut ev,
                )
                .is_some();
            reg.poll(now, &mut ev);
            assert!(
                !ev.iter()
                    .any(|e| matches!(e, DeviceEvent::Registered { .. })),
                "registered without the password: {ev:?}"
            );
            answered
        },
    );
    println!("{r}");
}
