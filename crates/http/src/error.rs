//! The one place where errors become `application/problem+json` (RFC 9457).

use app::idempotency::IdempotencyError;
use app::ErrorKind;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{code, FieldError, RepoError};
use serde::Serialize;
use utoipa::ToSchema;
/// A problem response body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case code, e.g. `insufficient_funds`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// `sweep_failed`: each item that could not be bought, with the code `buy` would have given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedItem>,
}

/// An item a sweep could not buy.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedItem {
    pub nft_id: uuid::Uuid,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// A stored response to send again as it was (idempotent replay).
    pub replay: Option<Vec<u8>>,
    /// What an all-or-nothing sweep could not buy.
    pub failed: Vec<(domain::NftId, &'static str)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), errors: Vec::new(), replay: None, failed: Vec::new() }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code::FORBIDDEN, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, detail)
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::MALFORMED_REQUEST, detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: code::VALIDATION_FAILED,
            detail,
            errors,
            replay: None,
            failed: Vec::new(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 503 `unavailable`: try again later.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// A server-side failure: logged here with its cause, never shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "something went wrong on our side")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(body) = self.replay {
            let mut res = (self.status, body).into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, "application/json".parse().expect("static"));
            res.headers_mut().insert("idempotent-replayed", "true".parse().expect("static"));
            return res;
        }
        let body = Problem {
            kind: format!("urn:atomarket:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
            errors: self.errors.into_iter().map(|e| ProblemField { field: e.field, message: e.message }).collect(),
            failed: self.failed.into_iter().map(|(id, code)| FailedItem { nft_id: id.0, code: code.into() }).collect(),
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, "application/problem+json".parse().expect("static"));
        res
    }
}

impl From<app::Error> for ApiError {
    /// The one mapping from use-case errors to problems: by kind to a status, by code to `code`.
    fn from(e: app::Error) -> Self {
        if let app::Error::Idempotency(IdempotencyError::Replay { status, body }) = e {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return ApiError {
                status,
                code: code::REPLAY,
                detail: String::new(),
                errors: Vec::new(),
                replay: Some(body),
                failed: Vec::new(),
            };
        }
        let status = match e.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unavailable => {
                match &e {
                    app::Error::Storage(cause) => tracing::warn!(error = %cause, "storage unavailable"),
                    other => tracing::warn!(error = %other, "a dependency is unavailable"),
                }
                return ApiError::unavailable("the service is busy or degraded; try again");
            }
            ErrorKind::Internal => return ApiError::internal(e),
        };
        match e {
            app::Error::Invalid(fields) => ApiError::validation(fields),
            app::Error::SweepFailed(failed) => {
                let detail = format!("{} item(s) could not be bought; nothing was bought", failed.len());
                ApiError { failed, ..ApiError::new(status, "sweep_failed", detail) }
            }
            app::Error::Storage(cause) => {
                tracing::warn!(error = %cause, "the store refused a value of the request");
                ApiError::new(status, code::VALIDATION_FAILED, "a value in the request cannot be stored")
            }
            e => ApiError::new(status, e.code(), e.to_string()),
        }
    }
}

/// Failed reads go through the same mapping.
impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        app::Error::from(e).into()
    }
}
