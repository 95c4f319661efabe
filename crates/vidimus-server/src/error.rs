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
    pub retry_after: Option<u64>,
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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
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
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        r
    }
}

impl From<vidimus_store::StoreError> for ApiError {
    fn from(e: vidimus_store::StoreError) -> Self {
        use vidimus_store::StoreError as E;
        match e {
            E::CameraNotFound(n) => Self::new(
                StatusCode::NOT_FOUND,
                "camera_not_found",
                format!("camera {n:?} not found"),
            ),
            E::Invalid(m) if m.contains("no recording") => {
                Self::new(StatusCode::NOT_FOUND, "no_recording", m)
            }
            E::Invalid(m) if m.contains("at most") => {
                Self::new(StatusCode::BAD_REQUEST, "range_too_large", m)
            }
            E::Invalid(m) => Self::bad_request(m),
            other => Self::internal(other),
        }
    }
}
