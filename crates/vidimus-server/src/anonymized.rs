//! The live anonymized feed (Art. 22, 23, 31): a camera's live picture for a data
//! department sharing it openly, or a press office broadcasting it, with faces and
//! plates destroyed before it leaves the server.
//!
//! `GET /api/cameras/{id}/live/anonymized?recipient=…` upgrades to a WebSocket with
//! the same messages as the live view (`live`). It is decided as a publication
//! (action `publish`, at the present moment, whereabouts "public broadcast", or "open
//! sharing" under an open-sharing grant), never as live viewing: a grant for
//! publication or open sharing opens this feed and no raw one, and a grant for
//! viewing does not open this one. The recipient is registered like any
//! reproduction's (Art. 24(3)).
//!
//! Each frame is decoded, the camera's privacy mask burned in, then handed to the
//! binary's anonymizer ([`PublicationEngine::live_stage`]): detection, tracking,
//! masking and the re-check, as for a published clip. A run of frames whose re-check
//! left a face or plate unmasked is withheld (the feed stalls, nothing raw is sent).
//! What remains is encoded again; nothing of the camera's bitstream reaches the
//! viewer. The anonymizer uses every core, so one runs at a time on a server: while a
//! feed is open, publications (and other feeds) are answered 429, and the other way
//! round. A feed that falls behind skips to the next key frame and starts its
//! anonymizer afresh there. Its end is registered with what the anonymizer did.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::grants::{Ask, Whereabouts};
use crate::live::SameOrigin;
use crate::publication::{LiveCounts, PublicationMode};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use vidimus_access::request::Action;
use vidimus_codec::{EncoderSettings, MaskBurner, Transcoder};

/// Frames that may wait for the anonymizer (0.64 s at 25 frames/s): a feed behind by
/// more skips to the next key frame rather than falling further behind the camera
/// (`bench/anonymize-live`: with 64, as the masked view has, the feed lagged 2.9 s at
/// the median; with 16, 0.6 s, at about the same frame rate).
const FEED_QUEUE: usize = 16;

/// The query of a live anonymized feed.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct FeedQuery {
    /// Who the feed goes to (a television station, an open-data portal): registered
    /// as its whereabouts.
    #[serde(default)]
    pub recipient: String,
    /// The grant it is opened under; needed when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
    /// Also mask whatever moves, whole (figures, Art. 31 体貌).
    #[serde(default)]
    pub figures: bool,
    /// Withhold every frame on which the re-check finds anything, instead of masking
    /// it and looking again.
    #[serde(default)]
    pub strict: bool,
}

/// Opens a camera's live anonymized feed (WebSocket).
#[utoipa::path(get, path = "/api/cameras/{id}/live/anonymized", params(("id" = i64, Path,), FeedQuery),
    responses((status = 101, description = "WebSocket: as the live view, with faces and plates destroyed by the server"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn feed(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<FeedQuery>,
    _origin: SameOrigin,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let id = crate::api::camera_in_service(&state, &id).await?;
    let recipient = q.recipient.trim();
    if recipient.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "whereabouts_required",
            "say who the feed goes to (`recipient`): reproductions are registered with their whereabouts (Art. 24(3))",
        ));
    }
    let w = Whereabouts {
        medium: Some("public broadcast".into()),
        recipient: Some(recipient.to_owned()),
        destination: Some("live anonymized feed".into()),
    };
    let now = state.clocks.realtime();
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        Ask {
            action: Action::Publish,
            camera_id: id,
            from: now,
            to: now,
            whereabouts: Some(&w),
            grant_id: q.grant,
            export_id: None,
        },
    )
    .await?;
    crate::publication::open_sharing(&mut granted);
    let (engine, mut granted) = crate::publication::ready_engine(&state, granted).await?;
    let Some(permit) = state.publications.try_run() else {
        granted
            .register_failed(&state, crate::publication::BUSY)
            .await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            crate::publication::BUSY,
        ));
    };
    let mode = PublicationMode {
        figures: q.figures,
        strict: q.strict,
    };
    let counts = Arc::new(LiveCounts::default());
    // The first stage is made now: an anonymizer that cannot start is answered here.
    let first = match engine.live_stage(mode, counts.clone()) {
        Ok(s) => s,
        Err(e) => {
            granted.register_failed(&state, &e).await;
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "anonymizer_unavailable",
                e,
            ));
        }
    };
    // The feed stops when the grant's range ends, as when it expires or is revoked:
    // a grant to publish the pictures of a time publishes none after it.
    granted.expires_90k = granted.expires_90k.min(granted.within.1.0);
    let (mut granted, handout) = granted.watch(&state, true).await?;
    granted
        .register(
            &state,
            serde_json::json!({"outcome": "served", "served": {"stream": "anonymized"},
                "anonymized": true, "figures": mode.figures, "strict": mode.strict}),
        )
        .await?;
    let sub = state.live.subscribe(id);
    tracing::info!(user = %user.username, camera_id = id, grant = granted.grant_id, "live anonymized feed opened");
    let mask = granted.mask.clone();
    let mut first = Some(first);
    let c = counts.clone();
    let reencode = crate::masked::Reencoding {
        make: Box::new(move |params, ffmpeg| {
            let stage = match first.take() {
                Some(s) => s,
                None => engine.live_stage(mode, c.clone())?,
            };
            let t = Transcoder::for_sample_entry(
                &params.sample_entry,
                ffmpeg,
                EncoderSettings::default(),
                None,
                Box::new(|_| Vec::new()),
            )
            .map_err(|e| e.to_string())?;
            let t = match &mask {
                Some(m) => t.with_mask(MaskBurner::new(m.clone())),
                None => t,
            };
            Ok(t.with_stage(stage))
        }),
        restart_after_skip: true,
        queue: FEED_QUEUE,
        what: "live anonymized feed",
    };
    let mut end = crate::grants::LiveEnd::new(&state, granted);
    Ok(ws.on_upgrade(move |socket| async move {
        let _permit = permit;
        let (bytes, ended) =
            crate::masked::live(socket, sub, id, user.username, handout, reencode).await;
        end.entry_mut()["anonymized_feed"] = counts.json();
        end.finish(bytes, ended).await;
    }))
}
