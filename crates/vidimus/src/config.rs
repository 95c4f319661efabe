//! The TOML configuration file (reference: `docs/configuration.md`).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vidimus_core::camera::SourceUrl;
use vidimus_core::rulebook::Rulebook;
use vidimus_core::time::Duration90k;
use vidimus_recorder::RecorderConfig;
use vidimus_recorder::segmenter::SegmenterConfig;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the index and segment files live.
    pub data_dir: PathBuf,
    /// HTTP listen address (metrics, and later the API and console).
    #[serde(default = "default_bind")]
    pub bind: String,
    #[serde(default)]
    pub recorder: RecorderSection,
    /// A rulebook file to use instead of the compiled-in Shenzhen draft.
    #[serde(default)]
    pub rulebook: Option<PathBuf>,
    /// An access policy (Cedar) and its schema to use instead of the compiled-in ones.
    #[serde(default)]
    pub access: AccessSection,
    /// `[compliance]`: the regulation's effective date.
    #[serde(default)]
    pub compliance: ComplianceSection,
    /// `[integrity]`: where the log's signing key lives.
    #[serde(default)]
    pub integrity: IntegritySection,
    /// `[tls]`: HTTPS.
    #[serde(default)]
    pub tls: TlsSection,
    /// `[site]`: the site's time zone.
    #[serde(default)]
    pub site: SiteSection,
    /// `[publication]`: the anonymizer's weights (Art. 31).
    #[serde(default)]
    pub publication: PublicationSection,
    /// `[gb28181]`: links up to superior platforms over GB/T 28181 (Art. 21).
    #[serde(default)]
    pub gb28181: Gb28181Section,
    /// `[rtsp]`: the RTSP re-stream for standard clients (Art. 21).
    #[serde(default)]
    pub rtsp: RtspSection,
    #[serde(default, rename = "camera")]
    pub cameras: Vec<CameraSection>,
}

/// `[rtsp]`: the RTSP re-stream. Off unless `bind` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtspSection {
    /// The listen address (e.g. `0.0.0.0:8555`).
    pub bind: Option<String>,
    /// The URL clients are given (`rtsp://host:port`); default `rtsp://` + `bind`,
    /// which must then not be 0.0.0.0.
    pub url: Option<String>,
    /// The digest realm. Default `Vidimus`.
    pub realm: Option<String>,
}

impl RtspSection {
    /// The listen address and the URL clients are given; `None`: not served.
    pub fn endpoint(&self) -> anyhow::Result<Option<(std::net::SocketAddr, String)>> {
        let Some(bind) = &self.bind else {
            return Ok(None);
        };
        let addr: std::net::SocketAddr = bind
            .parse()
            .with_context(|| format!("[rtsp] bind {bind:?}: expected IP:port"))?;
        let url = match &self.url {
            Some(u) => {
                anyhow::ensure!(
                    u.starts_with("rtsp://") && !u.contains('?'),
                    "[rtsp] url {u:?}: expected rtsp://host:port"
                );
                u.trim_end_matches('/').to_owned()
            }
            None => {
                anyhow::ensure!(
                    !addr.ip().is_unspecified(),
                    "[rtsp] url: the address clients reach the re-stream at is needed when bind is {addr}"
                );
                format!("rtsp://{addr}")
            }
        };
        Ok(Some((addr, url)))
    }
}

/// `[gb28181]`: this platform as a lower platform of GB/T 28181 superiors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gb28181Section {
    /// This platform's 20-digit code (type 200: a SIP server).
    pub id: Option<String>,
    /// The local SIP socket (UDP). Default `0.0.0.0:5060`.
    pub sip_bind: Option<String>,
    /// `host:port` the superiors reach this platform at (Via and Contact; behind NAT
    /// the outside address). Default: `sip_bind`, which must then not be 0.0.0.0.
    pub sip_address: Option<String>,
    #[serde(default, rename = "superior")]
    pub superiors: Vec<SuperiorSection>,
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceSection>,
}

/// `[[gb28181.device]]`: a camera or NVR that speaks only GB/T 28181 and registers
/// with this platform.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSection {
    /// A name for the console, logs and metrics.
    pub name: String,
    /// The device's 20-digit code (its SIP user).
    pub id: String,
    /// The password it registers with; never logged.
    pub password: String,
}

impl std::fmt::Debug for DeviceSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSection")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// `[[gb28181.superior]]`: one superior platform and what is shared with it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuperiorSection {
    /// A name for the console, logs and metrics.
    pub name: String,
    /// The superior's 20-digit code.
    pub id: String,
    /// Its SIP domain; default the first ten digits of its code.
    pub realm: Option<String>,
    /// `host:port` of its SIP server.
    pub address: String,
    /// `udp` (TCP signalling is not built yet).
    #[serde(default = "default_sip_transport")]
    pub transport: String,
    /// The digest user name; default this platform's code.
    pub username: Option<String>,
    pub password: String,
    /// Registration lifetime asked for. Default 3600 s.
    #[serde(default = "default_expires", with = "humantime_serde_compat")]
    pub expires: Duration,
    #[serde(default = "default_keepalive", with = "humantime_serde_compat")]
    pub keepalive: Duration,
    /// Keepalives unanswered before the link is lost and registered again. Default 3.
    #[serde(default = "default_keepalive_misses")]
    pub keepalive_misses: u32,
    /// `GB2312` (read and written as GB18030; the standard's charset) or `UTF-8`, for
    /// what this platform sends of its own (answers go in the query's charset).
    #[serde(default = "default_charset")]
    pub charset: String,
    /// `2022` (X-GB-Ver 3.0) or `2016` (2.0).
    #[serde(default = "default_gb_version")]
    pub version: String,
    /// The names of the cameras shared with this superior (its catalog).
    #[serde(default)]
    pub cameras: Vec<String>,
    /// The Vidimus account (of the superior's organisation) whose grants decide its
    /// live sessions; each is registered under it. Without one, sessions are refused.
    pub user: Option<String>,
    /// IP addresses besides the superior's own that its INVITEs may send media to
    /// (its media servers). Default: none.
    #[serde(default)]
    pub media_hosts: Vec<String>,
}

fn default_sip_transport() -> String {
    "udp".into()
}
fn default_expires() -> Duration {
    Duration::from_secs(3600)
}
fn default_keepalive() -> Duration {
    Duration::from_secs(60)
}
fn default_keepalive_misses() -> u32 {
    3
}
fn default_charset() -> String {
    "GB2312".into()
}
fn default_gb_version() -> String {
    "2022".into()
}

impl Config {
    /// The GB/T 28181 cascade `[gb28181]` asks for, checked; `None` without superiors.
    pub fn cascade(&self) -> anyhow::Result<Option<vidimus_server::gb28181::CascadeConfig>> {
        use vidimus_gb28181::cascade::{LinkConfig, SipTransport};
        use vidimus_gb28181::id::GbId;
        use vidimus_gb28181::xml::Charset;
        let g = &self.gb28181;
        if g.superiors.is_empty() && g.devices.is_empty() {
            return Ok(None);
        }
        let id = g.id.as_deref().context(
            "[gb28181] id: this platform's 20-digit code is needed for superiors and devices",
        )?;
        let local_id = GbId::parse(id).context("[gb28181] id")?;
        let bind = g.sip_bind.clone().unwrap_or_else(|| "0.0.0.0:5060".into());
        let bind: std::net::SocketAddr = bind
            .parse()
            .with_context(|| format!("[gb28181] sip_bind {bind:?}: expected IP:port"))?;
        let local_addr = match &g.sip_address {
            Some(a) => {
                // Named in every answer's SDP (c=): an address, not a host name.
                a.parse::<std::net::SocketAddr>().with_context(|| {
                    format!("[gb28181] sip_address {a:?}: expected IP:port (the address superiors reach)")
                })?;
                a.clone()
            }
            None if bind.ip().is_unspecified() => bail!(
                "[gb28181] sip_address: the address superiors reach this platform at is needed when sip_bind is {bind}"
            ),
            None => bind.to_string(),
        };
        let mut superiors = Vec::new();
        for s in &g.superiors {
            let at = |field: &str| format!("[[gb28181.superior]] {:?} {field}", s.name);
            let superior_id = GbId::parse(&s.id).with_context(|| at("id"))?;
            let transport = match s.transport.to_ascii_lowercase().as_str() {
                "udp" => SipTransport::Udp,
                "tcp" => bail!(
                    "{}: TCP signalling is not built yet; use udp",
                    at("transport")
                ),
                other => bail!("{}: {other:?} is not udp", at("transport")),
            };
            let charset = match s.charset.to_ascii_uppercase().as_str() {
                "GB2312" | "GBK" | "GB18030" => Charset::Gb18030,
                "UTF-8" | "UTF8" => Charset::Utf8,
                other => bail!("{}: {other:?} is neither GB2312 nor UTF-8", at("charset")),
            };
            let gb_version = match s.version.as_str() {
                "2022" => "3.0",
                "2016" => "2.0",
                other => bail!("{}: {other:?} is neither 2022 nor 2016", at("version")),
            };
            if s.password.is_empty() {
                bail!("{}: empty", at("password"));
            }
            if !(60..=86_400).contains(&s.expires.as_secs()) {
                bail!("{}: from 60 s to a day", at("expires"));
            }
            if !(5..=3600).contains(&s.keepalive.as_secs()) {
                bail!("{}: from 5 s to an hour", at("keepalive"));
            }
            let known: Vec<&str> = self.cameras.iter().map(|c| c.name.as_str()).collect();
            for c in &s.cameras {
                if !known.contains(&c.as_str()) {
                    bail!("{}: no camera is named {c:?}", at("cameras"));
                }
            }
            superiors.push(vidimus_server::gb28181::SuperiorLink {
                name: s.name.clone(),
                cameras: s.cameras.clone(),
                user: s.user.clone(),
                media_hosts: s
                    .media_hosts
                    .iter()
                    .map(|h| {
                        h.parse().with_context(|| {
                            format!("{}: {h:?} is not an IP address", at("media_hosts"))
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                link: LinkConfig {
                    local_id,
                    local_addr: local_addr.clone(),
                    superior_id,
                    realm: s
                        .realm
                        .clone()
                        .unwrap_or_else(|| superior_id.domain().to_owned()),
                    superior_addr: s.address.clone(),
                    transport,
                    username: s.username.clone().unwrap_or_else(|| local_id.to_string()),
                    password: s.password.clone(),
                    expires: s.expires.as_secs() as u32,
                    keepalive_ms: s.keepalive.as_millis() as u64,
                    keepalive_misses: s.keepalive_misses,
                    charset,
                    gb_version: gb_version.into(),
                },
            });
        }
        let mut devices = Vec::new();
        for d in &g.devices {
            let at = |field: &str| format!("[[gb28181.device]] {:?} {field}", d.name);
            let id = GbId::parse(&d.id).with_context(|| at("id"))?;
            if d.password.is_empty() {
                bail!("{}: empty", at("password"));
            }
            if devices
                .iter()
                .any(|x: &vidimus_server::gb28181::DeviceLink| {
                    x.account.id == id || x.name == d.name
                })
            {
                bail!("{}: a second device with this name or code", at("id"));
            }
            devices.push(vidimus_server::gb28181::DeviceLink {
                name: d.name.clone(),
                account: vidimus_gb28181::registrar::DeviceAccount {
                    id,
                    password: d.password.clone(),
                },
            });
        }
        Ok(Some(vidimus_server::gb28181::CascadeConfig {
            bind,
            superiors,
            devices,
            realm: local_id.domain().to_owned(),
        }))
    }
}

/// `[publication]`: how publications are made from the console (Art. 31).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicationSection {
    /// Where the detector weights are; default: where `vidimus models fetch` puts
    /// them (`$VIDIMUS_MODELS`, else `~/.local/share/vidimus/models`).
    pub models: Option<PathBuf>,
}

/// `[access]`: the Cedar policy deciding every access to video.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSection {
    /// A `.cedar` policy file (every policy with an `@id`).
    pub policy: Option<PathBuf>,
    /// Its `.cedarschema`; default: the compiled-in schema.
    pub schema: Option<PathBuf>,
}

/// `[site]`: facts about the site itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSection {
    /// The time zone every time is shown in (an IANA name; Shenzhen's is
    /// `Asia/Shanghai`, UTC+08:00). Times are stored and exchanged in UTC.
    pub time_zone: String,
}

impl Default for SiteSection {
    fn default() -> Self {
        SiteSection {
            time_zone: "Asia/Shanghai".into(),
        }
    }
}

/// `[compliance]`: what the compliance engine needs from the site.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceSection {
    /// The day the regulation took effect (Art. 48 leaves it open), `YYYY-MM-DD`:
    /// systems built before it file within 60 days of it (Art. 18 ¶3).
    pub effective_date: Option<String>,
}

/// `[integrity]`: the site's Ed25519 key that signs the log's checkpoints. It lives
/// outside the data directory, readable only by the service, so whoever holds a copy
/// of the data directory cannot re-sign a rewritten history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegritySection {
    /// The key file (created on first start, mode 0600 in a 0700 directory).
    pub key_file: PathBuf,
    /// Allow the key inside the data directory (the demo does; never in production).
    pub key_in_data_dir: bool,
    /// The log's name for witnesses (C2SP origin line), e.g. `vidimus.example/mall-7`;
    /// default `vidimus/<first 16 hex digits of the public key>`. Keep it stable.
    pub origin: Option<String>,
    /// Witnesses each checkpoint is published to (`[[integrity.witness]]`).
    #[serde(rename = "witness")]
    pub witnesses: Vec<crate::witnessing::WitnessSection>,
}

impl Default for IntegritySection {
    fn default() -> Self {
        IntegritySection {
            key_file: PathBuf::from("/etc/vidimus/log-key"),
            key_in_data_dir: false,
            origin: None,
            witnesses: Vec::new(),
        }
    }
}

impl Config {
    /// The signing key's path, checked: outside the data directory unless the
    /// configuration explicitly allows it.
    pub fn key_file(&self) -> anyhow::Result<PathBuf> {
        let key = &self.integrity.key_file;
        let abs = |p: &Path| -> PathBuf {
            let p = if p.is_relative() {
                std::env::current_dir().unwrap_or_default().join(p)
            } else {
                p.to_owned()
            };
            // Resolve what exists (symlinks, `..`) so the check cannot be dodged.
            let mut existing = p.clone();
            let mut rest = Vec::new();
            while !existing.exists() {
                match (existing.file_name(), existing.parent()) {
                    (Some(n), Some(parent)) => {
                        rest.push(n.to_owned());
                        existing = parent.to_owned();
                    }
                    _ => break,
                }
            }
            let mut out = existing.canonicalize().unwrap_or(existing);
            out.extend(rest.into_iter().rev());
            out
        };
        let (key_abs, data_abs) = (abs(key), abs(&self.data_dir));
        if key_abs.starts_with(&data_abs) && !self.integrity.key_in_data_dir {
            bail!(
                "the log signing key {} is inside the data directory {}: whoever copies the data directory could re-sign a rewritten history. Keep it elsewhere ([integrity] key_file, default /etc/vidimus/log-key), or set [integrity] key_in_data_dir = true to accept the risk",
                key.display(),
                self.data_dir.display()
            );
        }
        let legacy = self.data_dir.join("log-key");
        if legacy.exists() && !key_abs.exists() && key_abs != abs(&legacy) {
            bail!(
                "this data directory keeps its log signing key in {}: move it to {} (mode 0600, readable only by the service), or set [integrity] key_file to where it is",
                legacy.display(),
                key.display()
            );
        }
        Ok(key_abs)
    }
}

/// `[tls]`: how the console and API are served (Art. 24(4): transmission protected).
/// With `cert` and `key`, HTTPS with them. Without, on a loopback `bind`, plain HTTP;
/// on any other address, HTTPS with a self-signed certificate made at first start
/// (kept beside the signing key; its fingerprint is printed and shown in the
/// console). Plain HTTP off loopback only with `plain_http = true`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// HTTPS with a self-signed certificate even on loopback.
    pub self_signed: bool,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub plain_http: bool,
}

/// How the server is to be reached.
pub enum Transport {
    Plain,
    Pem { cert: PathBuf, key: PathBuf },
    SelfSigned { dir: PathBuf },
}

impl Config {
    /// What `[tls]` and `bind` ask for, checked: plain HTTP off loopback is refused
    /// unless configured explicitly.
    pub fn transport(&self, loopback: bool) -> anyhow::Result<Transport> {
        let t = &self.tls;
        match (&t.cert, &t.key) {
            (Some(c), Some(k)) => {
                return Ok(Transport::Pem {
                    cert: c.clone(),
                    key: k.clone(),
                });
            }
            (Some(_), None) | (None, Some(_)) => {
                bail!("[tls] needs both `cert` and `key` (PEM files)")
            }
            (None, None) => {}
        }
        let dir = self
            .integrity
            .key_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(if t.self_signed || (!loopback && !t.plain_http) {
            Transport::SelfSigned { dir }
        } else {
            Transport::Plain
        })
    }
}

fn default_bind() -> String {
    "127.0.0.1:8080".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecorderSection {
    /// How often written video is fsynced and indexed (at most this much is lost on
    /// power failure, plus the GOP being received).
    #[serde(with = "humantime_serde_compat")]
    pub sync_interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub segment_duration: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub max_fragment_duration: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub stall_timeout: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub backoff_max: Duration,
    /// Frames a live viewer may fall behind before it skips to the next key frame.
    pub live_buffer_frames: usize,
    /// Free space kept on the segment filesystem, e.g. "1GiB", "64MiB": below it
    /// recording pauses (default: 1 GiB, at most 2 % of the filesystem).
    #[serde(with = "byte_size")]
    pub disk_reserve: Option<u64>,
    /// Days added to each camera's legal minimum retention before the capacity alarm.
    pub capacity_margin_days: u32,
    /// How often the capacity forecast is recomputed.
    #[serde(with = "humantime_serde_compat")]
    pub capacity_interval: Duration,
    /// How often new fragments of open segments are logged and a checkpoint signed
    /// (at most 60s: fragments are covered within a minute of being written).
    #[serde(with = "humantime_serde_compat")]
    pub checkpoint_interval: Duration,
}

impl Default for RecorderSection {
    fn default() -> Self {
        RecorderSection {
            sync_interval: Duration::from_secs(2),
            segment_duration: Duration::from_secs(60),
            max_fragment_duration: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            live_buffer_frames: 256,
            disk_reserve: None,
            capacity_margin_days: 7,
            capacity_interval: Duration::from_secs(60),
            checkpoint_interval: Duration::from_secs(30),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    pub name: String,
    pub url: String,
    /// A live-only sub-stream (same credentials), e.g. H.264 for browsers beside an
    /// H.265 main stream. Never recorded.
    #[serde(default)]
    pub live_url: Option<String>,
    /// Days of video to keep; never below the rulebook's minimum (default: that minimum).
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// The camera protects a key target against terrorist attacks (Art. 32: ≥ 90 days).
    #[serde(default)]
    pub counter_terrorism_key_target: bool,
    pub username: Option<String>,
    pub password: Option<String>,
}

// The sections with passwords show them to no one, `{:?}` included.
impl std::fmt::Debug for CameraSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSection")
            .field("name", &self.name)
            .field(
                "url",
                &SourceUrl::parse(&self.url, None, None)
                    .map(|u| u.to_string())
                    .ok(),
            )
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(not shown)"))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SuperiorSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuperiorSection")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"(not shown)")
            .field("cameras", &self.cameras)
            .finish_non_exhaustive()
    }
}

/// Durations written as humantime strings: "2s", "500ms", "1m 30s".
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))
    }
}

/// Sizes written as "512MiB", "2GiB", "1000000" (bytes).
mod byte_size {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map(Some).map_err(serde::de::Error::custom)
    }
    pub fn parse(s: &str) -> Result<u64, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let n: u64 = n
            .parse()
            .map_err(|_| format!("{s:?}: expected e.g. \"512MiB\""))?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TiB" => 1 << 40,
            u => return Err(format!("{s:?}: unknown unit {u:?} (B, KiB, MiB, GiB, TiB)")),
        };
        n.checked_mul(mult)
            .ok_or_else(|| format!("{s:?} is too large"))
    }

    #[test]
    fn sizes() {
        assert_eq!(parse("64MiB"), Ok(64 << 20));
        assert_eq!(parse("2 GiB"), Ok(2 << 30));
        assert_eq!(parse("100"), Ok(100));
        assert!(parse("5 MB").is_err());
        assert!(parse("x").is_err());
    }
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let mut c: Config =
            toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if c.data_dir.is_relative() {
            c.data_dir = base.join(&c.data_dir);
        }
        if let Some(r) = c.rulebook.as_mut().filter(|r| r.is_relative()) {
            *r = base.join(&*r);
        }
        for p in [&mut c.tls.cert, &mut c.tls.key]
            .into_iter()
            .flatten()
            .filter(|p| p.is_relative())
        {
            *p = base.join(&*p);
        }
        if c.integrity.key_file.is_relative() {
            c.integrity.key_file = base.join(&c.integrity.key_file);
        }
        for p in [&mut c.access.policy, &mut c.access.schema]
            .into_iter()
            .flatten()
            .filter(|p| p.is_relative())
        {
            *p = base.join(&*p);
        }
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        jiff::tz::TimeZone::get(&self.site.time_zone).map_err(|e| {
            anyhow::anyhow!(
                "[site] time_zone {:?} is not a time zone this machine knows ({e}); use an IANA name such as \"Asia/Shanghai\" (Debian: apt-get install tzdata)",
                self.site.time_zone
            )
        })?;
        let r = &self.recorder;
        if r.sync_interval < Duration::from_millis(100) || r.sync_interval > Duration::from_secs(60)
        {
            bail!("recorder.sync_interval must be between 100ms and 60s");
        }
        if r.segment_duration < Duration::from_secs(1)
            || r.segment_duration > Duration::from_secs(3600)
        {
            bail!("recorder.segment_duration must be between 1s and 1h");
        }
        if !(8..=65_536).contains(&r.live_buffer_frames) {
            bail!("recorder.live_buffer_frames must be between 8 and 65536");
        }
        if r.checkpoint_interval < Duration::from_secs(1)
            || r.checkpoint_interval + r.sync_interval > Duration::from_secs(60)
        {
            bail!(
                "recorder.checkpoint_interval must be at least 1s, and with sync_interval at most 60s (fragments are covered within a minute)"
            );
        }
        if r.capacity_interval < Duration::from_secs(1) {
            bail!("recorder.capacity_interval must be at least 1s");
        }
        if r.max_fragment_duration < Duration::from_millis(500) {
            bail!("recorder.max_fragment_duration must be at least 500ms");
        }
        let rulebook = self.rulebook()?;
        self.access_policy()?;
        let mut names = std::collections::HashSet::new();
        for cam in &self.cameras {
            if let Some(days) = cam.retention_days {
                rulebook
                    .check_video_retention(days, cam.counter_terrorism_key_target)
                    .with_context(|| format!("camera {:?}: retention_days refused", cam.name))?;
            }
            if !names.insert(&cam.name) {
                bail!("camera {:?} is defined twice", cam.name);
            }
            validate_camera_name(&cam.name)?;
            SourceUrl::parse(&cam.url, cam.username.clone(), cam.password.clone())
                .with_context(|| format!("camera {:?}", cam.name))?;
            if let Some(l) = &cam.live_url {
                SourceUrl::parse(l, None, None)
                    .with_context(|| format!("camera {:?} live_url", cam.name))?;
            }
        }
        Ok(())
    }

    /// The access policy in force, validated against its schema: the configured files,
    /// else the compiled-in ones.
    pub fn access_policy(&self) -> anyhow::Result<vidimus_policy::AccessPolicy> {
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
        };
        let policy = match &self.access.policy {
            Some(p) => read(p)?,
            None => vidimus_policy::POLICY.to_owned(),
        };
        let schema = match &self.access.schema {
            Some(p) => read(p)?,
            None => vidimus_policy::SCHEMA.to_owned(),
        };
        vidimus_policy::AccessPolicy::new(&policy, &schema).context("the access policy is refused")
    }

    /// The rulebook in force: the configured file, else the compiled-in Shenzhen draft.
    pub fn rulebook(&self) -> anyhow::Result<Rulebook> {
        match &self.rulebook {
            None => Ok(Rulebook::shenzhen_draft()),
            Some(p) => {
                let doc = std::fs::read_to_string(p)
                    .with_context(|| format!("reading rulebook {}", p.display()))?;
                Rulebook::parse(&doc).with_context(|| format!("rulebook {}", p.display()))
            }
        }
    }

    /// The rulebook's compliance rules and penalties (the same file as [`Self::rulebook`]).
    pub fn compliance_book(&self) -> anyhow::Result<vidimus_compliance::ComplianceBook> {
        crate::compliance::load_book(self.rulebook.as_ref())
    }

    /// The configured effective date, checked.
    pub fn effective_date(&self) -> anyhow::Result<Option<vidimus_compliance::Date>> {
        self.compliance
            .effective_date
            .as_deref()
            .map(vidimus_compliance::Date::parse)
            .transpose()
            .context("[compliance] effective_date")
    }

    pub fn recorder_config(&self) -> anyhow::Result<RecorderConfig> {
        let r = &self.recorder;
        let mut rc = RecorderConfig::new(self.data_dir.clone());
        rc.key_file = Some(self.key_file()?);
        rc.rulebook = std::sync::Arc::new(self.rulebook()?);
        rc.sync_interval = r.sync_interval;
        rc.segmenter = SegmenterConfig {
            segment_duration: Duration90k::from_std(r.segment_duration),
            max_fragment_duration: Duration90k::from_std(r.max_fragment_duration),
        };
        rc.connect_timeout = r.connect_timeout;
        rc.stall_timeout = r.stall_timeout;
        rc.backoff_initial = r.backoff_initial;
        rc.backoff_max = r.backoff_max;
        rc.live_buffer_frames = r.live_buffer_frames;
        rc.disk_reserve = r.disk_reserve;
        rc.capacity_margin_days = r.capacity_margin_days;
        rc.capacity_interval = r.capacity_interval;
        rc.checkpoint_interval = r.checkpoint_interval;
        Ok(rc)
    }
}

/// Camera names appear in logs, metrics labels and the console: keep them plain.
pub fn validate_camera_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_. ".contains(c))
    {
        bail!("camera name {name:?} must be 1-64 letters, digits, '-', '_', '.' or spaces");
    }
    Ok(())
}
