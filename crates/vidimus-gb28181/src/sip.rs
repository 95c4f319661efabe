//! SIP messages (RFC 3261) as GB/T 28181 uses them: read from a datagram or out of a
//! TCP stream, and written back.
//!
//! Only the message syntax lives here — start line, headers (compact forms expanded,
//! folded lines joined), the body by its `Content-Length` — and the few header values
//! the signalling reads: name-addresses (`From`, `To`, `Contact`), `Via`, `CSeq`. Every
//! size is bounded before it is read, so a peer cannot make a parser hold more than
//! [`MAX_HEADER_BYTES`] + [`MAX_BODY`] bytes for one message.

use std::fmt::Write as _;

/// The most bytes of start line and headers one message may have.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header lines one message may have.
pub const MAX_HEADERS: usize = 128;
/// The largest body accepted (a catalog of a few hundred cameras is well below it).
pub const MAX_BODY: usize = 256 * 1024;

/// What is wrong with a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SipError {
    #[error("not a SIP start line: {0:?}")]
    StartLine(String),
    #[error("malformed header line {0:?}")]
    Header(String),
    #[error("start line and headers longer than {MAX_HEADER_BYTES} bytes")]
    HeadersTooLarge,
    #[error("more than {MAX_HEADERS} header lines")]
    TooManyHeaders,
    #[error("the start line or headers are not UTF-8")]
    NotText,
    #[error("Content-Length {0:?} is not a length")]
    ContentLength(String),
    #[error("Content-Length missing on a stream transport")]
    NoContentLength,
    #[error("a body of {0} bytes is larger than the {MAX_BODY} accepted")]
    BodyTooLarge(usize),
    #[error("the body is {have} of its Content-Length's {want} bytes")]
    Truncated { have: usize, want: usize },
    #[error("header {0} missing")]
    Missing(&'static str),
    #[error("malformed {0} header: {1:?}")]
    Value(&'static str, String),
}

/// A request method.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Register,
    Invite,
    Ack,
    Bye,
    Cancel,
    Message,
    Info,
    Options,
    Subscribe,
    Notify,
    Other(String),
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "REGISTER" => Method::Register,
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "MESSAGE" => Method::Message,
            "INFO" => Method::Info,
            "OPTIONS" => Method::Options,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            other => Method::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Register => "REGISTER",
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Message => "MESSAGE",
            Method::Info => "INFO",
            Method::Options => "OPTIONS",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header lines in their order, names in their full form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

/// The full name of a compact header name (RFC 3261 §7.3.3), or the name itself.
fn full_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        _ => name,
    }
}

impl Headers {
    /// The first value of `name` (any letter case, compact or full).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = full_name(name);
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, each header line's comma-separated values apart (for
    /// `Via`, `Contact` and the like; quoted strings and `<…>` are not split).
    pub fn values(&self, name: &str) -> Vec<&str> {
        let name = full_name(name);
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| split_commas(v))
            .collect()
    }

    /// Adds a line. Control characters in `value` become spaces: a value can never
    /// end its line early and inject a header of its own.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0
            .push((full_name(name).to_owned(), without_controls(value.into())));
    }

    /// Replaces every line of `name` with one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = full_name(name);
        match self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.0[i].1 = without_controls(value.into());
                let mut seen = 0;
                self.0.retain(|(n, _)| {
                    if n.eq_ignore_ascii_case(name) {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push(name, value),
        }
    }

    pub fn remove(&mut self, name: &str) {
        let name = full_name(name);
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

fn without_controls(v: String) -> String {
    if v.bytes().any(is_control) {
        v.chars()
            .map(|c| {
                if c.is_ascii_control() && c != '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect()
    } else {
        v
    }
}

fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn split_commas(v: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in v.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(v[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(v[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty())
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    /// Reads one message from a datagram. Without a `Content-Length` the body is the rest
    /// of the datagram (RFC 3261 §18.3); bytes after the body are ignored.
    pub fn parse_datagram(data: &[u8]) -> Result<Message, SipError> {
        let data = trim_leading_crlf(data);
        let head_end = find_head_end(data)?.ok_or(SipError::Truncated {
            have: data.len(),
            want: data.len() + 1,
        })?;
        let (start, headers) = parse_head(&data[..head_end.0])?;
        let rest = &data[head_end.1..];
        let len = match content_length(&headers)? {
            Some(n) => n,
            None => rest.len(),
        };
        if len > MAX_BODY {
            return Err(SipError::BodyTooLarge(len));
        }
        if rest.len() < len {
            return Err(SipError::Truncated {
                have: rest.len(),
                want: len,
            });
        }
        Ok(start.into_message(headers, rest[..len].to_vec()))
    }

    /// The message's bytes, `Content-Length` set to the body's.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (mut s, headers, body) = match self {
            Message::Request(r) => (
                format!("{} {} SIP/2.0\r\n", r.method, r.uri),
                &r.headers,
                &r.body,
            ),
            Message::Response(r) => (
                format!("SIP/2.0 {} {}\r\n", r.status, r.reason),
                &r.headers,
                &r.body,
            ),
        };
        for (n, v) in headers.iter() {
            if !n.eq_ignore_ascii_case("Content-Length") {
                let _ = write!(s, "{n}: {v}\r\n");
            }
        }
        let _ = write!(s, "Content-Length: {}\r\n\r\n", body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(body);
        out
    }

    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
}

impl Request {
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Request {
            method,
            uri: uri.into(),
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        Message::Request(self.clone()).to_bytes()
    }

    pub fn call_id(&self) -> Result<&str, SipError> {
        self.headers
            .get("Call-ID")
            .ok_or(SipError::Missing("Call-ID"))
    }

    pub fn cseq(&self) -> Result<CSeq, SipError> {
        CSeq::parse(self.headers.get("CSeq").ok_or(SipError::Missing("CSeq"))?)
    }

    pub fn from(&self) -> Result<NameAddr, SipError> {
        NameAddr::parse(self.headers.get("From").ok_or(SipError::Missing("From"))?)
    }

    pub fn to(&self) -> Result<NameAddr, SipError> {
        NameAddr::parse(self.headers.get("To").ok_or(SipError::Missing("To"))?)
    }

    pub fn top_via(&self) -> Result<Via, SipError> {
        Via::parse(
            self.headers
                .values("Via")
                .first()
                .ok_or(SipError::Missing("Via"))?,
        )
    }

    /// The answer to this request: its `Via`s, `From`, `To` (with `to_tag` added if it
    /// has none), `Call-ID` and `CSeq` (RFC 3261 §8.2.6).
    pub fn response(&self, status: u16, reason: &str, to_tag: Option<&str>) -> Response {
        let mut headers = Headers::default();
        for (n, v) in self.headers.iter() {
            if ["Via", "From", "Call-ID", "CSeq"]
                .iter()
                .any(|k| n.eq_ignore_ascii_case(k))
            {
                headers.push(n, v);
            } else if n.eq_ignore_ascii_case("To") {
                match to_tag {
                    Some(tag) if NameAddr::parse(v).is_ok_and(|t| t.tag().is_none()) => {
                        headers.push(n, format!("{v};tag={tag}"))
                    }
                    _ => headers.push(n, v),
                }
            }
        }
        Response {
            status,
            reason: reason.to_owned(),
            headers,
            body: Vec::new(),
        }
    }
}

impl Response {
    pub fn to_bytes(&self) -> Vec<u8> {
        Message::Response(self.clone()).to_bytes()
    }

    pub fn cseq(&self) -> Result<CSeq, SipError> {
        CSeq::parse(self.headers.get("CSeq").ok_or(SipError::Missing("CSeq"))?)
    }

    pub fn call_id(&self) -> Result<&str, SipError> {
        self.headers
            .get("Call-ID")
            .ok_or(SipError::Missing("Call-ID"))
    }
}

enum StartLine {
    Request(Method, String),
    Response(u16, String),
}

impl StartLine {
    fn into_message(self, headers: Headers, body: Vec<u8>) -> Message {
        match self {
            StartLine::Request(method, uri) => Message::Request(Request {
                method,
                uri,
                headers,
                body,
            }),
            StartLine::Response(status, reason) => Message::Response(Response {
                status,
                reason,
                headers,
                body,
            }),
        }
    }
}

fn trim_leading_crlf(mut data: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = data {
        data = rest;
    }
    data
}

/// Where the head ends: (end of the last header line, start of the body). `None` when
/// the blank line has not arrived yet.
fn find_head_end(data: &[u8]) -> Result<Option<(usize, usize)>, SipError> {
    let window = &data[..data.len().min(MAX_HEADER_BYTES + 4)];
    let mut i = 0;
    while i < window.len() {
        if window[i] == b'\n' {
            // "\n\n" or "\n\r\n"
            if window.get(i + 1) == Some(&b'\n') {
                return Ok(Some((i, i + 2)));
            }
            if window.get(i + 1) == Some(&b'\r') && window.get(i + 2) == Some(&b'\n') {
                return Ok(Some((i, i + 3)));
            }
        }
        i += 1;
    }
    if data.len() > MAX_HEADER_BYTES {
        Err(SipError::HeadersTooLarge)
    } else {
        Ok(None)
    }
}

fn parse_head(head: &[u8]) -> Result<(StartLine, Headers), SipError> {
    if head.len() > MAX_HEADER_BYTES {
        return Err(SipError::HeadersTooLarge);
    }
    let head = std::str::from_utf8(head).map_err(|_| SipError::NotText)?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let start = parse_start(first)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut counted = 0;
    for line in lines {
        if line.bytes().any(is_control) {
            return Err(SipError::Header(line.chars().take(80).collect()));
        }
        if line.starts_with([' ', '\t']) {
            // A folded continuation of the header before.
            let Some(last) = headers.last_mut() else {
                return Err(SipError::Header(line.into()));
            };
            let more = line.trim();
            if !more.is_empty() {
                if !last.1.is_empty() {
                    last.1.push(' ');
                }
                last.1.push_str(more);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(SipError::Header(line.into()));
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(SipError::Header(line.into()));
        }
        let name = full_name(name);
        if name.eq_ignore_ascii_case("Content-Length") {
            // Two lengths make a message two messages to two readers: refused.
            if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(SipError::Header(line.chars().take(80).collect()));
            }
        } else {
            counted += 1;
            if counted > MAX_HEADERS {
                return Err(SipError::TooManyHeaders);
            }
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    // The head as it is written again (full names, CRLFs) stays within the bound too,
    // with room for the Content-Length line that writing adds.
    let written: usize = first.len()
        + 2
        + headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>();
    if written > MAX_HEADER_BYTES - 64 {
        return Err(SipError::HeadersTooLarge);
    }
    Ok((start, Headers(headers)))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn parse_start(line: &str) -> Result<StartLine, SipError> {
    let bad = || SipError::StartLine(line.chars().take(80).collect());
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status: u16 = code.parse().map_err(|_| bad())?;
        if !(100..700).contains(&status) || code.len() != 3 {
            return Err(bad());
        }
        return Ok(StartLine::Response(status, reason.to_owned()));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some("SIP/2.0"), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) || uri.is_empty() {
        return Err(bad());
    }
    Ok(StartLine::Request(Method::parse(method), uri.to_owned()))
}

fn content_length(headers: &Headers) -> Result<Option<usize>, SipError> {
    match headers.get("Content-Length") {
        None => Ok(None),
        Some(v) => {
            if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SipError::ContentLength(v.chars().take(20).collect()));
            }
            Ok(Some(v.parse().expect("at most nine digits")))
        }
    }
}

/// Messages out of a stream transport (TCP), where each must carry its
/// `Content-Length`. Bytes are pushed in as they arrive, in pieces of any size; the
/// empty lines some peers send as keepalives (RFC 5626 §3.5.1) are skipped.
#[derive(Default)]
pub struct StreamReader {
    buf: Vec<u8>,
}

impl StreamReader {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole message, or `None` until more bytes arrive. After an error the
    /// stream is out of step and should be closed.
    pub fn next_message(&mut self) -> Result<Option<Message>, SipError> {
        let skip = self.buf.len() - trim_leading_crlf(&self.buf).len();
        self.buf.drain(..skip);
        let Some((head_end, body_start)) = find_head_end(&self.buf)? else {
            return Ok(None);
        };
        let (start, headers) = parse_head(&self.buf[..head_end])?;
        let len = content_length(&headers)?.ok_or(SipError::NoContentLength)?;
        if len > MAX_BODY {
            return Err(SipError::BodyTooLarge(len));
        }
        if self.buf.len() < body_start + len {
            return Ok(None);
        }
        let body = self.buf[body_start..body_start + len].to_vec();
        self.buf.drain(..body_start + len);
        Ok(Some(start.into_message(headers, body)))
    }

    /// Bytes held, waiting for the rest of a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// `;name=value` parameters, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    fn parse(s: &str) -> Params {
        Params(
            s.split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((n, v)) => (n.trim().to_owned(), Some(v.trim().to_owned())),
                    None => (p.to_owned(), None),
                })
                .collect(),
        )
    }

    /// The value of `name`; `Some(None)` for a parameter without one (`;rport`).
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn set(&mut self, name: &str, value: Option<String>) {
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// A `sip:` URI: `sip:34020000001320000001@192.168.1.5:5060;transport=udp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl SipUri {
    pub fn parse(s: &str) -> Result<SipUri, SipError> {
        let bad = || SipError::Value("URI", s.chars().take(80).collect());
        let rest = s
            .strip_prefix("sip:")
            .or_else(|| s.strip_prefix("SIP:"))
            .ok_or_else(bad)?;
        // Headers (`?…`) are not used by GB/T 28181 and are dropped.
        let rest = rest.split('?').next().unwrap_or_default();
        let (addr, params) = match rest.split_once(';') {
            Some((a, p)) => (a, Params::parse(p)),
            None => (rest, Params::default()),
        };
        let (user, hostport) = match addr.rsplit_once('@') {
            // A password in the URI is not used, and not kept.
            Some((u, h)) => (Some(u.split(':').next().unwrap_or(u).to_owned()), h),
            None => (None, addr),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (format!("[{h}]"), port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p.parse().map_err(|_| bad())?)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '<' || c == '>') {
            return Err(bad());
        }
        Ok(SipUri {
            user,
            host,
            port,
            params,
        })
    }
}

impl std::fmt::Display for SipUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sip:")?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A name-address (`From`, `To`, `Contact`): `"name" <sip:…>;tag=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: SipUri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: SipUri) -> Self {
        NameAddr {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    pub fn parse(s: &str) -> Result<NameAddr, SipError> {
        let s = s.trim();
        if let Some(open) = s.find('<') {
            let close = s[open..]
                .find('>')
                .map(|c| c + open)
                .ok_or_else(|| SipError::Value("name-addr", s.chars().take(80).collect()))?;
            let display = s[..open].trim().trim_matches('"').trim();
            Ok(NameAddr {
                display: (!display.is_empty()).then(|| display.to_owned()),
                uri: SipUri::parse(&s[open + 1..close])?,
                params: Params::parse(&s[close + 1..]),
            })
        } else {
            // Without angle brackets the parameters belong to the header (§20.10).
            let (uri, params) = s.split_once(';').unwrap_or((s, ""));
            Ok(NameAddr {
                display: None,
                uri: SipUri::parse(uri)?,
                params: Params::parse(params),
            })
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    pub fn with_tag(mut self, tag: &str) -> Self {
        self.params.set("tag", Some(tag.to_owned()));
        self
    }
}

impl std::fmt::Display for NameAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{}\" ", d.replace(['"', '\\'], ""))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One `Via` value: `SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK…;rport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn parse(s: &str) -> Result<Via, SipError> {
        let bad = || SipError::Value("Via", s.chars().take(80).collect());
        let (proto, rest) = s.trim().split_once([' ', '\t']).ok_or_else(bad)?;
        let transport = proto
            .strip_prefix("SIP/2.0/")
            .filter(|t| !t.is_empty())
            .ok_or_else(bad)?
            .to_ascii_uppercase();
        let rest = rest.trim();
        let (sent_by, params) = rest.split_once(';').unwrap_or((rest, ""));
        let uri = SipUri::parse(&format!("sip:{}", sent_by.trim())).map_err(|_| bad())?;
        if uri.user.is_some() {
            return Err(bad());
        }
        Ok(Via {
            transport,
            host: uri.host,
            port: uri.port,
            params: Params::parse(params),
        })
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// `CSeq: 20 REGISTER`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, SipError> {
        let bad = || SipError::Value("CSeq", s.chars().take(40).collect());
        let (n, m) = s.trim().split_once([' ', '\t']).ok_or_else(bad)?;
        let m = m.trim();
        if m.is_empty() || !m.bytes().all(is_token_byte) {
            return Err(bad());
        }
        Ok(CSeq {
            seq: n.parse().map_err(|_| bad())?,
            method: Method::parse(m),
        })
    }
}

impl std::fmt::Display for CSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &str = "REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1371463273\r\n\
        From: <sip:34020000001320000001@3402000000>;tag=2043466181\r\n\
        To: <sip:34020000001320000001@3402000000>\r\n\
        Call-ID: 1011047669\r\n\
        CSeq: 1 REGISTER\r\n\
        Contact: <sip:34020000001320000001@192.168.1.64:5060>\r\n\
        Max-Forwards: 70\r\n\
        User-Agent: IP Camera\r\n\
        Expires: 3600\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn a_cameras_register_parses_and_answers() {
        let Message::Request(r) = Message::parse_datagram(REGISTER.as_bytes()).unwrap() else {
            panic!("a request")
        };
        assert_eq!(r.method, Method::Register);
        assert_eq!(r.call_id().unwrap(), "1011047669");
        assert_eq!(r.cseq().unwrap().seq, 1);
        let from = r.from().unwrap();
        assert_eq!(from.uri.user.as_deref(), Some("34020000001320000001"));
        assert_eq!(from.tag(), Some("2043466181"));
        let via = r.top_via().unwrap();
        assert_eq!(via.transport, "UDP");
        assert_eq!(via.port, Some(5060));
        assert_eq!(via.params.get("rport"), Some(None));
        assert_eq!(via.branch(), Some("z9hG4bK1371463273"));
        let resp = r.response(401, "Unauthorized", Some("t1"));
        let bytes = resp.to_bytes();
        let Message::Response(back) = Message::parse_datagram(&bytes).unwrap() else {
            panic!("a response")
        };
        assert_eq!(back.status, 401);
        assert_eq!(back.call_id().unwrap(), "1011047669");
        assert!(back.headers.get("To").unwrap().ends_with(";tag=t1"));
        assert_eq!(back.headers.get("Content-Length"), Some("0"));
    }

    #[test]
    fn compact_and_folded_headers_are_read() {
        let m = "MESSAGE sip:a@b SIP/2.0\nv: SIP/2.0/TCP h;branch=z9hG4bKx, SIP/2.0/UDP g:1\n\
                 i: abc\nSubject: one,\n two\nl: 3\n\nxyz";
        let Message::Request(r) = Message::parse_datagram(m.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(r.headers.get("Call-ID"), Some("abc"));
        assert_eq!(r.headers.get("subject"), Some("one, two"));
        assert_eq!(r.headers.values("Via").len(), 2);
        assert_eq!(r.body, b"xyz");
    }

    #[test]
    fn a_stream_gives_messages_whatever_the_pieces() {
        let two = format!("\r\n\r\n{REGISTER}{REGISTER}");
        for piece in [1, 7, 100, two.len()] {
            let mut s = StreamReader::default();
            let mut got = 0;
            for chunk in two.as_bytes().chunks(piece) {
                s.push(chunk);
                while let Some(m) = s.next_message().unwrap() {
                    assert!(matches!(m, Message::Request(_)));
                    got += 1;
                }
            }
            assert_eq!(got, 2);
            assert_eq!(s.buffered(), 0);
        }
    }

    #[test]
    fn hostile_messages_are_refused_with_a_reason() {
        let cases: &[(&[u8], SipError)] = &[
            (b"HELLO\r\n\r\n", SipError::StartLine("HELLO".into())),
            (
                b"SIP/2.0 99 x\r\n\r\n",
                SipError::StartLine("SIP/2.0 99 x".into()),
            ),
            (
                b"BYE sip:a SIP/2.0\r\nbad line\r\n\r\n",
                SipError::Header("bad line".into()),
            ),
            (
                b"BYE sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n",
                SipError::ContentLength("-1".into()),
            ),
            (
                b"BYE sip:a SIP/2.0\r\nContent-Length: 999999999\r\n\r\n",
                SipError::BodyTooLarge(999_999_999),
            ),
            (
                b"BYE sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nab",
                SipError::Truncated { have: 2, want: 5 },
            ),
            (b"BYE sip:a SIP/2.0\r\nX: \xff\r\n\r\n", SipError::NotText),
            (
                b"BYE sip:a SIP/2.0\r\nContent-Length: 0\r\nl: 4\r\n\r\nBYE ",
                SipError::Header("l: 4".into()),
            ),
            (
                b"BYE sip:a SIP/2.0\r\nX: a\rb\r\n\r\n",
                SipError::Header("X: a\rb".into()),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(&Message::parse_datagram(bytes).unwrap_err(), want);
        }
        let mut big = b"BYE sip:a SIP/2.0\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES + 10));
        assert_eq!(
            Message::parse_datagram(&big).unwrap_err(),
            SipError::HeadersTooLarge
        );
        let mut s = StreamReader::default();
        s.push(&big);
        assert_eq!(s.next_message().unwrap_err(), SipError::HeadersTooLarge);
        let many: String = std::iter::once("BYE sip:a SIP/2.0\r\n".to_owned())
            .chain((0..=MAX_HEADERS).map(|i| format!("X{i}: y\r\n")))
            .chain(std::iter::once("\r\n".to_owned()))
            .collect();
        assert_eq!(
            Message::parse_datagram(many.as_bytes()).unwrap_err(),
            SipError::TooManyHeaders
        );
        let mut s = StreamReader::default();
        s.push(b"BYE sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n");
        assert_eq!(s.next_message().unwrap_err(), SipError::NoContentLength);
    }

    #[test]
    fn uris_and_name_addrs() {
        let u = SipUri::parse("sip:34020000001320000001@[::1]:5060;transport=tcp").unwrap();
        assert_eq!(u.host, "[::1]");
        assert_eq!(u.port, Some(5060));
        assert_eq!(
            u.to_string(),
            "sip:34020000001320000001@[::1]:5060;transport=tcp"
        );
        let n = NameAddr::parse("\"Cam 1\" <sip:1@h>;tag=9").unwrap();
        assert_eq!(n.display.as_deref(), Some("Cam 1"));
        assert_eq!(n.tag(), Some("9"));
        assert_eq!(NameAddr::parse(&n.to_string()).unwrap(), n);
        let bare = NameAddr::parse("sip:1@h:5;tag=3").unwrap();
        assert_eq!(bare.uri.port, Some(5));
        assert_eq!(bare.tag(), Some("3"));
        for bad in ["http://x", "sip:", "sip:a@h:99999", "<sip:1@h", "sip:a b"] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
        assert!(Via::parse("SIP/2.0/UDP").is_err());
        assert!(Via::parse("SIP/2.0/ h").is_err());
        assert!(CSeq::parse("x REGISTER").is_err());
        assert!(CSeq::parse("1").is_err());
    }
}
