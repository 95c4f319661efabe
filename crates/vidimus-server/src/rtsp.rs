//! The RTSP re-stream (issue 14, Art. 21): standard clients — VLC, ffmpeg, GStreamer,
//! other VMSs — watch a camera live (`rtsp://host:port/cameras/{id}/live`) or its
//! recordings by time (`…/cameras/{id}/recorded?start=…&end=…`), each session an
//! access like any other: decided by the policy under one of the user's grants,
//! registered before its first byte and at its end with its length and bytes, watched
//! (revocation or expiry ends it within a second), never under a view-only grant or
//! over a privacy mask (the camera's own bytes are sent, not a re-encoded picture).
//!
//! Clients authenticate by digest (RFC 2617, MD5 — what ffmpeg and GStreamer speak)
//! with the user's name and the **grant's password** (`GrantPasswords`): the password
//! of one user's access under one grant, shown to them in `GET /api/grants/{id}/rtsp`.
//! Users' own passwords are kept only as argon2id hashes, which digest cannot check;
//! a grant's password opens nothing but that grant and dies with it. A wrong or missing
//! answer gets a new challenge; a wrong answer is registered (at most
//! [`REGISTERED_FAILURES_PER_MINUTE`] from one address; the rest are counted in one
//! entry), and a connection is closed after [`MAX_FAILURES`] of them.
//!
//! RTP goes interleaved on the RTSP connection or over UDP to the connection's own
//! address (never to a `destination=` a client names). The protocol's parts are
//! `vidimus-rtsp`'s, sans-IO; the media loops are `relay`'s, shared with GB/T 28181.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{oneshot, watch};
use vidimus_access::digest::{Authorization, Challenge, GrantPasswords, NonceCheck, NonceMint};
use vidimus_codec::bitstream::{ParameterSets, length_prefixed_nals};
use vidimus_core::time::Wall90k;
use vidimus_media::VideoCodec;
use vidimus_rtsp::message::{self, Incoming, Request, response};
use vidimus_rtsp::packer::Packer;
use vidimus_rtsp::transport::Chosen;
use vidimus_rtsp::{Target, TargetError};

use crate::AppState;
use crate::error::ApiError;
use crate::relay::{self, Control, Out};

/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections from one address (one IPv6 /64) at once.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 8;
/// From the connection to an allowed DESCRIBE, and from DESCRIBE to PLAY: a client
/// cannot hold a place (or a decision) open by trickling bytes.
const DESCRIBE_WITHIN: Duration = Duration::from_secs(15);
const PLAY_WITHIN: Duration = Duration::from_secs(30);
/// A UDP session's client must say something (a keep-alive request) this often: the
/// RTSP connection is all that tells a vanished one.
const UDP_KEEPALIVE_WITHIN: Duration = Duration::from_secs(65);
/// Wrong answers on one connection before it is closed.
pub const MAX_FAILURES: u32 = 3;
/// Wrong answers from one address registered each minute; beyond, counted.
pub const REGISTERED_FAILURES_PER_MINUTE: u32 = 10;
/// How long a nonce is good for.
const NONCE_LIFE_SECS: u64 = 300;
/// How long DESCRIBE waits for a live camera's first frame (its parameter sets).
const FIRST_FRAME_WITHIN: Duration = Duration::from_secs(5);

/// The re-stream's settings and secrets.
pub struct Rtsp {
    pub realm: String,
    /// What clients are told to connect to (`rtsp://host:port`), without a slash.
    pub url: String,
    pub passwords: GrantPasswords,
    nonces: NonceMint,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Recorded ranges read from the index at once (their sample tables are large).
    prepares: tokio::sync::Semaphore,
    metrics: Metrics,
}

/// The re-stream's counters, for `/metrics`.
#[derive(Default)]
struct Metrics {
    connections: AtomicU64,
    playing: AtomicU64,
    sessions_total: AtomicU64,
    bytes_total: AtomicU64,
    wrong_answers_total: AtomicU64,
}

impl std::fmt::Debug for Rtsp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rtsp")
            .field("realm", &self.realm)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Rtsp {
    pub fn new(realm: &str, url: &str, key: [u8; 32]) -> Self {
        Rtsp {
            realm: realm.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
            passwords: GrantPasswords::new(key),
            nonces: NonceMint::random(),
            failures: Mutex::new(HashMap::new()),
            prepares: tokio::sync::Semaphore::new(2),
            metrics: Metrics::default(),
        }
    }

    /// The grant passwords' key, kept in the data directory (`rtsp-grant.key`, mode
    /// 0600), made on first use.
    pub fn load_key(data_dir: &std::path::Path) -> std::io::Result<[u8; 32]> {
        let path = data_dir.join("rtsp-grant.key");
        match std::fs::read(&path) {
            Ok(b) if b.len() == 32 => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&path)?.permissions().mode();
                    if mode & 0o077 != 0 {
                        tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777),
                            "the RTSP grant password key is readable by others: chmod 600 it");
                    }
                }
                Ok(b.try_into().expect("32 bytes"))
            }
            Ok(_) => Err(std::io::Error::other(format!(
                "{} is not a 32-byte key: remove it to make a new one (every RTSP grant password changes)",
                path.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(std::io::Error::other)?;
                let tmp = path.with_extension("tmp");
                let _ = std::fs::remove_file(&tmp);
                {
                    use std::io::Write;
                    let mut opts = std::fs::OpenOptions::new();
                    opts.write(true).create_new(true);
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                    let mut f = opts.open(&tmp)?;
                    f.write_all(&key)?;
                    f.sync_all()?;
                }
                std::fs::rename(&tmp, &path)?;
                std::fs::File::open(data_dir)?.sync_all()?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// A session ended, having sent `bytes`.
    fn ended(&self, bytes: u64) {
        self.metrics.playing.fetch_sub(1, Relaxed);
        self.metrics.bytes_total.fetch_add(bytes, Relaxed);
    }

    /// The re-stream's metrics in Prometheus' text format.
    pub fn prometheus(&self, out: &mut String) {
        let m = &self.metrics;
        let g = |a: &AtomicU64| a.load(Relaxed);
        out.push_str(&format!(
            "# HELP vidimus_rtsp_connections RTSP re-stream connections open.\n# TYPE vidimus_rtsp_connections gauge\nvidimus_rtsp_connections {}\n\
             # HELP vidimus_rtsp_sessions RTSP sessions playing.\n# TYPE vidimus_rtsp_sessions gauge\nvidimus_rtsp_sessions {}\n\
             # HELP vidimus_rtsp_sessions_total RTSP sessions played (each registered).\n# TYPE vidimus_rtsp_sessions_total counter\nvidimus_rtsp_sessions_total {}\n\
             # HELP vidimus_rtsp_bytes_total Bytes sent by ended RTSP sessions.\n# TYPE vidimus_rtsp_bytes_total counter\nvidimus_rtsp_bytes_total {}\n\
             # HELP vidimus_rtsp_wrong_answers_total Wrong answers to the RTSP digest challenge.\n# TYPE vidimus_rtsp_wrong_answers_total counter\nvidimus_rtsp_wrong_answers_total {}\n",
            g(&m.connections),
            g(&m.playing),
            g(&m.sessions_total),
            g(&m.bytes_total),
            g(&m.wrong_answers_total),
        ));
    }

    /// The addresses whose minute is over with wrong answers left unregistered, and
    /// how many: each becomes one register entry (so a count is never lost to an
    /// address that stops trying).
    fn take_unregistered(&self, now: Instant) -> Vec<(IpAddr, u32)> {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        f.retain(|ip, (t, n)| {
            if now.duration_since(*t) < Duration::from_secs(60) {
                return true;
            }
            if *n > REGISTERED_FAILURES_PER_MINUTE {
                out.push((*ip, *n - REGISTERED_FAILURES_PER_MINUTE));
            }
            false
        });
        out
    }

    /// Whether a wrong answer from `ip` is registered (`Some(counted before)`) or only
    /// counted (`None`).
    fn register_failure(&self, ip: IpAddr, now: Instant) -> Option<u32> {
        let ip = address_key(ip);
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() > 10_000 {
            // (Counts of addresses dropped here are written by the next flush only if
            // still held: at this many addresses the register has their first ten.)
            f.retain(|_, (t, _)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let e = f.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= Duration::from_secs(60) {
            let counted = e.1.saturating_sub(REGISTERED_FAILURES_PER_MINUTE);
            *e = (now, 1);
            return Some(counted);
        }
        e.1 += 1;
        (e.1 <= REGISTERED_FAILURES_PER_MINUTE).then_some(0)
    }
}

/// What limits count as one address: an IPv4 address, or an IPv6 /64 (one site's).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Serves RTSP on `listener` until `stop` resolves; sessions in progress are ended
/// (and their ends registered) before it returns.
pub async fn run(
    state: AppState,
    rtsp: Arc<Rtsp>,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()>,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    // Connections per address: each connection holds a clone.
    let mut per_address: HashMap<IpAddr, Arc<()>> = HashMap::new();
    let mut flush = tokio::time::interval(Duration::from_secs(60));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        let (sock, peer) = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "rtsp: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            _ = flush.tick() => {
                register_unregistered(&state, &rtsp).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "rtsp: too many connections; closed");
            continue;
        };
        let key = address_key(peer.ip());
        let per = per_address.entry(key).or_default().clone();
        if Arc::strong_count(&per) > MAX_CONNECTIONS_PER_ADDRESS {
            tracing::warn!(%peer, "rtsp: too many connections from one address; closed");
            continue;
        }
        per_address.retain(|_, c| Arc::strong_count(c) > 1 || Arc::ptr_eq(c, &per));
        let _ = sock.set_nodelay(true);
        let (state, rtsp, stop) = (state.clone(), rtsp.clone(), stop_rx.clone());
        tasks.spawn(async move {
            let _held = (permit, per);
            rtsp.metrics.connections.fetch_add(1, Relaxed);
            Conn::new(state, rtsp.clone(), sock, peer, stop).run().await;
            rtsp.metrics.connections.fetch_sub(1, Relaxed);
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    register_unregistered(&state, &rtsp).await;
}

/// One register entry per address whose wrong answers were counted, not written.
async fn register_unregistered(state: &AppState, rtsp: &Rtsp) {
    // (At shutdown too: every minute is over for what is held.)
    let now = Instant::now() + Duration::from_secs(61);
    for (ip, n) in rtsp.take_unregistered(now) {
        let at = state.clocks.realtime();
        let entry = json!({
            "v": 1, "kind": "access", "at": at.to_string(), "allowed": false,
            "outcome": "refused", "protocol": "RTSP", "user": null,
            "peer": ip.to_string(), "attempts": n,
            "reason": format!("RTSP authentication failed {n} more times from {ip} within a minute (counted, not written one by one)"),
        });
        if let Err(e) = state
            .db
            .run(move |ix| crate::grants::register(ix, at, &entry))
            .await
        {
            tracing::error!(error = %e.message, "rtsp: counted refusals could not be registered");
        }
    }
}

/// What a DESCRIBE decided: the access, allowed and waiting to be played.
struct Described {
    target: Target,
    granted: crate::grants::Authorized,
    user: String,
    codec: VideoCodec,
    /// The recorded range's 90 kHz bounds (prepared again at PLAY: a description holds
    /// no sample tables, which for a day run to tens of megabytes).
    range: (Wall90k, Wall90k),
    uri: String,
}

/// A session being played.
struct Playing {
    bye: Option<oneshot::Sender<&'static str>>,
    /// Resolves when the session has ended (the connection then closes).
    done: oneshot::Receiver<()>,
    control: Option<watch::Sender<Control>>,
    task: tokio::task::JoinHandle<()>,
}

struct Conn {
    state: AppState,
    rtsp: Arc<Rtsp>,
    read: tokio::net::tcp::OwnedReadHalf,
    write: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    peer: SocketAddr,
    local: SocketAddr,
    stop: watch::Receiver<bool>,
    buf: Vec<u8>,
    /// How far `buf` was searched for the end of a head (a message is parsed only
    /// once its head is all there: a trickled request costs no re-parsing).
    scanned: usize,
    failures: u32,
    /// The nonces this connection's challenges gave (an answer with any other is not
    /// taken: an answer overheard elsewhere opens nothing here); spent when taken.
    nonces: Vec<String>,
    /// When the connection was made, and when its access was described.
    opened: tokio::time::Instant,
    described_at: Option<tokio::time::Instant>,
    /// RTP goes over UDP: the client's requests are the only sign it is there.
    udp: bool,
    session_id: String,
    described: Option<Described>,
    transport: Option<(Chosen, Option<UdpSocket>)>,
    playing: Option<Playing>,
    /// The start of the recording played (a later PLAY's `Range` counts from it).
    played_from: Option<jiff::Timestamp>,
    /// The SSRC, first sequence number and RTP time base of the connection's session.
    seed: u64,
}

type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn reply(status: u16) -> Reply {
    (status, Vec::new(), Vec::new())
}

impl Conn {
    fn new(
        state: AppState,
        rtsp: Arc<Rtsp>,
        sock: TcpStream,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let local = sock
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (read, write) = sock.into_split();
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Conn {
            state,
            rtsp,
            read,
            write: Arc::new(tokio::sync::Mutex::new(write)),
            peer,
            local,
            stop,
            buf: Vec::with_capacity(4096),
            scanned: 0,
            failures: 0,
            nonces: Vec::new(),
            opened: tokio::time::Instant::now(),
            described_at: None,
            udp: false,
            session_id: id.iter().map(|b| format!("{b:02X}")).collect(),
            described: None,
            transport: None,
            playing: None,
            played_from: None,
            seed: u64::from_be_bytes(seed),
        }
    }

    async fn run(mut self) {
        let why = self.serve().await;
        tracing::debug!(peer = %self.peer, ended = %why, "rtsp: connection ended");
        self.end(why).await;
    }

    /// Reads and answers requests until the connection ends; why it ended.
    async fn serve(&mut self) -> &'static str {
        let mut chunk = vec![0u8; 8192];
        let mut stop = self.stop.clone();
        loop {
            while self.whole_message_may_be_there() {
                match message::take(&mut self.buf) {
                    Ok(Some(Incoming::Request(r))) => {
                        self.scanned = 0;
                        if let Some(why) = self.answer(*r).await {
                            return why;
                        }
                    }
                    Ok(Some(Incoming::Data | Incoming::Response)) => self.scanned = 0,
                    Ok(None) => break,
                    Err(e) => {
                        let status = if e == message::MessageError::TooLarge {
                            413
                        } else {
                            400
                        };
                        let _ = self.send(response(status, None, &[], b"")).await;
                        return "the client sent what is not RTSP";
                    }
                }
            }
            if self.buf.len() > message::MAX_MESSAGE {
                let _ = self.send(response(413, None, &[], b"")).await;
                return "the client sent what is not RTSP";
            }
            // Deadlines: to describe, then to play; a UDP session's keep-alives.
            let deadline = match (&self.playing, self.described_at) {
                (Some(_), _) if self.udp => tokio::time::Instant::now() + UDP_KEEPALIVE_WITHIN,
                (Some(_), _) => tokio::time::Instant::now() + Duration::from_secs(86_400 * 365),
                (None, Some(at)) => at + PLAY_WITHIN,
                (None, None) => self.opened + DESCRIBE_WITHIN,
            };
            let done = async {
                match self.playing.as_mut() {
                    Some(p) => drop((&mut p.done).await),
                    None => std::future::pending().await,
                }
            };
            let n = tokio::select! {
                _ = stop.wait_for(|s| *s) => return "the server stopped",
                _ = done => return "the session ended",
                _ = tokio::time::sleep_until(deadline) => return match (&self.playing, self.described_at) {
                    (Some(_), _) => "the client stopped sending keep-alives",
                    (None, Some(_)) => "the client did not play in time",
                    (None, None) => "the client did not describe in time",
                },
                r = self.read.read(&mut chunk) => match r {
                    Err(_) | Ok(0) => return "the client closed the connection",
                    Ok(n) => n,
                },
            };
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Whether `buf` may hold a whole message: interleaved data, or a head's end
    /// (searched from where the last search stopped).
    fn whole_message_may_be_there(&mut self) -> bool {
        if self.buf.is_empty() {
            return false;
        }
        if self.buf[0] == b'$' {
            return true;
        }
        let from = self.scanned.saturating_sub(3);
        if self.scanned == usize::MAX || self.buf[from..].windows(4).any(|w| w == b"\r\n\r\n") {
            // The head is there; the body may still be coming: parse on every read
            // until the message is taken.
            self.scanned = usize::MAX;
            return true;
        }
        self.scanned = self.buf.len();
        false
    }

    async fn send(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        let mut w = self.write.lock().await;
        tokio::time::timeout(relay::SEND_WITHIN, w.write_all(&bytes))
            .await
            .map_err(|_| std::io::Error::other("the client stopped reading"))?
    }

    /// Answers one request; `Some(why)` ends the connection.
    async fn answer(&mut self, r: Request) -> Option<&'static str> {
        let cseq = r.cseq.clone();
        let Some(cseq) = cseq else {
            let _ = self.send(response(400, None, &[], b"")).await;
            return Some("the client sent a request without CSeq");
        };
        let (status, mut headers, body) = match r.method.as_str() {
            "OPTIONS" => (
                200,
                vec![(
                    "Public",
                    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
                        .into(),
                )],
                Vec::new(),
            ),
            "DESCRIBE" => match self.describe(&r).await {
                Ok(reply) => reply,
                Err(reply) => reply,
            },
            "SETUP" => self.setup(&r).await,
            "PLAY" => match self.play(&r, &cseq).await {
                // The answer went out before the first packet.
                None => return None,
                Some(reply) => reply,
            },
            "PAUSE" => self.pause(&r),
            "GET_PARAMETER" | "SET_PARAMETER" => reply(200),
            "TEARDOWN" => {
                let _ = self.send(response(200, Some(&cseq), &[], b"")).await;
                return Some("the client ended it (TEARDOWN)");
            }
            _ => reply(501),
        };
        if self.described.is_some() || self.transport.is_some() {
            headers.push(("Session", format!("{};timeout=60", self.session_id)));
        }
        if status == 401 {
            self.failures += 1;
        }
        if self
            .send(response(status, Some(&cseq), &headers, &body))
            .await
            .is_err()
        {
            return Some("the client stopped reading");
        }
        (self.failures > MAX_FAILURES).then_some("too many wrong answers to the challenge")
    }

    fn challenge(&mut self, stale: bool) -> Reply {
        let now = self.state.clocks.realtime().unix_millis().max(0) as u64 / 1000;
        let nonce = self.rtsp.nonces.mint(now);
        if self.nonces.len() >= 8 {
            self.nonces.remove(0);
        }
        self.nonces.push(nonce.clone());
        let mut c = Challenge::new(&self.rtsp.realm, nonce);
        c.stale = stale;
        (401, vec![("WWW-Authenticate", c.to_header())], Vec::new())
    }

    /// Registers a wrong answer (or counts it, past the limit).
    async fn refuse_credentials(&self, claimed: &str, uri: &str, why: &str) {
        self.rtsp.metrics.wrong_answers_total.fetch_add(1, Relaxed);
        let Some(counted) = self.rtsp.register_failure(self.peer.ip(), Instant::now()) else {
            tracing::warn!(peer = %self.peer, "rtsp: a wrong answer (counted, not registered)");
            return;
        };
        let now = self.state.clocks.realtime();
        let claimed: String = claimed.chars().take(64).collect();
        let uri: String = uri.chars().take(256).collect();
        let mut entry = json!({
            "v": 1, "kind": "access", "at": now.to_string(), "allowed": false,
            "outcome": "refused", "protocol": "RTSP",
            "reason": format!("RTSP authentication failed: {why}"),
            "user": null, "claimed_user": claimed, "peer": self.peer.ip().to_string(),
            "url": uri,
        });
        if counted > 0 {
            entry["refused_before_unwritten"] = json!(counted);
        }
        let r = self
            .state
            .db
            .run(move |ix| crate::grants::register(ix, now, &entry))
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e.message, "rtsp: a refusal could not be registered");
        }
    }

    /// Who answered the challenge, and under which grant: `Err` is the reply.
    async fn authenticate(&mut self, r: &Request) -> Result<(i64, String, String, i64), Reply> {
        let Some(header) = r.header("Authorization") else {
            return Err(self.challenge(false));
        };
        let Ok(a) = Authorization::parse(header) else {
            self.refuse_credentials("", &r.uri, "an unreadable Authorization header")
                .await;
            return Err(self.challenge(false));
        };
        // Only a nonce this connection was given, once.
        let Some(i) = self.nonces.iter().position(|n| *n == a.nonce) else {
            return Err(self.challenge(false));
        };
        let now = self.state.clocks.realtime().unix_millis().max(0) as u64 / 1000;
        match self.rtsp.nonces.check(&a.nonce, now, NONCE_LIFE_SECS) {
            NonceCheck::Fresh => {}
            NonceCheck::Stale => return Err(self.challenge(true)),
            NonceCheck::Forged => {
                self.refuse_credentials(&a.username, &r.uri, "a nonce not issued here")
                    .await;
                return Err(self.challenge(false));
            }
        }
        if !message::same_resource(&a.uri, &r.uri) {
            self.refuse_credentials(&a.username, &r.uri, "an answer for another URL")
                .await;
            return Err(self.challenge(false));
        }
        if a.realm != self.rtsp.realm {
            self.refuse_credentials(&a.username, &r.uri, "another realm")
                .await;
            return Err(self.challenge(false));
        }
        let name = a.username.clone();
        let at = self.state.clocks.realtime();
        let found = self
            .state
            .db
            .run(move |ix| {
                let Some(u) = vidimus_store::users::AccessStore::user_by_name(ix, &name)? else {
                    return Ok(None);
                };
                let grants: Vec<i64> = ix
                    .active_grants_for(u.id, at)?
                    .into_iter()
                    .filter_map(|r| r.grant.map(|g| g.id))
                    .collect();
                Ok(Some((u, grants)))
            })
            .await;
        let found = match found {
            Ok(f) => f,
            Err(_) => return Err(reply(503)),
        };
        let method = r.method.as_str();
        self.nonces.remove(i);
        if let Some((u, grants)) = found
            && u.disabled_90k.is_none()
            && let Some(g) = grants
                .iter()
                .find(|g| a.verify(&self.rtsp.passwords.password(u.id, **g), method))
        {
            return Ok((u.id, u.username.clone(), u.role.clone(), *g));
        }
        self.refuse_credentials(&a.username, &r.uri, "a wrong user name or grant password")
            .await;
        Err(self.challenge(false))
    }

    async fn describe(&mut self, r: &Request) -> Result<Reply, Reply> {
        let (user_id, username, role, grant_id) = self.authenticate(r).await?;
        let tz = jiff::tz::TimeZone::get(&self.state.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let target = vidimus_rtsp::target::parse(&r.uri, &tz).map_err(|e| {
            let status = match e {
                TargetError::Path(_) => 404,
                TargetError::Time(_) => 400,
            };
            (status, vec![("X-Vidimus-Error", e.to_string())], Vec::new())
        })?;
        if let Some(old) = self.described.take() {
            // A second DESCRIBE before playing: the first access handed nothing out.
            let mut g = old.granted;
            g.register_failed(&self.state, "described again before playing")
                .await;
        }
        let who = crate::auth::AuthUser::acting(user_id, &username, &role);
        let refuse = |e: ApiError| -> Reply {
            let status = match e.status.as_u16() {
                404 => 404,
                429 => 429,
                _ => 403,
            };
            (status, vec![("X-Vidimus-Error", e.message)], Vec::new())
        };
        let now = self.state.clocks.realtime();
        let (action, from, to, not) = match &target {
            Target::Live { .. } => (
                vidimus_access::request::Action::ViewLive,
                now,
                now,
                crate::grants::NotViewOnly::Live,
            ),
            Target::Recorded { from, to, .. } => (
                vidimus_access::request::Action::ViewRecorded,
                Wall90k::from_unix_millis(from.as_millisecond()),
                Wall90k::from_unix_millis(to.as_millisecond()),
                crate::grants::NotViewOnly::File,
            ),
        };
        let camera = target.camera();
        let granted = crate::grants::authorize(
            &self.state,
            &who,
            crate::grants::Ask {
                action,
                camera_id: camera,
                from,
                to,
                whereabouts: None,
                grant_id: Some(grant_id),
                export_id: None,
            },
        )
        .await
        .map_err(refuse)?
        .not_view_only(&self.state, not)
        .await
        .map_err(refuse)?;
        let mut granted = if granted.mask.is_some() {
            let e = granted
                .refuse_with(
                    &self.state,
                    axum::http::StatusCode::CONFLICT,
                    "privacy_masked",
                    "the camera has privacy masks and the RTSP re-stream sends the camera's own bytes: not sent (watch it in the console, which burns the masks in)",
                )
                .await;
            return Err(refuse(e));
        } else {
            granted
        };
        // The stream's codec and parameter sets, for the description.
        let (entry, duration) = match &target {
            Target::Live { .. } => match first_frame(&self.state, camera).await {
                Some(entry) => (entry, None),
                None => {
                    granted
                        .register_failed(&self.state, "the camera sends no video")
                        .await;
                    return Err((
                        503,
                        vec![("X-Vidimus-Error", "the camera sends no video now".into())],
                        Vec::new(),
                    ));
                }
            },
            Target::Recorded { .. } => {
                match self.prepare(camera, (from, to), granted.within).await {
                    Ok(p) => {
                        let Some(e) = p.samples.entries.first().cloned() else {
                            granted
                                .register_failed(&self.state, "nothing recorded")
                                .await;
                            return Err(reply(404));
                        };
                        let secs = p.plan.presented_duration as f64 / 90_000.0;
                        (e, Some(secs))
                    }
                    Err(e) => {
                        granted.register_failed(&self.state, &e.message).await;
                        return Err(refuse(e));
                    }
                }
            }
        };
        let (codec, ps) = match ParameterSets::from_sample_entry(&entry) {
            Ok(c) => c,
            Err(e) => {
                granted
                    .register_failed(&self.state, &format!("the stream cannot be described: {e}"))
                    .await;
                return Err(reply(500));
            }
        };
        let origin = self.local.ip().to_string();
        let sdp = vidimus_rtsp::sdp::Describe {
            codec,
            parameter_sets: &ps.nals,
            title: &granted.camera,
            origin: &origin,
            duration,
        }
        .to_text();
        let base = format!(
            "{}/",
            r.uri
                .split('?')
                .next()
                .unwrap_or(&r.uri)
                .trim_end_matches('/')
        );
        self.described_at = Some(tokio::time::Instant::now());
        self.described = Some(Described {
            target,
            granted,
            user: username,
            codec,
            range: (from, to),
            uri: r.uri.clone(),
        });
        Ok((
            200,
            vec![
                ("Content-Type", "application/sdp".into()),
                ("Content-Base", base),
            ],
            sdp.into_bytes(),
        ))
    }

    async fn setup(&mut self, r: &Request) -> Reply {
        if self.described.is_none() {
            return (
                455,
                vec![("X-Vidimus-Error", "DESCRIBE first".into())],
                Vec::new(),
            );
        }
        if self.playing.is_some() {
            return reply(455);
        }
        let chosen = match r
            .transports()
            .map_err(|_| vidimus_rtsp::transport::TransportError::Unreadable)
            .and_then(|t| vidimus_rtsp::transport::choose(t.as_ref()))
        {
            Ok(c) => c,
            Err(e) => return (461, vec![("X-Vidimus-Error", e.to_string())], Vec::new()),
        };
        let (udp, server) = match chosen {
            Chosen::Interleaved { .. } => (None, None),
            Chosen::Udp { .. } => {
                match UdpSocket::bind(SocketAddr::new(self.local.ip(), 0)).await {
                    Ok(s) => {
                        let p = s.local_addr().map(|a| a.port()).unwrap_or(0);
                        (Some(s), Some((p, p.wrapping_add(1))))
                    }
                    Err(_) => return reply(500),
                }
            }
        };
        // The SSRC named here is the packer's (`Packer::new` with the same seed).
        let reply_header = chosen.reply((self.seed >> 32) as u32 | 1, server);
        self.udp = matches!(chosen, Chosen::Udp { .. });
        self.transport = Some((chosen, udp));
        (200, vec![("Transport", reply_header)], Vec::new())
    }

    fn pause(&mut self, _r: &Request) -> Reply {
        match self.playing.as_ref().and_then(|p| p.control.as_ref()) {
            Some(c) => {
                c.send_modify(|s| s.paused = true);
                reply(200)
            }
            None if self.playing.is_some() => (
                455,
                vec![("X-Vidimus-Error", "a live stream cannot be paused".into())],
                Vec::new(),
            ),
            None => reply(455),
        }
    }

    /// Starts (or resumes) playing; `None` when the answer was sent here.
    async fn play(&mut self, r: &Request, cseq: &str) -> Option<Reply> {
        let scale = r
            .header("Scale")
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 16.0);
        // A recording already playing: resume, seek, change the pace.
        if let Some(p) = &self.playing {
            let Some(control) = &p.control else {
                return Some(reply(200));
            };
            let from = match self.described_from() {
                Some(f) => f,
                None => return Some(reply(455)),
            };
            let seek = match r
                .header("Range")
                .map(|h| vidimus_rtsp::target::range_start(h, from))
            {
                Some(Err(e)) => return Some((457, vec![("X-Vidimus-Error", e)], Vec::new())),
                Some(Ok(s)) => s,
                None => None,
            };
            control.send_modify(|st| {
                st.paused = false;
                if let Some(sc) = scale {
                    st.scale = sc;
                }
                if let Some(s) = seek {
                    st.seek = s.clamp(0.0, vidimus_rtsp::target::MAX_RANGE.as_secs_f64());
                    st.generation += 1;
                }
            });
            return Some(reply(200));
        }
        if self.transport.is_none() || self.described.is_none() {
            return Some(reply(455));
        }
        let from_ts = self.described_from();
        let seek = match (r.header("Range"), from_ts) {
            (Some(h), Some(from)) => match vidimus_rtsp::target::range_start(h, from) {
                Ok(s) => s.map(|s| s.clamp(0.0, vidimus_rtsp::target::MAX_RANGE.as_secs_f64())),
                Err(e) => return Some((457, vec![("X-Vidimus-Error", e)], Vec::new())),
            },
            _ => None,
        };
        self.played_from = from_ts;
        let d = self.described.take().expect("checked above");
        let (chosen, udp) = self.transport.take().expect("checked above");
        let Described {
            target,
            granted,
            user,
            codec,
            range,
            uri,
        } = d;
        // Decided at DESCRIBE: still so? A grant revoked or expired since opens nothing.
        let mut granted = granted;
        let grant_id = granted.grant_id;
        let now = self.state.clocks.realtime();
        let ends = self
            .state
            .db
            .run(move |ix| Ok(ix.grant_ends(&[grant_id])?))
            .await;
        let live_grant = matches!(ends.as_deref(), Ok([(_, expires, None)]) if *expires > now.0);
        if !live_grant {
            granted
                .register_failed(
                    &self.state,
                    "the grant was revoked or expired before playing",
                )
                .await;
            return Some((
                403,
                vec![(
                    "X-Vidimus-Error",
                    "the grant was revoked or has expired".into(),
                )],
                Vec::new(),
            ));
        }
        let (mut granted, handout) = match granted.watch(&self.state, false).await {
            Ok(g) => g,
            Err(e) => {
                return Some((453, vec![("X-Vidimus-Error", e.message)], Vec::new()));
            }
        };
        let prepared = match &target {
            Target::Live { .. } => None,
            Target::Recorded { camera, .. } => {
                match self.prepare(*camera, range, granted.within).await {
                    Ok(p) => Some(p),
                    Err(e) => {
                        granted.register_failed(&self.state, &e.message).await;
                        return Some((404, vec![("X-Vidimus-Error", e.message)], Vec::new()));
                    }
                }
            }
        };
        // What a client keeps is a copy: it is marked, before every key frame, with
        // what ties it to this session's register entry.
        let mut id = [0u8; 16];
        let _ = getrandom::fill(&mut id);
        let export_id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        granted.entry["export_id"] = json!(export_id);
        let mark = vidimus_rtsp::mark::sei(
            codec,
            &json!({"export_id": export_id, "request_id": granted.request_id,
                "grant_id": granted.grant_id, "user": user})
            .to_string(),
        );
        let packer = Packer::new(codec, self.seed);
        let (seq, rtptime) = packer.rtp_info();
        let transport_name = match chosen {
            Chosen::Interleaved { .. } => "RTP/AVP/TCP interleaved".to_owned(),
            Chosen::Udp { rtp, .. } => format!("RTP/AVP UDP to {}:{rtp}", self.peer.ip()),
        };
        let mut served = json!({
            "protocol": "RTSP", "session": match target { Target::Live { .. } => "live", Target::Recorded { .. } => "recorded" },
            "client": self.peer.ip().to_string(), "transport": transport_name,
            "url": uri.chars().take(256).collect::<String>(), "authenticated_as": user,
        });
        if let Some(p) = &prepared {
            served["frames"] = json!(p.plan.samples);
        }
        if let Err(e) = granted
            .register(&self.state, json!({"outcome": "served", "served": served}))
            .await
        {
            return Some((500, vec![("X-Vidimus-Error", e.message)], Vec::new()));
        }
        let end = crate::grants::LiveEnd::new(&self.state, granted);
        let out = RtspOut {
            path: match (chosen, udp) {
                (Chosen::Interleaved { rtp, .. }, _) => OutPath::Interleaved {
                    write: self.write.clone(),
                    channel: rtp,
                },
                (Chosen::Udp { rtp, .. }, Some(socket)) => OutPath::Udp {
                    socket,
                    to: SocketAddr::new(self.peer.ip(), rtp),
                },
                (Chosen::Udp { .. }, None) => return Some(reply(500)),
            },
            packer,
            current: None,
            mark,
            buf: Vec::new(),
        };
        // The answer goes before the first packet.
        let base = uri.split('?').next().unwrap_or(&uri).trim_end_matches('/');
        let range = match (&target, seek) {
            (Target::Recorded { .. }, Some(s)) => format!("npt={s:.3}-"),
            (Target::Recorded { .. }, None) => "npt=0.000-".into(),
            (Target::Live { .. }, _) => "npt=now-".into(),
        };
        let headers = vec![
            ("Session", format!("{};timeout=60", self.session_id)),
            ("Range", range),
            (
                "RTP-Info",
                format!(
                    "url={base}/{};seq={seq};rtptime={rtptime}",
                    vidimus_rtsp::sdp::TRACK
                ),
            ),
        ];
        if self
            .send(response(200, Some(cseq), &headers, b""))
            .await
            .is_err()
        {
            end.finish(0, "the client went away before playing").await;
            return None;
        }
        let (bye_tx, bye_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let metrics = self.rtsp.clone();
        metrics.metrics.playing.fetch_add(1, Relaxed);
        metrics.metrics.sessions_total.fetch_add(1, Relaxed);
        let state = self.state.clone();
        let (control, task) = match (target, prepared) {
            (Target::Live { camera }, _) => {
                let sub = state.live.subscribe(camera);
                let task = tokio::spawn(async move {
                    let mut out = out;
                    let (bytes, why) = relay::live(&mut out, sub, handout, bye_rx).await;
                    end.finish(bytes, &why).await;
                    metrics.ended(bytes);
                    let _ = done_tx.send(());
                });
                (None, task)
            }
            (Target::Recorded { .. }, Some(prepared)) => {
                let (ctx, crx) = watch::channel(Control {
                    seek: seek.unwrap_or(0.0),
                    scale: scale.unwrap_or(1.0),
                    ..Control::default()
                });
                let files = state.files.clone();
                let task = tokio::spawn(async move {
                    let mut out = out;
                    let source = relay::Recording {
                        prepared,
                        files,
                        speed: 1.0,
                    };
                    let e = relay::recorded(&mut out, source, handout, bye_rx, crx).await;
                    end.finish(e.bytes, &e.why).await;
                    metrics.ended(e.bytes);
                    let _ = done_tx.send(());
                });
                (Some(ctx), task)
            }
            (Target::Recorded { .. }, None) => {
                metrics.ended(0);
                return None;
            }
        };
        self.playing = Some(Playing {
            bye: Some(bye_tx),
            done,
            control,
            task,
        });
        None
    }

    /// A recorded range read from the index, at most two at once.
    async fn prepare(
        &self,
        camera: i64,
        (from, to): (Wall90k, Wall90k),
        within: (Wall90k, Wall90k),
    ) -> Result<vidimus_store::export::PreparedExport, ApiError> {
        let _permit = self.rtsp.prepares.acquire().await;
        crate::api::prepare_granted(&self.state, camera, from, to, within).await
    }

    /// The start of the recording a `Range` counts from: the one playing, else the
    /// one described.
    fn described_from(&self) -> Option<jiff::Timestamp> {
        if self.playing.is_some() {
            return self.played_from;
        }
        match self.described.as_ref().map(|d| &d.target) {
            Some(Target::Recorded { from, .. }) => Some(*from),
            _ => None,
        }
    }

    /// Ends what the connection holds: a session played is told to stop (its end is
    /// registered by its task); an access described but never played is registered
    /// as handing nothing out.
    async fn end(&mut self, why: &'static str) {
        if let Some(mut p) = self.playing.take() {
            if let Some(b) = p.bye.take() {
                let _ = b.send(why);
            }
            let _ = p.task.await;
        }
        if let Some(d) = self.described.take() {
            let mut g = d.granted;
            g.register_failed(&self.state, &format!("not played: {why}"))
                .await;
        }
    }
}

/// The sample entry of a live camera's stream: from the kept GOP, or the first frame
/// within [`FIRST_FRAME_WITHIN`].
async fn first_frame(state: &AppState, camera: i64) -> Option<Vec<u8>> {
    let mut sub = state.live.subscribe(camera);
    if let Some(f) = sub.gop.first() {
        return Some(f.params.sample_entry.to_vec());
    }
    match tokio::time::timeout(FIRST_FRAME_WITHIN, sub.rx.recv()).await {
        Ok(Ok(f)) => Some(f.params.sample_entry.to_vec()),
        _ => None,
    }
}

enum OutPath {
    Interleaved {
        write: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
        channel: u8,
    },
    Udp {
        socket: UdpSocket,
        to: SocketAddr,
    },
}

/// An RTSP session's media path: access units packed in RTP (H.264 or H.265), the
/// stream's parameter sets and the session's trace mark before every key frame.
struct RtspOut {
    path: OutPath,
    packer: Packer,
    /// The sample entry packed for, its parameter sets and NAL length size.
    current: Option<(Vec<u8>, Vec<Vec<u8>>, u8)>,
    /// The trace mark (an SEI NAL unit), sent before every key frame.
    mark: Vec<u8>,
    buf: Vec<u8>,
}

impl Out for RtspOut {
    async fn send(
        &mut self,
        entry: &[u8],
        data: &[u8],
        pts: i64,
        key: bool,
    ) -> Result<u64, String> {
        if self.current.as_ref().is_none_or(|(e, ..)| e != entry) {
            let (_, ps) = ParameterSets::from_sample_entry(entry)
                .map_err(|e| format!("the stream cannot be sent: {e}"))?;
            self.current = Some((entry.to_vec(), ps.nals, ps.nal_length_size));
        }
        let (_, sets, nal_len) = self.current.as_ref().expect("set above");
        let mut nals: Vec<&[u8]> = Vec::new();
        if key {
            nals.extend(sets.iter().map(Vec::as_slice));
            nals.push(&self.mark);
        }
        nals.extend(
            length_prefixed_nals(data, *nal_len)
                .map_err(|e| format!("a recorded access unit is malformed: {e}"))?,
        );
        let packets = self.packer.packets(&nals, pts);
        let mut n = 0u64;
        match &mut self.path {
            OutPath::Interleaved { write, channel } => {
                self.buf.clear();
                for p in &packets {
                    message::interleaved(*channel, p, &mut self.buf);
                }
                let mut w = write.lock().await;
                w.write_all(&self.buf)
                    .await
                    .map_err(|e| format!("the client's connection failed: {e}"))?;
                n = self.buf.len() as u64;
            }
            OutPath::Udp { socket, to } => {
                for p in &packets {
                    socket
                        .send_to(p, *to)
                        .await
                        .map_err(|e| format!("the client's UDP path failed: {e}"))?;
                    n += p.len() as u64;
                }
            }
        }
        Ok(n)
    }
}

/// How to watch under one of the user's grants with an RTSP client.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RtspAccess {
    /// The digest user name: the user's own.
    pub username: String,
    /// The grant's password (digest): it opens this grant only, and dies with it.
    pub password: String,
    pub realm: String,
    /// A live URL for each camera the grant lets the user watch live (none when the
    /// grant has no live viewing).
    pub live: Vec<String>,
    /// The recorded streams' URL pattern: `{camera}` and RFC 3339 `{start}`/`{end}`
    /// (the `+` of an offset sent as `%2B`) filled in.
    pub recorded: Option<String>,
}

/// The RTSP URLs and the password of the user's access under grant `id`. Refused for
/// a grant that is not the user's or not active (404), for a view-only grant (403:
/// RTSP sends the camera's own bytes), and when the re-stream is not served (404).
#[utoipa::path(get, path = "/api/grants/{id}/rtsp", params(("id" = i64, Path,)),
    responses((status = 200, body = RtspAccess), (status = 404), (status = 403)))]
pub async fn grant_access(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: crate::auth::AuthUser,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    use axum::http::StatusCode;
    let Some(rtsp) = state.rtsp.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "rtsp_off",
            "the RTSP re-stream is not served here ([rtsp] bind in the configuration)",
        ));
    };
    let now = state.clocks.realtime();
    let user_id = user.user_id;
    let (row, cameras) = state
        .db
        .run(move |ix| {
            use vidimus_store::MetadataStore;
            let row = ix
                .active_grants_for(user_id, now)?
                .into_iter()
                .find(|r| r.grant.as_ref().is_some_and(|g| g.id == id));
            let cameras: Vec<i64> = ix.cameras(false)?.into_iter().map(|c| c.id).collect();
            Ok((row, cameras))
        })
        .await?;
    let Some(row) = row else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "grant_not_found",
            format!("grant {id} is not an active grant of yours"),
        ));
    };
    if crate::grants::view_only(&row.kind, &row.actions) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "view_only",
            "a view-only grant is watched in the console, watermarked; RTSP would send the camera's own bytes",
        ));
    }
    let granted: Vec<i64> = if row.cameras.is_empty() {
        cameras
    } else {
        row.cameras.clone()
    };
    let live = if row.live || row.actions.iter().any(|a| a == "view_live") {
        granted
            .iter()
            .map(|c| format!("{}/cameras/{c}/live", rtsp.url))
            .collect()
    } else {
        Vec::new()
    };
    let recorded = row.actions.iter().any(|a| a == "view_recorded").then(|| {
        format!(
            "{}/cameras/{{camera}}/recorded?start={{start}}&end={{end}}",
            rtsp.url
        )
    });
    let body = axum::Json(RtspAccess {
        username: user.username.clone(),
        password: rtsp.passwords.password(user.user_id, id),
        realm: rtsp.realm.clone(),
        live,
        recorded,
    });
    tracing::info!(user = %user.username, grant = id, "rtsp: a grant's password was shown to its holder");
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_answers_are_written_ten_a_minute_per_address_and_the_rest_counted() {
        let r = Rtsp::new("Vidimus", "rtsp://127.0.0.1:8555", [7; 32]);
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let written = (0..25)
            .filter(|_| r.register_failure(a, t0).is_some())
            .count();
        assert_eq!(written, REGISTERED_FAILURES_PER_MINUTE as usize);
        // One IPv6 /64 is one address.
        let v6 = (0..12)
            .filter(|i| {
                let ip = if i % 2 == 0 { v6a } else { v6b };
                r.register_failure(ip, t0).is_some()
            })
            .count();
        assert_eq!(v6, REGISTERED_FAILURES_PER_MINUTE as usize);
        assert!(r.take_unregistered(t0 + Duration::from_secs(30)).is_empty());
        let mut left = r.take_unregistered(t0 + Duration::from_secs(61));
        left.sort();
        assert_eq!(
            left,
            vec![(a, 15), ("2001:db8:1:2::".parse().unwrap(), 2)],
            "every unwritten one counted, once"
        );
        assert!(
            r.take_unregistered(t0 + Duration::from_secs(200))
                .is_empty()
        );
    }

    #[test]
    fn the_key_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let k = Rtsp::load_key(dir.path()).unwrap();
        assert_eq!(Rtsp::load_key(dir.path()).unwrap(), k);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("rtsp-grant.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join("rtsp-grant.key"), b"short").unwrap();
        assert!(Rtsp::load_key(dir.path()).is_err());
    }
}
