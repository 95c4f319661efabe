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

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use vidimus_media::fmp4::{InitParams, Sample, fragment_header, init_segment};
use vidimus_recorder::live::LiveFrame;
use vidimus_recorder::segmenter::StreamParams;
use vidimus_store::MetadataStore;

/// Opens the live view of a camera (WebSocket).
#[utoipa::path(get, path = "/api/cameras/{id}/live", params(("id" = i64, Path,)),
    responses((status = 101, description = "WebSocket: init message and segment, then one fMP4 fragment per frame"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn live(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {id:?}"),
        )
    })?;
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
            quiet: false,
            export_id: None,
        },
    )
    .await?;
    let rx = state.live.subscribe(id);
    tracing::info!(user = %user.username, camera_id = id, grant = granted.grant_id, "live view opened");
    Ok(ws.on_upgrade(move |socket| async move {
        let started = std::time::Instant::now();
        let bytes = stream(socket, rx, id, user.username).await;
        crate::grants::register_end(&state, &granted, started, bytes).await;
    }))
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

async fn stream(
    mut socket: WebSocket,
    mut rx: tokio::sync::broadcast::Receiver<Arc<LiveFrame>>,
    camera: i64,
    user: String,
) -> u64 {
    let mut sent = 0u64;
    if socket
        .send(Message::Text(
            r#"{"type":"status","status":"waiting"}"#.into(),
        ))
        .await
        .is_err()
    {
        return sent;
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
        let frame = tokio::select! {
            r = rx.recv() => r,
            m = socket.recv() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue, // the client has nothing to say
            },
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
            if socket.send(m).await.is_err() {
                tracing::info!(%user, camera_id = camera, "live view closed");
                return sent;
            }
        }
    }
    tracing::info!(%user, camera_id = camera, "live view closed");
    sent
}
