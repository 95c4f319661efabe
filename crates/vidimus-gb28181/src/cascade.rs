//! A lower platform's link to its superior (GB/T 28181 §9.1 registration, §9.6
//! keepalive, §9.5 queries), sans-IO.
//!
//! [`Link`] registers with digest authentication, keeps the registration fresh, sends
//! keepalives, notices a superior that stopped answering or forgot it (it restarted)
//! and registers again, retransmits over UDP as RFC 3261 §17.1.2 does, answers the
//! superior's requests and hands its queries to the caller as [`Event::Query`]. The
//! caller owns the socket and the clock: it passes what arrives to [`Link::receive`]
//! and sends what [`Link::poll`] and the rest return, to the superior's address, and
//! calls `poll` again by [`Link::next_wake`]. Times are milliseconds of any monotonic
//! clock.
//!
//! Only the configured superior is answered: a request whose `From` is another code,
//! or that comes from another host, is refused (403) and reported.

use std::collections::VecDeque;

use vidimus_access::digest::{Authorization, Challenge};

use crate::id::GbId;
use crate::manscdp::{self, Command, Envelope};
use crate::sip::{Message, Method, NameAddr, Request, Response, SipUri, Via};
use crate::xml::{Charset, Element};

/// RFC 3261's T1: the first retransmission interval over UDP.
pub const T1_MS: u64 = 500;
/// RFC 3261's T2: the longest retransmission interval.
pub const T2_MS: u64 = 4000;
/// A transaction without a final answer this long has failed (64·T1).
pub const TRANSACTION_MS: u64 = 64 * T1_MS;
/// The longest wait between failed registrations.
pub const MAX_RETRY_MS: u64 = 60_000;
/// Queries taken from the superior in [`QUERY_WINDOW_MS`] at most; more are answered
/// 503 with Retry-After.
pub const MAX_QUERIES_PER_WINDOW: usize = 20;
pub const QUERY_WINDOW_MS: u64 = 10_000;
/// Our requests awaiting answers at most (retransmitted over UDP); beyond, the oldest
/// message is given up.
pub const MAX_PENDING: usize = 256;

/// The SIP transport of the signalling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipTransport {
    Udp,
    Tcp,
}

impl SipTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
        }
    }
}

/// One superior platform, as configured. `Debug` never shows the password.
#[derive(Clone)]
pub struct LinkConfig {
    /// This platform's code (type 200, a SIP server).
    pub local_id: GbId,
    /// `host:port` the superior reaches this platform at (Via, Contact).
    pub local_addr: String,
    pub superior_id: GbId,
    /// The superior's SIP domain (realm); usually its code's first ten digits.
    pub realm: String,
    /// `host:port` of the superior's SIP server.
    pub superior_addr: String,
    pub transport: SipTransport,
    /// The digest user name: this platform's code unless the superior says otherwise.
    pub username: String,
    pub password: String,
    /// Registration lifetime asked for, seconds.
    pub expires: u32,
    pub keepalive_ms: u64,
    /// Keepalives that may go unanswered before the link counts as lost.
    pub keepalive_misses: u32,
    pub charset: Charset,
    /// `X-GB-Ver`: `3.0` for GB/T 28181-2022, `2.0` for 2016.
    pub gb_version: String,
}

impl std::fmt::Debug for LinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkConfig")
            .field("local_id", &self.local_id)
            .field("local_addr", &self.local_addr)
            .field("superior_id", &self.superior_id)
            .field("realm", &self.realm)
            .field("superior_addr", &self.superior_addr)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field("password", &"(not shown)")
            .field("expires", &self.expires)
            .field("keepalive_ms", &self.keepalive_ms)
            .finish_non_exhaustive()
    }
}

impl LinkConfig {
    fn superior_host(&self) -> &str {
        host_of(&self.superior_addr)
    }
}

fn host_of(addr: &str) -> &str {
    if let Some(v6) = addr.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

/// Where the link stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not registered yet, or registering.
    Registering,
    Registered,
    /// The last registration failed; another follows.
    Failed(String),
    /// Unregistered on purpose (shutting down).
    Closed,
}

/// What happened on the link, for the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A query to answer: the caller builds the answer's bodies and sends each with
    /// [`Link::message`].
    Query {
        sn: u32,
        device_id: String,
        command: Command,
        charset: Charset,
    },
    /// A request the link does not handle itself (an `INVITE`, `INFO`, `BYE`, …), from
    /// the superior; it has not been answered.
    Request(Request),
    /// A request from someone who is not the superior, refused with 403.
    Refused {
        from: String,
        host: String,
    },
    StateChanged(LinkState),
    /// A keepalive was answered.
    KeepaliveAnswered,
    /// A session's 200 was never acknowledged (64·T1): the caller drops the session.
    AckTimeout {
        call_id: String,
        remote_tag: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
    Keepalive,
    Message,
}

/// A request of ours awaiting its final response.
struct Pending {
    branch: String,
    bytes: Vec<u8>,
    purpose: Purpose,
    next_retransmit: u64,
    interval: u64,
    deadline: u64,
    /// A REGISTER's answer to a challenge: `Some(true)` to one just received.
    authorized: Option<bool>,
}

/// A 2xx answer to an INVITE, sent again until its ACK (RFC 3261 §13.3.1.4).
struct Unacked {
    call_id: String,
    remote_tag: String,
    bytes: Vec<u8>,
    next: u64,
    interval: u64,
    deadline: u64,
}

/// Counters and times of a link, for status and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub registrations: u64,
    pub registration_failures: u64,
    pub keepalives_sent: u64,
    pub keepalives_answered: u64,
    pub keepalives_missed: u64,
    pub queries: u64,
    pub refused: u64,
    pub retransmissions: u64,
    /// When the current registration succeeded (ms of the caller's clock).
    pub registered_at: Option<u64>,
    pub last_keepalive_answered_at: Option<u64>,
    pub last_error: Option<String>,
}

/// A lower platform's link to one superior.
pub struct Link {
    cfg: LinkConfig,
    state: LinkState,
    register_call_id: String,
    from_tag: String,
    cseq: u32,
    sn: u32,
    counter: u64,
    salt: String,
    pending: Vec<Pending>,
    /// Our final responses by the request's branch and method, for retransmissions.
    answered: VecDeque<((String, String), Vec<u8>)>,
    /// When the last queries came (for the burst limit).
    query_times: VecDeque<u64>,
    /// The superior's resolved address.
    superior_ip: Option<std::net::IpAddr>,
    /// Challenges answered in a row that came back stale.
    stale_answers: u32,
    /// 2xx answers to INVITEs awaiting their ACK.
    unacked: Vec<Unacked>,
    register_at: Option<u64>,
    keepalive_at: Option<u64>,
    retry_ms: u64,
    missed: u32,
    /// The challenge answered last, how often its nonce was used, and whether a proxy
    /// asked (407: answered in `Proxy-Authorization`).
    challenge: Option<(Challenge, u32)>,
    proxy_challenge: bool,
    stats: LinkStats,
}

impl Link {
    /// A link that registers at its first `poll`. `salt` makes its Call-IDs, tags and
    /// branches unique to this run (a random string from the caller).
    pub fn new(cfg: LinkConfig, salt: &str) -> Self {
        Link {
            register_call_id: format!("{salt}-reg@{}", cfg.local_id),
            from_tag: format!("{salt}r"),
            cfg,
            state: LinkState::Registering,
            cseq: 0,
            sn: 0,
            counter: 0,
            salt: salt.to_owned(),
            pending: Vec::new(),
            answered: VecDeque::new(),
            query_times: VecDeque::new(),
            superior_ip: None,
            stale_answers: 0,
            unacked: Vec::new(),
            register_at: Some(0),
            keepalive_at: None,
            retry_ms: 5_000,
            missed: 0,
            challenge: None,
            proxy_challenge: false,
            stats: LinkStats::default(),
        }
    }

    pub fn state(&self) -> &LinkState {
        &self.state
    }

    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// When `poll` has something to do next.
    pub fn next_wake(&self) -> Option<u64> {
        let retransmits = self.pending.iter().map(|p| {
            if self.cfg.transport == SipTransport::Udp {
                p.next_retransmit.min(p.deadline)
            } else {
                p.deadline
            }
        });
        retransmits
            .chain(self.unacked.iter().map(|u| u.next.min(u.deadline)))
            .chain(self.register_at)
            .chain(self.keepalive_at)
            .min()
    }

    /// What is due at `now`: registrations, keepalives, retransmissions; timeouts are
    /// handled here.
    pub fn poll(&mut self, now: u64, events: &mut Vec<Event>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        // Timeouts first: a transaction past its deadline has failed.
        let mut timed_out = Vec::new();
        self.pending.retain(|p| {
            if now >= p.deadline {
                timed_out.push(p.purpose);
                false
            } else {
                true
            }
        });
        for purpose in timed_out {
            self.failed(purpose, "no answer from the superior", now, events);
        }
        if self.cfg.transport == SipTransport::Udp {
            for p in &mut self.pending {
                if now >= p.next_retransmit {
                    out.push(p.bytes.clone());
                    self.stats.retransmissions += 1;
                    p.interval = (p.interval * 2).min(T2_MS);
                    p.next_retransmit = now + p.interval;
                }
            }
        }
        let mut lapsed = Vec::new();
        self.unacked.retain_mut(|u| {
            if now >= u.deadline {
                lapsed.push((u.call_id.clone(), u.remote_tag.clone()));
                return false;
            }
            if now >= u.next {
                out.push(u.bytes.clone());
                u.interval = (u.interval * 2).min(T2_MS);
                u.next = now + u.interval;
            }
            true
        });
        for (call_id, remote_tag) in lapsed {
            events.push(Event::AckTimeout {
                call_id,
                remote_tag,
            });
        }
        if self.register_at.is_some_and(|t| now >= t)
            && !self.pending.iter().any(|p| p.purpose == Purpose::Register)
        {
            self.register_at = None;
            out.push(self.register(now));
        }
        if self.keepalive_at.is_some_and(|t| now >= t) {
            self.keepalive_at = Some(now + self.cfg.keepalive_ms);
            if self.state == LinkState::Registered {
                self.sn = self.sn.wrapping_add(1);
                let body = manscdp::keepalive(self.sn, self.cfg.local_id.as_str());
                self.stats.keepalives_sent += 1;
                out.push(self.request_message(&body, Purpose::Keepalive, now));
            }
        }
        out
    }

    /// Unregisters (`Expires: 0`), for a stop. The link sends nothing more.
    pub fn close(&mut self, now: u64) -> Vec<u8> {
        self.keepalive_at = None;
        self.register_at = None;
        self.pending.clear();
        let bytes = self.register_request(now, 0, Purpose::Unregister);
        self.state = LinkState::Closed;
        bytes
    }

    /// A MANSCDP body to the superior (an answer to a query, a notification), as a
    /// `MESSAGE` of its own transaction, in the charset given.
    pub fn message(&mut self, body: &Element, charset: Charset, now: u64) -> Vec<u8> {
        let bytes = body.to_document(charset);
        self.request_with_body(Method::Message, bytes, Purpose::Message, now)
    }

    /// A serial number for a notification of ours.
    pub fn next_sn(&mut self) -> u32 {
        self.sn = self.sn.wrapping_add(1);
        self.sn
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn branch(&mut self) -> String {
        let n = self.next();
        format!("z9hG4bK{}{n}", self.salt)
    }

    fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {};rport;branch={branch}",
            self.cfg.transport.as_str(),
            self.cfg.local_addr
        )
    }

    fn local_uri(&self) -> String {
        format!("sip:{}@{}", self.cfg.local_id, self.cfg.local_id.domain())
    }

    fn superior_uri(&self) -> String {
        format!("sip:{}@{}", self.cfg.superior_id, self.cfg.realm)
    }

    fn register(&mut self, now: u64) -> Vec<u8> {
        if self.state != LinkState::Registered {
            self.set_state(LinkState::Registering, &mut Vec::new());
        }
        self.register_request(now, self.cfg.expires, Purpose::Register)
    }

    fn register_request(&mut self, now: u64, expires: u32, purpose: Purpose) -> Vec<u8> {
        self.cseq = self.cseq.wrapping_add(1).max(1);
        let branch = self.branch();
        let uri = format!("sip:{}@{}", self.cfg.superior_id, self.cfg.realm);
        let mut r = Request::new(Method::Register, uri.clone());
        r.headers.push("Via", self.via(&branch));
        r.headers.push("Max-Forwards", "70");
        r.headers.push(
            "From",
            format!("<{}>;tag={}", self.local_uri(), self.from_tag),
        );
        r.headers.push("To", format!("<{}>", self.local_uri()));
        r.headers.push("Call-ID", self.register_call_id.clone());
        r.headers.push("CSeq", format!("{} REGISTER", self.cseq));
        r.headers.push(
            "Contact",
            format!("<sip:{}@{}>", self.cfg.local_id, self.cfg.local_addr),
        );
        let mut authorized = None;
        if let Some((challenge, used)) = &mut self.challenge {
            *used += 1;
            authorized = Some(*used == 1);
            let cnonce = format!("{}{}", self.salt, self.counter);
            let a = Authorization::answer(
                challenge,
                &self.cfg.username,
                &self.cfg.password,
                "REGISTER",
                &uri,
                &cnonce,
                *used,
            );
            let header = if self.proxy_challenge {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            r.headers.push(header, a.to_header());
        }
        r.headers.push("User-Agent", "Vidimus");
        r.headers.push("Expires", expires.to_string());
        r.headers.push("X-GB-Ver", self.cfg.gb_version.clone());
        let bytes = r.to_bytes();
        self.track(branch, bytes.clone(), purpose, now);
        if let Some(p) = self.pending.last_mut() {
            p.authorized = authorized;
        }
        bytes
    }

    fn request_message(&mut self, body: &Element, purpose: Purpose, now: u64) -> Vec<u8> {
        let bytes = body.to_document(self.cfg.charset);
        self.request_with_body(Method::Message, bytes, purpose, now)
    }

    fn request_with_body(
        &mut self,
        method: Method,
        body: Vec<u8>,
        purpose: Purpose,
        now: u64,
    ) -> Vec<u8> {
        self.cseq = self.cseq.wrapping_add(1).max(1);
        let branch = self.branch();
        let n = self.next();
        let mut r = Request::new(method.clone(), self.superior_uri());
        r.headers.push("Via", self.via(&branch));
        r.headers.push("Max-Forwards", "70");
        r.headers.push(
            "From",
            format!("<{}>;tag={}m{n}", self.local_uri(), self.salt),
        );
        r.headers.push("To", format!("<{}>", self.superior_uri()));
        r.headers.push(
            "Call-ID",
            format!("{}-{n}@{}", self.salt, self.cfg.local_id),
        );
        r.headers.push("CSeq", format!("{} {method}", self.cseq));
        r.headers.push("Content-Type", "Application/MANSCDP+xml");
        r.headers.push("User-Agent", "Vidimus");
        r.headers.push("X-GB-Ver", self.cfg.gb_version.clone());
        r.body = body;
        let bytes = r.to_bytes();
        self.track(branch, bytes.clone(), purpose, now);
        bytes
    }

    fn track(&mut self, branch: String, bytes: Vec<u8>, purpose: Purpose, now: u64) {
        if self.pending.len() >= MAX_PENDING
            && let Some(i) = self
                .pending
                .iter()
                .position(|p| p.purpose == Purpose::Message)
        {
            self.pending.remove(i);
        }
        self.pending.push(Pending {
            branch,
            bytes,
            purpose,
            next_retransmit: now + T1_MS,
            interval: T1_MS,
            deadline: now + TRANSACTION_MS,
            authorized: None,
        });
    }

    fn set_state(&mut self, state: LinkState, events: &mut Vec<Event>) {
        if self.state != state {
            self.state = state.clone();
            events.push(Event::StateChanged(state));
        }
    }

    fn failed(&mut self, purpose: Purpose, why: &str, now: u64, events: &mut Vec<Event>) {
        match purpose {
            Purpose::Register => {
                self.stats.registration_failures += 1;
                self.stats.last_error = Some(why.to_owned());
                self.stats.registered_at = None;
                self.keepalive_at = None;
                self.set_state(LinkState::Failed(why.to_owned()), events);
                self.register_at = Some(now + self.retry_ms);
                self.retry_ms = (self.retry_ms * 2).min(MAX_RETRY_MS);
            }
            Purpose::Keepalive => {
                self.stats.keepalives_missed += 1;
                self.missed += 1;
                if self.missed >= self.cfg.keepalive_misses.max(1) {
                    self.lost(
                        &format!("{} keepalives unanswered", self.missed),
                        now,
                        events,
                    );
                }
            }
            Purpose::Unregister | Purpose::Message => {
                self.stats.last_error = Some(why.to_owned());
            }
        }
    }

    /// The superior is gone or forgot us: register again at once.
    fn lost(&mut self, why: &str, now: u64, events: &mut Vec<Event>) {
        self.stats.last_error = Some(why.to_owned());
        self.stats.registered_at = None;
        self.missed = 0;
        self.keepalive_at = None;
        self.challenge = None;
        self.pending.retain(|p| p.purpose != Purpose::Keepalive);
        self.set_state(LinkState::Failed(why.to_owned()), events);
        self.register_at = Some(now);
    }

    /// What arrived from `host` (the datagram's or connection's source address).
    pub fn receive(
        &mut self,
        bytes: &[u8],
        host: &str,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Vec<Vec<u8>> {
        let Ok(msg) = Message::parse_datagram(bytes) else {
            // Not SIP, or malformed: nothing to answer (there may be no Via to answer to).
            return Vec::new();
        };
        match msg {
            Message::Response(r) => {
                // Only the superior answers our requests.
                if self.is_superior_host(host) {
                    self.response(r, now, events);
                }
                Vec::new()
            }
            Message::Request(r) => self.request(r, host, now, events).into_iter().collect(),
        }
    }

    fn response(&mut self, r: Response, now: u64, events: &mut Vec<Event>) {
        let Some(branch) = r
            .headers
            .values("Via")
            .first()
            .and_then(|v| Via::parse(v).ok())
            .and_then(|v| v.branch().map(str::to_owned))
        else {
            return;
        };
        let Some(i) = self.pending.iter().position(|p| p.branch == branch) else {
            return; // a late retransmission of an answer already taken
        };
        if r.status < 200 {
            // Provisional: no more retransmissions over UDP, still a deadline.
            self.pending[i].next_retransmit = self.pending[i].deadline;
            return;
        }
        let p = self.pending.remove(i);
        match p.purpose {
            Purpose::Register => self.register_answered(&r, p.authorized, now, events),
            Purpose::Keepalive => {
                if (200..300).contains(&r.status) {
                    self.missed = 0;
                    self.stats.keepalives_answered += 1;
                    self.stats.last_keepalive_answered_at = Some(now);
                    events.push(Event::KeepaliveAnswered);
                } else {
                    // A superior that restarted answers keepalives of a platform it
                    // no longer knows with an error.
                    self.stats.keepalives_missed += 1;
                    self.lost(
                        &format!("keepalive answered {} {}", r.status, r.reason),
                        now,
                        events,
                    );
                }
            }
            Purpose::Message if r.status >= 300 => {
                self.stats.last_error =
                    Some(format!("a message was answered {} {}", r.status, r.reason));
            }
            Purpose::Message | Purpose::Unregister => {}
        }
    }

    fn register_answered(
        &mut self,
        r: &Response,
        authorized: Option<bool>,
        now: u64,
        events: &mut Vec<Event>,
    ) {
        match r.status {
            200..=299 => {
                let granted = r
                    .headers
                    .get("Expires")
                    .and_then(|e| e.trim().parse::<u64>().ok())
                    .unwrap_or(u64::from(self.cfg.expires))
                    .max(10);
                self.stats.registrations += 1;
                self.stale_answers = 0;
                self.stats.registered_at.get_or_insert(now);
                self.stats.last_error = None;
                self.retry_ms = 5_000;
                self.missed = 0;
                // Refreshed well before it lapses.
                self.register_at = Some(now.saturating_add(granted.min(86_400) * 800));
                let first = self.state != LinkState::Registered;
                self.set_state(LinkState::Registered, events);
                if first {
                    self.keepalive_at = Some(now);
                }
            }
            401 | 407 => {
                let header = if r.status == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let challenge = r.headers.get(header).map(Challenge::parse);
                match challenge {
                    Some(Ok(c)) => {
                        // Answering a challenge just received, and challenged again
                        // (not for staleness): the password is wrong. An answer with a
                        // nonce kept from before is simply challenged anew.
                        if c.stale {
                            self.stale_answers += 1;
                        }
                        if authorized == Some(true) && (!c.stale || self.stale_answers > 3) {
                            self.stale_answers = 0;
                            self.challenge = None;
                            self.failed(
                                Purpose::Register,
                                "the superior refused the password",
                                now,
                                events,
                            );
                        } else {
                            self.challenge = Some((c, 0));
                            self.proxy_challenge = r.status == 407;
                            self.register_at = Some(now);
                        }
                    }
                    Some(Err(e)) => self.failed(
                        Purpose::Register,
                        &format!("the superior's challenge is unreadable: {e}"),
                        now,
                        events,
                    ),
                    None => self.failed(
                        Purpose::Register,
                        &format!("{} without a challenge", r.status),
                        now,
                        events,
                    ),
                }
            }
            _ => {
                self.challenge = None;
                self.failed(
                    Purpose::Register,
                    &format!("registration refused: {} {}", r.status, r.reason),
                    now,
                    events,
                )
            }
        }
    }

    /// Whether `host` (a datagram's or connection's source) is the superior's.
    fn is_superior_host(&self, host: &str) -> bool {
        match (self.superior_ip, host.parse::<std::net::IpAddr>()) {
            (Some(ip), Ok(h)) => ip.to_canonical() == h.to_canonical(),
            _ => host.eq_ignore_ascii_case(self.cfg.superior_host()),
        }
    }

    /// The superior's address as resolved by the caller: requests and responses are
    /// taken only from it (compared as addresses, IPv4-mapped IPv6 included).
    pub fn set_superior_ip(&mut self, ip: std::net::IpAddr) {
        self.superior_ip = Some(ip);
    }

    fn request(
        &mut self,
        r: Request,
        host: &str,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Option<Vec<u8>> {
        let from_superior = r.from().ok().and_then(|f| f.uri.user).as_deref()
            == Some(self.cfg.superior_id.as_str())
            && self.is_superior_host(host);
        if r.method == Method::Ack {
            // Never answered (an ACK shares its INVITE's branch: a cached answer must
            // not go back to it); the superior's confirms a session for the caller,
            // and stops the 200's retransmission.
            if from_superior {
                let call_id = r.call_id().unwrap_or_default().to_owned();
                let tag = r.from().ok().and_then(|f| f.tag().map(str::to_owned));
                self.unacked.retain(|u| {
                    !(u.call_id == call_id && Some(u.remote_tag.as_str()) == tag.as_deref())
                });
                events.push(Event::Request(r));
            }
            return None;
        }
        let tag = format!("{}t{}", self.salt, self.counter + 1);
        if !from_superior {
            // Refused, counted; never cached (a stranger cannot evict the superior's
            // answers) and never answered from the cache (it would hand out the
            // superior's).
            self.stats.refused += 1;
            events.push(Event::Refused {
                from: r
                    .from()
                    .ok()
                    .and_then(|f| f.uri.user)
                    .unwrap_or_default()
                    .chars()
                    .take(40)
                    .collect(),
                host: host.chars().take(64).collect(),
            });
            return Some(r.response(403, "Forbidden", Some(&tag)).to_bytes());
        }
        let key = r.top_via().ok().and_then(|v| {
            v.branch()
                .map(|b| (b.to_owned(), r.method.as_str().to_owned()))
        });
        if let Some(k) = &key
            && let Some((_, resp)) = self.answered.iter().find(|(c, _)| c == k)
        {
            // A retransmission of a request already answered: the same answer.
            return Some(resp.clone());
        }
        let resp = match r.method {
            Method::Message => {
                // A burst of queries beyond what a platform asks is refused, not
                // answered with pages of XML each (an amplifier otherwise).
                while self
                    .query_times
                    .front()
                    .is_some_and(|t| now.saturating_sub(*t) > QUERY_WINDOW_MS)
                {
                    self.query_times.pop_front();
                }
                if self.query_times.len() >= MAX_QUERIES_PER_WINDOW {
                    let mut resp = r.response(503, "Service Unavailable", Some(&tag));
                    resp.headers.push("Retry-After", "10");
                    return Some(self.remember(key, resp.to_bytes()));
                }
                self.query_times.push_back(now);
                match Envelope::parse(&r.body) {
                    Ok(env) => match env.command() {
                        Ok(command) => {
                            self.stats.queries += 1;
                            events.push(Event::Query {
                                sn: env.sn,
                                device_id: env.device_id.clone(),
                                command,
                                charset: env.charset,
                            });
                            r.response(200, "OK", Some(&tag))
                        }
                        Err(e) => bad_request(&r, &tag, &e.to_string()),
                    },
                    Err(e) => bad_request(&r, &tag, &e.to_string()),
                }
            }
            Method::Options => r.response(200, "OK", Some(&tag)),
            _ => {
                events.push(Event::Request(r));
                return None;
            }
        };
        let bytes = resp.to_bytes();
        Some(self.remember(key, bytes))
    }

    fn remember(&mut self, key: Option<(String, String)>, resp: Vec<u8>) -> Vec<u8> {
        if let Some(k) = key {
            if self.answered.len() == 64 {
                self.answered.pop_front();
            }
            self.answered.push_back((k, resp.clone()));
        }
        resp
    }
}

/// A media session's dialog, as this side (the callee of the superior's `INVITE`)
/// holds it (RFC 3261 §12.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    /// Our tag (the `To` tag of our answers).
    pub local_tag: String,
    /// The `From` of the INVITE, with its tag: the `To` of our requests.
    pub remote: String,
    /// The `To` of the INVITE, without a tag: with ours, the `From` of our requests.
    pub local: String,
    /// Where our requests in the dialog go: the INVITE's `Contact`.
    pub target: String,
    /// Our next CSeq in the dialog.
    pub cseq: u32,
}

impl Dialog {
    /// The dialog an INVITE opens, answered with `local_tag`.
    pub fn from_invite(r: &Request, local_tag: &str) -> Result<Dialog, crate::sip::SipError> {
        let contact = r
            .headers
            .values("Contact")
            .first()
            .map(|c| NameAddr::parse(c))
            .transpose()?;
        let from = r.from()?;
        Ok(Dialog {
            call_id: r.call_id()?.to_owned(),
            local_tag: local_tag.to_owned(),
            remote: from.to_string(),
            local: NameAddr {
                params: Default::default(),
                ..r.to()?
            }
            .to_string(),
            target: contact.map_or(from.uri.to_string(), |c| c.uri.to_string()),
            cseq: 1,
        })
    }
}

impl Link {
    /// Answers a request the caller took ([`Event::Request`]); the answer is kept for
    /// its retransmissions. `body` is `(content type, bytes)`.
    pub fn answer(
        &mut self,
        r: &Request,
        status: u16,
        reason: &str,
        to_tag: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Vec<u8> {
        let mut resp = r.response(status, reason, Some(to_tag));
        resp.headers.push(
            "Contact",
            format!("<sip:{}@{}>", self.cfg.local_id, self.cfg.local_addr),
        );
        resp.headers.push("User-Agent", "Vidimus");
        if let Some((ctype, bytes)) = body {
            resp.headers.push("Content-Type", ctype);
            resp.body = bytes;
        }
        let key = r.top_via().ok().and_then(|v| {
            v.branch()
                .map(|b| (b.to_owned(), r.method.as_str().to_owned()))
        });
        let bytes = resp.to_bytes();
        self.remember(key, bytes)
    }

    /// Answers an INVITE 200 with `sdp`; over UDP the answer is sent again until the
    /// ACK comes (or [`Event::AckTimeout`]).
    pub fn answer_invite_ok(
        &mut self,
        r: &Request,
        to_tag: &str,
        sdp: Vec<u8>,
        now: u64,
    ) -> Vec<u8> {
        let bytes = self.answer(r, 200, "OK", to_tag, Some(("application/sdp", sdp)));
        if self.cfg.transport == SipTransport::Udp {
            self.unacked.push(Unacked {
                call_id: r.call_id().unwrap_or_default().to_owned(),
                remote_tag: r
                    .from()
                    .ok()
                    .and_then(|f| f.tag().map(str::to_owned))
                    .unwrap_or_default(),
                bytes: bytes.clone(),
                next: now + T1_MS,
                interval: T1_MS,
                deadline: now + TRANSACTION_MS,
            });
        }
        bytes
    }

    /// A `BYE` ending `dialog` from this side (a grant revoked, the camera gone).
    pub fn bye(&mut self, dialog: &mut Dialog, now: u64) -> Vec<u8> {
        let branch = self.branch();
        let mut r = Request::new(Method::Bye, dialog.target.clone());
        r.headers.push("Via", self.via(&branch));
        r.headers.push("Max-Forwards", "70");
        r.headers
            .push("From", format!("{};tag={}", dialog.local, dialog.local_tag));
        r.headers.push("To", dialog.remote.clone());
        r.headers.push("Call-ID", dialog.call_id.clone());
        r.headers.push("CSeq", format!("{} BYE", dialog.cseq));
        r.headers.push("User-Agent", "Vidimus");
        dialog.cseq += 1;
        let bytes = r.to_bytes();
        self.track(branch, bytes.clone(), Purpose::Message, now);
        bytes
    }
}

fn bad_request(r: &Request, tag: &str, why: &str) -> Response {
    let mut resp = r.response(400, "Bad Request", Some(tag));
    resp.headers.push(
        "Warning",
        format!("399 vidimus \"{}\"", why.replace('"', "'")),
    );
    resp
}

/// The name-address of a request's sender, for logs.
pub fn sender(r: &Request) -> Option<NameAddr> {
    r.from().ok()
}

/// The URI of a code at a host, `sip:code@host`.
pub fn uri_of(id: &GbId, host: &str) -> Result<SipUri, crate::sip::SipError> {
    SipUri::parse(&format!("sip:{id}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidimus_access::digest::NonceMint;

    fn cfg() -> LinkConfig {
        LinkConfig {
            local_id: GbId::parse("44030500002000000001").unwrap(),
            local_addr: "10.0.0.9:5060".into(),
            superior_id: GbId::parse("44030000002000000001").unwrap(),
            realm: "4403000000".into(),
            superior_addr: "10.0.0.5:5060".into(),
            transport: SipTransport::Udp,
            username: "44030500002000000001".into(),
            password: "secret".into(),
            expires: 3600,
            keepalive_ms: 60_000,
            keepalive_misses: 3,
            charset: Charset::Gb18030,
            gb_version: "3.0".into(),
        }
    }

    /// A superior that challenges and checks, as the tests' counterpart.
    struct Superior {
        mint: NonceMint,
        password: String,
    }

    impl Superior {
        fn answer(&self, bytes: &[u8], now_s: u64) -> Vec<u8> {
            let Message::Request(r) = Message::parse_datagram(bytes).unwrap() else {
                panic!("a request")
            };
            match r.method {
                Method::Register => {
                    let ok = r
                        .headers
                        .get("Authorization")
                        .and_then(|a| Authorization::parse(a).ok())
                        .is_some_and(|a| {
                            a.verify(&self.password, "REGISTER")
                                && self.mint.check(&a.nonce, now_s, 60)
                                    == vidimus_access::digest::NonceCheck::Fresh
                        });
                    if ok {
                        let mut resp = r.response(200, "OK", Some("s"));
                        resp.headers.push("Expires", "3600");
                        resp.to_bytes()
                    } else {
                        let mut resp = r.response(401, "Unauthorized", Some("s"));
                        let c = Challenge::new("4403000000", self.mint.mint(now_s));
                        resp.headers.push("WWW-Authenticate", c.to_header());
                        resp.to_bytes()
                    }
                }
                _ => r.response(200, "OK", Some("s")).to_bytes(),
            }
        }
    }

    fn is(bytes: &[u8], method: Method) -> bool {
        matches!(Message::parse_datagram(bytes), Ok(Message::Request(r)) if r.method == method)
    }

    #[test]
    fn registers_with_digest_then_keeps_alive() {
        let sup = Superior {
            mint: NonceMint::new([1; 32]),
            password: "secret".into(),
        };
        let mut link = Link::new(cfg(), "x1");
        let mut ev = Vec::new();
        let out = link.poll(0, &mut ev);
        assert_eq!(out.len(), 1);
        assert!(is(&out[0], Method::Register));
        let challenge = sup.answer(&out[0], 0);
        assert!(link.receive(&challenge, "10.0.0.5", 10, &mut ev).is_empty());
        let out = link.poll(10, &mut ev);
        assert_eq!(out.len(), 1, "the answer to the challenge");
        let text = String::from_utf8_lossy(&out[0]).into_owned();
        assert!(text.contains("Authorization: Digest username=\"44030500002000000001\""));
        assert!(text.contains("X-GB-Ver: 3.0"));
        let ok = sup.answer(&out[0], 0);
        link.receive(&ok, "10.0.0.5", 20, &mut ev);
        assert_eq!(link.state(), &LinkState::Registered);
        assert!(ev.contains(&Event::StateChanged(LinkState::Registered)));
        // The first keepalive goes at once.
        let out = link.poll(20, &mut ev);
        assert_eq!(out.len(), 1);
        let Message::Request(k) = Message::parse_datagram(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!(k.method, Method::Message);
        let env = Envelope::parse(&k.body).unwrap();
        assert_eq!(env.command().unwrap(), Command::Keepalive { ok: true });
        assert_eq!(env.charset, Charset::Gb18030);
        link.receive(&sup.answer(&out[0], 0), "10.0.0.5", 30, &mut ev);
        assert_eq!(link.stats().keepalives_answered, 1);
        // The next is due a minute later, the refresh at 80 % of the hour.
        assert_eq!(link.next_wake(), Some(20 + 60_000));
        let out = link.poll(2_880_020, &mut ev);
        assert!(out.iter().any(|b| is(b, Method::Register)));
    }

    #[test]
    fn a_wrong_password_fails_and_backs_off() {
        let sup = Superior {
            mint: NonceMint::new([1; 32]),
            password: "other".into(),
        };
        let mut link = Link::new(cfg(), "x2");
        let mut ev = Vec::new();
        let r1 = link.poll(0, &mut ev).remove(0);
        link.receive(&sup.answer(&r1, 0), "10.0.0.5", 1, &mut ev);
        let r2 = link.poll(1, &mut ev).remove(0);
        link.receive(&sup.answer(&r2, 0), "10.0.0.5", 2, &mut ev);
        assert_eq!(
            link.state(),
            &LinkState::Failed("the superior refused the password".into())
        );
        assert!(link.poll(3, &mut ev).is_empty(), "no storm of attempts");
        assert_eq!(link.next_wake(), Some(2 + 5_000));
        // It tries again, and waits longer after the next failure.
        let r3 = link.poll(5_002, &mut ev).remove(0);
        assert!(is(&r3, Method::Register));
        assert!(!String::from_utf8_lossy(&r3).contains("Authorization"));
        link.receive(&sup.answer(&r3, 5), "10.0.0.5", 5_003, &mut ev);
        let r4 = link.poll(5_003, &mut ev).remove(0);
        link.receive(&sup.answer(&r4, 5), "10.0.0.5", 5_004, &mut ev);
        assert_eq!(link.next_wake(), Some(5_004 + 10_000));
        assert_eq!(link.stats().registration_failures, 2);
    }

    #[test]
    fn udp_retransmits_and_a_silent_superior_times_out() {
        let mut link = Link::new(cfg(), "x3");
        let mut ev = Vec::new();
        assert_eq!(link.poll(0, &mut ev).len(), 1);
        let mut sent = 1;
        let mut t = 0;
        while t < TRANSACTION_MS {
            t = link.next_wake().unwrap();
            sent += link.poll(t, &mut ev).len();
        }
        // 500, 1000, 2000, 4000, 4000, … ms apart within 32 s: 11 sends in all.
        assert_eq!(sent, 11);
        assert!(matches!(link.state(), LinkState::Failed(w) if w.contains("no answer")));
    }

    #[test]
    fn a_superior_that_restarted_is_registered_with_again() {
        let sup = Superior {
            mint: NonceMint::new([1; 32]),
            password: "secret".into(),
        };
        let mut link = Link::new(cfg(), "x4");
        let mut ev = Vec::new();
        let r = link.poll(0, &mut ev).remove(0);
        link.receive(&sup.answer(&r, 0), "10.0.0.5", 0, &mut ev);
        let r = link.poll(0, &mut ev).remove(0);
        link.receive(&sup.answer(&r, 0), "10.0.0.5", 0, &mut ev);
        let k = link.poll(0, &mut ev).remove(0);
        // The restarted superior does not know us.
        let Message::Request(kr) = Message::parse_datagram(&k).unwrap() else {
            panic!()
        };
        link.receive(
            &kr.response(403, "Forbidden", None).to_bytes(),
            "10.0.0.5",
            100,
            &mut ev,
        );
        assert!(matches!(link.state(), LinkState::Failed(_)));
        let out = link.poll(100, &mut ev);
        assert!(is(&out[0], Method::Register));
        // Keepalives unanswered three times: lost, registered again.
        let sup2 = Superior {
            mint: NonceMint::new([2; 32]),
            password: "secret".into(),
        };
        link.receive(&sup2.answer(&out[0], 0), "10.0.0.5", 100, &mut ev);
        let r = link.poll(100, &mut ev).remove(0);
        link.receive(&sup2.answer(&r, 0), "10.0.0.5", 100, &mut ev);
        assert_eq!(link.state(), &LinkState::Registered);
        let mut t = 100;
        let mut registers = 0;
        while t < 100 + 4 * 60_000 {
            t = link.next_wake().unwrap();
            registers += link
                .poll(t, &mut ev)
                .iter()
                .filter(|b| is(b, Method::Register))
                .count();
            if registers > 0 {
                break;
            }
        }
        assert_eq!(registers, 1);
        assert_eq!(
            link.stats().keepalives_missed,
            4,
            "one refused, three timed out"
        );
    }

    #[test]
    fn queries_are_handed_over_and_strangers_refused() {
        let mut link = Link::new(cfg(), "x5");
        let mut ev = Vec::new();
        let mut q = Request::new(Method::Message, "sip:44030500002000000001@4403050000");
        q.headers
            .push("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKq1");
        q.headers
            .push("From", "<sip:44030000002000000001@4403000000>;tag=a");
        q.headers
            .push("To", "<sip:44030500002000000001@4403050000>");
        q.headers.push("Call-ID", "q1");
        q.headers.push("CSeq", "1 MESSAGE");
        q.body = manscdp::query("Catalog", 77, "44030500002000000001").to_document(Charset::Utf8);
        let out = link.receive(&q.to_bytes(), "10.0.0.5", 0, &mut ev);
        let Message::Response(ok) = Message::parse_datagram(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!(ok.status, 200);
        assert_eq!(
            ev,
            vec![Event::Query {
                sn: 77,
                device_id: "44030500002000000001".into(),
                command: Command::CatalogQuery,
                charset: Charset::Utf8,
            }]
        );
        // Retransmitted: answered the same, not handed over twice.
        let again = link.receive(&q.to_bytes(), "10.0.0.5", 1, &mut ev);
        assert_eq!(again, out);
        assert_eq!(ev.len(), 1);
        // The right code from another host, and another code: refused.
        q.headers
            .set("Via", "SIP/2.0/UDP 10.6.6.6:5060;branch=z9hG4bKq2");
        let out = link.receive(&q.to_bytes(), "10.6.6.6", 2, &mut ev);
        let Message::Response(no) = Message::parse_datagram(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!(no.status, 403);
        q.headers
            .set("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKq3");
        q.headers
            .set("From", "<sip:44030000002000000002@4403000000>;tag=a");
        link.receive(&q.to_bytes(), "10.0.0.5", 3, &mut ev);
        assert_eq!(link.stats().refused, 2);
        // A broken body is a 400 with the reason.
        q.headers
            .set("From", "<sip:44030000002000000001@4403000000>;tag=a");
        q.headers
            .set("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKq4");
        q.body = b"<Query><SN>1</SN></Query>".to_vec();
        let out = link.receive(&q.to_bytes(), "10.0.0.5", 4, &mut ev);
        let Message::Response(bad) = Message::parse_datagram(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!(bad.status, 400);
        assert!(bad.headers.get("Warning").unwrap().contains("CmdType"));
    }

    fn superior_request(method: Method, branch: &str, body: Vec<u8>) -> Request {
        let mut q = Request::new(method.clone(), "sip:44030500001320000001@10.0.0.9:5060");
        q.headers
            .push("Via", format!("SIP/2.0/UDP 10.0.0.5:5060;branch={branch}"));
        q.headers
            .push("From", "<sip:44030000002000000001@4403000000>;tag=a");
        q.headers
            .push("To", "<sip:44030500001320000001@4403050000>");
        q.headers.push("Call-ID", "c1");
        q.headers.push("CSeq", format!("1 {method}"));
        q.body = body;
        q
    }

    #[test]
    fn the_answer_cache_serves_only_the_request_it_answered() {
        let mut link = Link::new(cfg(), "x7");
        link.set_superior_ip("10.0.0.5".parse().unwrap());
        let mut ev = Vec::new();
        let invite = superior_request(Method::Invite, "z9hG4bKi1", Vec::new());
        assert!(
            link.receive(&invite.to_bytes(), "10.0.0.5", 0, &mut ev)
                .is_empty()
        );
        let answer = link.answer(&invite, 403, "Forbidden", "t", None);
        // Retransmitted: the same answer.
        assert_eq!(
            link.receive(&invite.to_bytes(), "10.0.0.5", 1, &mut ev),
            vec![answer.clone()]
        );
        // The ACK of a refused INVITE has the INVITE's branch: never answered.
        let ack = superior_request(Method::Ack, "z9hG4bKi1", Vec::new());
        assert!(
            link.receive(&ack.to_bytes(), "10.0.0.5", 2, &mut ev)
                .is_empty()
        );
        // A CANCEL has it too: handed over, not answered with the INVITE's answer.
        let cancel = superior_request(Method::Cancel, "z9hG4bKi1", Vec::new());
        assert!(
            link.receive(&cancel.to_bytes(), "10.0.0.5", 3, &mut ev)
                .is_empty()
        );
        assert!(matches!(ev.last(), Some(Event::Request(r)) if r.method == Method::Cancel));
        // A stranger replaying the branch gets a 403 of its own, not the cached answer,
        // and cannot evict it.
        let mut stranger = invite.clone();
        stranger
            .headers
            .set("From", "<sip:44030000002000000009@4403000000>;tag=b");
        for n in 0..100 {
            let out = link.receive(&stranger.to_bytes(), "10.6.6.6", 4 + n, &mut ev);
            assert_ne!(out, vec![answer.clone()]);
        }
        assert_eq!(
            link.receive(&invite.to_bytes(), "10.0.0.5", 200, &mut ev),
            vec![answer]
        );
        // Addresses compare as addresses: the superior's over IPv4-mapped IPv6 too.
        let msg = superior_request(
            Method::Message,
            "z9hG4bKm1",
            manscdp::query("Catalog", 1, "44030500002000000001").to_document(Charset::Utf8),
        );
        let out = link.receive(&msg.to_bytes(), "::ffff:10.0.0.5", 201, &mut ev);
        let Message::Response(ok) = Message::parse_datagram(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!(ok.status, 200);
    }

    #[test]
    fn a_burst_of_queries_is_refused_and_answers_come_only_from_the_superior() {
        let mut link = Link::new(cfg(), "x8");
        link.set_superior_ip("10.0.0.5".parse().unwrap());
        let mut ev = Vec::new();
        let body = manscdp::query("Catalog", 1, "44030500002000000001").to_document(Charset::Utf8);
        let mut statuses = Vec::new();
        for n in 0..30 {
            let q = superior_request(Method::Message, &format!("z9hG4bKb{n}"), body.clone());
            let out = link.receive(&q.to_bytes(), "10.0.0.5", 100 + n, &mut ev);
            let Message::Response(r) = Message::parse_datagram(&out[0]).unwrap() else {
                panic!()
            };
            statuses.push(r.status);
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            MAX_QUERIES_PER_WINDOW
        );
        assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 10);
        // Later, queries are taken again.
        let q = superior_request(Method::Message, "z9hG4bKlate", body);
        let out = link.receive(
            &q.to_bytes(),
            "10.0.0.5",
            100 + QUERY_WINDOW_MS + 50,
            &mut ev,
        );
        let Message::Response(r) = Message::parse_datagram(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!(r.status, 200);
        // A 200 to our REGISTER from another host is not taken.
        let reg = link.poll(0, &mut ev).remove(0);
        let Message::Request(rr) = Message::parse_datagram(&reg).unwrap() else {
            panic!()
        };
        let ok = rr.response(200, "OK", Some("s")).to_bytes();
        link.receive(&ok, "10.6.6.6", 1, &mut ev);
        assert_ne!(link.state(), &LinkState::Registered);
        link.receive(&ok, "10.0.0.5", 2, &mut ev);
        assert_eq!(link.state(), &LinkState::Registered);
    }

    #[test]
    fn a_huge_expires_neither_overflows_nor_storms() {
        let mut link = Link::new(cfg(), "x9");
        let mut ev = Vec::new();
        let reg = link.poll(0, &mut ev).remove(0);
        let Message::Request(rr) = Message::parse_datagram(&reg).unwrap() else {
            panic!()
        };
        let mut ok = rr.response(200, "OK", Some("s"));
        ok.headers.push("Expires", u64::MAX.to_string());
        link.receive(&ok.to_bytes(), "10.0.0.5", 5, &mut ev);
        assert_eq!(link.state(), &LinkState::Registered);
        // Refreshed within a day at most, not at once.
        let wake = link.next_wake().unwrap();
        assert!(
            link.poll(6, &mut ev)
                .iter()
                .all(|b| !is(b, Method::Register))
        );
        assert!(wake <= 5 + 86_400_000);
    }

    #[test]
    fn a_sessions_200_is_sent_again_until_its_ack() {
        let mut link = Link::new(cfg(), "xa");
        link.set_superior_ip("10.0.0.5".parse().unwrap());
        let mut ev = Vec::new();
        link.poll(0, &mut ev); // its REGISTER
        let invite = superior_request(Method::Invite, "z9hG4bKs1", Vec::new());
        link.receive(&invite.to_bytes(), "10.0.0.5", 0, &mut ev);
        let ok = link.answer_invite_ok(&invite, "t1", b"v=0".to_vec(), 0);
        let again = link.poll(500, &mut ev);
        assert!(again.contains(&ok), "sent again at T1");
        let ack = superior_request(Method::Ack, "z9hG4bKs2", Vec::new());
        link.receive(&ack.to_bytes(), "10.0.0.5", 600, &mut ev);
        assert!(!link.poll(1500, &mut ev).contains(&ok), "not after the ACK");
        // Unacknowledged: given up after 32 s, and said so.
        let invite2 = superior_request(Method::Invite, "z9hG4bKs3", Vec::new());
        let mut i2 = invite2.clone();
        i2.headers.set("Call-ID", "c2");
        link.answer_invite_ok(&i2, "t2", b"v=0".to_vec(), 2000);
        let mut t = 2000;
        while t < 2000 + TRANSACTION_MS {
            t = link.next_wake().unwrap().max(t + 1);
            link.poll(t, &mut ev);
        }
        assert!(ev.contains(&Event::AckTimeout {
            call_id: "c2".into(),
            remote_tag: "a".into()
        }));
    }

    #[test]
    fn closing_unregisters() {
        let mut link = Link::new(cfg(), "x6");
        let bytes = link.close(0);
        assert!(String::from_utf8_lossy(&bytes).contains("Expires: 0\r\n"));
        assert_eq!(link.state(), &LinkState::Closed);
        // Only the unregistration's own retransmission is left to do.
        assert_eq!(link.next_wake(), Some(T1_MS));
        let mut ev = Vec::new();
        let Message::Request(r) = Message::parse_datagram(&bytes).unwrap() else {
            panic!()
        };
        link.receive(
            &r.response(200, "OK", None).to_bytes(),
            "10.0.0.5",
            1,
            &mut ev,
        );
        assert_eq!(link.next_wake(), None);
        assert!(link.poll(100_000, &mut ev).is_empty());
    }
}
