//! Logging in and out, and who is asking.
//!
//! A successful `POST /api/login` sets the `vidimus_session` cookie (HttpOnly,
//! SameSite=Strict, Path=/; Secure when the server is told it is behind TLS) holding
//! a random token, and returns a CSRF token. Every state-changing request must send
//! that CSRF token back in `X-CSRF-Token`. Failed logins are rate-limited per client
//! address and per user name.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::Instant;
use vidimus_access::{password, token};
use vidimus_core::lang::Lang;
use vidimus_core::time::Duration90k;
use vidimus_store::users::AccessStore;

pub const COOKIE: &str = "vidimus_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The logged-in user of a request. Extracting it authenticates the request, and for
/// state-changing methods also checks the CSRF token.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub csrf_token: String,
    /// The language to answer in: the session's, else the request's Accept-Language.
    pub lang: Lang,
    token_hash: Vec<u8>,
}

impl AuthUser {
    /// A user acting through another door than a session: a GB/T 28181 superior
    /// platform's configured account. Its accesses are decided under its grants like
    /// any other user's; it has no session, so no CSRF token.
    pub fn acting(user_id: i64, username: &str, role: &str) -> Self {
        AuthUser {
            user_id,
            username: username.to_owned(),
            role: role.to_owned(),
            csrf_token: String::new(),
            lang: Lang::default(),
            token_hash: Vec::new(),
        }
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let hash = token::token_hash(&token);
        let now = state.clocks.realtime();
        let h = hash.clone();
        let s = state
            .db
            .run(move |ix| Ok(ix.session(&h, now)?))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !token::constant_time_eq(sent, &s.csrf_token) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "missing or wrong X-CSRF-Token header (it is returned by login and GET /api/session)",
                ));
            }
        }
        let lang = crate::language::session_lang(s.lang.as_deref(), &parts.headers);
        // What the error middleware rewrites follows the same choice.
        if let Some(d) = parts.extensions.get::<crate::language::Decided>() {
            *d.0.lock().expect("language slot") = Some(lang);
        }
        Ok(AuthUser {
            user_id: s.user_id,
            username: s.username,
            role: s.role,
            csrf_token: s.csrf_token,
            lang,
            token_hash: hash,
        })
    }
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit code, for users with the TOTP second factor on.
    #[serde(default)]
    pub totp: Option<String>,
    /// The language chosen in the console (`en`, `zh-CN`), kept with the session.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The current session.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub username: String,
    pub role: String,
    /// Send in `X-CSRF-Token` on every POST/PUT/PATCH/DELETE.
    pub csrf_token: String,
    /// The kind of the user's organisation (`system_manager`, `public_security`,
    /// `testing_body`, ...): what the console offers.
    pub org_kind: String,
    /// The kinds of access request the organisation may file (Art. 33-35, 24).
    pub request_kinds: Vec<String>,
    /// The language the server answers this session in (`en`, `zh-CN`).
    pub lang: String,
}

/// The request kinds an organisation of `kind` may file.
pub fn request_kinds(kind: &str) -> Vec<String> {
    use vidimus_access::request::{RequestKind, may_file};
    let Some(org) = vidimus_access::org::OrgKind::parse(kind) else {
        return Vec::new();
    };
    RequestKind::ALL
        .into_iter()
        .filter(|k| may_file(*k, org).is_ok())
        .map(|k| k.as_str().to_owned())
        .collect()
}

fn org_kind(ix: &vidimus_store::SqliteIndex, org_id: i64) -> Result<String, ApiError> {
    Ok(ix
        .org(org_id)?
        .map(|o| o.kind)
        .unwrap_or_else(|| "system_manager".into()))
}

/// Logs in with a user name and password.
#[utoipa::path(post, path = "/api/login", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; sets the session cookie", body = SessionInfo),
        (status = 401, description = "Wrong user name or password", body = crate::error::ErrorBody),
        (status = 429, description = "Too many failed attempts", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let keys = [
        format!("ip:{}", peer.ip()),
        format!("user:{}", req.username),
    ];
    {
        let mut l = state.limiter.lock().expect("limiter lock");
        let now = Instant::now();
        if let Some(wait) = keys.iter().filter_map(|k| l.retry_after(k, now)).max() {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed logins; try again in {} s", wait.as_secs()),
            )
            .zh(format!(
                "登录失败次数过多，请在 {} 秒后再试。",
                wait.as_secs()
            ));
            e.retry_after = Some(wait.as_secs());
            return Err(e);
        }
        // The attempt counts as failed until it succeeds: parallel guesses cannot all
        // pass the check above before any is counted.
        keys.iter().for_each(|k| l.failed(k, now));
    }
    let username = req.username.clone();
    let user = state
        .db
        .run(move |ix| Ok(ix.user_by_name(&username)?))
        .await?;
    let pw = req.password;
    // argon2 is memory-hard by design: a bounded number at a time, so a burst of
    // logins cannot exhaust the machine.
    let _slot = state
        .password_checks
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let (ok, user) = tokio::task::spawn_blocking(move || {
        let ok = match &user {
            Some(u) if u.disabled_90k.is_none() => password::verify(&pw, &u.password_hash),
            _ => {
                let _ = password::verify(&pw, password::dummy_hash()); // same time either way
                false
            }
        };
        (ok, user)
    })
    .await
    .map_err(ApiError::internal)?;
    // The second factor, for users who have it: a missing code is asked for; a wrong
    // one is a failed login like a wrong password.
    let ok = if ok && let Some(u) = &user {
        let uid = u.id;
        match state.db.run(move |ix| Ok(ix.totp_secret(uid)?)).await? {
            None => true,
            Some(secret) => match req.totp.as_deref() {
                None => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "totp_required",
                        "this account has a second factor: send the 6-digit code as `totp`",
                    ));
                }
                Some(code) => {
                    let now = (state.clocks.realtime().0 / 90_000).max(0) as u64;
                    vidimus_access::totp::verify(&secret, code, now)
                }
            },
        }
    } else {
        ok
    };
    let Some(user) = user.filter(|_| ok) else {
        // (counted as failed before the check)
        tracing::warn!(username = %req.username, %peer, "failed login");
        let (name, ip, now) = (
            req.username.clone(),
            peer.ip().to_string(),
            state.clocks.realtime(),
        );
        state
            .db
            .run(move |ix| {
                Ok(ix.log_event(
                    now,
                    "login_failed",
                    &name,
                    None,
                    serde_json::json!({"peer": ip}),
                )?)
            })
            .await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong user name or password",
        ));
    };
    {
        let mut l = state.limiter.lock().expect("limiter lock");
        keys.iter().for_each(|k| l.succeeded(k));
    }
    let token = token::new_token();
    let csrf = token::new_token();
    let now = state.clocks.realtime();
    let expires = now + Duration90k::from_std(state.session_ttl);
    let (h, c, uid, p) = (
        token::token_hash(&token),
        csrf.clone(),
        user.id,
        peer.ip().to_string(),
    );
    let chosen = req.lang.as_deref().and_then(Lang::parse);
    state
        .db
        .run(move |ix| {
            ix.create_session(&h, uid, &c, now, expires, Some(&p))?;
            if let Some(l) = chosen {
                ix.set_session_lang(&h, l.tag())?;
            }
            Ok(())
        })
        .await?;
    let lang = chosen
        .or_else(|| crate::language::accept_language(&headers))
        .unwrap_or_default();
    tracing::info!(username = %user.username, %peer, "login");
    let (name, ip) = (user.username.clone(), peer.ip().to_string());
    let org = user.org_id;
    let kind = state
        .db
        .run(move |ix| {
            ix.log_event(now, "login", &name, None, serde_json::json!({"peer": ip}))?;
            org_kind(ix, org)
        })
        .await?;
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.session_ttl.as_secs(),
        if state.secure_cookies { "; Secure" } else { "" }
    );
    let mut r = Json(SessionInfo {
        username: user.username,
        role: user.role,
        csrf_token: csrf,
        request_kinds: request_kinds(&kind),
        org_kind: kind,
        lang: lang.tag().into(),
    })
    .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    if let Some(l) = chosen {
        r.headers_mut().append(
            header::SET_COOKIE,
            crate::language::set_cookie(l, state.secure_cookies),
        );
    }
    Ok(r)
}

/// Ends the session.
#[utoipa::path(post, path = "/api/logout", responses((status = 204, description = "Logged out")),
    params(("X-CSRF-Token" = String, Header, description = "From login")))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    let h = user.token_hash.clone();
    let (name, now) = (user.username.clone(), state.clocks.realtime());
    state
        .db
        .run(move |ix| {
            ix.delete_session(&h)?;
            Ok(ix.log_event(now, "logout", &name, None, serde_json::json!({}))?)
        })
        .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("vidimus_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(r)
}

/// Who is logged in (and the CSRF token, e.g. after a page reload).
#[utoipa::path(get, path = "/api/session", responses(
    (status = 200, body = SessionInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn session(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<SessionInfo>, ApiError> {
    let uid = user.user_id;
    let kind = state
        .db
        .run(move |ix| {
            let u = ix.user_by_id(uid)?.ok_or_else(ApiError::unauthenticated)?;
            org_kind(ix, u.org_id)
        })
        .await?;
    Ok(Json(SessionInfo {
        username: user.username,
        role: user.role,
        csrf_token: user.csrf_token,
        request_kinds: request_kinds(&kind),
        org_kind: kind,
        lang: user.lang.tag().into(),
    }))
}

/// The language to keep with the session.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct LanguageChoice {
    /// `en` or `zh-CN`.
    pub lang: String,
}

/// Chooses the language the server answers this session in (alarms, findings, errors,
/// printable reports); the console calls it when the user switches language.
#[utoipa::path(put, path = "/api/session/language", request_body = LanguageChoice,
    responses((status = 204, description = "Kept with the session"),
        (status = 400, body = crate::error::ErrorBody)),
    params(("X-CSRF-Token" = String, Header, description = "From login")))]
pub async fn set_language(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<LanguageChoice>,
) -> Result<Response, ApiError> {
    let lang = Lang::parse(&req.lang).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown language {:?}: choose en or zh-CN",
            req.lang
        ))
        .zh(format!("不支持的语言 {:?}：请选择 en 或 zh-CN。", req.lang))
    })?;
    let h = user.token_hash.clone();
    state
        .db
        .run(move |ix| Ok(ix.set_session_lang(&h, lang.tag())?))
        .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        crate::language::set_cookie(lang, state.secure_cookies),
    );
    Ok(r)
}

/// Checks a logged-in user's own password, entered again to confirm an act (e.g. an
/// officer's part of a request, Art. 34(3)): rate-limited like login — by user and by
/// address, sharing login's counters, so guessing cannot move from one door to the
/// other — and every failure is a `password_check_failed` event of the system log.
pub async fn check_own_password(
    state: &AppState,
    user: &AuthUser,
    peer: SocketAddr,
    password: String,
    what: &'static str,
) -> Result<(), ApiError> {
    let keys = [
        format!("ip:{}", peer.ip()),
        format!("user:{}", user.username),
    ];
    {
        let mut l = state.limiter.lock().expect("limiter lock");
        if let Some(wait) = keys
            .iter()
            .filter_map(|k| l.retry_after(k, Instant::now()))
            .max()
        {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many wrong passwords; try again in {} s",
                    wait.as_secs()
                ),
            );
            e.retry_after = Some(wait.as_secs());
            return Err(e);
        }
        keys.iter().for_each(|k| l.failed(k, Instant::now()));
    }
    let uid = user.user_id;
    let hash = state
        .db
        .run(move |ix| Ok(ix.user_by_id(uid)?.map(|u| u.password_hash)))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let ok = {
        let _slot = state
            .password_checks
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || password::verify(&password, &hash))
            .await
            .map_err(ApiError::internal)?
    };
    if ok {
        let mut l = state.limiter.lock().expect("limiter lock");
        keys.iter().for_each(|k| l.succeeded(k));
    }
    if ok {
        return Ok(());
    }
    tracing::warn!(username = %user.username, %peer, what, "wrong password to confirm an act");
    let (name, ip, now) = (
        user.username.clone(),
        peer.ip().to_string(),
        state.clocks.realtime(),
    );
    state
        .db
        .run(move |ix| {
            Ok(ix.log_event(
                now,
                "password_check_failed",
                &name,
                None,
                serde_json::json!({"peer": ip, "to": what}),
            )?)
        })
        .await?;
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "bad_credentials",
        "the password does not match: each person confirms with their own credentials (Art. 34(3))",
    ))
}
