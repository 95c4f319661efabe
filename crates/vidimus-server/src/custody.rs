//! Keeping video lawfully: per-camera retention (checked against the rulebook; a
//! change below the minimum is refused citing the article), legal holds placed and
//! released by administrators, and verifiable export bundles (docs/bundle.md) made by
//! operators. Every act is recorded in the tamper-evident system log.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vidimus_core::time::Wall90k;
use vidimus_store::MetadataStore;

/// Only an administrator of the system manager (the unit running the system) changes
/// retention or places and releases holds — not an administrator of a PSB or of any
/// other organisation.
pub(crate) async fn admin_only(
    state: &AppState,
    user: &AuthUser,
    what: &str,
) -> Result<(), ApiError> {
    let uid = user.user_id;
    let manager = state
        .db
        .run(move |ix| {
            let u = ix.user_by_id(uid)?.ok_or_else(ApiError::unauthenticated)?;
            let org = ix.org(u.org_id)?;
            Ok(u.role == "admin" && org.is_some_and(|o| o.kind == "system_manager"))
        })
        .await?;
    if manager {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("only an administrator of the system manager may {what}"),
        ))
    }
}

fn time(s: &str) -> Result<Wall90k, ApiError> {
    Wall90k::parse(s).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))
}

use crate::api::camera_id;

/// A camera's retention.
#[derive(serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Retention {
    /// Days of video kept; null for the rulebook's minimum.
    pub retention_days: Option<u32>,
    /// The camera protects a key target against terrorist attacks (Art. 32: ≥ 90 days).
    pub counter_terrorism_key_target: bool,
}

/// Sets a camera's retention (administrators). Refused below the legal minimum, with
/// the article cited (`retention_below_minimum`, 422).
#[utoipa::path(put, path = "/api/cameras/{id}/retention", params(("id" = i64, Path,)),
    request_body = Retention,
    responses((status = 200, body = Retention), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn set_retention(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
    Json(req): Json<Retention>,
) -> Result<Json<Retention>, ApiError> {
    admin_only(&state, &user, "change retention").await?;
    let id = camera_id(&id)?;
    let days = req.retention_days;
    let min = state
        .rulebook
        .min_retention(
            vidimus_core::rulebook::RetentionSubject::Video,
            req.counter_terrorism_key_target,
        )
        .map_or(0, |r| r.min_days);
    if let Err(refusal) = state
        .rulebook
        .check_video_retention(days.unwrap_or(min), req.counter_terrorism_key_target)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "retention_below_minimum",
            refusal.to_string(),
        ));
    }
    let now = state.clocks.realtime();
    let key = req.counter_terrorism_key_target;
    state
        .db
        .run(move |ix| {
            let cam = ix
                .cameras(false)?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| vidimus_store::StoreError::CameraNotFound(id.to_string()))?;
            if cam.source == vidimus_store::index::CameraSource::Config {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "defined_in_config",
                    format!(
                        "camera {:?} is defined in the configuration file; set retention_days there",
                        cam.name
                    ),
                ));
            }
            Ok(ix.set_retention(id, days, key, &user.username, now)?)
        })
        .await?;
    Ok(Json(req))
}

/// A legal hold.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HoldInfo {
    pub id: i64,
    pub camera_id: i64,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub created_by: String,
    pub created: String,
    pub released_by: Option<String>,
    pub released: Option<String>,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct HoldsQuery {
    /// Include released holds.
    #[serde(default)]
    pub all: bool,
}

/// Lists legal holds (active ones unless `all`).
#[utoipa::path(get, path = "/api/holds", params(HoldsQuery),
    responses((status = 200, body = [HoldInfo]), (status = 401, body = crate::error::ErrorBody)))]
pub async fn holds(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<HoldsQuery>,
) -> Result<Json<Vec<HoldInfo>>, ApiError> {
    let now = state.clocks.realtime();
    let (rows, view) = state
        .db
        .run(move |ix| {
            Ok((
                ix.holds(q.all)?,
                crate::api::CameraView::of(ix, user.user_id, now)?,
            ))
        })
        .await?;
    // Holds of the cameras the user sees; why video is held (a case, an
    // investigation) only for those who may place holds.
    Ok(Json(
        rows.into_iter()
            .filter(|h| view.sees(h.camera_id))
            .map(|h| HoldInfo {
                id: h.id,
                camera_id: h.camera_id,
                from: Wall90k(h.from_90k).to_string(),
                to: Wall90k(h.to_90k).to_string(),
                reason: if view.manager_admin {
                    h.reason
                } else {
                    String::new()
                },
                created_by: h.created_by,
                created: Wall90k(h.created_90k).to_string(),
                released_by: h.released_by,
                released: h.released_90k.map(|t| Wall90k(t).to_string()),
            })
            .collect(),
    ))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct NewHold {
    pub camera_id: i64,
    /// RFC 3339 or Unix seconds.
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Places a legal hold (administrators): the range is kept past retention until the
/// hold is released.
#[utoipa::path(post, path = "/api/holds", request_body = NewHold,
    responses((status = 201, body = Created), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn add_hold(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<NewHold>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    admin_only(&state, &user, "place a legal hold").await?;
    let (from, to) = (time(&req.from)?, time(&req.to)?);
    let now = state.clocks.realtime();
    let id = state
        .db
        .run(move |ix| {
            if !ix.cameras(true)?.iter().any(|c| c.id == req.camera_id) {
                return Err(
                    vidimus_store::StoreError::CameraNotFound(req.camera_id.to_string()).into(),
                );
            }
            Ok(ix.add_hold(req.camera_id, from, to, &req.reason, &user.username, now)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Releases a legal hold (administrators).
#[utoipa::path(post, path = "/api/holds/{id}/release", params(("id" = i64, Path,)),
    responses((status = 204, description = "Released"), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn release_hold(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    admin_only(&state, &user, "release a legal hold").await?;
    let now = state.clocks.realtime();
    state
        .db
        .run(move |ix| Ok(ix.release_hold(id, &user.username, now)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct NewBundle {
    /// RFC 3339 or Unix seconds.
    pub from: String,
    pub to: String,
    /// Why the video is handed out (required; goes into the signed manifest).
    pub purpose: String,
    /// The grant (case) the reproduction is made under; needed when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
    /// Who receives it (required), on what and where it goes: registered.
    #[serde(flatten)]
    pub whereabouts: crate::grants::Whereabouts,
}

/// How long a made bundle waits to be downloaded: it is evidence already registered
/// and logged; the file is only the hand-out, and a full disk would pause recording.
pub const BUNDLE_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes bundles (and their owner records, and abandoned pending files) older than
/// [`BUNDLE_KEPT`].
fn forget_old_bundles(dir: &std::path::Path) {
    forget_older_than(dir, BUNDLE_KEPT);
}

/// Removes every file in `dir` last changed more than `kept` ago.
pub(crate) fn forget_older_than(dir: &std::path::Path, kept: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > kept);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Who made a bundle and under what: only they may download it, and only while the
/// grant still allows reproducing that camera and range.
#[derive(serde::Deserialize, serde::Serialize)]
struct BundleOwner {
    user_id: i64,
    camera_id: i64,
    from_90k: i64,
    to_90k: i64,
    grant_id: i64,
    /// A privacy-masked copy's bundle, made under the mask set at this time: handed
    /// out only while that is still the camera's mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    masked_under: Option<i64>,
}

/// A bundle made.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BundleInfo {
    pub export_id: String,
    pub bytes: u64,
    /// Where to download it (GET).
    pub download: String,
    /// SHA-256 of the site's public key.
    pub key_fingerprint: String,
    pub start: String,
    pub end: String,
    pub frames: u64,
}

/// Makes a verifiable export bundle of a camera's range (logged in the integrity
/// log; see docs/bundle.md). Download it from `download`.
#[utoipa::path(post, path = "/api/cameras/{id}/bundles", params(("id" = i64, Path,)), request_body = NewBundle,
    responses((status = 201, body = BundleInfo), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn make_bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
    Json(req): Json<NewBundle>,
) -> Result<(StatusCode, Json<BundleInfo>), ApiError> {
    let id = camera_id(&id)?;
    let (from, to) = (time(&req.from)?, time(&req.to)?);
    if req
        .whereabouts
        .recipient
        .as_deref()
        .is_none_or(|r| r.trim().is_empty())
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "whereabouts_required",
            "say who receives the bundle (`recipient`): reproductions are registered with their whereabouts (Art. 24(3))",
        ));
    }
    if req.purpose.trim().is_empty() {
        return Err(ApiError::bad_request(
            "an export bundle must state its purpose",
        ));
    }
    let mut w = req.whereabouts.clone();
    w.medium.get_or_insert_with(|| "bundle".into());
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: vidimus_access::request::Action::Reproduce,
            camera_id: id,
            from,
            to,
            whereabouts: Some(&w),
            grant_id: req.grant,
            export_id: None,
        },
    )
    .await?;
    if granted.mask.is_some() {
        return masked_bundle(&state, &user, granted, id, (from, to), &req).await;
    }
    let now = state.clocks.realtime();
    let (files, dir, key) = (
        state.files.clone(),
        state.data_dir.clone(),
        state.signing_key,
    );
    let (request_id, grant_id, uid) = (granted.request_id, granted.grant_id, user.user_id);
    let within = granted.within;
    let built = state
        .db
        .run(move |ix| {
            let cam = ix
                .cameras(true)?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| vidimus_store::StoreError::CameraNotFound(id.to_string()))?;
            let seed = match key {
                Some(k) => k,
                None => vidimus_store::log::site_key(&dir)?,
            };
            let out_dir = dir.join("exports");
            std::fs::create_dir_all(&out_dir).map_err(ApiError::internal)?;
            forget_old_bundles(&out_dir);
            let tmp = out_dir.join(format!(
                "pending-{}.vbundle",
                vidimus_access::token::new_token()
            ));
            let s = vidimus_store::bundle::write_bundle(
                ix,
                &files,
                &seed,
                &vidimus_store::bundle::BundleRequest {
                    camera_id: cam.id,
                    camera: &cam.name,
                    from,
                    to,
                    exporter: &user.username,
                    purpose: &req.purpose,
                    now,
                    request_id: Some(request_id),
                    grant_id: Some(grant_id),
                    within: Some(within),
                },
                &tmp,
                |_, _| {},
            );
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            };
            let owner = BundleOwner {
                user_id: uid,
                camera_id: cam.id,
                from_90k: from.0,
                to_90k: to.0,
                grant_id,
                masked_under: None,
            };
            std::fs::write(
                out_dir.join(format!("{}.owner", s.manifest.export_id)),
                serde_json::to_vec(&owner).map_err(ApiError::internal)?,
            )
            .map_err(ApiError::internal)?;
            std::fs::rename(
                &tmp,
                out_dir.join(format!("{}.vbundle", s.manifest.export_id)),
            )
            .map_err(ApiError::internal)?;
            Ok(s)
        })
        .await;
    // Registered as what it was: a bundle built (with its id and size), or an attempt
    // that failed with its error.
    let s = match built {
        Ok(s) => s,
        Err(e) => {
            granted.register_failed(&state, &e.message).await;
            return Err(e);
        }
    };
    granted
        .register(
            &state,
            serde_json::json!({
                "outcome": "built",
                "export_id": s.manifest.export_id,
                "bytes": s.bytes,
            }),
        )
        .await?;
    let m = &s.manifest;
    Ok((
        StatusCode::CREATED,
        Json(BundleInfo {
            download: format!("/api/exports/{}.vbundle", m.export_id),
            export_id: m.export_id.clone(),
            bytes: s.bytes,
            key_fingerprint: m.key_fingerprint.clone(),
            start: m.start.clone(),
            end: m.end.clone(),
            frames: m.frames,
        }),
    ))
}

/// The bundle of a masked camera for a grant that does not lift its masks (Art. 10,
/// 30): a bundle of the recorded bytes would show what the masks hide, so it is a
/// derived bundle instead (docs/bundle.md: the publication format, `derivation:
/// "privacy masked"`) — a masked copy, as `export.mp4` makes, with the proof that it
/// was made from logged recording, without the recording. At most
/// [`crate::masked::MAX_COPY_SECS`] at once. Registered as built (with the copy's
/// SHA-256) when the copy is logged; downloaded like any other bundle.
async fn masked_bundle(
    state: &AppState,
    user: &AuthUser,
    mut granted: crate::grants::Authorized,
    camera_id: i64,
    (from, to): (Wall90k, Wall90k),
    req: &NewBundle,
) -> Result<(StatusCode, Json<BundleInfo>), ApiError> {
    use vidimus_store::publication::{
        Derived, DerivedKind, Destination, PublicationRequest, new_id, prepare_publication,
        write_publication,
    };
    let mask = granted.mask.clone().expect("a masked camera");
    let max = crate::masked::MAX_COPY_SECS;
    if to.0 - from.0 > max * 90_000 {
        let e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "masked_copy_too_long",
            format!(
                "camera {:?} has privacy masks: its bundle holds a masked copy, decoded and encoded again, of at most {max} s at once; ask for a shorter range",
                granted.camera
            ),
        );
        granted.register_failed(state, &e.message).await;
        return Err(e);
    }
    let recipient = req.whereabouts.recipient.clone().unwrap_or_default();
    if [
        vidimus_integrity::publication::WHEREABOUTS,
        vidimus_integrity::publication::OPEN_SHARING,
    ]
    .iter()
    .any(|w| recipient.trim().eq_ignore_ascii_case(w))
    {
        let e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_anonymized",
            format!(
                "a masked copy of camera {:?} is not anonymized: it goes to a named recipient, never to {:?}; publish it instead (Art. 31)",
                granted.camera,
                recipient.trim()
            ),
        );
        granted.register_failed(state, &e.message).await;
        return Err(e);
    }
    struct Owned {
        id: String,
        camera: String,
        publisher: String,
        purpose: String,
        request_id: i64,
        grant_id: i64,
        within: (Wall90k, Wall90k),
    }
    let id = match new_id() {
        Ok(id) => id,
        Err(e) => {
            let e = ApiError::from(e);
            granted.register_failed(state, &e.message).await;
            return Err(e);
        }
    };
    let o = std::sync::Arc::new(Owned {
        id,
        camera: granted.camera.clone(),
        publisher: user.username.clone(),
        purpose: req.purpose.clone(),
        request_id: granted.request_id,
        grant_id: granted.grant_id,
        within: granted.within,
    });
    fn request(
        o: &Owned,
        camera_id: i64,
        (from, to): (Wall90k, Wall90k),
        now: Wall90k,
    ) -> PublicationRequest<'_> {
        PublicationRequest {
            publication_id: o.id.clone(),
            camera_id,
            camera: &o.camera,
            from,
            to,
            publisher: &o.publisher,
            purpose: &o.purpose,
            now,
            request_id: Some(o.request_id),
            grant_id: Some(o.grant_id),
            within: Some(o.within),
        }
    }
    let files = state.files.clone();
    let planned = {
        let (o, now) = (o.clone(), state.clocks.realtime());
        state
            .db
            .run(move |ix| {
                Ok(prepare_publication(
                    ix,
                    &files,
                    &request(&o, camera_id, (from, to), now),
                )?)
            })
            .await
    };
    let source = match planned {
        Ok(s) => s,
        Err(e) => {
            granted.register_failed(state, &e.message).await;
            return Err(e);
        }
    };
    let metadata = serde_json::json!({
        "vidimus": "masked copy",
        "camera": granted.camera,
        "from": from.to_string(),
        "to": to.to_string(),
        "publication_id": o.id,
        "request_id": granted.request_id,
        "grant_id": granted.grant_id,
        "user": user.username,
        "privacy_mask": mask,
        "derived": "decoded, privacy masks burned in, encoded again; not the recorded bytes",
    })
    .to_string();
    // Watched while it is made, as a masked export is: one of the server's transcodes,
    // stopped by a revocation, an expiry or a change of the camera's mask.
    let (mut granted, handout) = granted.watch(state, true).await?;
    let files = state.files.clone();
    let copy_mask = mask.clone();
    let stop = handout.stop_signal();
    let made = crate::background::below_recording("masked bundle", move || {
        let r = crate::masked::copy(&source.prepared, &files, copy_mask, &metadata, &|| {
            stop.borrow().is_some()
        });
        (source, r)
    })
    .await;
    let stopped = *handout.stop_signal().borrow();
    let made = match (made, stopped) {
        (_, Some(why)) => Err(format!("the masked copy was stopped: {}", why.as_str())),
        (Err(e), None) => Err(format!("the masked copy did not finish: {e}")),
        (Ok((s, r)), None) => r.map(|m| (s, m)),
    };
    let (source, (mp4, frames)) = match made {
        Ok(m) => m,
        Err(e) => {
            granted.register_failed(state, &e).await;
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "masked_copy_failed",
                format!("the masked copy could not be made: {e}"),
            ));
        }
    };
    let report = serde_json::to_vec_pretty(&serde_json::json!({
        "derivation": vidimus_integrity::publication::MASKED,
        "frames": frames,
        "privacy_mask": mask,
    }))
    .map_err(ApiError::internal)?;
    let derived = Derived {
        duration_secs: source.prepared.summary.duration_secs,
        mp4,
        report,
        process: vidimus_integrity::publication::Process {
            anonymizer: format!("vidimus-codec {} (privacy mask)", env!("CARGO_PKG_VERSION")),
            models: Vec::new(),
            params: serde_json::json!({"privacy_mask": mask}),
        },
        kind: DerivedKind::Masked {
            whereabouts: recipient,
        },
        frames: frames as u64,
    };
    let (dir, key) = (state.data_dir.clone(), state.signing_key);
    let mut entry = granted.entry.clone();
    let mask_set = granted.mask_version.1;
    let uid = user.user_id;
    let now = state.clocks.realtime();
    let written = state
        .db
        .run(move |ix| {
            // The mask the copy was burned with is still the camera's: else it is not
            // logged (the hand-out watcher may not have looked since it changed).
            if ix.privacy_mask(camera_id)?.map(|m| m.set_90k) != mask_set {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "mask_changed",
                    "the camera's privacy mask changed while the masked bundle was made; make it again",
                ));
            }
            let seed = match key {
                Some(k) => k,
                None => vidimus_store::log::site_key(&dir)?,
            };
            let out_dir = dir.join("exports");
            std::fs::create_dir_all(&out_dir).map_err(ApiError::internal)?;
            forget_old_bundles(&out_dir);
            let out = out_dir.join(format!("{}.vbundle", o.id));
            let mut leaf = -1;
            let s = write_publication(
                ix,
                &seed,
                &request(&o, camera_id, (from, to), now),
                source,
                &derived,
                Destination {
                    out: &out,
                    replace: false,
                },
                |ix, m| {
                    entry["at"] = serde_json::json!(now.to_string());
                    entry["outcome"] = serde_json::json!("built");
                    entry["export_id"] = serde_json::json!(m.publication_id);
                    entry["clip_bytes"] = serde_json::json!(m.mp4.bytes);
                    entry["served"] = serde_json::json!({"masked_copy": {
                        "sha256": m.mp4.sha256, "bytes": m.mp4.bytes, "frames": m.frames}});
                    leaf = crate::grants::register(ix, now, &entry)
                        .map_err(|e| vidimus_store::StoreError::Invalid(e.message))?;
                    Ok(())
                },
            )?;
            let owner = BundleOwner {
                user_id: uid,
                camera_id,
                from_90k: from.0,
                to_90k: to.0,
                grant_id: o.grant_id,
                masked_under: mask_set,
            };
            std::fs::write(
                out_dir.join(format!("{}.owner", o.id)),
                serde_json::to_vec(&owner).map_err(ApiError::internal)?,
            )
            .map_err(ApiError::internal)?;
            Ok((s, leaf))
        })
        .await;
    let (s, leaf) = match written {
        Ok(w) => w,
        Err(e) => {
            granted.register_failed(state, &e.message).await;
            return Err(e);
        }
    };
    drop(handout);
    state.checkpoint_soon.notify_one();
    tracing::info!(user = %user.username, camera_id, %from, %to, bytes = s.bytes, register_entry = leaf, "masked bundle built");
    let m = &s.manifest;
    Ok((
        StatusCode::CREATED,
        Json(BundleInfo {
            download: format!("/api/exports/{}.vbundle", m.publication_id),
            export_id: m.publication_id.clone(),
            bytes: s.bytes,
            key_fingerprint: m.key_fingerprint.clone(),
            start: m.start.clone(),
            end: m.end.clone(),
            frames: m.frames,
        }),
    ))
}

/// Downloads a bundle made by `POST /api/cameras/{id}/bundles`.
#[utoipa::path(get, path = "/api/exports/{name}", params(("name" = String, Path, description = "`<export_id>.vbundle`")),
    responses((status = 200, content_type = "application/x-tar", description = "The bundle"),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn download_bundle(
    State(state): State<AppState>,
    Path(name): Path<String>,
    user: AuthUser,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such export bundle");
    let id = name.strip_suffix(".vbundle").ok_or_else(not_found)?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let owner: BundleOwner =
        tokio::fs::read(state.data_dir.join("exports").join(format!("{id}.owner")))
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(not_found)?;
    if owner.user_id != user.user_id {
        return Err(not_found());
    }
    // A download is a reproduction of its own: decided again under the grant the
    // bundle was made under (which may since have been revoked or expired), and
    // registered with the bytes served.
    let w = crate::grants::Whereabouts {
        medium: Some("bundle download".into()),
        recipient: Some(user.username.clone()),
        destination: None,
    };
    let granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: vidimus_access::request::Action::Reproduce,
            camera_id: owner.camera_id,
            from: Wall90k(owner.from_90k),
            to: Wall90k(owner.to_90k),
            whereabouts: Some(&w),
            grant_id: Some(owner.grant_id),
            export_id: Some(id.to_owned()),
        },
    )
    .await?;
    let mut granted = match owner.masked_under {
        None => granted.not_masked(&state, "an export bundle").await?,
        // A masked copy made under another mask than the camera's now would show what
        // the present one hides (or hide less than it).
        Some(set) if granted.mask_version.1 != Some(set) => {
            return Err(granted
                .refuse_with(
                    &state,
                    StatusCode::CONFLICT,
                    "mask_changed",
                    "the camera's privacy mask changed since this masked bundle was made: it is not handed out any more; make it again",
                )
                .await);
        }
        Some(_) => granted,
    };
    let path = state.data_dir.join("exports").join(&name);
    let f = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            granted.register_failed(&state, &e.to_string()).await;
            return Err(not_found());
        }
    };
    serve_file(
        &state,
        granted,
        f,
        "application/x-tar",
        &name,
        serde_json::json!({"outcome": "served"}),
    )
    .await
}

/// Serves the whole of `f` as an attachment named `filename`: registered (with
/// `handed` and the bytes served) before the first byte, and watched, so a revoked or
/// expired grant stops it.
pub(crate) async fn serve_file(
    state: &AppState,
    granted: crate::grants::Authorized,
    f: tokio::fs::File,
    content_type: &'static str,
    filename: &str,
    mut handed: serde_json::Value,
) -> Result<Response, ApiError> {
    let len = f.metadata().await.map_err(ApiError::internal)?.len();
    let (mut granted, handout) = granted.watch(state, false).await?;
    handed["served"] = serde_json::json!({"start": 0, "end": len.saturating_sub(1), "total": len});
    granted.register(state, handed).await?;
    let leaf = granted.leaf_index;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut f = f;
        loop {
            let mut buf = vec![0u8; 1 << 20];
            let item = match f.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(bytes::Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let ending = crate::grants::HandoutEnd::new(state, granted, len);
    let chunks = crate::grants::guarded_body(rx, handout, ending);
    let mut r = Response::new(Body::from_stream(chunks));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, len.into());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-vidimus-register-entry", HeaderValue::from(leaf));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .map_err(ApiError::internal)?,
    );
    Ok(r.into_response())
}
