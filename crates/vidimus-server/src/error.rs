//! API errors: a status, a stable machine-readable code, and a message for people.
//!
//! Body: `{"error": {"code": "camera_not_found", "message": "..."}}`. Every response
//! also carries the request's `x-request-id`. Codes are part of the API contract.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The message in Chinese, where the handler words one (else a sentence for the
    /// code, [`crate::language::error_zh`]).
    pub zh: Option<String>,
    pub retry_after: Option<u64>,
}

/// The text of an error, kept on its response so [`crate::language::speak`] can
/// answer in the reader's language.
#[derive(Clone, Debug)]
pub struct ErrorText {
    pub code: &'static str,
    /// The English message (kept as `detail` when only the code's sentence is Chinese).
    pub en: String,
    pub zh: Option<String>,
}

/// The JSON body of an error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `unauthenticated`, `csrf`, `rate_limited`, `bad_request`,
    /// `bad_time`, `range_too_large`, `camera_not_found`, `no_recording`, `internal`.
    pub code: String,
    pub message: String,
    /// The English details, in a Chinese answer whose message is the code's sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            zh: None,
            retry_after: None,
        }
    }
    /// The message in Chinese.
    pub fn zh(mut self, zh: impl Into<String>) -> Self {
        self.zh = Some(zh.into());
        self
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first (POST /api/login)",
        )
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error serving a request");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let text = ErrorText {
            code: self.code,
            en: self.message.clone(),
            zh: self.zh,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                detail: None,
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        r.extensions_mut().insert(text);
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        r
    }
}

/// Turns an error answered in plain text by the framework itself — a request axum
/// rejects before any handler (malformed JSON, a wrong content type, a body too large,
/// an unknown route or method) — into the same JSON error with a stable code. Runs on
/// every response; JSON, media and successful responses pass untouched.
pub async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return resp;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::LENGTH_REQUIRED => "length_required",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned()
    } else {
        text
    };
    let mut r = ApiError::new(status, code, message).into_response();
    for (k, v) in parts.headers.iter() {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            r.headers_mut().insert(k.clone(), v.clone());
        }
    }
    r
}

impl From<vidimus_store::StoreError> for ApiError {
    fn from(e: vidimus_store::StoreError) -> Self {
        use vidimus_store::StoreError as E;
        match e {
            E::CameraNotFound(n) => Self::new(
                StatusCode::NOT_FOUND,
                "camera_not_found",
                format!("camera {n:?} not found"),
            )
            .zh(format!("找不到摄像机 {n:?}。")),
            E::Invalid(m) if m.contains("no recording") => {
                Self::new(StatusCode::NOT_FOUND, "no_recording", m)
            }
            E::Invalid(m) if m.contains("at most") => {
                Self::new(StatusCode::BAD_REQUEST, "range_too_large", m)
            }
            E::Invalid(m) => Self::bad_request(m),
            e @ E::StillRecording { .. } => {
                let mut r = Self::new(StatusCode::CONFLICT, "still_recording", e.to_string());
                if let E::StillRecording { ready_by, .. } = e {
                    let now =
                        vidimus_core::time::Wall90k::from_system(std::time::SystemTime::now());
                    let secs = ((ready_by.0 - now.0).max(90_000) / 90_000) as u64;
                    r.retry_after = Some(secs);
                    r = r.zh(format!(
                        "所选时段的最后一段录像仍在录制中，约 {secs} 秒后可以导出；也可以选择更早结束的时段。"
                    ));
                }
                r
            }
            other => Self::internal(other),
        }
    }
}
