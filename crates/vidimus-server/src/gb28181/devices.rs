//! GB/T 28181 devices registered with this platform (issue 14, item 2): cameras and
//! NVRs configured with an account (`[[gb28181.device]]`) register on the platform's
//! SIP socket, challenged with digest (`vidimus-gb28181::registrar`), and keep alive;
//! their state, counters and latest log lines are kept for `/metrics` and
//! `GET /api/gb28181/devices`.
//!
//! Recording them (catalog, live INVITE, the PS stream into segments) is the next part
//! of this item; here a device is known, authenticated and watched.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use vidimus_gb28181::registrar::{DeviceAccount, DeviceEvent, Registrar, RegistrarConfig};
use vidimus_gb28181::sip::Request;

use super::LogLine;
use crate::AppState;

/// Lines of a device's log kept.
const LOG_LINES: usize = 50;

/// A device allowed to register.
#[derive(Clone, Debug)]
pub struct DeviceLink {
    /// A name for the console, logs and metrics.
    pub name: String,
    pub account: DeviceAccount,
}

/// A device's state, for the console and metrics.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeviceStatus {
    pub name: String,
    pub id: String,
    /// Registered and keeping alive.
    pub online: bool,
    /// Where it is reached (its `Contact`), while online.
    pub contact: Option<String>,
    pub registrations: u64,
    pub keepalives: u64,
    /// Requests refused in its name (wrong password, not registered, …).
    pub refused: u64,
    /// The latest events, newest last.
    #[schema(value_type = Vec<LogLine>)]
    pub log: VecDeque<LogLine>,
}

/// Every device's status.
#[derive(Clone, Default)]
pub struct Devices(Arc<Mutex<Vec<DeviceStatus>>>);

impl Devices {
    pub fn snapshot(&self) -> Vec<DeviceStatus> {
        self.0.lock().expect("devices lock").clone()
    }

    /// The devices' metrics, Prometheus text.
    pub fn prometheus(&self, out: &mut String) {
        let devices = self.snapshot();
        if devices.is_empty() {
            return;
        }
        let gauge: [Metric; 4] = [
            (
                "device_online",
                "gauge",
                "Whether the GB/T 28181 device is registered and keeping alive.",
                |d| u64::from(d.online),
            ),
            (
                "device_registrations_total",
                "counter",
                "Registrations of the device accepted.",
                |d| d.registrations,
            ),
            (
                "device_keepalives_total",
                "counter",
                "Keepalives of the device answered.",
                |d| d.keepalives,
            ),
            (
                "device_refused_total",
                "counter",
                "Requests refused in the device's name.",
                |d| d.refused,
            ),
        ];
        for (name, kind, help, get) in gauge {
            out.push_str(&format!(
                "# HELP vidimus_gb28181_{name} {help}\n# TYPE vidimus_gb28181_{name} {kind}\n"
            ));
            for d in &devices {
                out.push_str(&format!(
                    "vidimus_gb28181_{name}{{device=\"{}\"}} {}\n",
                    super::label(&d.name),
                    get(d)
                ));
            }
        }
    }
}

/// A metric's name, kind, help and value.
type Metric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&DeviceStatus) -> u64,
);

/// The registered devices, at the socket's edge.
pub(super) struct DeviceSide {
    registrar: Registrar,
    devices: Vec<DeviceLink>,
    status: Devices,
    tz: jiff::tz::TimeZone,
}

impl DeviceSide {
    pub(super) fn new(state: &AppState, realm: &str, devices: Vec<DeviceLink>) -> Self {
        let registrar = Registrar::new(
            RegistrarConfig {
                realm: realm.to_owned(),
                ..RegistrarConfig::default()
            },
            devices.iter().map(|d| d.account.clone()).collect(),
            vidimus_access::digest::NonceMint::random(),
        );
        *state.gb28181_devices.0.lock().expect("devices lock") = devices
            .iter()
            .map(|d| DeviceStatus {
                name: d.name.clone(),
                id: d.account.id.to_string(),
                online: false,
                contact: None,
                registrations: 0,
                keepalives: 0,
                refused: 0,
                log: VecDeque::new(),
            })
            .collect();
        DeviceSide {
            registrar,
            devices,
            status: state.gb28181_devices.clone(),
            tz: jiff::tz::TimeZone::get(&state.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
        }
    }

    /// Whether a request is a device's to answer: any REGISTER (superiors never
    /// register with their lower platform), or a MESSAGE in a configured device's name.
    pub(super) fn is_for_devices(&self, r: &Request) -> bool {
        use vidimus_gb28181::sip::Method;
        match r.method {
            Method::Register => true,
            Method::Message => {
                let claimed = r.from().ok().and_then(|f| f.uri.user).unwrap_or_default();
                self.devices
                    .iter()
                    .any(|d| d.account.id.as_str() == claimed)
            }
            _ => false,
        }
    }

    /// The answer to a device's request, if it is one this side answers.
    pub(super) fn receive(
        &mut self,
        r: &Request,
        from: std::net::SocketAddr,
        now_ms: u64,
    ) -> Option<Vec<u8>> {
        // Devices set their clocks from `Date`: the site's local time.
        let date = jiff::Timestamp::now()
            .to_zoned(self.tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string();
        let mut events = Vec::new();
        let answer = self
            .registrar
            .receive(r, &from.to_string(), now_ms, &date, &mut events);
        self.record(events);
        answer.map(|a| a.to_bytes())
    }

    pub(super) fn poll(&mut self, now_ms: u64) {
        let mut events = Vec::new();
        self.registrar.poll(now_ms, &mut events);
        self.record(events);
    }

    fn record(&self, events: Vec<DeviceEvent>) {
        if events.is_empty() {
            return;
        }
        let mut all = self.status.0.lock().expect("devices lock");
        for e in events {
            let (id, what) = match &e {
                DeviceEvent::Registered {
                    id,
                    contact,
                    expires,
                } => (id, format!("registered from {contact} for {expires} s")),
                DeviceEvent::Unregistered { id } => (id, "unregistered".to_owned()),
                DeviceEvent::Keepalive { id } => (id, String::new()),
                DeviceEvent::Offline { id, why } => (id, format!("offline: {why}")),
                DeviceEvent::Refused { claimed, why } => (claimed, format!("refused: {why}")),
            };
            let Some(d) = all.iter_mut().find(|d| d.id == *id) else {
                // (Not a warning: anyone can send these, as fast as they like.)
                tracing::debug!(claimed = %id, %what, "gb28181: a request from no configured device");
                continue;
            };
            match e {
                DeviceEvent::Registered { contact, .. } => {
                    d.online = true;
                    d.contact = Some(contact);
                    d.registrations += 1;
                }
                DeviceEvent::Unregistered { .. } | DeviceEvent::Offline { .. } => {
                    d.online = false;
                    d.contact = None;
                }
                DeviceEvent::Keepalive { .. } => d.keepalives += 1,
                DeviceEvent::Refused { .. } => d.refused += 1,
            }
            if !what.is_empty() {
                tracing::info!(device = %d.name, "gb28181: {what}");
                if d.log.len() >= LOG_LINES {
                    d.log.pop_front();
                }
                d.log.push_back(LogLine {
                    at: jiff::Timestamp::now().to_string(),
                    what,
                });
            }
        }
    }
}

/// The GB/T 28181 devices configured to register here: online, where, counters, the
/// latest of their log. For the system manager's administrators only.
#[utoipa::path(get, path = "/api/gb28181/devices", responses(
    (status = 200, body = [DeviceStatus]), (status = 401, body = crate::error::ErrorBody),
    (status = 403, body = crate::error::ErrorBody)))]
pub async fn devices(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: crate::auth::AuthUser,
) -> Result<axum::Json<Vec<DeviceStatus>>, crate::error::ApiError> {
    if !crate::status::may_act(&state, &user).await? {
        return Err(crate::error::ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "the GB/T 28181 devices are shown to the system manager's administrators",
        ));
    }
    Ok(axum::Json(state.gb28181_devices.snapshot()))
}
