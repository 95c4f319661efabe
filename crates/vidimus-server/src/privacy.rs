//! Cameras' static privacy masks (Art. 10, 30): `GET`/`PUT
//! /api/cameras/{id}/privacy-mask`. Administrators of the system manager draw them in
//! the console (on a snapshot); every user who can see the camera can read where its
//! masks are. What is served of a masked camera is decided in `grants` (the mask is
//! lifted only by a grant with `unmask`) and burned in by `masked` (live), `view`
//! (playback), `snapshot`, `thumbnails` and publications; files of the recorded bytes
//! are refused (`privacy_masked`).

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use vidimus_core::privacy::PrivacyMask;
use vidimus_core::time::Wall90k;
use vidimus_store::privacy::{MASK_CHANGE_TTL_90K, MaskChangeRefusal, MaskOutcome};

/// A camera's mask: polygons of `[x, y]` corners in fractions of the picture (0..1
/// across, 0..1 down); empty: no mask.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MaskInfo {
    pub camera_id: i64,
    #[schema(value_type = Vec<Vec<[f64; 2]>>)]
    pub polygons: Vec<Vec<[f64; 2]>>,
    /// When and by whom it was set (absent: no mask).
    pub set_at: Option<String>,
    pub set_by: Option<String>,
    /// A change that would expose part of the mask, waiting for a second administrator
    /// (shown to administrators of the system manager only).
    pub pending: Option<PendingChange>,
}

/// A proposed mask change: its polygons, who proposed it when, and until when a
/// second administrator may approve it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PendingChange {
    pub id: i64,
    #[schema(value_type = Vec<Vec<[f64; 2]>>)]
    pub polygons: Vec<Vec<[f64; 2]>>,
    pub proposed_at: String,
    pub proposed_by: String,
    pub expires_at: String,
    /// pending, applied, rejected, superseded or expired.
    pub state: String,
}

impl PendingChange {
    fn of(c: vidimus_store::privacy::MaskChange) -> Self {
        PendingChange {
            id: c.id,
            polygons: c.mask.polygons,
            proposed_at: Wall90k(c.proposed_90k).to_string(),
            proposed_by: c.proposed_by,
            expires_at: Wall90k(c.proposed_90k + MASK_CHANGE_TTL_90K).to_string(),
            state: c.state,
        }
    }
}

/// The mask to set.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMask {
    /// At most 32 polygons of 3 to 64 corners; `[]` removes the mask.
    #[schema(value_type = Vec<Vec<[f64; 2]>>)]
    pub polygons: Vec<Vec<[f64; 2]>>,
}

/// A camera that is there (not removed), or `404 camera_not_found`.
fn live_camera(ix: &vidimus_store::SqliteIndex, id: i64) -> Result<(), ApiError> {
    if ix.camera_by_id(id)?.is_none_or(|c| c.removed_90k.is_some()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {id}"),
        ));
    }
    Ok(())
}

async fn info(state: &AppState, id: i64, admin: bool) -> Result<MaskInfo, ApiError> {
    let now = state.clocks.realtime();
    state
        .db
        .run(move |ix| {
            live_camera(ix, id)?;
            let pending = if admin {
                ix.pending_mask_change(id, now)?.map(PendingChange::of)
            } else {
                None
            };
            Ok(match ix.privacy_mask(id)? {
                Some(m) => MaskInfo {
                    camera_id: id,
                    polygons: m.mask.polygons,
                    set_at: Some(Wall90k(m.set_90k).to_string()),
                    set_by: Some(m.set_by),
                    pending,
                },
                None => MaskInfo {
                    camera_id: id,
                    polygons: Vec::new(),
                    set_at: None,
                    set_by: None,
                    pending,
                },
            })
        })
        .await
}

/// Where a camera's privacy masks are.
#[utoipa::path(get, path = "/api/cameras/{id}/privacy-mask", params(("id" = i64, Path,)),
    responses((status = 200, body = MaskInfo), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
) -> Result<Json<MaskInfo>, ApiError> {
    let id = crate::api::camera_id(&id)?;
    // Least privilege: only who sees the camera sees where it is masked (the polygons
    // point at what is sensitive); anyone else is told there is no such camera.
    let (uid, now) = (user.user_id, state.clocks.realtime());
    let sees = state
        .db
        .run(move |ix| Ok(crate::api::CameraView::of(ix, uid, now)?.sees(id)))
        .await?;
    if !sees {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {id}"),
        ));
    }
    let admin = crate::custody::admin_only(&state, &user, "see pending mask changes")
        .await
        .is_ok();
    Ok(Json(info(&state, id, admin).await?))
}

/// Sets (replaces) or, with no polygons, removes a camera's privacy mask
/// (administrators of the system manager). The change is a row leaf and an event of
/// the integrity log. A change that would expose anything the mask covers (removing
/// it, shrinking or moving a polygon) is not made but proposed: `202 Accepted` with
/// the mask still in place and the change `pending`, for a second administrator to
/// approve (the two-person rule, Art. 10). Growing a mask is at once.
#[utoipa::path(put, path = "/api/cameras/{id}/privacy-mask", params(("id" = i64, Path,)),
    request_body = SetMask,
    responses((status = 200, body = MaskInfo), (status = 202, body = MaskInfo),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn set(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
    Json(req): Json<SetMask>,
) -> Result<(StatusCode, Json<MaskInfo>), ApiError> {
    crate::custody::admin_only(&state, &user, "set privacy masks").await?;
    let id = crate::api::camera_id(&id)?;
    let mask = PrivacyMask {
        polygons: req.polygons,
    };
    mask.validate()
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_mask", e.to_string()))?;
    let now = state.clocks.realtime();
    let by = user.username.clone();
    let m = mask.clone();
    let outcome = state
        .db
        .run(move |ix| {
            live_camera(ix, id)?;
            Ok(ix.set_privacy_mask(id, &m, &by, now)?)
        })
        .await?;
    // Hand-outs of this camera decided under the old mask stop within a quarter of a
    // second (the hand-out watcher compares mask versions; a change from the command
    // line is seen the same way); live viewers reconnect under the new one.
    let status = match outcome {
        MaskOutcome::Set => {
            tracing::info!(user = %user.username, camera_id = id, polygons = mask.polygons.len(), "privacy mask set");
            StatusCode::OK
        }
        MaskOutcome::Pending(change) => {
            tracing::info!(user = %user.username, camera_id = id, change, "privacy mask change proposed; a second administrator approves it");
            StatusCode::ACCEPTED
        }
    };
    Ok((status, Json(info(&state, id, true).await?)))
}

/// A second administrator of the system manager approves a pending mask change: it
/// takes effect (logged naming both). Refused: `403 own_change` to whoever proposed
/// it; `409 not_pending`, `409 change_expired` (after a day), `409 mask_changed` (the
/// mask was set again since); `404 change_not_found`.
#[utoipa::path(post, path = "/api/cameras/{id}/privacy-mask/changes/{change}/approve",
    params(("id" = i64, Path,), ("change" = i64, Path,)),
    responses((status = 200, body = PendingChange), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    Path((id, change)): Path<(String, String)>,
    user: AuthUser,
) -> Result<Json<PendingChange>, ApiError> {
    decide(state, id, change, user, true).await
}

/// An administrator of the system manager (the one who proposed it too: a
/// withdrawal) rejects a pending mask change; the mask stays.
#[utoipa::path(post, path = "/api/cameras/{id}/privacy-mask/changes/{change}/reject",
    params(("id" = i64, Path,), ("change" = i64, Path,)),
    responses((status = 200, body = PendingChange), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    Path((id, change)): Path<(String, String)>,
    user: AuthUser,
) -> Result<Json<PendingChange>, ApiError> {
    decide(state, id, change, user, false).await
}

async fn decide(
    state: AppState,
    id: String,
    change: String,
    user: AuthUser,
    approve: bool,
) -> Result<Json<PendingChange>, ApiError> {
    crate::custody::admin_only(&state, &user, "decide privacy mask changes").await?;
    let id = crate::api::camera_id(&id)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "change_not_found",
            "no such privacy mask change of this camera",
        )
    };
    let change: i64 = change.parse().map_err(|_| not_found())?;
    let (by, now) = (user.username.clone(), state.clocks.realtime());
    let decided = state
        .db
        .run(move |ix| {
            live_camera(ix, id)?;
            if ix.mask_change(change)?.is_none_or(|c| c.camera_id != id) {
                return Err(not_found());
            }
            Ok(ix.decide_mask_change(change, approve, &by, now)?)
        })
        .await?;
    let c = decided.map_err(|r| {
        let (status, code) = match &r {
            MaskChangeRefusal::NotFound => (StatusCode::NOT_FOUND, "change_not_found"),
            MaskChangeRefusal::OwnChange => (StatusCode::FORBIDDEN, "own_change"),
            MaskChangeRefusal::NotPending(_) => (StatusCode::CONFLICT, "not_pending"),
            MaskChangeRefusal::Expired => (StatusCode::CONFLICT, "change_expired"),
            MaskChangeRefusal::MaskChanged => (StatusCode::CONFLICT, "mask_changed"),
        };
        ApiError::new(status, code, r.to_string())
    })?;
    tracing::info!(user = %user.username, camera_id = id, change, approve, "privacy mask change decided");
    Ok(Json(PendingChange::of(c)))
}
