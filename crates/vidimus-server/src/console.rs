//! The embedded web console (built from `web/` into `web/dist`, compiled in by
//! `build.rs`). Files are served from memory only, so no request path can reach the
//! file system. Unknown non-API paths get `index.html` (the console routes itself).

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// Content-Security-Policy of the console: its own scripts and styles only; video from
/// its own API (blob: for Media Source Extensions, and for thumbnail strips read with their times); WebSockets to itself.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path
        .split('/')
        .any(|seg| seg == ".." || seg.eq_ignore_ascii_case("%2e%2e"))
    {
        return crate::error::ApiError::bad_request("path traversal is refused").into_response();
    }
    if path.starts_with("/api/") || !matches!(method, Method::GET | Method::HEAD) {
        return crate::error::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
            .into_response();
    }
    let file = FILES
        .iter()
        .find(|(p, ..)| *p == path)
        .or_else(|| FILES.iter().find(|(p, ..)| *p == "/index.html"));
    let Some((p, body, ctype)) = file else {
        return (
            StatusCode::NOT_FOUND,
            "the web console was not built into this binary (cd web && npm ci && npm run build)\n",
        )
            .into_response();
    };
    let mut r = (*body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let cache = if p.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}
