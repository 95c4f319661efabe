//! Snapshots: a still image of one recorded instant (`GET
//! /api/cameras/{id}/snapshot.jpg?t=…&recipient=…`). A still is a copy leaving the
//! system — a reproduction (Art. 24(3)) — so it is decided under a grant that allows
//! reproduction (never a view-only one), needs its recipient, carries a mark tying it
//! to its register entry (an APP11 segment), and is registered, with the instant and
//! the bytes, before it is handed out.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vidimus_core::time::Wall90k;

/// What a snapshot is of and for whom.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct SnapshotQuery {
    /// The instant (RFC 3339 with an offset, or Unix seconds): the frame shown then.
    pub t: String,
    /// Who receives the copy (required, registered).
    pub recipient: String,
    /// Where it goes (e.g. a case file).
    #[serde(default)]
    pub destination: Option<String>,
    /// The grant (case) it is made under, when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
}

/// The still of one instant as a JPEG: a registered reproduction.
#[utoipa::path(get, path = "/api/cameras/{id}/snapshot.jpg", params(("id" = i64, Path,), SnapshotQuery),
    responses((status = 200, description = "image/jpeg, with x-vidimus-register-entry"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn snapshot(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let id = crate::api::camera_id(&id)?;
    let at = Wall90k::parse(&q.t)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))?;
    if q.recipient.trim().is_empty() {
        return Err(ApiError::bad_request(
            "a snapshot is a copy: say who receives it (`recipient`, registered)",
        ));
    }
    let whereabouts = crate::grants::Whereabouts {
        recipient: Some(q.recipient.trim().to_owned()),
        medium: Some("snapshot (JPEG)".into()),
        destination: q.destination.clone(),
    };
    let export_id = vidimus_access::token::new_token()[..32].to_owned();
    // One frame's worth of range: the frame shown at `at`.
    let to = Wall90k(at.0 + 3600);
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: vidimus_access::request::Action::Reproduce,
            camera_id: id,
            from: at,
            to,
            whereabouts: Some(&whereabouts),
            grant_id: q.grant,
            export_id: Some(export_id.clone()),
        },
    )
    .await?;
    let prepared = crate::api::prepare_granted(&state, id, at, to, granted.within).await;
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            granted.register_failed(&state, &e.message).await;
            return Err(e);
        }
    };
    let mark = format!(
        "Vidimus snapshot {export_id}: camera {}, {at}, for {} under request #{}",
        granted.camera, user.username, granted.request_id
    );
    let files = state.files.clone();
    let mask = granted.mask.clone();
    let made = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, i64), String> {
        let start = prepared.samples.start_90k;
        let mut units: Vec<(i64, Vec<u8>)> = Vec::new();
        let mut entry = None;
        vidimus_store::export::read_samples(&prepared, &files, |s| {
            // A new sample entry (the camera's parameters changed) starts anew.
            if entry != Some(s.sample_entry) {
                entry = Some(s.sample_entry);
                units.clear();
            }
            units.push((s.wall_90k - start, s.data.to_vec()));
            Ok(true)
        })
        .map_err(|e| e.to_string())?;
        let entry = entry.ok_or("no recording at that instant")?;
        let target = at.0 - start;
        let mut frame = vidimus_codec::still::frame_at(
            &prepared.samples.entries[entry],
            units.iter().map(|(p, d)| (*p, d.as_slice())),
            target.max(0),
            &vidimus_codec::Ffmpeg::find(),
        )
        .map_err(|e| e.to_string())?;
        // A masked camera's snapshot has its mask burned in (unless the grant lifts it).
        if let Some(m) = mask {
            vidimus_codec::MaskBurner::new(m).burn(&mut frame);
        }
        let jpeg = vidimus_codec::still::jpeg(&frame, 90, &mark).map_err(|e| e.to_string())?;
        Ok((jpeg, start + frame.pts))
    })
    .await
    .map_err(ApiError::internal)?;
    let (jpeg, shown) = match made {
        Ok(m) => m,
        Err(e) => {
            granted.register_failed(&state, &e).await;
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_recording",
                format!("no still at {at}: {e}"),
            ));
        }
    };
    // Registered, durably, before the first byte.
    granted
        .register(
            &state,
            serde_json::json!({"outcome": "served", "served": {"snapshot": "image/jpeg", "frame_at": Wall90k(shown).to_string(), "bytes": jpeg.len()}}),
        )
        .await?;
    let mut r = jpeg.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        "x-vidimus-register-entry",
        HeaderValue::from(granted.leaf_index),
    );
    let name: String = granted
        .camera
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "attachment; filename=\"snapshot-{name}-{}.jpg\"",
            shown / 90_000
        ))
        .map_err(ApiError::internal)?,
    );
    tracing::info!(user = %user.username, camera_id = id, grant = granted.grant_id, "snapshot handed out");
    Ok(r)
}
