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

async fn info(state: &AppState, id: i64) -> Result<MaskInfo, ApiError> {
    state
        .db
        .run(move |ix| {
            live_camera(ix, id)?;
            Ok(match ix.privacy_mask(id)? {
                Some(m) => MaskInfo {
                    camera_id: id,
                    polygons: m.mask.polygons,
                    set_at: Some(Wall90k(m.set_90k).to_string()),
                    set_by: Some(m.set_by),
                },
                None => MaskInfo {
                    camera_id: id,
                    polygons: Vec::new(),
                    set_at: None,
                    set_by: None,
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
    Ok(Json(info(&state, id).await?))
}

/// Sets (replaces) or, with no polygons, removes a camera's privacy mask
/// (administrators of the system manager). The change is a row leaf and an event of
/// the integrity log.
#[utoipa::path(put, path = "/api/cameras/{id}/privacy-mask", params(("id" = i64, Path,)),
    request_body = SetMask,
    responses((status = 200, body = MaskInfo), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn set(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
    Json(req): Json<SetMask>,
) -> Result<Json<MaskInfo>, ApiError> {
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
    state
        .db
        .run(move |ix| {
            live_camera(ix, id)?;
            Ok(ix.set_privacy_mask(id, &m, &by, now)?)
        })
        .await?;
    // Hand-outs of this camera decided under the old mask stop within a quarter of a
    // second (the hand-out watcher compares mask versions; a change from the command
    // line is seen the same way); live viewers reconnect under the new one.
    tracing::info!(user = %user.username, camera_id = id, polygons = mask.polygons.len(), "privacy mask set");
    Ok(Json(info(&state, id).await?))
}
