//! API errors: JSON `{"error": {"code", "message"}}` with a stable `code` for programs, a
//! message naming the field or thing at fault, and the HTTP status that fits (400, 401, 403,
//! 404, 405, 413, 415, 503). Operation errors map by variant; axum's own rejections (a body over the
//! cap, a bad path) are turned into the same shape.

use crate::ops::OpsError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("body: larger than the {limit}-byte limit (send fewer tasks per request)"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

/// The status and code of each operation error.
fn classify(e: &OpsError) -> (StatusCode, &'static str) {
    match e {
        OpsError::InBatch { source, .. } => classify(source),
        OpsError::UnknownTask { .. } => (StatusCode::BAD_REQUEST, "unknown_task"),
        OpsError::InvalidSpec { .. } => (StatusCode::BAD_REQUEST, "invalid_field"),
        OpsError::InvalidEnvelope(_) => (StatusCode::BAD_REQUEST, "invalid_task"),
        OpsError::TooManyTasks { .. } => (StatusCode::BAD_REQUEST, "too_many_tasks"),
        OpsError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        OpsError::DeadLetterNotFound { .. } => (StatusCode::NOT_FOUND, "dead_letter_not_found"),
        OpsError::Canvas(_) => (StatusCode::BAD_REQUEST, "invalid_canvas"),
        OpsError::UnknownQueue { .. } => (StatusCode::NOT_FOUND, "queue_not_found"),
        OpsError::NoSuchTask { .. } | OpsError::NoRecord(_) => {
            (StatusCode::NOT_FOUND, "task_not_found")
        }
        OpsError::CanvasNotFound(_) => (StatusCode::NOT_FOUND, "canvas_not_found"),
        OpsError::Schedule(_) => (StatusCode::BAD_REQUEST, "invalid_schedule"),
        OpsError::ScheduleNotFound { .. } => (StatusCode::NOT_FOUND, "schedule_not_found"),
        OpsError::Workflow(_) => (StatusCode::CONFLICT, "workflow_conflict"),
        OpsError::UnknownWorkflow(_) => (StatusCode::NOT_FOUND, "unknown_workflow"),
        OpsError::RunNotFound(_) => (StatusCode::NOT_FOUND, "run_not_found"),
        OpsError::NotFailed { .. } => (StatusCode::CONFLICT, "task_not_failed"),
        OpsError::Manifest(_) | OpsError::NotPostgres { .. } | OpsError::NoPostgresSupport => {
            (StatusCode::BAD_REQUEST, "bad_request")
        }
        OpsError::Store(e) if e.kind() == stem_adapters::ErrorKind::Refused => {
            (StatusCode::BAD_GATEWAY, "record_refused")
        }
        OpsError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

impl From<OpsError> for ApiError {
    fn from(e: OpsError) -> Self {
        let (status, code) = classify(&e);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %e, "a store failed a request");
        }
        ApiError::new(status, code, e.to_string())
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {addr} without API tokens: set STEM_API_TOKENS or --tokens-file, \
         or listen on a loopback address"
    )]
    NoTokensOffLoopback { addr: std::net::SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS certificate or key unusable ({cert}, {key}): {source}")]
    Tls {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Server(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_errors_keep_the_inner_code() {
        let inner = OpsError::InvalidSpec {
            field: "args".into(),
            message: "expected a JSON array".into(),
        };
        let e = ApiError::from(OpsError::InBatch {
            index: 2,
            source: Box::new(inner),
        });
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_field")
        );
        assert_eq!(e.message, "tasks[2]: args: expected a JSON array");
    }
}
