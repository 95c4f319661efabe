//! GB/T 28181 links up to superior platforms (Art. 21: the interface for shared
//! networking; issue 14): the UDP transport of `vidimus_gb28181::cascade::Link`, one
//! socket for every superior, and the answers to their queries from the index —
//! the catalog of the cameras shared with each (configuration, per superior), device
//! information and status, and `RecordInfo` from the recorded segments.
//!
//! Each link's state, counters and a short log of what happened on it are kept in
//! [`Links`], for `/metrics` and the console. Passwords are never logged. Media
//! sessions (`INVITE`) are not offered yet: they are answered `488`, and said so in
//! the link's log.

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
}

/// The cascade's configuration.
#[derive(Clone, Debug)]
pub struct CascadeConfig {
    /// The local SIP socket.
    pub bind: SocketAddr,
    pub superiors: Vec<SuperiorLink>,
}

/// A link's status as shown.
#[derive(Clone, Debug, serde::Serialize)]
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
    /// The latest events, newest last: `(unix ms, what)`.
    pub log: VecDeque<(i64, String)>,
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

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
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
    for (i, s) in cfg.superiors.iter().enumerate() {
        let addr = tokio::net::lookup_host(&s.link.superior_addr)
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::other(format!("{}: no address", s.link.superior_addr))
            })?;
        links.push((
            s.clone(),
            Link::new(s.link.clone(), &format!("{salt}{i}")),
            addr,
        ));
    }
    {
        let mut shown = state.gb28181.0.lock().expect("links lock");
        *shown = links
            .iter()
            .map(|(s, l, _)| status_of(s, l, ms(), VecDeque::new()))
            .collect();
    }
    let tz = TimeZone::get(&state.time_zone).unwrap_or(TimeZone::UTC);
    tokio::pin!(stop);
    let mut buf = vec![0u8; 65_536];
    loop {
        // Timers.
        for (i, (s, link, addr)) in links.iter_mut().enumerate() {
            let mut events = Vec::new();
            for bytes in link.poll(ms(), &mut events) {
                let _ = socket.send_to(&bytes, *addr).await;
            }
            handle(&state, &socket, i, s, link, *addr, events, &tz, ms()).await;
        }
        let wake = links
            .iter()
            .filter_map(|(_, l, _)| l.next_wake())
            .min()
            .unwrap_or(ms() + 1000);
        let sleep = Duration::from_millis(wake.saturating_sub(ms()).clamp(1, 1000));
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(sleep) => {}
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let data = &buf[..n];
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
                handle(&state, &socket, i, s, link, *addr, events, &tz, ms()).await;
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

fn status_of(s: &SuperiorLink, l: &Link, now: u64, log: VecDeque<(i64, String)>) -> LinkStatus {
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
        l.log.push_back((now_ms(), what));
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
        .filter(|c| names.contains(&c.name))
        .map(|c| (channel_id(&local, c.id), c.id, c.name))
        .collect())
}

/// A camera's channel code: this platform's code with type 132 (an IP camera) and the
/// camera's id as the serial number.
pub fn channel_id(local: &GbId, camera: CameraId) -> GbId {
    local.with_type(132).with_serial(camera as u32)
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    state: &AppState,
    socket: &tokio::net::UdpSocket,
    i: usize,
    s: &SuperiorLink,
    link: &mut Link,
    addr: SocketAddr,
    events: Vec<Event>,
    tz: &TimeZone,
    now: u64,
) {
    for e in events {
        match e {
            Event::StateChanged(st) => log(state, i, format!("link {st:?}")),
            Event::KeepaliveAnswered => {}
            Event::Refused { from, host } => log(
                state,
                i,
                format!("refused a request from {from:?} at {host}: not the superior"),
            ),
            Event::Request(r) => {
                let what = r.method.to_string();
                if what != "ACK" {
                    let tag = format!("n{now}");
                    let resp = r.response(488, "Not Acceptable Here", Some(&tag));
                    let _ = socket.send_to(&resp.to_bytes(), addr).await;
                    log(
                        state,
                        i,
                        format!("{what} answered 488: media sessions are not offered yet"),
                    );
                }
            }
            Event::Query {
                sn,
                device_id,
                command,
                charset,
            } => {
                let bodies = match answer(state, s, sn, &device_id, &command, tz).await {
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
                    let _ = socket.send_to(&bytes, addr).await;
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
            let (f, t) = (
                Wall90k::from_unix_millis(from.as_millisecond()),
                Wall90k::from_unix_millis(to.as_millisecond()),
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
