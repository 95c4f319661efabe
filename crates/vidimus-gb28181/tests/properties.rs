//! Properties of the signalling's readers and writers over generated values: what is
//! written is read back the same, whatever pieces a stream arrives in, in either
//! charset; a digest answer proves its password and no other.

use jiff::{Timestamp, tz::TimeZone};
use proptest::prelude::*;
use vidimus_access::digest::{Authorization, Challenge};
use vidimus_gb28181::manscdp::GbTime;
use vidimus_gb28181::sdp::{MediaSdp, SessionKind, Setup, Transport};
use vidimus_gb28181::sip::{Message, Method, Request, StreamReader};
use vidimus_gb28181::xml::{self, Charset, Element};

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Register),
        Just(Method::Invite),
        Just(Method::Message),
        Just(Method::Info),
        Just(Method::Bye),
        "[A-Z]{3,10}".prop_map(|m| Method::parse(&m)),
    ]
}

/// Header values as peers write them: printable, CJK included, no leading or trailing
/// space (those are not part of a value).
fn value() -> impl Strategy<Value = String> {
    "[!-~\u{4e00}-\u{4e20}]([ !-~\u{4e00}-\u{4e20}]{0,40}[!-~])?"
}

fn request() -> impl Strategy<Value = Request> {
    (
        method(),
        "[0-9]{20}",
        proptest::collection::vec(("X-[A-Za-z]{1,12}", value()), 0..12),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(method, id, headers, body)| {
            let mut r = Request::new(method, format!("sip:{id}@4403050000"));
            r.headers.push("Call-ID", "c1");
            for (n, v) in headers {
                r.headers.push(&n, v);
            }
            r.body = body;
            r
        })
}

fn element(depth: u32) -> BoxedStrategy<Element> {
    let leaf = (
        "[A-Z][A-Za-z]{0,10}",
        "[a-zA-Z0-9 &<>\"'\u{4e00}-\u{4e50}]{0,30}",
    )
        .prop_map(|(n, t)| {
            let mut e = Element::new(&n);
            e.text = t.trim().to_owned();
            e
        });
    if depth == 0 {
        return leaf.boxed();
    }
    (
        "[A-Z][A-Za-z]{0,10}",
        proptest::collection::vec(("[a-z]{1,6}", "[ -~]{0,10}"), 0..3),
        proptest::collection::vec(element(depth - 1), 0..5),
    )
        .prop_map(|(n, attrs, children)| {
            let mut e = Element::new(&n);
            for (k, v) in attrs {
                if !e.attrs.iter().any(|(a, _)| *a == k) {
                    e.attrs.push((k, v));
                }
            }
            e.children = children;
            e
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn requests_are_read_back_as_written(r in request(), cuts in proptest::collection::vec(1usize..200, 1..10)) {
        let bytes = r.to_bytes();
        let Message::Request(back) = Message::parse_datagram(&bytes).unwrap() else {
            panic!("a request")
        };
        prop_assert_eq!(&back.method, &r.method);
        prop_assert_eq!(&back.uri, &r.uri);
        prop_assert_eq!(&back.body, &r.body);
        let lines: Vec<_> = back.headers.iter().filter(|(n, _)| *n != "Content-Length").collect();
        prop_assert_eq!(lines, r.headers.iter().collect::<Vec<_>>());
        // The same bytes twice on a stream, in any pieces.
        let mut twice = bytes.clone();
        twice.extend_from_slice(&bytes);
        let mut s = StreamReader::default();
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= twice.len() { break; }
            let end = (at + cut).min(twice.len());
            s.push(&twice[at..end]);
            at = end;
            while let Some(m) = s.next_message().unwrap() {
                got.push(m);
            }
        }
        prop_assert_eq!(got.len(), 2);
        prop_assert_eq!(&got[0], &Message::Request(back.clone()));
        prop_assert_eq!(&got[1], &Message::Request(back));
    }

    #[test]
    fn header_values_cannot_inject_lines(v in "[ -~\r\n]{0,60}") {
        let mut r = Request::new(Method::Message, "sip:a@b");
        r.headers.push("Subject", v);
        let Message::Request(back) = Message::parse_datagram(&r.to_bytes()).unwrap() else {
            panic!()
        };
        prop_assert_eq!(back.headers.iter().count(), 2, "Subject and Content-Length only");
    }

    #[test]
    fn xml_trees_survive_both_charsets(e in element(3)) {
        for cs in [Charset::Gb18030, Charset::Utf8] {
            let bytes = e.to_document(cs);
            let (text, read_as) = xml::decode(&bytes).unwrap();
            let back = xml::parse(&text).unwrap();
            prop_assert_eq!(&back, &e);
            // GB18030 text in the GB2312 range can also be valid UTF-8 only when it is ASCII.
            if text.is_ascii() { continue; }
            prop_assert_eq!(read_as, cs);
        }
    }

    #[test]
    fn a_digest_answer_proves_its_password_only(
        user in "[0-9]{20}", pw in "[ -~]{1,20}", other in "[ -~]{1,20}",
        qop in any::<bool>(), nc in 1u32..1000,
    ) {
        let mut c = Challenge::new("4403050000", "nonce-1".into());
        c.qop_auth = qop;
        let uri = "sip:44030500002000000001@4403050000";
        let a = Authorization::answer(&c, &user, &pw, "REGISTER", uri, "cn", nc);
        let a = Authorization::parse(&a.to_header()).unwrap();
        prop_assert!(a.verify(&pw, "REGISTER"));
        prop_assert!(!a.verify(&pw, "INVITE"));
        if other != pw {
            prop_assert!(!a.verify(&other, "REGISTER"));
        }
    }

    #[test]
    fn gb_times_are_the_instants_they_were(secs in 0i64..4_102_444_800) {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let t = Timestamp::from_second(secs).unwrap();
        let text = GbTime::local(t, &tz).to_text(&tz);
        let back = GbTime::parse("StartTime", &text).unwrap().to_timestamp(&tz).unwrap();
        prop_assert_eq!(back, t);
        let utc = GbTime::parse("StartTime", &t.to_string()).unwrap().to_timestamp(&tz).unwrap();
        prop_assert_eq!(utc, t);
    }

    #[test]
    fn sdp_is_read_back_as_written(
        kind in prop_oneof![Just(SessionKind::Play), Just(SessionKind::Playback), Just(SessionKind::Download)],
        port in any::<u16>(), tcp in proptest::option::of(prop_oneof![Just(Setup::Active), Just(Setup::Passive)]),
        ssrc in proptest::option::of(0u32..2_000_000_000), times in (0u64..5_000_000_000, 0u64..5_000_000_000),
        speed in proptest::option::of(1u32..16),
    ) {
        let sdp = MediaSdp {
            origin: "44030500002000000001".into(),
            kind,
            address: "10.1.2.3".into(),
            port,
            transport: tcp.map_or(Transport::Udp, Transport::Tcp),
            rtpmaps: vec![(96, "PS".into())],
            direction: Some("recvonly".into()),
            uri: (kind != SessionKind::Play).then(|| "44030500001320000001:0".into()),
            times,
            ssrc,
            download_speed: speed,
            format: None,
        };
        prop_assert_eq!(MediaSdp::parse(sdp.to_text().as_bytes()).unwrap(), sdp);
    }
}
