//! WebSockets as a signed-in user opens them: the live view, the view-only stream, the
//! anonymized feed.

use super::Client;
use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `ws://127.0.0.1:{port}{path}` with `who`'s session cookie; `Err(status,
/// body)` when the upgrade is refused.
pub async fn ws(port: u16, who: &Client, path: &str) -> Result<Ws, (u16, String)> {
    let mut req = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("cookie", who.cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => Ok(s),
        Err(Error::Http(r)) => Err((
            r.status().as_u16(),
            String::from_utf8_lossy(r.body().as_deref().unwrap_or_default()).into_owned(),
        )),
        Err(e) => panic!("{path}: {e}"),
    }
}
