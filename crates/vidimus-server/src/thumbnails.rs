//! Timeline thumbnails: `GET /api/cameras/{id}/thumbnails.jpg?from=&to=&n=`, one JPEG
//! strip of up to [`MAX_THUMBS`] small pictures — the key frame at or before each of
//! `n` instants spread over the range — for the playback timeline.
//!
//! Thumbnails are recorded video, so they are viewing under a grant like playback:
//! decided by the gate over the whole range, never under a view-only grant (Art. 35:
//! an interested party watches the watermarked stream, it gets no pictures to keep),
//! and registered — one entry per strip, naming the key frames shown — before the
//! first byte. The browser is told not to keep them (`no-store`).
//!
//! Key frames are decoded with the codec crate and kept, shrunk, in a small cache
//! (by camera and key frame), so panning back and forth does not decode again.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use vidimus_codec::Frame;
use vidimus_core::time::Wall90k;

/// At most this many thumbnails in a strip.
pub const MAX_THUMBS: usize = 24;
/// Thumbnails are this wide (or narrower) in pixels.
pub const THUMB_WIDTH: usize = 160;
/// Key frames kept decoded (each about 160×90 I420: ~22 KB).
const CACHE_ENTRIES: usize = 1024;

/// A key frame: (camera, wall time of the key frame, 90 kHz).
type KeyFrame = (i64, i64);

/// Decoded, shrunk key frames, and the order they came in (the oldest leaves first).
pub struct ThumbCache {
    inner: Mutex<Kept>,
    /// Strips decoded at once (the rest wait): thumbnails cannot take the machine.
    decoding: tokio::sync::Semaphore,
}

impl Default for ThumbCache {
    fn default() -> Self {
        ThumbCache {
            inner: Mutex::default(),
            decoding: tokio::sync::Semaphore::new(2),
        }
    }
}

#[derive(Default)]
struct Kept {
    frames: HashMap<KeyFrame, Arc<Frame>>,
    order: VecDeque<KeyFrame>,
}

impl ThumbCache {
    fn get(&self, key: KeyFrame) -> Option<Arc<Frame>> {
        self.inner
            .lock()
            .expect("thumb cache")
            .frames
            .get(&key)
            .cloned()
    }
    fn put(&self, key: KeyFrame, f: Arc<Frame>) {
        let mut g = self.inner.lock().expect("thumb cache");
        if g.frames.insert(key, f).is_none() {
            g.order.push_back(key);
        }
        while g.order.len() > CACHE_ENTRIES {
            if let Some(old) = g.order.pop_front() {
                g.frames.remove(&old);
            }
        }
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ThumbQuery {
    /// Start of the range (RFC 3339 with an offset, or Unix seconds).
    pub from: String,
    /// End of the range.
    pub to: String,
    /// How many thumbnails, spread evenly (1 to 24; default 8).
    #[serde(default)]
    pub n: Option<usize>,
    /// The grant (case) it is viewed under, when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
}

fn bad_time(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string())
}

/// Pixels of a thumbnail masked round a privacy mask: more than the shrink's rounding
/// can shift a fraction of the picture by.
const THUMB_MASK_MARGIN: usize = 3;

/// The key frames of a range as one JPEG strip, left to right; `x-vidimus-thumbnails`
/// gives each picture's key frame time (Unix seconds, JSON array; null where the
/// instant has no recording, drawn black).
#[utoipa::path(get, path = "/api/cameras/{id}/thumbnails.jpg", params(("id" = i64, Path,), ThumbQuery),
    responses((status = 200, description = "image/jpeg, with x-vidimus-thumbnails and x-vidimus-register-entry"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn thumbnails(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<ThumbQuery>,
) -> Result<Response, ApiError> {
    let id = crate::api::camera_id(&id)?;
    let from = Wall90k::parse(&q.from).map_err(bad_time)?;
    let to = Wall90k::parse(&q.to).map_err(bad_time)?;
    if to.0 <= from.0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_time",
            "`to` must be after `from`",
        ));
    }
    if to - from > crate::api::MAX_TIMELINE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "range_too_large",
            "thumbnails cover at most 31 days",
        ));
    }
    let n = q.n.unwrap_or(8).clamp(1, MAX_THUMBS);
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: vidimus_access::request::Action::ViewRecorded,
            camera_id: id,
            from,
            to,
            whereabouts: None,
            grant_id: q.grant,
            export_id: None,
        },
    )
    .await?
    .not_view_only(&state, crate::grants::NotViewOnly::Thumbnails)
    .await?;
    // The instants: the middle of each of n equal parts.
    let step = (to.0 - from.0) / n as i64;
    let mut pictures: Vec<Option<Arc<Frame>>> = Vec::with_capacity(n);
    let mut shown: Vec<Option<i64>> = Vec::with_capacity(n);
    let permit = state
        .thumbs
        .decoding
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    for i in 0..n as i64 {
        // The key frame before the part's middle, else (the middle unrecorded, or
        // newer than the index of a segment still being written) the part's first.
        let start = Wall90k(from.0 + step * i);
        let end = Wall90k(start.0 + step);
        let at = Wall90k(start.0 + step / 2);
        let found = match key_frame(&state, id, at, end, granted.within).await {
            Ok(None) => match first_recorded(&state, id, start, end).await {
                Some(first) => key_frame(&state, id, first, end, granted.within).await,
                None => Ok(None),
            },
            other => other,
        };
        match found {
            Ok(Some((wall, f))) => {
                shown.push(Some(wall));
                pictures.push(Some(f));
            }
            Ok(None) => {
                shown.push(None);
                pictures.push(None);
            }
            // Recorded, but not decodable here (no decoder, a broken key frame): an
            // allowed access that failed, registered as such.
            Err(e) => {
                granted.register_failed(&state, &e).await;
                return Err(ApiError::internal(e));
            }
        }
    }
    drop(permit);
    let size = pictures
        .iter()
        .flatten()
        .next()
        .map(|f| (f.width(), f.height()));
    let Some((w, h)) = size else {
        let msg = format!("no recording between {from} and {to}");
        granted.register_failed(&state, &msg).await;
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_recording", msg));
    };
    let mark = format!(
        "Vidimus thumbnails: camera {}, {from}–{to}, for {} under request #{}",
        granted.camera, user.username, granted.request_id
    );
    // The cache keeps key frames as recorded; a masked camera's mask is burned into
    // each tile of the strip (unless the grant lifts it), with a margin for the
    // shrink's rounding (a tile is a whole factor of the frame, cut to an even width).
    let mut mask = granted
        .mask
        .clone()
        .map(|m| vidimus_codec::MaskBurner::new(m).with_margin(THUMB_MASK_MARGIN));
    let made = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let frames: Vec<Frame> = pictures
            .into_iter()
            .map(|p| {
                let mut f = p
                    .map(|f| (*f).clone())
                    .unwrap_or_else(|| Frame::black(w, h, 0));
                if let Some(m) = &mut mask {
                    m.burn(&mut f);
                }
                f
            })
            .collect();
        let strip = vidimus_codec::still::strip(&frames).map_err(|e| e.to_string())?;
        vidimus_codec::still::jpeg(&strip, 75, &mark).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    let jpeg = match made {
        Ok(j) => j,
        Err(e) => {
            granted.register_failed(&state, &e).await;
            return Err(ApiError::internal(e));
        }
    };
    let times: Vec<Option<f64>> = shown
        .iter()
        .map(|w| w.map(|w| w as f64 / 90_000.0))
        .collect();
    granted
        .register(
            &state,
            serde_json::json!({"outcome": "served", "served": {
                "thumbnails": n,
                "key_frames": shown.iter().map(|w| w.map(|w| Wall90k(w).to_string())).collect::<Vec<_>>(),
                "bytes": jpeg.len(),
            }}),
        )
        .await?;
    let mut r = jpeg.into_response();
    let hd = r.headers_mut();
    hd.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    hd.insert(
        "x-vidimus-register-entry",
        HeaderValue::from(granted.leaf_index),
    );
    hd.insert(
        "x-vidimus-thumbnails",
        HeaderValue::from_str(&serde_json::to_string(&times).map_err(ApiError::internal)?)
            .map_err(ApiError::internal)?,
    );
    Ok(r)
}

/// How far into a part its first recording is looked for, and how much video is read
/// to find one key frame: a picture costs an index query and a minute's samples at
/// most, whatever the range.
const SEARCH: i64 = 3600 * 90_000;
const READ: i64 = 60 * 90_000;

/// Where the first recording in `[from, to)` (at most [`SEARCH`] of it) starts, from
/// the index alone.
async fn first_recorded(state: &AppState, id: i64, from: Wall90k, to: Wall90k) -> Option<Wall90k> {
    let to = Wall90k(to.0.min(from.0 + SEARCH));
    let segs = state
        .db
        .run(move |ix| {
            use vidimus_store::MetadataStore;
            Ok(ix.segments(id, from, to)?)
        })
        .await
        .ok()?;
    segs.first().map(|s| Wall90k(s.start_90k.max(from.0)))
}

/// The first key frame of `[from, min(to, from + 1 min))` — the one at or before
/// `from` if `from` is recorded — inside the grant's range, decoded and shrunk: from
/// the cache, else from the store. `Ok(None)`: nothing indexed there; `Err`: recorded
/// but not decodable.
async fn key_frame(
    state: &AppState,
    id: i64,
    from: Wall90k,
    to: Wall90k,
    within: (Wall90k, Wall90k),
) -> Result<Option<(i64, Arc<Frame>)>, String> {
    let to = Wall90k(to.0.min(from.0 + READ));
    let Ok(prepared) = crate::api::prepare_granted(state, id, from, to, within).await else {
        return Ok(None);
    };
    let wall = prepared.samples.start_90k;
    if let Some(f) = state.thumbs.get((id, wall)) {
        return Ok(Some((wall, f)));
    }
    let files = state.files.clone();
    let frame = tokio::task::spawn_blocking(move || -> Result<Option<Frame>, String> {
        let mut first: Option<(usize, i64, Vec<u8>)> = None;
        vidimus_store::export::read_samples(&prepared, &files, |s| {
            first = Some((
                s.sample_entry,
                s.wall_90k - prepared.samples.start_90k,
                s.data.to_vec(),
            ));
            Ok(false)
        })
        .map_err(|e| e.to_string())?;
        let Some((entry, pts, data)) = first else {
            return Ok(None);
        };
        let f = vidimus_codec::still::frame_at(
            &prepared.samples.entries[entry],
            [(pts, data.as_slice())],
            pts,
            &vidimus_codec::Ffmpeg::find(),
        )
        .map_err(|e| format!("key frame at {}: {e}", Wall90k(wall)))?;
        Ok(Some(vidimus_codec::still::shrink(&f, THUMB_WIDTH)))
    })
    .await
    .map_err(|e| e.to_string())??;
    let Some(frame) = frame else {
        return Ok(None);
    };
    let f = Arc::new(frame);
    state.thumbs.put((id, wall), f.clone());
    Ok(Some((wall, f)))
}
