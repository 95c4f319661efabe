//! Cameras, timeline and export endpoints. Every one requires a logged-in user
//! ([`AuthUser`]); lawful-access grants replace that check in a later issue.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::Ordering;
use vidimus_core::time::{Duration90k, Wall90k};
use vidimus_store::MetadataStore;

/// The longest range one timeline request may cover.
pub const MAX_TIMELINE: Duration90k = Duration90k::from_secs(31 * 24 * 3600);

/// A camera and its recording status.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CameraInfo {
    pub id: i64,
    pub name: String,
    /// RTSP URL without credentials; empty unless the user administers the system
    /// manager.
    pub url: String,
    /// `recording`, `offline` (the recorder cannot reach it) or `starting`.
    pub status: String,
    pub frames_received: u64,
    pub last_error: Option<String>,
    /// The camera has static privacy masks (`GET /api/cameras/{id}/privacy-mask`):
    /// served with them burned in unless a grant lifts them (`unmask`).
    pub privacy_masked: bool,
}

/// What a user may see of the cameras (least privilege): administrators of the system
/// manager see every camera and its URL (they run the system); everyone else sees only
/// the cameras one of their active grants (a duty grant included) names, without URL.
pub struct CameraView {
    /// An administrator of the system manager.
    pub manager_admin: bool,
    /// Every camera (manager administrators, and grants of every camera).
    pub all: bool,
    /// Otherwise, these.
    pub ids: std::collections::HashSet<i64>,
}

impl CameraView {
    /// Reads it for `user_id` at `now`.
    pub fn of(
        ix: &vidimus_store::SqliteIndex,
        user_id: i64,
        now: Wall90k,
    ) -> Result<CameraView, ApiError> {
        let u = ix
            .user_by_id(user_id)?
            .ok_or_else(ApiError::unauthenticated)?;
        let org = ix.org(u.org_id)?;
        let manager_admin = u.role == "admin" && org.is_some_and(|o| o.kind == "system_manager");
        let grants = ix.active_grants_for(user_id, now)?;
        let all = manager_admin || grants.iter().any(|r| r.cameras.is_empty());
        let ids = grants.iter().flat_map(|r| r.cameras.clone()).collect();
        Ok(CameraView {
            manager_admin,
            all,
            ids,
        })
    }

    /// Whether camera `id` is shown.
    pub fn sees(&self, id: i64) -> bool {
        self.all || self.ids.contains(&id)
    }
}

/// Lists the cameras the user may see, with their status; the URL (without
/// credentials) only to administrators of the system manager.
#[utoipa::path(get, path = "/api/cameras", responses(
    (status = 200, body = [CameraInfo]), (status = 401, body = crate::error::ErrorBody)))]
pub async fn cameras(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<CameraInfo>>, ApiError> {
    let now = state.clocks.realtime();
    let uid = user.user_id;
    let (cams, view, masked) = state
        .db
        .run(move |ix| {
            Ok((
                ix.cameras(false)?,
                CameraView::of(ix, uid, now)?,
                ix.masked_cameras()?,
            ))
        })
        .await?;
    let stats = state.stats.all();
    Ok(Json(
        cams.into_iter()
            .filter(|c| view.sees(c.id))
            .map(|c| {
                let s = stats
                    .iter()
                    .find(|(id, _)| *id == c.id)
                    .map(|(_, s)| s.clone());
                let (status, frames, last_error) = match &s {
                    Some(s) if s.connected.load(Ordering::Relaxed) => {
                        ("recording", s.frames_received.load(Ordering::Relaxed), None)
                    }
                    Some(s) => {
                        let e = s.last_error.lock().expect("error lock").clone();
                        (
                            if e.is_some() { "offline" } else { "starting" },
                            s.frames_received.load(Ordering::Relaxed),
                            e,
                        )
                    }
                    None => ("starting", 0, None),
                };
                CameraInfo {
                    id: c.id,
                    name: c.name,
                    url: if view.manager_admin {
                        c.url
                    } else {
                        String::new()
                    },
                    status: status.to_owned(),
                    frames_received: frames,
                    last_error,
                    privacy_masked: masked.contains(&c.id),
                }
            })
            .collect(),
    ))
}

/// A camera as one names it in an access request: no address, status or recording.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CatalogueEntry {
    pub id: i64,
    pub name: String,
    pub system: Option<String>,
    pub region: Option<String>,
    pub industry: Option<String>,
}

/// The cameras one may ask for (to file an access request one must name the
/// cameras): id, name and where it is placed — nothing about its address, status or
/// recording, and no video. For users of the organisations that file requests
/// (Art. 24, 33–35); testing bodies and contractors get none.
#[utoipa::path(get, path = "/api/cameras/catalogue", responses(
    (status = 200, body = [CatalogueEntry]), (status = 401, body = crate::error::ErrorBody)))]
pub async fn catalogue(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<CatalogueEntry>>, ApiError> {
    let uid = user.user_id;
    let out = state
        .db
        .run(move |ix| {
            let u = ix.user_by_id(uid)?.ok_or_else(ApiError::unauthenticated)?;
            let kind = ix.org(u.org_id)?.map(|o| o.kind).unwrap_or_default();
            if matches!(kind.as_str(), "testing_body" | "contractor") {
                return Ok(Vec::new());
            }
            Ok(ix
                .cameras(false)?
                .into_iter()
                .map(|c| CatalogueEntry {
                    id: c.id,
                    name: c.name,
                    system: c.system,
                    region: c.region,
                    industry: c.industry,
                })
                .collect())
        })
        .await?;
    Ok(Json(out))
}

/// A time range in the query string: RFC 3339 with an offset, or Unix seconds.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct RangeQuery {
    /// Start, e.g. `2026-11-29T10:00:00Z`, `2026-11-29T18:00:00+08:00` or `1795927174.5`.
    pub from: String,
    /// End (exclusive).
    pub to: String,
    /// The grant (case) a playback is made under; needed when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
}

impl RangeQuery {
    pub(crate) fn parse(&self, max: Duration90k) -> Result<(Wall90k, Wall90k), ApiError> {
        let t = |s: &str| {
            Wall90k::parse(s)
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))
        };
        let (from, to) = (t(&self.from)?, t(&self.to)?);
        if to <= from {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_time",
                "`to` must be after `from`",
            ));
        }
        if to - from > max {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "range_too_large",
                format!("the range is {}; at most {} per request", to - from, max),
            ));
        }
        Ok((from, to))
    }
}

/// A recorded stretch (contiguous segments merged).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Span {
    pub start: String,
    pub end: String,
    pub start_90k: i64,
    pub end_90k: i64,
}

/// An unrecorded stretch with its cause.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct GapInfo {
    pub start: String,
    /// `null` while the gap is ongoing.
    pub end: Option<String>,
    pub start_90k: i64,
    pub end_90k: Option<i64>,
    pub cause: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub camera_id: i64,
    pub spans: Vec<Span>,
    pub gaps: Vec<GapInfo>,
}

/// The recorded video of camera `id` over `[from, to)` as an export plan, no sample
/// outside `within` (the grant's range) — for the hand-outs that decode it (view-only
/// streams, snapshots).
pub(crate) async fn prepare_granted(
    state: &AppState,
    id: i64,
    from: Wall90k,
    to: Wall90k,
    within: (Wall90k, Wall90k),
) -> Result<vidimus_store::export::PreparedExport, ApiError> {
    let files = state.files.clone();
    state
        .db
        .run(move |ix| {
            let cam = ix.camera_by_id(id)?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "camera_not_found",
                    format!("no camera {id}"),
                )
            })?;
            Ok(vidimus_store::export::prepare_with(
                ix,
                &files,
                id,
                &cam.name,
                from,
                to,
                vidimus_store::export::ExportOptions {
                    whole_fragments: false,
                    trace: None,
                    within: Some(within),
                },
            )?)
        })
        .await
}

/// A camera id from a path: a positive number, else `404 camera_not_found` (every
/// endpoint under `/api/cameras/{id}` reads it here).
pub(crate) fn camera_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {id:?}"),
        )
        .zh(format!("找不到摄像机 {id:?}。"))
    })
}

/// A camera id from a path that names a camera in service (not retired), else `404
/// camera_not_found`; whether the user may see it is the grant's to decide.
pub(crate) async fn camera_in_service(state: &AppState, id: &str) -> Result<i64, ApiError> {
    let id = camera_id(id)?;
    let exists = state
        .db
        .run(move |ix| Ok(ix.cameras(false)?.iter().any(|c| c.id == id)))
        .await?;
    if !exists {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {id}"),
        ));
    }
    Ok(id)
}

/// Recorded spans and gaps of a camera in a range (at most 31 days).
#[utoipa::path(get, path = "/api/cameras/{id}/timeline", params(("id" = i64, Path,), RangeQuery),
    responses((status = 200, body = Timeline), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Timeline>, ApiError> {
    let id = camera_id(&id)?;
    let (from, to) = q.parse(MAX_TIMELINE)?;
    let now = state.clocks.realtime();
    let (spans, gaps) = state
        .db
        .run(move |ix| {
            // A camera the user may not see is not found, like one that does not exist.
            let view = CameraView::of(ix, user.user_id, now)?;
            if !view.sees(id) || !ix.cameras(true)?.iter().any(|c| c.id == id) {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "camera_not_found",
                    format!("no camera {id}"),
                ));
            }
            let (from, to) = visible_range(ix, &view, user.user_id, id, from, to, now)?;
            if to <= from {
                return Ok((Vec::new(), Vec::new()));
            }
            Ok((ix.segment_spans(id, from, to)?, ix.gaps(id, from, to)?))
        })
        .await?;
    Ok(Json(Timeline {
        camera_id: id,
        spans: merge_spans(&spans),
        gaps: gaps.into_iter().map(gap_info).collect(),
    }))
}

fn gap_info(g: vidimus_store::index::GapRow) -> GapInfo {
    GapInfo {
        start: Wall90k(g.start_90k).to_string(),
        end: g.end_90k.map(|e| Wall90k(e).to_string()),
        start_90k: g.start_90k,
        end_90k: g.end_90k,
        cause: g.cause,
    }
}

/// Merges segments that touch (within one 25 fps frame) into spans.
/// The part of `[from, to)` of camera `id` the user's grants let them see recorded
/// (the system manager's administrators run the system and see all of it).
fn visible_range(
    ix: &vidimus_store::SqliteIndex,
    view: &CameraView,
    user_id: i64,
    id: i64,
    from: Wall90k,
    to: Wall90k,
    now: Wall90k,
) -> Result<(Wall90k, Wall90k), ApiError> {
    if view.manager_admin {
        return Ok((from, to));
    }
    let covered: Vec<(i64, i64)> = ix
        .active_grants_for(user_id, now)?
        .into_iter()
        .filter(|r| r.cameras.is_empty() || r.cameras.contains(&id))
        .filter(|r| {
            r.actions
                .iter()
                .any(|a| a == "view_recorded" || a == "reproduce")
        })
        .map(|r| (r.from_90k, r.to_90k))
        .collect();
    let lo = covered.iter().map(|c| c.0).min().unwrap_or(i64::MAX);
    let hi = covered.iter().map(|c| c.1).max().unwrap_or(i64::MIN);
    Ok((Wall90k(from.0.max(lo)), Wall90k(to.0.min(hi))))
}

/// A bookmark: an instant of a camera with a note, as a system-log event.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Bookmark {
    /// Its leaf in the log (0-based).
    pub leaf: i64,
    pub t: String,
    pub t_90k: i64,
    pub note: String,
    /// Who made it.
    pub by: String,
}

/// A new bookmark.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct NewBookmark {
    /// The instant (RFC 3339 with an offset, or Unix seconds).
    pub t: String,
    /// What happened then (1-500 characters).
    pub note: String,
}

fn seen_camera(
    ix: &vidimus_store::SqliteIndex,
    user_id: i64,
    id: i64,
    now: Wall90k,
) -> Result<CameraView, ApiError> {
    let view = CameraView::of(ix, user_id, now)?;
    if !view.sees(id) || !ix.cameras(true)?.iter().any(|c| c.id == id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {id}"),
        ));
    }
    Ok(view)
}

/// Bookmarks a moment of a camera the user may see recorded (a system-log event, so
/// it is tamper-evident; one click in the console turns it into a legal hold).
#[utoipa::path(post, path = "/api/cameras/{id}/bookmarks", params(("id" = i64, Path,)), request_body = NewBookmark,
    responses((status = 201, body = Bookmark), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn add_bookmark(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(b): Json<NewBookmark>,
) -> Result<(StatusCode, Json<Bookmark>), ApiError> {
    let id = camera_id(&id)?;
    let t = Wall90k::parse(&b.t)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))?;
    let note = b.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(ApiError::bad_request(
            "a bookmark's note is 1-500 characters",
        ));
    }
    let now = state.clocks.realtime();
    let by = user.username.clone();
    let out = state
        .db
        .run(move |ix| {
            let view = seen_camera(ix, user.user_id, id, now)?;
            let (lo, hi) = visible_range(ix, &view, user.user_id, id, t, Wall90k(t.0 + 1), now)?;
            if hi <= lo {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "no_grant",
                    "no grant of yours covers recorded video of this camera at that instant",
                ));
            }
            let leaf = ix.log_event_at(
                now,
                "bookmark",
                &by,
                Some(id),
                serde_json::json!({"t": t.to_string(), "t_90k": t.0, "note": note}),
            )?;
            Ok(Bookmark {
                leaf,
                t: t.to_string(),
                t_90k: t.0,
                note,
                by,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The bookmarks of a camera in a range, within what the user's grants let them see.
#[utoipa::path(get, path = "/api/cameras/{id}/bookmarks", params(("id" = i64, Path,), RangeQuery),
    responses((status = 200, body = [Bookmark]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn bookmarks(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Vec<Bookmark>>, ApiError> {
    let id = camera_id(&id)?;
    let (from, to) = q.parse(MAX_TIMELINE)?;
    let now = state.clocks.realtime();
    let out = state
        .db
        .run(move |ix| {
            let view = seen_camera(ix, user.user_id, id, now)?;
            let (from, to) = visible_range(ix, &view, user.user_id, id, from, to, now)?;
            if to <= from {
                return Ok(Vec::new());
            }
            Ok(ix
                .bookmarks(id, from, to)?
                .into_iter()
                .map(|(leaf, e)| Bookmark {
                    leaf,
                    t: e["detail"]["t"].as_str().unwrap_or("").to_owned(),
                    t_90k: e["detail"]["t_90k"].as_i64().unwrap_or(0),
                    note: e["detail"]["note"].as_str().unwrap_or("").to_owned(),
                    by: e["actor"].as_str().unwrap_or("").to_owned(),
                })
                .collect())
        })
        .await?;
    Ok(Json(out))
}

fn merge_spans(segs: &[(i64, i64)]) -> Vec<Span> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &(s, e) in segs {
        match out.last_mut() {
            Some(last) if s <= last.1 + 3600 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out.into_iter()
        .map(|(s, e)| Span {
            start: Wall90k(s).to_string(),
            end: Wall90k(e).to_string(),
            start_90k: s,
            end_90k: e,
        })
        .collect()
}

/// Where an export goes (Art. 24(3) "whereabouts"): registered with the access.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// Start (RFC 3339 or Unix seconds).
    pub from: String,
    /// End (exclusive).
    pub to: String,
    /// Who receives the copy (required).
    pub recipient: Option<String>,
    /// On what it is handed over (default "download").
    pub medium: Option<String>,
    /// Where it goes (e.g. a case file).
    pub destination: Option<String>,
    /// The grant (case) the reproduction is made under; needed when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
}

/// Plays back a range of a camera (viewing recorded video, under a grant that allows
/// `view_recorded`): the same MP4 as an export, served inline, seekable by byte ranges.
#[utoipa::path(get, path = "/api/cameras/{id}/playback.mp4", params(("id" = i64, Path,), RangeQuery),
    responses((status = 200, content_type = "video/mp4", description = "The MP4"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn playback(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    serve_mp4(state, user, id, q, None, headers).await
}

/// Downloads a range of a camera as one MP4 (a reproduction, under a grant that allows
/// `reproduce`; at most 24 h; never transcoded). `recipient` is required: where the
/// copy goes is registered.
#[utoipa::path(get, path = "/api/cameras/{id}/export.mp4", params(("id" = i64, Path,), ExportQuery),
    responses((status = 200, content_type = "video/mp4", description = "The MP4"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if q.recipient.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "whereabouts_required",
            "say who receives the copy (`recipient`): reproductions are registered with their whereabouts (Art. 24(3))",
        ));
    }
    let w = crate::grants::Whereabouts {
        recipient: q.recipient,
        medium: Some(q.medium.unwrap_or_else(|| "download".into())),
        destination: q.destination,
    };
    serve_mp4(
        state,
        user,
        id,
        RangeQuery {
            from: q.from,
            to: q.to,
            grant: q.grant,
        },
        Some(w),
        headers,
    )
    .await
}

/// Serves a camera's range as an MP4: inline for viewing (`whereabouts` None), as an
/// attachment for a reproduction.
///
/// Every request is decided and registered on its own, whatever its `Range` header:
/// the register entry names the byte range this response serves (`served`), is
/// durable before the first byte, and is named in the response
/// (`x-vidimus-register-entry`); the end of the response registers the bytes sent and
/// how it ended. A revoked or expired grant ends the response within a second.
async fn serve_mp4(
    state: AppState,
    user: AuthUser,
    id: String,
    q: RangeQuery,
    whereabouts: Option<crate::grants::Whereabouts>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let id = camera_id(&id)?;
    let (from, to) = q.parse(vidimus_store::export::MAX_EXPORT)?;
    let reproduce = whereabouts.is_some();
    // Every copy served carries a mark tying it to its register entries and request. It
    // is the same for every byte-range request of one range by one user under one
    // grant (a player assembles the file from several responses, which must match), so
    // it is derived, not random; each response's own entry is named beside it.
    let export_id = |grant: i64| {
        use sha2::Digest;
        let mark = format!(
            "{}:{id}:{}:{}:{reproduce}:{grant}",
            user.user_id, from.0, to.0
        );
        let h = sha2::Sha256::digest(mark.as_bytes());
        h[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: if reproduce {
                vidimus_access::request::Action::Reproduce
            } else {
                vidimus_access::request::Action::ViewRecorded
            },
            camera_id: id,
            from,
            to,
            whereabouts: whereabouts.as_ref(),
            grant_id: q.grant,
            export_id: None,
        },
    )
    .await?
    .not_view_only(&state, crate::grants::NotViewOnly::File)
    .await?;
    let export_id = export_id(granted.grant_id);
    // A masked camera's export, for a grant that does not lift the mask, is a masked
    // copy (decoded, masked, encoded again); its playback file is refused (the console
    // plays the masked stream).
    if reproduce && granted.mask.is_some() {
        granted.entry["export_id"] = serde_json::json!(export_id);
        return crate::masked::export(&state, &user, granted, id, from, to, export_id).await;
    }
    let mut granted = granted
        .not_masked(&state, "a recorded file for playback")
        .await?;
    granted.entry["export_id"] = serde_json::json!(export_id);
    let files = state.files.clone();
    let within = granted.within;
    let trace = vidimus_store::export::Trace {
        export_id: export_id.clone(),
        request_id: Some(granted.request_id),
        grant_id: Some(granted.grant_id),
        user: user.username.clone(),
    };
    let prepared = state
        .db
        .run(move |ix| {
            let cam = ix
                .cameras(true)?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "camera_not_found",
                        format!("no camera {id}"),
                    )
                })?;
            let p = vidimus_store::export::prepare_with(
                ix,
                &files,
                id,
                &cam.name,
                from,
                to,
                vidimus_store::export::ExportOptions {
                    whole_fragments: false,
                    trace: Some(trace),
                    within: Some(within),
                },
            )?;
            Ok((p, cam.name))
        })
        .await;
    let (prepared, name) = match prepared {
        Ok(p) => p,
        Err(e) => {
            granted.register_failed(&state, &e.message).await;
            return Err(e);
        }
    };
    let total = prepared.plan.total_len;
    // Byte ranges make the download seekable in a <video> element.
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(v) => {
            let text = v.to_str().unwrap_or("");
            match parse_range(text, total) {
                Some(r) => Some(r),
                None => {
                    let e = ApiError::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "bad_range",
                        format!("unsatisfiable range {text:?} of {total} bytes"),
                    );
                    granted.register_failed(&state, &e.message).await;
                    return Err(e);
                }
            }
        }
    };
    let (start, end) = range.unwrap_or((0, total.saturating_sub(1)));
    let (mut granted, handout) = granted.watch(&state, false).await?;
    granted
        .register(
            &state,
            serde_json::json!({
                "outcome": "served",
                "served": {"start": start, "end": end, "total": total},
            }),
        )
        .await?;
    tracing::info!(user = %user.username, camera = %name, %from, %to, start, end, total, grant = granted.grant_id, reproduce, entry = granted.leaf_index, "video served");
    let filename = format!(
        "{}_{}.mp4",
        name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
        from.unix_millis()
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let files = state.files.clone();
    let leaf = granted.leaf_index;
    let stop = handout.stop_signal();
    // The reader fills a small queue; the body takes from it. The hand-out's watch and
    // its end entry live with the body: a revocation stops what is still queued, and
    // the bytes registered are those the body gave out.
    tokio::task::spawn_blocking(move || stream_range(&prepared, &files, start, end, &tx, &stop));
    let ending = crate::grants::HandoutEnd::new(&state, granted, end + 1 - start);
    let stream = crate::grants::guarded_body(rx, handout, ending);
    let mut r = Response::new(Body::from_stream(stream));
    if range.is_some() {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        r.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{end}/{total}"))
                .map_err(ApiError::internal)?,
        );
    }
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end + 1 - start));
    h.insert("x-vidimus-register-entry", HeaderValue::from(leaf));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "{}; filename=\"{filename}\"",
            if reproduce { "attachment" } else { "inline" }
        ))
        .map_err(ApiError::internal)?,
    );
    Ok(r.into_response())
}

/// Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range of a `total`-byte body
/// into inclusive offsets.
fn parse_range(v: &str, total: u64) -> Option<(u64, u64)> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || total == 0 {
        return None; // one range only
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (total.checked_sub(n.min(total))?, total - 1)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            total - 1
        } else {
            b.parse::<u64>().ok()?.min(total - 1)
        };
        (start, end)
    };
    (start <= end && end < total).then_some((start, end))
}

/// Sends bytes `start..=end` of the planned file to the response body's queue, until
/// done, the client goes or the hand-out must stop; returns how it ended.
fn stream_range(
    p: &vidimus_store::export::PreparedExport,
    files: &vidimus_store::SegmentFiles,
    start: u64,
    end: u64,
    tx: &tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
    stop: &tokio::sync::watch::Receiver<Option<crate::handout::Stop>>,
) -> &'static str {
    let mut ended = "completed";
    let r = vidimus_store::export::read_range(p, files, start, end, |chunk| {
        if let Some(why) = *stop.borrow() {
            ended = why.as_str();
            return Ok(false);
        }
        let ok = tx.blocking_send(Ok(bytes::Bytes::from(chunk))).is_ok();
        if !ok {
            ended = "client closed";
        }
        Ok(ok)
    });
    if let Err(e) = r {
        tracing::error!(error = %e, "export stream failed");
        let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        ended = "failed";
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=990-5000", 1000), Some((990, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}
