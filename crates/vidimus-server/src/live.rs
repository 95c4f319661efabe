//! Live view: fragmented MP4 over a WebSocket, for Media Source Extensions.
//!
//! `GET /api/cameras/{id}/live` upgrades to a WebSocket (the session cookie
//! authenticates it). The server sends, in order:
//!
//! 1. text `{"type":"status","status":"waiting"}` until video arrives;
//! 2. text `{"type":"init","codec":"avc1.64001f","width":1280,"height":720}` and then a
//!    binary init segment (ftyp + moov) — again whenever the codec parameters change;
//! 3. one binary fragment (prft + moof + mdat) per frame, starting at a key frame. The
//!    `prft` carries the time the recorder received the frame (for latency checks).
//!
//! A client that cannot keep up gets text `{"type":"skip","frames":N}` and resumes at
//! the next key frame; the server never buffers more than the live channel holds.
//!
//! The view lasts as long as its grant: when the grant is revoked or expires the server
//! sends text `{"type":"end","reason":"grant revoked"}` and closes (policy violation,
//! 1008) within a second, and the register entry ends with the reason. A browser's
//! upgrade must come from the console's own origin (`Origin` equal to the `Host` it
//! asked), so another site cannot open a view with the user's cookie.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use vidimus_media::fmp4::{InitParams, Sample, fragment_header, init_segment};
use vidimus_recorder::live::LiveFrame;
use vidimus_recorder::segmenter::StreamParams;

/// Opens the live view of a camera (WebSocket).
#[utoipa::path(get, path = "/api/cameras/{id}/live", params(("id" = i64, Path,)),
    responses((status = 101, description = "WebSocket: init message and segment, then one fMP4 fragment per frame"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn live(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<LiveQuery>,
    _origin: SameOrigin,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let id = crate::api::camera_in_service(&state, &id).await?;
    let now = state.clocks.realtime();
    let granted = crate::grants::authorize(
        &state,
        &user,
        crate::grants::Ask {
            action: vidimus_access::request::Action::ViewLive,
            camera_id: id,
            from: now,
            to: now,
            whereabouts: None,
            grant_id: q.grant,
            export_id: None,
        },
    )
    .await?
    .not_view_only(&state, crate::grants::NotViewOnly::Live)
    .await?;
    // A masked camera's view is decoded, masked and encoded again by the server
    // (only while watched): it counts against the transcoding capacity.
    let mask = granted.mask.clone();
    let (mut granted, handout) = granted.watch(&state, mask.is_some()).await?;
    let served = match mask {
        Some(_) => serde_json::json!({"outcome": "served", "served": {"stream": "masked"}}),
        None => serde_json::json!({"outcome": "served"}),
    };
    granted.register(&state, served).await?;
    let sub = state.live.subscribe(id);
    tracing::info!(user = %user.username, camera_id = id, grant = granted.grant_id, masked = mask.is_some(), "live view opened");
    let end = crate::grants::LiveEnd::new(&state, granted);
    Ok(ws.on_upgrade(move |socket| async move {
        let (bytes, ended) = match mask {
            Some(m) => {
                let re = crate::masked::Reencoding::masked(m);
                crate::masked::live(socket, sub, id, user.username, handout, re).await
            }
            None => stream(socket, sub, id, user.username, handout).await,
        };
        end.finish(bytes, ended).await;
    }))
}

/// Which grant (case) a live view is made under.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct LiveQuery {
    /// Needed when several of the user's grants allow it.
    #[serde(default)]
    pub grant: Option<i64>,
}

/// A request whose `Origin` (if any) is the host it was sent to; an extractor, so it is
/// checked before the upgrade itself.
pub struct SameOrigin;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SameOrigin {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        same_origin(&parts.headers).map(|_| SameOrigin)
    }
}

/// Refuses a browser's upgrade from another origin (cross-site WebSocket hijacking):
/// the `Origin` a browser sends must name the host it connected to. Clients that
/// send no `Origin` (not browsers) still need the session cookie.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_origin",
            format!(
                "a live view may be opened only from the console's own origin, not {:?}",
                origin.to_str().unwrap_or("?")
            ),
        )),
    }
}

/// One viewer's position in the stream.
struct Viewer {
    params: Option<Arc<StreamParams>>,
    base_ts: i64,
    last_ts: i64,
    last_duration: u32,
    sequence: u32,
    header: Vec<u8>,
}

impl Viewer {
    /// The messages for one frame (init first if the parameters are new).
    fn frame(&mut self, f: &LiveFrame) -> Vec<Message> {
        let mut out = Vec::new();
        let new_params = self
            .params
            .as_ref()
            .is_none_or(|p| !Arc::ptr_eq(p, &f.params) && **p != *f.params);
        if new_params {
            let p = &f.params;
            let init = init_segment(&InitParams {
                sample_entry: &p.sample_entry,
                width: p.width,
                height: p.height,
                metadata: b"",
            });
            let msg = format!(
                r#"{{"type":"init","codec":"{}","width":{},"height":{}}}"#,
                p.rfc6381.replace('"', ""),
                p.width,
                p.height
            );
            out.push(Message::Text(msg.into()));
            out.push(Message::Binary(init.into()));
            self.params = Some(f.params.clone());
            self.base_ts = f.ts;
            self.last_ts = f.ts;
            self.sequence = 1;
        }
        if f.ts > self.last_ts {
            self.last_duration = u32::try_from(f.ts - self.last_ts).unwrap_or(u32::MAX);
        }
        self.last_ts = f.ts;
        let sample = Sample {
            duration: self.last_duration,
            size: f.data.len() as u32,
            is_key: f.is_key,
        };
        let decode = u64::try_from(f.ts - self.base_ts).unwrap_or(0);
        fragment_header(
            self.sequence,
            decode,
            f.received.0,
            &[sample],
            &mut self.header,
        );
        self.sequence = self.sequence.wrapping_add(1);
        let mut msg = Vec::with_capacity(self.header.len() + f.data.len());
        msg.extend_from_slice(&self.header);
        msg.extend_from_slice(&f.data);
        out.push(Message::Binary(msg.into()));
        out
    }
}

/// Tells the viewer why the view ends and closes it (policy violation); at most a
/// second is spent on a viewer that does not read.
pub(crate) async fn end_view(mut socket: WebSocket, why: crate::handout::Stop) -> &'static str {
    if why == crate::handout::Stop::MaskChanged {
        return mask_changed(socket).await;
    }
    let reason = why.as_str();
    let bye = async {
        let msg = format!(r#"{{"type":"end","reason":"{reason}"}}"#);
        socket.send(Message::Text(msg.into())).await?;
        socket
            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code: 1008,
                reason: reason.into(),
            })))
            .await
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), bye).await;
    reason
}

/// Closes a view because a privacy mask changed: no `end` message, so the console
/// reconnects (and the view is decided again under the new mask).
pub(crate) async fn mask_changed(mut socket: WebSocket) -> &'static str {
    let bye = socket.send(Message::Close(Some(axum::extract::ws::CloseFrame {
        code: 1012,
        reason: "privacy mask changed".into(),
    })));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), bye).await;
    "privacy mask changed"
}

/// Streams until the viewer goes, the camera's channel closes or the hand-out must
/// stop; returns the bytes sent and how it ended.
async fn stream(
    mut socket: WebSocket,
    sub: vidimus_recorder::live::LiveSubscription,
    camera: i64,
    user: String,
    mut handout: crate::handout::Handout,
) -> (u64, &'static str) {
    let vidimus_recorder::live::LiveSubscription { gop, mut rx } = sub;
    // The current GOP first (from its key frame): the view starts at once.
    let mut gop = gop.into_iter();
    let mut sent = 0u64;
    if socket
        .send(Message::Text(
            r#"{"type":"status","status":"waiting"}"#.into(),
        ))
        .await
        .is_err()
    {
        return (sent, "client closed");
    }
    let mut v = Viewer {
        params: None,
        base_ts: 0,
        last_ts: 0,
        last_duration: 3600,
        sequence: 1,
        header: Vec::new(),
    };
    let mut waiting_for_key = true;
    loop {
        let frame = if let Some(f) = gop.next() {
            Ok(f)
        } else {
            tokio::select! {
            biased;
            why = handout.wait() => {
                tracing::info!(%user, camera_id = camera, reason = why.as_str(), "live view ended");
                return (sent, end_view(socket, why).await);
            }
            r = rx.recv() => r,
            m = socket.recv() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue, // the client has nothing to say
            },
            }
        };
        let f = match frame {
            Ok(f) => f,
            Err(RecvError::Lagged(n)) => {
                waiting_for_key = true;
                let msg = format!(r#"{{"type":"skip","frames":{n}}}"#);
                if socket.send(Message::Text(msg.into())).await.is_err() {
                    break;
                }
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        if waiting_for_key && !f.is_key {
            continue;
        }
        waiting_for_key = false;
        for m in v.frame(&f) {
            if let Message::Binary(b) = &m {
                sent += b.len() as u64;
            }
            // A viewer that stops reading must not keep the view past its grant.
            let ok = tokio::select! {
                biased;
                why = handout.wait() => {
                    tracing::info!(%user, camera_id = camera, reason = why.as_str(), "live view ended");
                    return (sent, end_view(socket, why).await);
                }
                r = socket.send(m) => r.is_ok(),
            };
            if !ok {
                tracing::info!(%user, camera_id = camera, "live view closed");
                return (sent, "client closed");
            }
        }
    }
    tracing::info!(%user, camera_id = camera, "live view closed");
    (sent, "client closed")
}
