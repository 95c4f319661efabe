//! GB/T 28181 links up to superior platforms (Art. 21: the interface for shared
//! networking; issue 14): the UDP transport of `vidimus_gb28181::cascade::Link`, one
//! socket for every superior, and the answers to their queries from the index —
//! the catalog of the cameras shared with each (configuration, per superior), device
//! information and status, and `RecordInfo` from the recorded segments.
//!
//! Each link's state, counters and a short log of what happened on it are kept in
//! [`Links`], for `/metrics` and the console. Passwords are never logged.
//!
//! A live `INVITE` for a shared channel is an access like any other: decided by the
//! access policy under the grants of the account configured for that superior,
//! registered before the first byte with where the media goes, watched (a revoked or
//! expired grant ends it with a BYE), and registered again at its end with its length
//! and bytes ([`media`] sends it). Playback and download sessions are not offered yet
//! (488).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use vidimus_core::camera::CameraId;
use vidimus_core::time::Wall90k;
use vidimus_gb28181::cascade::{Event, Link, LinkConfig, LinkState, LinkStats};
use vidimus_gb28181::id::GbId;
use vidimus_gb28181::manscdp::{
    CatalogItem, CatalogPage, Command, DeviceInfo, DeviceStatus, GbTime, RecordItem, RecordPage,
};
use vidimus_store::MetadataStore;

use crate::AppState;

pub mod devices;
mod media;

/// A session's key: the link and the dialog (Call-ID and the superior's tag).
type SessionKey = (usize, String);

/// A live session of a superior's: answered, waiting for the ACK, then streaming.
struct Session {
    dialog: vidimus_gb28181::cascade::Dialog,
    /// What the ACK starts; taken when it comes.
    start: Option<Start>,
    /// Ends the streaming, with why (the superior's BYE).
    bye: Option<tokio::sync::oneshot::Sender<&'static str>>,
    /// A recorded session's MANSRTSP state (none for live sessions).
    control: Option<tokio::sync::watch::Sender<crate::relay::Control>>,
    /// The channel's code (MediaStatus names it).
    channel: String,
    answered_at: u64,
}

enum Start {
    Live {
        path: media::Path,
        sub: vidimus_recorder::live::LiveSubscription,
        ssrc: u32,
        handout: crate::handout::Handout,
        end: crate::grants::LiveEnd,
    },
    Recorded {
        path: media::Path,
        prepared: Box<vidimus_store::export::PreparedExport>,
        ssrc: u32,
        speed: f64,
        handout: crate::handout::Handout,
        end: crate::grants::LiveEnd,
        control: tokio::sync::watch::Receiver<crate::relay::Control>,
    },
}

/// What the event handler works with.
struct Ctx<'a> {
    state: &'a AppState,
    socket: &'a tokio::net::UdpSocket,
    tz: &'a TimeZone,
    /// Sessions by link and dialog (Call-ID and the superior's tag).
    sessions: &'a mut std::collections::HashMap<SessionKey, Session>,
    /// Media tasks say here that they ended, and whether with the whole range sent.
    ended: &'a tokio::sync::mpsc::UnboundedSender<(SessionKey, bool)>,
    /// The address media is sent from.
    media_ip: std::net::IpAddr,
    /// The address the SDP answers name.
    media_advertised: std::net::IpAddr,
    /// The media tasks, waited for at shutdown (their ends are registered).
    tasks: &'a mut tokio::task::JoinSet<()>,
    /// When a refusal was last logged, per link.
    refusal_logged: &'a mut std::collections::HashMap<usize, u64>,
}

/// An INVITE answered without an ACK this long is dropped (64·T1).
const ACK_WITHIN_MS: u64 = 32_000;
/// Sessions answered but not yet confirmed (ACK) per superior at most.
const MAX_UNCONFIRMED: usize = 4;
/// Sessions per superior at most.
const MAX_SESSIONS: usize = 32;
/// The longest RecordInfo range answered (longer ones are cut to it).
const MAX_RECORD_RANGE_MS: i64 = 31 * 86_400_000;

/// Catalog items per MESSAGE (UDP datagrams stay well under 8 KiB).
const CATALOG_PAGE: usize = 4;
/// Recordings per MESSAGE.
const RECORD_PAGE: usize = 8;
/// Recordings listed at most for one query.
const MAX_RECORDS: usize = 1000;
/// Lines of a link's log kept.
const LOG_LINES: usize = 50;

/// A superior and the cameras shared with it.
#[derive(Clone, Debug)]
pub struct SuperiorLink {
    /// A name for the console and metrics.
    pub name: String,
    pub link: LinkConfig,
    /// Names of the cameras shared; only these are in its catalog.
    pub cameras: Vec<String>,
    /// The account the superior's media sessions are decided and registered under
    /// (its grants); `None`: sessions are refused.
    pub user: Option<String>,
    /// Addresses besides the superior's own that media may be sent to (its media
    /// servers).
    pub media_hosts: Vec<std::net::IpAddr>,
}

/// The cascade's configuration.
#[derive(Clone, Debug)]
pub struct CascadeConfig {
    /// The local SIP socket.
    pub bind: SocketAddr,
    pub superiors: Vec<SuperiorLink>,
    /// The devices that register here.
    pub devices: Vec<devices::DeviceLink>,
    /// The realm devices are challenged in (this platform's domain).
    pub realm: String,
}

pub use devices::DeviceLink;

/// One line of a link's log.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// RFC 3339, UTC.
    pub at: String,
    pub what: String,
}

/// A link's status as shown.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LinkStatus {
    pub name: String,
    pub superior_id: String,
    pub superior_addr: String,
    pub state: String,
    pub registered: bool,
    pub shared_cameras: usize,
    pub registrations: u64,
    pub registration_failures: u64,
    pub keepalives_sent: u64,
    pub keepalives_answered: u64,
    pub keepalives_missed: u64,
    pub queries: u64,
    pub refused: u64,
    pub retransmissions: u64,
    /// Seconds since the last answered keepalive.
    pub last_keepalive_age_s: Option<u64>,
    pub last_error: Option<String>,
    /// The latest events, newest last.
    #[schema(value_type = Vec<LogLine>)]
    pub log: VecDeque<LogLine>,
}

/// Every link's status.
#[derive(Clone, Default)]
pub struct Links(Arc<Mutex<Vec<LinkStatus>>>);

impl Links {
    pub fn snapshot(&self) -> Vec<LinkStatus> {
        self.0.lock().expect("links lock").clone()
    }

    /// The links' metrics, Prometheus text.
    pub fn prometheus(&self, out: &mut String) {
        let links = self.snapshot();
        if links.is_empty() {
            return;
        }
        out.push_str("# HELP vidimus_gb28181_registered Whether the link to a superior platform is registered.\n# TYPE vidimus_gb28181_registered gauge\n");
        for l in &links {
            out.push_str(&format!(
                "vidimus_gb28181_registered{{superior=\"{}\"}} {}\n",
                label(&l.name),
                u8::from(l.registered)
            ));
        }
        let counters: [Counter; 6] = [
            ("registrations", "Registrations accepted.", |l| {
                l.registrations
            }),
            ("registration_failures", "Registrations that failed.", |l| {
                l.registration_failures
            }),
            (
                "keepalives_answered",
                "Keepalives the superior answered.",
                |l| l.keepalives_answered,
            ),
            (
                "keepalives_missed",
                "Keepalives unanswered or refused.",
                |l| l.keepalives_missed,
            ),
            ("queries", "Queries from the superior.", |l| l.queries),
            ("refused", "Requests refused: not from the superior.", |l| {
                l.refused
            }),
        ];
        for (name, help, get) in counters {
            out.push_str(&format!(
                "# HELP vidimus_gb28181_{name}_total {help}\n# TYPE vidimus_gb28181_{name}_total counter\n"
            ));
            for l in &links {
                out.push_str(&format!(
                    "vidimus_gb28181_{name}_total{{superior=\"{}\"}} {}\n",
                    label(&l.name),
                    get(l)
                ));
            }
        }
    }

    fn update(&self, i: usize, f: impl FnOnce(&mut LinkStatus)) {
        if let Some(l) = self.0.lock().expect("links lock").get_mut(i) {
            f(l);
        }
    }
}

/// A counter's name, help and value.
type Counter = (&'static str, &'static str, fn(&LinkStatus) -> u64);

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

/// The links to superior platforms: state, counters and the latest of their log.
/// For the system manager's administrators only.
#[utoipa::path(get, path = "/api/gb28181/links", responses(
    (status = 200, body = [LinkStatus]), (status = 401, body = crate::error::ErrorBody),
    (status = 403, body = crate::error::ErrorBody)))]
pub async fn links(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: crate::auth::AuthUser,
) -> Result<axum::Json<Vec<LinkStatus>>, crate::error::ApiError> {
    if !crate::status::may_act(&state, &user).await? {
        return Err(crate::error::ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "the GB/T 28181 links are shown to the system manager's administrators",
        ));
    }
    Ok(axum::Json(state.gb28181.snapshot()))
}

/// Runs every link on one socket until `stop` resolves, then unregisters.
pub async fn run(
    state: AppState,
    cfg: CascadeConfig,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let socket = tokio::net::UdpSocket::bind(cfg.bind).await?;
    let started = Instant::now();
    let ms = move || started.elapsed().as_millis() as u64;
    let salt = vidimus_access::token::new_token()[..10].to_owned();
    let mut links: Vec<(SuperiorLink, Link, SocketAddr)> = Vec::new();
    for s in &cfg.superiors {
        // A superior whose address does not resolve is left out (and said so); the
        // others go on.
        let addr = match tokio::net::lookup_host(&s.link.superior_addr).await {
            Ok(mut a) => a.next(),
            Err(e) => {
                tracing::error!(superior = %s.name, address = %s.link.superior_addr, "gb28181: the superior's address does not resolve: {e}");
                None
            }
        };
        let Some(addr) = addr else { continue };
        let i = links.len();
        let mut link = Link::new(s.link.clone(), &format!("{salt}{i}"));
        link.set_superior_ip(addr.ip());
        links.push((s.clone(), link, addr));
    }
    {
        let mut shown = state.gb28181.0.lock().expect("links lock");
        *shown = links
            .iter()
            .map(|(s, l, _)| status_of(s, l, ms(), VecDeque::new()))
            .collect();
    }
    let mut device_side = (!cfg.devices.is_empty())
        .then(|| devices::DeviceSide::new(&state, &cfg.realm, cfg.devices.clone()));
    let tz = TimeZone::get(&state.time_zone).unwrap_or(TimeZone::UTC);
    let mut sessions = std::collections::HashMap::new();
    let (ended_tx, mut ended_rx) = tokio::sync::mpsc::unbounded_channel::<(SessionKey, bool)>();
    // Media is sent from the SIP socket's address (any, if it listens on all); the
    // address the answers name is the one superiors reach this platform at.
    let media_ip = cfg.bind.ip();
    let media_advertised: std::net::IpAddr = cfg
        .superiors
        .first()
        .and_then(|s| s.link.local_addr.rsplit_once(':'))
        .and_then(|(h, _)| h.trim_matches(['[', ']']).parse().ok())
        .unwrap_or(media_ip);
    let mut tasks = tokio::task::JoinSet::new();
    let mut refusal_logged = std::collections::HashMap::new();
    tokio::pin!(stop);
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut ctx = Ctx {
            state: &state,
            socket: &socket,
            tz: &tz,
            sessions: &mut sessions,
            ended: &ended_tx,
            media_ip,
            media_advertised,
            tasks: &mut tasks,
            refusal_logged: &mut refusal_logged,
        };
        // Timers.
        for (i, (s, link, addr)) in links.iter_mut().enumerate() {
            let mut events = Vec::new();
            for bytes in link.poll(ms(), &mut events) {
                let _ = socket.send_to(&bytes, *addr).await;
            }
            handle(&mut ctx, i, s, link, *addr, events, ms()).await;
        }
        if let Some(d) = device_side.as_mut() {
            d.poll(ms());
        }
        // Sessions answered but never confirmed: dropped (their ends are registered
        // as not opened).
        let now = ms();
        ctx.sessions
            .retain(|_, v| v.start.is_none() || now < v.answered_at + ACK_WITHIN_MS);
        let wake = links
            .iter()
            .filter_map(|(_, l, _)| l.next_wake())
            .min()
            .unwrap_or(ms() + 1000);
        let sleep = Duration::from_millis(wake.saturating_sub(ms()).clamp(1, 1000));
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(sleep) => {}
            Some((key, completed)) = ended_rx.recv() => {
                let i = key.0;
                let Some((s, link, addr)) = links.get_mut(i) else { continue };
                if completed {
                    // A recording sent whole: the superior is told (NotifyType 121)
                    // and ends the session itself.
                    if let Some(session) = ctx.sessions.get(&key) {
                        let sn = link.next_sn();
                        let body = vidimus_gb28181::manscdp::media_status_end(sn, &session.channel);
                        let bytes = link.message(&body, s.link.charset, ms());
                        let _ = socket.send_to(&bytes, *addr).await;
                        log(&state, i, "recording sent whole; told the superior (MediaStatus 121)".into());
                    }
                } else if let Some(mut session) = ctx.sessions.remove(&key) {
                    // Ended on this side (grant, camera): the superior is told BYE.
                    let bytes = link.bye(&mut session.dialog, ms());
                    let _ = socket.send_to(&bytes, *addr).await;
                }
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let data = &buf[..n];
                // A device's registration or keepalive: the registrar's.
                if let Some(d) = device_side.as_mut()
                    && let Ok(vidimus_gb28181::sip::Message::Request(req)) =
                        vidimus_gb28181::sip::Message::parse_datagram(data)
                    && d.is_for_devices(&req)
                {
                    if let Some(bytes) = d.receive(&req, from, ms()) {
                        let _ = socket.send_to(&bytes, from).await;
                    }
                    continue;
                }
                if links.is_empty() {
                    continue;
                }
                // The link of the superior this came from; a stranger is answered by
                // the first link (which refuses it and counts it).
                let i = links
                    .iter()
                    .position(|(_, _, a)| *a == from)
                    .or_else(|| links.iter().position(|(_, _, a)| a.ip() == from.ip()))
                    .unwrap_or(0);
                let Some((s, link, addr)) = links.get_mut(i) else { continue };
                let mut events = Vec::new();
                let host = from.ip().to_string();
                for bytes in link.receive(data, &host, ms(), &mut events) {
                    // Answers go back where the request came from (rport).
                    let _ = socket.send_to(&bytes, from).await;
                }
                handle(&mut ctx, i, s, link, *addr, events, ms()).await;
            }
        }
        for (i, (s, link, _)) in links.iter().enumerate() {
            let log = state
                .gb28181
                .0
                .lock()
                .expect("links lock")
                .get(i)
                .map(|l| l.log.clone())
                .unwrap_or_default();
            let st = status_of(s, link, ms(), log);
            state.gb28181.update(i, |l| *l = st);
        }
    }
    // Sessions end with the service: each is told BYE, and its end registered.
    for ((i, _), mut session) in sessions.drain() {
        if let Some(tx) = session.bye.take() {
            let _ = tx.send("the platform stopped");
        }
        if let Some((_, link, addr)) = links.get_mut(i) {
            let bytes = link.bye(&mut session.dialog, ms());
            let _ = socket.send_to(&bytes, *addr).await;
        }
    }
    // The media tasks register their ends; given a few seconds to.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    for (i, (_, link, addr)) in links.iter_mut().enumerate() {
        let bytes = link.close(ms());
        let _ = socket.send_to(&bytes, *addr).await;
        state.gb28181.update(i, |l| {
            l.state = "closed".into();
            l.registered = false;
        });
    }
    Ok(())
}

fn status_of(s: &SuperiorLink, l: &Link, now: u64, log: VecDeque<LogLine>) -> LinkStatus {
    let st: &LinkStats = l.stats();
    LinkStatus {
        name: s.name.clone(),
        superior_id: s.link.superior_id.to_string(),
        superior_addr: s.link.superior_addr.clone(),
        state: match l.state() {
            LinkState::Registering => "registering".into(),
            LinkState::Registered => "registered".into(),
            LinkState::Failed(why) => format!("failed: {why}"),
            LinkState::Closed => "closed".into(),
        },
        registered: *l.state() == LinkState::Registered,
        shared_cameras: s.cameras.len(),
        registrations: st.registrations,
        registration_failures: st.registration_failures,
        keepalives_sent: st.keepalives_sent,
        keepalives_answered: st.keepalives_answered,
        keepalives_missed: st.keepalives_missed,
        queries: st.queries,
        refused: st.refused,
        retransmissions: st.retransmissions,
        last_keepalive_age_s: st
            .last_keepalive_answered_at
            .map(|t| now.saturating_sub(t) / 1000),
        last_error: st.last_error.clone(),
        log,
    }
}

fn log(state: &AppState, i: usize, what: String) {
    tracing::info!(link = i, "gb28181: {what}");
    state.gb28181.update(i, |l| {
        if l.log.len() == LOG_LINES {
            l.log.pop_front();
        }
        l.log.push_back(LogLine {
            at: jiff::Timestamp::now()
                .round(jiff::Unit::Millisecond)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            what,
        });
    });
}

/// The cameras shared with a superior, with their channel codes.
async fn shared(
    state: &AppState,
    s: &SuperiorLink,
) -> Result<Vec<(GbId, CameraId, String)>, crate::error::ApiError> {
    let names = s.cameras.clone();
    let local = s.link.local_id;
    let cams = state.db.run(move |db| Ok(db.cameras(false)?)).await?;
    Ok(cams
        .into_iter()
        // Channel codes carry the camera's id in six digits.
        .filter(|c| names.contains(&c.name) && (0..1_000_000).contains(&c.id))
        .map(|c| (channel_id(&local, c.id), c.id, c.name))
        .collect())
}

/// A camera's channel code: this platform's code with type 132 (an IP camera) and the
/// camera's id as the serial number.
pub fn channel_id(local: &GbId, camera: CameraId) -> GbId {
    local.with_type(132).with_serial(camera as u32)
}

async fn handle(
    ctx: &mut Ctx<'_>,
    i: usize,
    s: &SuperiorLink,
    link: &mut Link,
    addr: SocketAddr,
    events: Vec<Event>,
    now: u64,
) {
    let state = ctx.state;
    for e in events {
        match e {
            Event::StateChanged(st) => {
                log(state, i, format!("link {st:?}"));
                if matches!(st, LinkState::Failed(_) | LinkState::Closed) {
                    // The superior is gone or forgot this platform: its sessions end
                    // (an unconfirmed one is dropped: its end registered "not opened").
                    let keys: Vec<SessionKey> = ctx
                        .sessions
                        .keys()
                        .filter(|(l, _)| *l == i)
                        .cloned()
                        .collect();
                    for k in keys {
                        if let Some(mut session) = ctx.sessions.remove(&k)
                            && let Some(tx) = session.bye.take()
                        {
                            let _ = tx.send("the link to the superior was lost");
                        }
                    }
                }
            }
            Event::KeepaliveAnswered => {}
            Event::AckTimeout {
                call_id,
                remote_tag,
            } => {
                // Its 200 was never acknowledged: the session is dropped (its end is
                // registered "not opened") and the superior told BYE.
                let key = (i, format!("{call_id};{remote_tag}"));
                if let Some(mut session) = ctx.sessions.remove(&key) {
                    let bytes = link.bye(&mut session.dialog, now);
                    let _ = ctx.socket.send_to(&bytes, addr).await;
                    log(
                        state,
                        i,
                        format!("session {call_id} never confirmed (no ACK): dropped"),
                    );
                }
            }
            Event::Refused { from, host } => {
                // Counted always (metrics); logged once in ten seconds at most.
                let last = ctx.refusal_logged.entry(i).or_insert(0);
                if *last == 0 || now.saturating_sub(*last) >= 10_000 {
                    *last = now.max(1);
                    log(
                        state,
                        i,
                        format!(
                            "refused a request from {from:?} at {host}: not the superior (further refusals counted in vidimus_gb28181_refused_total)"
                        ),
                    );
                }
            }
            Event::Request(r) => request(ctx, i, s, link, addr, r, now).await,
            Event::Query {
                sn,
                device_id,
                command,
                charset,
            } => {
                let bodies = match answer(state, s, sn, &device_id, &command, ctx.tz).await {
                    Ok(b) => b,
                    Err(e) => {
                        log(
                            state,
                            i,
                            format!("{} failed: {}", name_of(&command), e.message),
                        );
                        continue;
                    }
                };
                let n = bodies.len();
                for body in bodies {
                    // Answers go in the charset the query came in.
                    let bytes = link.message(&body, charset, now);
                    let _ = ctx.socket.send_to(&bytes, addr).await;
                }
                log(
                    state,
                    i,
                    format!("answered {} ({n} messages)", name_of(&command)),
                );
            }
        }
    }
}

/// The superior's INVITE, ACK, BYE, CANCEL and the rest.
async fn request(
    ctx: &mut Ctx<'_>,
    i: usize,
    s: &SuperiorLink,
    link: &mut Link,
    addr: SocketAddr,
    r: vidimus_gb28181::sip::Request,
    now: u64,
) {
    use vidimus_gb28181::sip::Method;
    let state = ctx.state;
    let Ok(call_id) = r.call_id().map(str::to_owned) else {
        return;
    };
    // Our tag: random, so no one who did not see our answer can speak in the dialog.
    let tag = vidimus_access::token::new_token()[..20].to_owned();
    let _ = now;
    // A dialog is its Call-ID and the superior's tag (RFC 3261 §12): two sessions may
    // share a Call-ID.
    let their_tag = r
        .from()
        .ok()
        .and_then(|f| f.tag().map(str::to_owned))
        .unwrap_or_default();
    let key = (i, format!("{call_id};{their_tag}"));
    // A request inside a dialog must carry our tag for it.
    let our_tag = r.to().ok().and_then(|t| t.tag().map(str::to_owned));
    let in_dialog = ctx
        .sessions
        .get(&key)
        .is_some_and(|s| our_tag.as_deref() == Some(s.dialog.local_tag.as_str()));
    if !matches!(r.method, Method::Invite) && !in_dialog {
        if !matches!(r.method, Method::Ack) {
            let bytes = link.answer(&r, 481, "Call/Transaction Does Not Exist", &tag, None);
            let _ = ctx.socket.send_to(&bytes, addr).await;
        }
        return;
    }
    match &r.method {
        Method::Invite if our_tag.is_some() || ctx.sessions.contains_key(&key) => {
            // A re-INVITE (or one for a dialog we hold): sessions are not changed.
            let bytes = link.answer(&r, 488, "Not Acceptable Here", &tag, None);
            let _ = ctx.socket.send_to(&bytes, addr).await;
            log(
                state,
                i,
                format!("re-INVITE in {call_id} answered 488: not offered"),
            );
        }
        Method::Invite => {
            let waiting = ctx
                .sessions
                .iter()
                .filter(|((l, _), v)| *l == i && v.start.is_some())
                .count();
            let open = ctx.sessions.keys().filter(|(l, _)| *l == i).count();
            if waiting >= MAX_UNCONFIRMED || open >= MAX_SESSIONS {
                let bytes = link.answer(&r, 486, "Busy Here", &tag, None);
                let _ = ctx.socket.send_to(&bytes, addr).await;
                log(
                    state,
                    i,
                    format!("INVITE answered 486: {open} sessions, {waiting} unconfirmed"),
                );
                return;
            }
            match invite(ctx, s, addr.ip(), &r, &tag).await {
                Ok((sdp, mut session)) => {
                    session.answered_at = now;
                    ctx.sessions.insert(key, session);
                    let bytes = link.answer_invite_ok(&r, &tag, sdp.into_bytes(), now);
                    let _ = ctx.socket.send_to(&bytes, addr).await;
                    log(state, i, format!("session {call_id} answered 200"));
                }
                Err((status, reason, why)) => {
                    let bytes = link.answer(&r, status, reason, &tag, None);
                    let _ = ctx.socket.send_to(&bytes, addr).await;
                    log(state, i, format!("INVITE answered {status}: {why}"));
                }
            }
        }
        Method::Ack => {
            let Some(session) = ctx.sessions.get_mut(&key) else {
                return;
            };
            let Some(start) = session.start.take() else {
                return; // a retransmitted ACK
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            session.bye = Some(tx);
            let ended = ctx.ended.clone();
            let name = s.name.clone();
            let files = state.files.clone();
            ctx.tasks.spawn(async move {
                let (bytes, why, completed) = match start {
                    Start::Live {
                        path,
                        sub,
                        ssrc,
                        handout,
                        end,
                    } => {
                        let (bytes, why) = match media::GbOut::open(path, ssrc).await {
                            Ok(mut out) => crate::relay::live(&mut out, sub, handout, rx).await,
                            Err(e) => (0, e),
                        };
                        end.finish(bytes, &why).await;
                        (bytes, why, false)
                    }
                    Start::Recorded {
                        path,
                        prepared,
                        ssrc,
                        speed,
                        handout,
                        end,
                        control,
                    } => {
                        let source = crate::relay::Recording {
                            prepared: *prepared,
                            files,
                            speed,
                        };
                        let e = match media::GbOut::open(path, ssrc).await {
                            Ok(mut out) => {
                                crate::relay::recorded(&mut out, source, handout, rx, control).await
                            }
                            Err(why) => crate::relay::Ended {
                                bytes: 0,
                                why,
                                completed: false,
                            },
                        };
                        end.finish(e.bytes, &e.why).await;
                        (e.bytes, e.why, e.completed)
                    }
                };
                tracing::info!(superior = %name, bytes, ended = %why, "gb28181: session ended");
                let _ = ended.send((key, completed));
            });
        }
        Method::Info => {
            let Some(control) = ctx.sessions.get(&key).and_then(|s| s.control.as_ref()) else {
                let bytes = link.answer(&r, 481, "Call/Transaction Does Not Exist", &tag, None);
                let _ = ctx.socket.send_to(&bytes, addr).await;
                return;
            };
            let (status, reason) = match vidimus_gb28181::mansrtsp::Control::parse(&r.body) {
                Ok(c) => {
                    control.send_modify(|st| match c {
                        vidimus_gb28181::mansrtsp::Control::Play { scale, from, .. } => {
                            st.paused = false;
                            if let Some(sc) = scale {
                                st.scale = sc;
                            }
                            if let Some(f) = from {
                                st.seek = f;
                                st.generation += 1;
                            }
                        }
                        vidimus_gb28181::mansrtsp::Control::Pause { .. } => st.paused = true,
                        vidimus_gb28181::mansrtsp::Control::Teardown { .. } => st.paused = true,
                    });
                    log(state, i, format!("playback {call_id}: {c:?}"));
                    (200, "OK")
                }
                Err(e) => {
                    log(
                        state,
                        i,
                        format!("playback {call_id}: unreadable MANSRTSP: {e}"),
                    );
                    (400, "Bad Request")
                }
            };
            let bytes = link.answer(&r, status, reason, &tag, None);
            let _ = ctx.socket.send_to(&bytes, addr).await;
        }
        Method::Bye => {
            let bytes = link.answer(&r, 200, "OK", &our_tag.clone().unwrap_or_default(), None);
            let _ = ctx.socket.send_to(&bytes, addr).await;
            if let Some(mut session) = ctx.sessions.remove(&key) {
                if let Some(tx) = session.bye.take() {
                    let _ = tx.send("the superior ended it (BYE)");
                }
                log(state, i, format!("session {call_id} ended by the superior"));
            }
        }
        Method::Cancel => {
            // Every INVITE is answered at once: a CANCEL finds it answered, and
            // changes nothing (RFC 3261 §9.2); the superior ends the session by BYE.
            let bytes = link.answer(&r, 200, "OK", &tag, None);
            let _ = ctx.socket.send_to(&bytes, addr).await;
        }
        ref other => {
            let bytes = link.answer(&r, 501, "Not Implemented", &tag, None);
            let _ = ctx.socket.send_to(&bytes, addr).await;
            log(state, i, format!("{other} answered 501: not offered yet"));
        }
    }
}

type Refusal = (u16, &'static str, String);

/// Whether media may go to `address` (the offer's `c=`): an IP address, neither
/// unspecified, multicast nor broadcast, and the superior's own or one of `allowed`.
fn media_destination_allowed(
    address: &str,
    superior: std::net::IpAddr,
    allowed: &[std::net::IpAddr],
) -> Result<(), String> {
    let ip: std::net::IpAddr = address
        .parse()
        .map_err(|_| format!("the offer's media address {address:?} is not an IP address"))?;
    let ip = ip.to_canonical();
    let odd = ip.is_unspecified()
        || ip.is_multicast()
        || matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
    if odd {
        return Err(format!("media is not sent to {ip}"));
    }
    if ip == superior.to_canonical() || allowed.iter().any(|a| a.to_canonical() == ip) {
        Ok(())
    } else {
        Err(format!(
            "media goes only to the superior ({superior}) or the addresses configured for it (media_hosts), not {ip}"
        ))
    }
}

/// Decides a live INVITE under the superior's account and its grants, registers it,
/// and prepares its media: the SDP answer and the session waiting for its ACK.
async fn invite(
    ctx: &mut Ctx<'_>,
    s: &SuperiorLink,
    superior_ip: std::net::IpAddr,
    r: &vidimus_gb28181::sip::Request,
    tag: &str,
) -> Result<(String, Session), Refusal> {
    use vidimus_gb28181::sdp::{MediaSdp, SessionKind, gb_ssrc};
    let state = ctx.state;
    let offer = MediaSdp::parse(&r.body)
        .map_err(|e| (400, "Bad Request", format!("the offer's SDP: {e}")))?;
    let dialog = vidimus_gb28181::cascade::Dialog::from_invite(r, tag)
        .map_err(|e| (400, "Bad Request", e.to_string()))?;
    // Media goes only to the superior's own address or one configured for it: an
    // INVITE cannot turn this platform into a stream aimed at anyone else.
    media_destination_allowed(&offer.address, superior_ip, &s.media_hosts)
        .map_err(|why| (488, "Not Acceptable Here", why))?;
    if offer.ps_payload().is_none() {
        return Err((
            488,
            "Not Acceptable Here",
            "the offer has no PS/90000 payload".into(),
        ));
    }
    let channel = vidimus_gb28181::sip::SipUri::parse(&r.uri)
        .ok()
        .and_then(|u| u.user)
        .unwrap_or_default();
    let shared = shared(state, s)
        .await
        .map_err(|e| (500, "Server Internal Error", e.message))?;
    let Some((channel_id, camera, _)) = shared
        .iter()
        .find(|(id, _, _)| id.as_str() == channel)
        .cloned()
    else {
        return Err((
            404,
            "Not Found",
            format!("{channel:?} is no channel shared with this superior"),
        ));
    };
    let Some(username) = s.user.clone() else {
        return Err((
            403,
            "Forbidden",
            "no account is configured for this superior ([[gb28181.superior]] user): its sessions have no grant to be decided under".into(),
        ));
    };
    let name = username.clone();
    let user = state
        .db
        .run(move |db| Ok(vidimus_store::users::AccessStore::user_by_name(db, &name)?))
        .await
        .map_err(|e| (500, "Server Internal Error", e.message))?
        .ok_or_else(|| {
            (
                403,
                "Forbidden",
                format!("the superior's account {username:?} does not exist"),
            )
        })?;
    let who = crate::auth::AuthUser::acting(user.id, &user.username, &user.role);
    let now = state.clocks.realtime();
    // What is asked: live; a recorded range to watch (playback); or to copy
    // (download: a reproduction, Art. 24(3), its whereabouts the superior).
    let (action, from, to) = match offer.kind {
        SessionKind::Play => (vidimus_access::request::Action::ViewLive, now, now),
        kind => {
            let (a, b) = offer.times;
            if a == 0 || b <= a || b - a > 86_400 {
                return Err((
                    400,
                    "Bad Request",
                    format!("the offer's t={a} {b} names no range of at most a day to play"),
                ));
            }
            let w = |secs: u64| Wall90k::from_unix_millis((secs as i64).saturating_mul(1000));
            let action = if kind == SessionKind::Download {
                vidimus_access::request::Action::Reproduce
            } else {
                vidimus_access::request::Action::ViewRecorded
            };
            (action, w(a), w(b))
        }
    };
    let whereabouts = crate::grants::Whereabouts {
        recipient: Some(s.name.clone()),
        medium: Some("GB/T 28181 download".into()),
        destination: Some(format!("platform {}", s.link.superior_id)),
    };
    let granted = crate::grants::authorize(
        state,
        &who,
        crate::grants::Ask {
            action,
            camera_id: camera,
            from,
            to,
            whereabouts: (offer.kind == SessionKind::Download).then_some(&whereabouts),
            grant_id: None,
            export_id: None,
        },
    )
    .await
    .map_err(|e| (403, "Forbidden", e.message))?
    .not_view_only(
        state,
        if offer.kind == SessionKind::Play {
            crate::grants::NotViewOnly::Live
        } else {
            crate::grants::NotViewOnly::File
        },
    )
    .await
    .map_err(|e| (403, "Forbidden", e.message))?;
    if granted.mask.is_some() {
        let e = granted
            .refuse_with(
                state,
                axum::http::StatusCode::CONFLICT,
                "privacy_masked",
                "the camera has privacy masks and GB/T 28181 sessions send the camera's own bytes: not sent (masked sessions are not built yet)",
            )
            .await;
        return Err((403, "Forbidden", e.message));
    }
    let mut granted = granted;
    let prepared = if offer.kind == SessionKind::Play {
        None
    } else {
        match crate::api::prepare_granted(state, camera, from, to, granted.within).await {
            Ok(p) => Some(p),
            Err(e) => {
                granted.register_failed(state, &e.message).await;
                return Err((404, "Not Found", e.message));
            }
        }
    };
    let (mut granted, handout) = granted
        .watch(state, false)
        .await
        .map_err(|e| (486, "Busy Here", e.message))?;
    let (path, transport, port) = match media::prepare(&offer, ctx.media_ip).await {
        Ok(p) => p,
        Err(e) => {
            granted.register_failed(state, &e.to_string()).await;
            return Err((488, "Not Acceptable Here", e.to_string()));
        }
    };
    // The SSRC the superior asked for, exactly (cascades drop streams whose SSRC
    // differs); the standard's if it asked none.
    let ssrc = offer.ssrc.unwrap_or_else(|| {
        gb_ssrc(
            SessionKind::Play,
            s.link.local_id.domain(),
            (camera % 10_000) as u16,
        )
    });
    let transport_name = match transport {
        vidimus_gb28181::sdp::Transport::Udp => "UDP",
        vidimus_gb28181::sdp::Transport::Tcp(vidimus_gb28181::sdp::Setup::Active) => "TCP active",
        vidimus_gb28181::sdp::Transport::Tcp(_) => "TCP passive",
    };
    let mut served = serde_json::json!({
        "protocol": "GB/T 28181", "session": offer.kind.as_str(), "superior": s.name,
        "superior_id": s.link.superior_id.to_string(), "channel": channel_id.to_string(),
        "media": format!("{}:{}", offer.address, offer.port),
        "transport": transport_name, "ssrc": format!("{ssrc:010}")});
    if let Some(p) = &prepared {
        served["frames"] = serde_json::json!(p.plan.samples);
    }
    granted
        .register(
            state,
            serde_json::json!({"outcome": "served", "served": served}),
        )
        .await
        .map_err(|e| (500, "Server Internal Error", e.message))?;
    let end = crate::grants::LiveEnd::new(state, granted);
    let mut control = None;
    let start = match prepared {
        None => Start::Live {
            path,
            sub: state.live.subscribe(camera),
            ssrc,
            handout,
            end,
        },
        Some(prepared) => {
            // (Kept for downloads too: MANSRTSP may pause one.)
            let (tx, rx) = tokio::sync::watch::channel(crate::relay::Control::default());
            control = Some(tx);
            Start::Recorded {
                path,
                prepared: Box::new(prepared),
                ssrc,
                // A download goes at the speed it asks for (at most 16 times); a
                // playback in real time, as its Scale says.
                speed: match offer.kind {
                    SessionKind::Download => {
                        f64::from(offer.download_speed.unwrap_or(1).clamp(1, 16))
                    }
                    _ => 1.0,
                },
                handout,
                end,
                control: rx,
            }
        }
    };
    let answer = MediaSdp {
        origin: channel_id.to_string(),
        kind: offer.kind,
        address: ctx.media_advertised.to_string(),
        port,
        transport,
        rtpmaps: vec![(96, "PS".into())],
        direction: Some("sendonly".into()),
        uri: offer.uri.clone(),
        times: offer.times,
        ssrc: Some(ssrc),
        download_speed: offer.download_speed,
        format: None,
    };
    Ok((
        answer.to_text(),
        Session {
            dialog,
            start: Some(start),
            bye: None,
            control,
            channel: channel_id.to_string(),
            answered_at: 0,
        },
    ))
}

fn name_of(c: &Command) -> &'static str {
    match c {
        Command::CatalogQuery => "Catalog",
        Command::DeviceInfoQuery => "DeviceInfo",
        Command::DeviceStatusQuery => "DeviceStatus",
        Command::RecordInfoQuery(_) => "RecordInfo",
        _ => "a notification",
    }
}

async fn answer(
    state: &AppState,
    s: &SuperiorLink,
    sn: u32,
    device_id: &str,
    command: &Command,
    tz: &TimeZone,
) -> Result<Vec<vidimus_gb28181::xml::Element>, crate::error::ApiError> {
    let local = s.link.local_id;
    let shared = shared(state, s).await?;
    Ok(match command {
        Command::CatalogQuery => {
            let items: Vec<CatalogItem> = shared
                .iter()
                .map(|(id, cam, name)| CatalogItem {
                    device_id: id.to_string(),
                    name: name.clone(),
                    manufacturer: Some("Vidimus".into()),
                    model: Some("Vidimus".into()),
                    owner: Some("Vidimus".into()),
                    civil_code: Some(local.as_str()[..6].to_owned()),
                    address: Some(name.clone()),
                    parental: false,
                    parent_id: Some(local.to_string()),
                    online: state.stats.all().iter().any(|(c, st)| {
                        c == cam && st.connected.load(std::sync::atomic::Ordering::Relaxed)
                    }),
                    longitude: None,
                    latitude: None,
                })
                .collect();
            CatalogPage::pages(sn, local.as_str(), &items, CATALOG_PAGE)
        }
        Command::DeviceInfoQuery => {
            let channel = shared.iter().find(|(id, _, _)| id.as_str() == device_id);
            let info = DeviceInfo {
                device_id: device_id.to_owned(),
                name: channel.map_or("Vidimus".into(), |(_, _, n)| n.clone()),
                manufacturer: "Vidimus".into(),
                model: "Vidimus".into(),
                firmware: env!("CARGO_PKG_VERSION").into(),
                channels: if channel.is_some() {
                    1
                } else {
                    shared.len() as u32
                },
            };
            vec![info.to_element(sn)]
        }
        Command::DeviceStatusQuery => {
            let status = DeviceStatus {
                device_id: device_id.to_owned(),
                online: true,
                recording: true,
                device_time: Some(GbTime::local(jiff::Timestamp::now(), tz)),
            };
            vec![status.to_element(sn, tz)]
        }
        Command::RecordInfoQuery(q) => {
            let Some((id, cam, name)) = shared
                .iter()
                .find(|(id, _, _)| id.as_str() == q.device_id)
                .cloned()
            else {
                // Not a channel shared with this superior: nothing recorded, as far
                // as it may know.
                return Ok(RecordPage::pages(
                    sn,
                    &q.device_id,
                    "",
                    &[],
                    RECORD_PAGE,
                    tz,
                ));
            };
            let (from, to) = (
                q.start
                    .to_timestamp(tz)
                    .map_err(|e| crate::error::ApiError::bad_request(e.to_string()))?,
                q.end
                    .to_timestamp(tz)
                    .map_err(|e| crate::error::ApiError::bad_request(e.to_string()))?,
            );
            // At most a month from its start: the index is not walked for years.
            let to_ms = to
                .as_millisecond()
                .min(from.as_millisecond().saturating_add(MAX_RECORD_RANGE_MS));
            let (f, t) = (
                Wall90k::from_unix_millis(from.as_millisecond()),
                Wall90k::from_unix_millis(to_ms),
            );
            let segs = state.db.run(move |db| Ok(db.segments(cam, f, t)?)).await?;
            let mut items: Vec<RecordItem> = Vec::new();
            // Segments that follow each other without a gap are one recording.
            let mut spans: Vec<(i64, i64, u64)> = Vec::new();
            for seg in &segs {
                match spans.last_mut() {
                    Some(last) if seg.start_90k <= last.1 + 90_000 => {
                        last.1 = last.1.max(seg.end_90k);
                        last.2 += seg.bytes.max(0) as u64;
                    }
                    _ => spans.push((seg.start_90k, seg.end_90k, seg.bytes.max(0) as u64)),
                }
            }
            for (a, b, bytes) in spans.into_iter().take(MAX_RECORDS) {
                let ts = |w: i64| {
                    jiff::Timestamp::from_millisecond(Wall90k(w).unix_millis())
                        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                };
                items.push(RecordItem {
                    device_id: id.to_string(),
                    name: name.clone(),
                    start: GbTime::local(ts(a), tz),
                    end: GbTime::local(ts(b), tz),
                    file_size: Some(bytes),
                });
            }
            RecordPage::pages(sn, id.as_str(), &name, &items, RECORD_PAGE, tz)
        }
        _ => Vec::new(),
    })
}
