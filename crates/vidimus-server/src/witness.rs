//! The witness role over HTTP (C2SP tlog-witness), for a PSB or a second site that
//! keeps the recorder honest: `POST /add-checkpoint` takes a site's signed checkpoint
//! with a consistency proof from the last one it cosigned, refuses rollbacks, forks
//! and bad proofs (keeping them as evidence), and answers with its cosignature;
//! `GET /checkpoint/<origin hash>` serves the newest checkpoint it cosigned for that
//! log. The state — per log, what it cosigned and the evidence — is written to disk
//! (fsynced, atomically renamed) before any answer, so a restart forgets nothing.
//!
//! The decisions are `vidimus_integrity::witness` (sans-IO); this is only the door.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use vidimus_integrity::witness::{CONFLICT_CONTENT_TYPE, Witness, WitnessState, origin_hash};

/// The largest add-checkpoint request accepted (a note and a proof of ≤ 63 hashes).
pub const MAX_REQUEST: usize = 16 * 1024;

/// A witness and where its state is kept.
#[derive(Clone)]
pub struct WitnessService {
    witness: Arc<Mutex<Witness>>,
    state_file: Arc<PathBuf>,
}

impl WitnessService {
    pub fn new(witness: Witness, state_file: PathBuf) -> Self {
        WitnessService {
            witness: Arc::new(Mutex::new(witness)),
            state_file: Arc::new(state_file),
        }
    }

    /// Reads a state file written by [`WitnessService`] (a missing file is a new
    /// witness).
    pub fn load_state(path: &std::path::Path) -> std::io::Result<WitnessState> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(WitnessState::default()),
            Err(e) => Err(e),
        }
    }
}

/// Writes `state` to `path` durably: a temporary file, fsynced, renamed over it, and
/// the directory fsynced.
fn persist(state: &WitnessState, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn add_checkpoint(State(s): State<WitnessService>, body: Bytes) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let s2 = s.clone();
    let r = tokio::task::spawn_blocking(move || {
        let mut w = s2.witness.lock().expect("witness lock");
        let r = w.add_checkpoint(&body, now);
        let keep = match &r {
            Ok(_) => true,
            Err(e) => e.keeps_evidence(),
        };
        if keep && let Err(e) = persist(w.state(), &s2.state_file) {
            tracing::error!(error = %e, "could not keep the witness state");
            return Err(Box::new(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the witness could not keep its state\n".into(),
                "text/plain; charset=utf-8",
            )));
        }
        Ok(r)
    })
    .await;
    match r {
        Ok(Ok(Ok(c))) => {
            tracing::info!(size = c.checkpoint.size, origin = %c.origin, "cosigned");
            text(
                StatusCode::OK,
                c.response_body(),
                "text/plain; charset=utf-8",
            )
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "refused a checkpoint");
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            let ct = if e.conflict_size().is_some() {
                CONFLICT_CONTENT_TYPE
            } else {
                "text/plain; charset=utf-8"
            };
            text(status, e.response_body(), ct)
        }
        Ok(Err(resp)) => *resp,
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{e}\n"),
            "text/plain; charset=utf-8",
        ),
    }
}

async fn checkpoint(State(s): State<WitnessService>, Path(hash): Path<String>) -> Response {
    let w = s.witness.lock().expect("witness lock");
    let found = w
        .state()
        .logs
        .keys()
        .find(|o| origin_hash(o) == hash)
        .and_then(|o| w.latest(o));
    match found {
        Some(c) => text(StatusCode::OK, c.note.clone(), "text/plain; charset=utf-8"),
        None => text(
            StatusCode::NOT_FOUND,
            "no checkpoint of that log cosigned here\n".into(),
            "text/plain; charset=utf-8",
        ),
    }
}

/// The witness's routes.
pub fn router(s: WitnessService) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/checkpoint/{hash}", get(checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(s)
}

/// Serves the witness on `listener` until `shutdown` resolves: at most
/// [`MAX_CONNECTIONS`] at once, each closed after [`IDLE`] without a byte or after
/// [`LIFETIME`] in all.
pub async fn serve(
    listener: tokio::net::TcpListener,
    s: WitnessService,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = Bounded {
        inner: listener,
        open: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
    };
    // After the signal, connections get a few seconds to finish, then are dropped: a
    // peer in the middle of a request must not keep the witness from stopping.
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router(s)).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping.send(());
    });
    tokio::select! {
        r = std::future::IntoFuture::into_future(server) => r,
        _ = async {
            let _ = stopped.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}

/// How long connections may take to finish after the witness is told to stop.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The most connections the witness holds open at once; more wait in the kernel's
/// backlog until one ends.
pub const MAX_CONNECTIONS: usize = 64;
/// A connection that sends nothing for this long is closed: a witness request is a
/// few kilobytes, so a peer that trickles (or idles on a kept-alive connection) does
/// not hold one of the [`MAX_CONNECTIONS`] for long.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest a connection is kept, busy or not: a peer that trickles a byte now and
/// then resets [`IDLE`] but not this, so it cannot hold a slot for long.
pub const LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

/// A listener that holds at most `MAX_CONNECTIONS` open and closes idle ones.
struct Bounded {
    inner: tokio::net::TcpListener,
    open: Arc<tokio::sync::Semaphore>,
}

/// A connection of a [`Bounded`] listener: its permit is returned when it drops.
struct BoundedIo {
    io: tokio::net::TcpStream,
    idle: std::pin::Pin<Box<tokio::time::Sleep>>,
    ends: std::pin::Pin<Box<tokio::time::Sleep>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl axum::serve::Listener for Bounded {
    type Io = BoundedIo;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = self
            .open
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    let idle = Box::pin(tokio::time::sleep(IDLE));
                    let ends = Box::pin(tokio::time::sleep(LIFETIME));
                    return (
                        BoundedIo {
                            io,
                            idle,
                            ends,
                            _permit: permit,
                        },
                        addr,
                    );
                }
                // Out of descriptors and the like: wait a little, as axum does.
                Err(e) => {
                    tracing::warn!(error = %e, "witness: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl tokio::io::AsyncRead for BoundedIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        use std::task::Poll;
        if self.ends.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "witness: the connection outlived its 30 s",
            )));
        }
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    let at = tokio::time::Instant::now() + IDLE;
                    self.idle.as_mut().reset(at);
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "witness: the peer sent nothing for 10 s",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl tokio::io::AsyncWrite for BoundedIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
