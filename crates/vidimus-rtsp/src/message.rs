//! RTSP requests read from a connection's bytes, and responses written.
//!
//! Parsing is `rtsp-types`' (RFC 2326/7826); this module bounds it: a message may
//! take at most [`MAX_MESSAGE`] bytes, a buffer holding more without a whole message
//! is refused, and a client's interleaved data (`$`: RTCP receiver reports) is
//! skipped. Responses are written by hand from values stripped of control characters,
//! so nothing a client sent can add a line to an answer.

/// The most bytes one request (head and body) may take.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// What a connection's bytes could not be read as.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("a request of more than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("not an RTSP request")]
    Malformed,
}

/// A request, with what the server reads of it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request URI as sent (`*` for an `OPTIONS *`).
    pub uri: String,
    pub cseq: Option<String>,
    inner: rtsp_types::Request<Vec<u8>>,
}

impl Request {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = rtsp_types::HeaderName::try_from(name).ok()?;
        self.inner.header(&name).map(|v| v.as_str())
    }

    /// The parsed `Transport` header (`None` if it is missing).
    pub fn transports(
        &self,
    ) -> Result<Option<rtsp_types::headers::Transports>, rtsp_types::headers::HeaderParseError>
    {
        self.inner.typed_header::<rtsp_types::headers::Transports>()
    }

    /// The session id the client names (the part before any `;timeout=`).
    pub fn session(&self) -> Option<&str> {
        self.header("Session")
            .map(|s| s.split(';').next().unwrap_or("").trim())
    }
}

/// One thing read from a connection.
#[derive(Debug)]
pub enum Incoming {
    Request(Box<Request>),
    /// Interleaved data from the client (RTCP), skipped.
    Data,
    /// A response from the client: not something a server is sent; skipped.
    Response,
}

/// Takes the first whole message out of `buf`; `Ok(None)` until one is there.
pub fn take(buf: &mut Vec<u8>) -> Result<Option<Incoming>, MessageError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Look at no more than one message's worth: a client cannot make the parser
    // walk an unbounded buffer.
    let window = &buf[..buf.len().min(MAX_MESSAGE)];
    match rtsp_types::Message::<Vec<u8>>::parse(window) {
        Ok((msg, consumed)) => {
            buf.drain(..consumed);
            Ok(Some(match msg {
                rtsp_types::Message::Request(r) => {
                    let cseq = r
                        .header(&rtsp_types::headers::CSEQ)
                        .map(|v| v.as_str().trim().to_owned());
                    Incoming::Request(Box::new(Request {
                        method: method_name(r.method()),
                        // Without credentials a client may have written into it: the
                        // URI is registered and echoed.
                        uri: r.request_uri().map_or_else(
                            || "*".to_owned(),
                            |u| {
                                let mut u = u.clone();
                                let _ = u.set_username("");
                                let _ = u.set_password(None);
                                u.as_str().to_owned()
                            },
                        ),
                        cseq,
                        inner: r,
                    }))
                }
                rtsp_types::Message::Data(_) => Incoming::Data,
                rtsp_types::Message::Response(_) => Incoming::Response,
            }))
        }
        Err(rtsp_types::ParseError::Incomplete(_)) if buf.len() < MAX_MESSAGE => Ok(None),
        Err(rtsp_types::ParseError::Incomplete(_)) => Err(MessageError::TooLarge),
        Err(rtsp_types::ParseError::Error) => Err(MessageError::Malformed),
    }
}

fn method_name(m: &rtsp_types::Method) -> String {
    <&str>::from(m).to_owned()
}

/// A value fit for a header: control characters (line breaks above all) replaced.
pub fn clean(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An RTSP/1.0 response: status, the request's `CSeq`, `headers` and `body`.
pub fn response(
    status: u16,
    cseq: Option<&str>,
    headers: &[(&str, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("RTSP/1.0 {status} {}\r\n", reason(status));
    if let Some(c) = cseq {
        out.push_str(&format!("CSeq: {}\r\n", clean(c)));
    }
    out.push_str("Server: Vidimus\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{}: {}\r\n", clean(k), clean(v)));
    }
    if !body.is_empty() {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The reason phrase of a status this server answers with (RFC 2326 §7.1.1).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        457 => "Invalid Range",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "RTSP Version not supported",
        _ => "Error",
    }
}

/// Whether a digest answer's `uri` names the resource the request is for (RFC 2617
/// §3.2.2.5: a server must check it, or an answer overheard for one URL opens
/// another). Absolute URIs are compared after parsing (case of the scheme and host,
/// default port); a bare path with the request's path and query.
pub fn same_resource(digest_uri: &str, request_uri: &str) -> bool {
    let Ok(req) = rtsp_types::Url::parse(request_uri) else {
        return digest_uri == request_uri;
    };
    match rtsp_types::Url::parse(digest_uri) {
        Ok(d) => d == req,
        Err(_) => {
            let path = match req.query() {
                Some(q) => format!("{}?{q}", req.path()),
                None => req.path().to_owned(),
            };
            digest_uri == path
        }
    }
}

/// One RTP or RTCP packet framed for the RTSP connection (RFC 2326 §10.12).
pub fn interleaved(channel: u8, packet: &[u8], out: &mut Vec<u8>) {
    debug_assert!(packet.len() <= usize::from(u16::MAX));
    out.push(b'$');
    out.push(channel);
    out.extend_from_slice(&(packet.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(packet);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_in_pieces_and_skips_interleaved_data() {
        let req = b"DESCRIBE rtsp://127.0.0.1:8554/cameras/1/live RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n";
        let mut stream = vec![b'$', 1, 0, 4, 1, 2, 3, 4];
        stream.extend_from_slice(req);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for b in stream {
            buf.push(b);
            while let Some(m) = take(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert!(matches!(got[0], Incoming::Data));
        let Incoming::Request(r) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(r.method, "DESCRIBE");
        assert_eq!(r.uri, "rtsp://127.0.0.1:8554/cameras/1/live");
        assert_eq!(r.cseq.as_deref(), Some("2"));
        assert_eq!(r.header("accept"), Some("application/sdp"));
        assert!(buf.is_empty());
        let mut buf =
            b"OPTIONS rtsp://op:secret@h:8555/cameras/1/live RTSP/1.0\r\nCSeq: 1\r\n\r\n".to_vec();
        let Some(Incoming::Request(r)) = take(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(
            r.uri, "rtsp://h:8555/cameras/1/live",
            "credentials are left out"
        );
    }

    #[test]
    fn refuses_what_is_not_rtsp_or_too_large() {
        let mut buf = b"\x16\x03\x01garbage that is not a request\r\n\r\n".to_vec();
        assert_eq!(take(&mut buf).unwrap_err(), MessageError::Malformed);
        let mut buf = b"OPTIONS * RTSP/1.0\r\nX: ".to_vec();
        buf.resize(MAX_MESSAGE + 10, b'a');
        assert_eq!(take(&mut buf).unwrap_err(), MessageError::TooLarge);
    }

    #[test]
    fn digest_uris_must_name_the_request() {
        let req = "rtsp://127.0.0.1:8555/cameras/1/live";
        assert!(same_resource(req, req));
        assert!(same_resource("RTSP://127.0.0.1:8555/cameras/1/live", req));
        assert!(same_resource("/cameras/1/live", req));
        assert!(!same_resource("rtsp://127.0.0.1:8555/cameras/2/live", req));
        assert!(!same_resource("/cameras/1/live?x", req));
        assert!(!same_resource("*", req));
        let rec = "rtsp://h/cameras/1/recorded?start=2026-12-04T10:00:00%2B08:00";
        assert!(same_resource(
            "/cameras/1/recorded?start=2026-12-04T10:00:00%2B08:00",
            rec
        ));
        assert!(!same_resource(
            "/cameras/1/recorded?start=2026-12-05T10:00:00%2B08:00",
            rec
        ));
    }

    #[test]
    fn responses_cannot_be_given_lines() {
        let r = response(
            200,
            Some("3\r\nX-Evil: 1"),
            &[("Session", "abc\r\n\r\nRTSP/1.0 200".into())],
            b"",
        );
        let text = String::from_utf8(r).unwrap();
        assert_eq!(text.matches("\r\n").count(), 5, "{text}");
        assert!(text.starts_with("RTSP/1.0 200 OK\r\nCSeq: 3  X-Evil: 1\r\n"));
    }
}
