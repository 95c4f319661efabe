//! Vidimus HTTP server: the JSON API (described by OpenAPI 3.1 at
//! `/api/openapi.json`), `/metrics` and `/healthz`.
//!
//! - [`auth`]: login, logout, sessions (HttpOnly cookie), CSRF, login rate limiting.
//! - [`api`]: cameras, timeline, export.
//! - [`custody`]: retention, legal holds, export bundles.
//! - [`console`]: the embedded web console (React, built from `web/`).
//! - [`live`]: live view, fMP4 fragments over a WebSocket for MSE.
//! - [`background`]: heavy picture work on threads below the recorder's priority.
//! - [`masked`]: live views decoded and encoded again by the server (privacy masks
//!   burned in), and masked copies.
//! - [`publication`]: anonymized publication of recorded ranges, as jobs (Art. 31).
//! - [`anonymized`]: the live anonymized feed for open sharing and broadcast (Art. 22,
//!   23, 31).
//! - [`grants`]: the policy gate in front of every video endpoint, and the access
//!   register.
//! - [`handout`]: the hand-outs in progress, ended when their grant is revoked or
//!   expires.
//! - [`requests`]: access requests, confirmations, approvals, grants.
//! - [`compliance`]: the registry, its workflows, the compliance engine on live
//!   systems, inspection checklists and printable reports.
//! - [`error`]: JSON errors with stable codes.
//! - [`language`]: the language of each answer (session, `Accept-Language`) and the
//!   errors' Chinese.
//! - [`db`]: index connections for handlers.
//! - [`status`]: alarms, disk and capacity (`/api/status`, metrics).
//! - [`thumbnails`]: timeline thumbnails (key frames, shrunk, cached), viewing under
//!   a grant, registered per strip.
//! - [`view`]: view-only playback: recorded video watermarked in the pixels and
//!   streamed over a WebSocket, never a file (Art. 35).
//! - [`tls`]: HTTPS with rustls (configured or self-signed certificates).
//! - [`witness`]: the witness role's own small server (C2SP tlog-witness), run by
//!   `vidimus witness serve` at a PSB or a second site.
//!
//! Public without login: `POST /api/login`, `GET /api/openapi.json`, `/healthz`, and
//! `/metrics` (bind the server to a trusted address). Everything else needs a session.
//! Every response carries an `x-request-id` (the client's, if it sent a sane one).

pub mod anonymized;
pub mod api;
pub mod auth;
pub mod background;
pub mod compliance;
pub mod console;
pub mod custody;
pub mod db;
pub mod error;
pub mod gb28181;
pub mod grants;
pub mod handout;
pub mod language;
pub mod live;
pub mod masked;
pub mod privacy;
pub mod publication;
pub mod refusals;
pub mod relay;
pub mod requests;
pub mod rtsp;
pub mod snapshot;
pub mod status;
pub mod thumbnails;
pub mod tls;
pub mod view;
pub mod witness;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa::OpenApi;
use vidimus_access::ratelimit::LoginLimiter;
use vidimus_core::clock::Clocks;
use vidimus_recorder::stats::StatsRegistry;
use vidimus_store::SegmentFiles;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub stats: StatsRegistry,
    pub live: vidimus_recorder::live::LiveHub,
    pub db: db::Db,
    pub files: SegmentFiles,
    pub clocks: Arc<dyn Clocks>,
    pub limiter: Arc<Mutex<LoginLimiter>>,
    /// Alarms, disk-full pause, capacity forecast (shared with the recorder).
    pub status: vidimus_recorder::status::SiteStatus,
    /// The access policy (Cedar) every video-serving endpoint asks.
    pub policy: Arc<vidimus_policy::AccessPolicy>,
    /// The rules retention changes are checked against.
    pub rulebook: Arc<vidimus_core::rulebook::Rulebook>,
    /// The same rulebook's compliance rules and penalties.
    pub compliance: Arc<vidimus_compliance::ComplianceBook>,
    /// The regulation's effective date (Art. 48), from the configuration.
    pub effective_date: Option<vidimus_compliance::Date>,
    /// The data directory (site key, export bundles).
    pub data_dir: std::path::PathBuf,
    pub session_ttl: Duration,
    /// Mark cookies `Secure` (set when served over TLS, e.g. behind a reverse proxy).
    pub secure_cookies: bool,
    /// Live views, playbacks and downloads in progress, by grant.
    pub handouts: handout::Handouts,
    /// HTTPS, when served over it (its fingerprint is shown in the console).
    pub tls: Option<tls::Tls>,
    /// Alarms acknowledged: (user, alarm id, raised at).
    pub alarm_acks: Arc<Mutex<std::collections::HashSet<(i64, String, String)>>>,
    /// Serving the demo (its alarms are explained as the demo's).
    pub demo: bool,
    /// The site's time zone (IANA), every time in the console is shown in.
    pub time_zone: String,
    /// Woken when a hand-out is registered: a checkpoint covering it follows.
    pub checkpoint_soon: Arc<tokio::sync::Notify>,
    /// Refused attempts per user (a flood is counted, not registered one by one).
    pub refusals: Arc<refusals::Refusals>,
    /// Password checks (argon2, memory-hard) that may run at once.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// The log's signing key (for bundles), read once at start; None: where the data
    /// directory says it is.
    pub signing_key: Option<[u8; 32]>,
    /// Decoded timeline thumbnails (key frames, shrunk).
    pub thumbs: Arc<thumbnails::ThumbCache>,
    /// The anonymizer publications are made with (the binary's); None: publication
    /// is not offered.
    pub publisher: Option<Arc<dyn publication::PublicationEngine>>,
    /// Publications being made and made in this run.
    pub publications: publication::Jobs,
    /// The GB/T 28181 links to superior platforms and their status.
    pub gb28181: gb28181::Links,
    /// The RTSP re-stream, when served (its URL and the grants' passwords).
    pub rtsp: Option<Arc<rtsp::Rtsp>>,
    /// The GB/T 28181 devices that register here, and their status.
    pub gb28181_devices: gb28181::devices::Devices,
}

impl AppState {
    pub fn new(
        stats: StatsRegistry,
        live: vidimus_recorder::live::LiveHub,
        status: vidimus_recorder::status::SiteStatus,
        data_dir: &std::path::Path,
        clocks: Arc<dyn Clocks>,
    ) -> std::io::Result<Self> {
        Ok(AppState {
            stats,
            live,
            db: db::Db::new(data_dir.join("index.db")),
            files: SegmentFiles::open(data_dir).map_err(std::io::Error::other)?,
            clocks,
            status,
            rulebook: Arc::new(vidimus_core::rulebook::Rulebook::shenzhen_draft()),
            compliance: Arc::new(vidimus_compliance::ComplianceBook::shenzhen_draft()),
            effective_date: None,
            policy: Arc::new(vidimus_policy::AccessPolicy::builtin()),
            data_dir: data_dir.to_owned(),
            limiter: Arc::new(Mutex::new(LoginLimiter::new(Duration::from_secs(60), 5))),
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            handouts: handout::Handouts::default(),
            tls: None,
            refusals: Arc::default(),
            checkpoint_soon: Arc::default(),
            time_zone: "Asia/Shanghai".into(),
            alarm_acks: Arc::default(),
            demo: false,
            password_checks: Arc::new(tokio::sync::Semaphore::new(2)),
            thumbs: Arc::default(),
            publisher: None,
            publications: publication::Jobs::new(),
            gb28181: gb28181::Links::default(),
            rtsp: None,
            gb28181_devices: Default::default(),
            signing_key: None,
        })
    }
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vidimus API",
        description = "Public-safety video recording. Errors are `{\"error\": {\"code\", \"message\"}}`; every response has `x-request-id`."
    ),
    paths(
        auth::login,
        auth::logout,
        auth::session,
        auth::set_language,
        api::cameras,
        api::catalogue,
        api::timeline,
        api::export,
        api::playback,
        live::live,
        anonymized::feed,
        view::view,
        status::status,
        gb28181::links,
        gb28181::devices::devices,
        rtsp::grant_access,
        status::districts,
        status::places,
        status::acknowledge,
        snapshot::snapshot,
        thumbnails::thumbnails,
        api::bookmarks,
        api::add_bookmark,
        custody::set_retention,
        privacy::get,
        privacy::set,
        privacy::approve,
        privacy::reject,
        custody::holds,
        custody::add_hold,
        custody::release_hold,
        custody::make_bundle,
        custody::download_bundle,
        publication::start,
        publication::get,
        publication::download,
        requests::file,
        requests::list,
        requests::get,
        requests::confirm,
        requests::approve,
        requests::revoke,
        requests::close,
        requests::attach,
        requests::my_grants,
        requests::register,
        compliance::overview,
        compliance::system_report,
        compliance::system_facts,
        compliance::inspection,
        compliance::printable,
        compliance::get_system,
        compliance::add_system,
        compliance::change_system,
        compliance::add_entry,
        compliance::change_entry,
        compliance::delete_entry,
        compliance::add_event,
        compliance::put_document_file,
        compliance::get_document_file
    ),
    components(schemas(
        rtsp::RtspAccess,
        error::ErrorBody,
        error::ErrorDetail,
        auth::LoginRequest,
        auth::LanguageChoice,
        auth::SessionInfo,
        api::CameraInfo,
        api::CatalogueEntry,
        api::Timeline,
        api::Span,
        api::GapInfo,
        status::SiteStatusInfo,
        status::AlarmInfo,
        status::CapacityInfo,
        custody::Retention,
        privacy::MaskInfo,
        privacy::SetMask,
        privacy::PendingChange,
        custody::HoldInfo,
        custody::NewHold,
        custody::Created,
        custody::NewBundle,
        custody::BundleInfo,
        publication::NewPublication,
        publication::PublicationMode,
        publication::Job,
        publication::JobState,
        requests::NewRequestIn,
        requests::PersonIn,
        requests::RequestOut,
        requests::Confirm,
        requests::Approve,
        requests::Close,
        requests::GrantInfo,
        compliance::SystemSummary,
        compliance::RegistryView
    ))
)]
pub struct ApiDoc;

/// Largest request body accepted (the API takes small JSON documents only).
pub const MAX_BODY: usize = 16 * 1024;

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/session", get(auth::session))
        .route("/api/session/language", put(auth::set_language))
        .route("/api/cameras", get(api::cameras))
        .route("/api/cameras/catalogue", get(api::catalogue))
        .route("/api/cameras/{id}/timeline", get(api::timeline))
        .route("/api/cameras/{id}/export.mp4", get(api::export))
        .route("/api/cameras/{id}/playback.mp4", get(api::playback))
        .route("/api/cameras/{id}/live", get(live::live))
        .route("/api/cameras/{id}/live/anonymized", get(anonymized::feed))
        .route("/api/cameras/{id}/view", get(view::view))
        .route("/api/cameras/{id}/snapshot.jpg", get(snapshot::snapshot))
        .route(
            "/api/cameras/{id}/thumbnails.jpg",
            get(thumbnails::thumbnails),
        )
        .route(
            "/api/cameras/{id}/bookmarks",
            get(api::bookmarks).post(api::add_bookmark),
        )
        .route("/api/status", get(status::status))
        .route("/api/gb28181/links", get(gb28181::links))
        .route("/api/gb28181/devices", get(gb28181::devices::devices))
        .route("/api/districts", get(status::districts))
        .route("/api/places", get(status::places))
        .route("/api/alarms/{id}/ack", post(status::acknowledge))
        .route("/api/cameras/{id}/retention", put(custody::set_retention))
        .route(
            "/api/cameras/{id}/privacy-mask",
            get(privacy::get).put(privacy::set),
        )
        .route(
            "/api/cameras/{id}/privacy-mask/changes/{change}/approve",
            post(privacy::approve),
        )
        .route(
            "/api/cameras/{id}/privacy-mask/changes/{change}/reject",
            post(privacy::reject),
        )
        .route("/api/holds", get(custody::holds).post(custody::add_hold))
        .route("/api/holds/{id}/release", post(custody::release_hold))
        .route("/api/cameras/{id}/bundles", post(custody::make_bundle))
        .route("/api/exports/{name}", get(custody::download_bundle))
        .route("/api/cameras/{id}/publications", post(publication::start))
        .route("/api/publications/{id}", get(publication::get))
        .route("/api/publications/{id}/{file}", get(publication::download))
        .route("/api/requests", get(requests::list).post(requests::file))
        .route("/api/requests/{id}", get(requests::get))
        .route("/api/requests/{id}/confirm", post(requests::confirm))
        .route("/api/requests/{id}/approve", post(requests::approve))
        .route("/api/requests/{id}/close", post(requests::close))
        .route(
            "/api/requests/{id}/attachments",
            post(requests::attach).layer(DefaultBodyLimit::max(8 << 20)),
        )
        .route("/api/grants", get(requests::my_grants))
        .route("/api/grants/{id}/rtsp", get(rtsp::grant_access))
        .route("/api/register", get(requests::register))
        .route("/api/grants/{id}/revoke", post(requests::revoke))
        .route("/api/compliance/systems", get(compliance::overview))
        .route(
            "/api/compliance/systems/{id}",
            get(compliance::system_report),
        )
        .route(
            "/api/compliance/systems/{id}/facts",
            get(compliance::system_facts),
        )
        .route(
            "/api/compliance/systems/{id}/inspection",
            get(compliance::inspection),
        )
        .route(
            "/api/compliance/systems/{id}/report.html",
            get(compliance::printable),
        )
        .route("/api/registry/systems", post(compliance::add_system))
        .route(
            "/api/registry/systems/{id}",
            get(compliance::get_system).put(compliance::change_system),
        )
        .route(
            "/api/registry/systems/{id}/events",
            post(compliance::add_event),
        )
        .route(
            "/api/registry/systems/{id}/documents/{entry}/file",
            get(compliance::get_document_file)
                .post(compliance::put_document_file)
                .layer(DefaultBodyLimit::max(compliance::MAX_DOCUMENT_FILE)),
        )
        .route(
            "/api/registry/systems/{id}/{collection}",
            post(compliance::add_entry),
        )
        .route(
            "/api/registry/systems/{id}/{collection}/{entry}",
            put(compliance::change_entry).delete(compliance::delete_entry),
        )
        .route("/api/openapi.json", get(openapi));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(console::serve)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        ApiDoc::openapi().to_json().unwrap_or_default(),
    )
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        {
            let mut m = s.stats.prometheus();
            status::prometheus(&s, &mut m);
            s.gb28181.prometheus(&mut m);
            s.gb28181_devices.prometheus(&mut m);
            if let Some(r) = &s.rtsp {
                r.prometheus(&mut m);
            }
            m
        },
    )
}

/// Tags each request with an id (kept from `x-request-id` if sane) and logs it.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| vidimus_access::token::new_token()[..16].to_owned());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    // The language before the session is read; the session's, once it is.
    let early = language::request_lang(req.headers());
    let decided = language::Decided::default();
    req.extensions_mut().insert(decided.clone());
    let resp = error::json_errors(next.run(req).await).await;
    let lang = decided.0.lock().expect("language slot").unwrap_or(early);
    let mut resp = language::speak(resp, lang);
    tracing::debug!(request_id = %id, %method, %path, status = resp.status().as_u16(), "request");
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// At most this much of a response waits unsent in the kernel per connection.
pub const UNSENT_LIMIT: i32 = 128 * 1024;

/// Bounds the bytes queued unsent in the kernel for one connection
/// (`TCP_NOTSENT_LOWAT`): a hand-out cut when its grant ends stops at the wire within
/// [`UNSENT_LIMIT`] (plus what the peer's window holds), not megabytes later, and a
/// slow client ties up no more memory than that.
fn limit_unsent(tcp: &tokio::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let v: libc::c_int = UNSENT_LIMIT;
    // SAFETY: the descriptor is the open socket `tcp` owns for the whole call, and the
    // option value is a c_int whose size is passed with it.
    let r = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of_val(&v) as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "TCP_NOTSENT_LOWAT not set");
    }
}

/// Serves `router` over HTTPS on `listener` until `shutdown` resolves: cookies are
/// `Secure` and every response carries `Strict-Transport-Security`.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: tls::Tls,
    mut state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    state.secure_cookies = true;
    state.tls = Some(tls.clone());
    let watcher = state
        .handouts
        .watch(state.db.path().to_owned(), state.clocks.clone());
    let counted = tokio::spawn(grants::register_counted_refusals(state.clone()));
    let signer = tokio::spawn(grants::checkpoint_hand_outs(state.clone()));
    let app = router(state).layer(axum::middleware::map_response(hsts));
    let listener = tls::TlsListener::new(listener, &tls)?.tap_io(|_| {});
    let r = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    drop(watcher);
    counted.abort();
    signer.abort();
    r
}

async fn hsts(mut r: Response) -> Response {
    r.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    r
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Ends hand-outs whose grant is revoked or expires while they are served.
    let watcher = state
        .handouts
        .watch(state.db.path().to_owned(), state.clocks.clone());
    let counted = tokio::spawn(grants::register_counted_refusals(state.clone()));
    let signer = tokio::spawn(grants::checkpoint_hand_outs(state.clone()));
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
        limit_unsent(tcp);
    });
    let r = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    drop(watcher);
    counted.abort();
    signer.abort();
    r
}
