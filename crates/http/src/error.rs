//! The one place where errors become `application/problem+json` (RFC 9457).

use app::auctions::{CancelAuctionError, NewAuctionError, PlaceBidError};
use app::back_nft::BackNftError;
use app::buy_nft::BuyNftError;
use app::create_manager::CreateManagerError;
use app::create_partner::CreatePartnerError;
use app::deposit::DepositError;
use app::idempotency::IdempotencyError;
use app::offers::{CloseOfferError, DecideOfferError, NewOfferError, SetOfferPriceError};
use app::presales::{BuyPresaleError, DeliverPresaleError, PresaleSellerError};
use app::register_nft::RegisterNftError;
use app::set_nft_price::SetNftPriceError;
use app::withdraw::WithdrawError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{FieldError, RepoError, RuleViolation};
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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), errors: Vec::new(), replay: None }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        Self { status: StatusCode::UNPROCESSABLE_ENTITY, code: "validation_failed", detail, errors, replay: None }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// A server-side failure: logged here with its cause, never shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side")
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
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, "application/problem+json".parse().expect("static"));
        res
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(_) | RepoError::Transient(_) => {
                tracing::warn!(error = %e, "storage unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service is busy or degraded; try again",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<IdempotencyError> for ApiError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::InUse => ApiError::conflict("idempotency_key_in_use", e.to_string()),
            IdempotencyError::Reused => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", e.to_string())
            }
            IdempotencyError::Replay { status, body } => ApiError {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                code: "replay",
                detail: String::new(),
                errors: Vec::new(),
                replay: Some(body),
            },
        }
    }
}

impl From<RuleViolation> for ApiError {
    fn from(r: RuleViolation) -> Self {
        let status = match r {
            RuleViolation::NotOwner => StatusCode::FORBIDDEN,
            _ => StatusCode::CONFLICT,
        };
        ApiError::new(status, r.code(), r.to_string())
    }
}

impl From<BuyNftError> for ApiError {
    fn from(e: BuyNftError) -> Self {
        match e {
            BuyNftError::NotFound => ApiError::not_found(e.to_string()),
            BuyNftError::Rule(r) => r.into(),
            BuyNftError::Idempotency(i) => i.into(),
            BuyNftError::Storage(s) => s.into(),
        }
    }
}

impl From<SetNftPriceError> for ApiError {
    fn from(e: SetNftPriceError) -> Self {
        match e {
            SetNftPriceError::NotFound => ApiError::not_found(e.to_string()),
            SetNftPriceError::Rule(r) => r.into(),
            SetNftPriceError::Storage(s) => s.into(),
        }
    }
}

/// Errors of the shape `use_case_error!` makes: not found, a broken rule, storage.
macro_rules! simple_errors {
    ($($t:ident),* $(,)?) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                match e {
                    $t::NotFound(what) => ApiError::not_found(format!("{what} not found")),
                    $t::Rule(r) => r.into(),
                    $t::Idempotency(i) => i.into(),
                    $t::Storage(s) => s.into(),
                }
            }
        }
    )*};
}

simple_errors!(
    BackNftError,
    NewOfferError,
    SetOfferPriceError,
    DecideOfferError,
    CloseOfferError,
    NewAuctionError,
    PlaceBidError,
    CancelAuctionError,
    PresaleSellerError,
    BuyPresaleError,
);

impl From<DeliverPresaleError> for ApiError {
    fn from(e: DeliverPresaleError) -> Self {
        match e {
            DeliverPresaleError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            DeliverPresaleError::DuplicateGift(_) => ApiError::conflict("duplicate", e.to_string()),
            DeliverPresaleError::Rule(r) => r.into(),
            DeliverPresaleError::Idempotency(i) => i.into(),
            DeliverPresaleError::Storage(s) => s.into(),
        }
    }
}

impl From<WithdrawError> for ApiError {
    fn from(e: WithdrawError) -> Self {
        match e {
            WithdrawError::BelowMinimum(_) => ApiError::field("amount", e.to_string()),
            WithdrawError::Rule(r) => r.into(),
            WithdrawError::Idempotency(i) => i.into(),
            WithdrawError::Storage(s) => s.into(),
        }
    }
}

impl From<DepositError> for ApiError {
    fn from(e: DepositError) -> Self {
        match e {
            DepositError::Conflict(_) => ApiError::conflict("duplicate", e.to_string()),
            DepositError::Idempotency(i) => i.into(),
            DepositError::Storage(s) => s.into(),
        }
    }
}

impl From<RegisterNftError> for ApiError {
    fn from(e: RegisterNftError) -> Self {
        match e {
            RegisterNftError::DuplicateGift(_) => ApiError::conflict("duplicate", e.to_string()),
            RegisterNftError::Idempotency(i) => i.into(),
            RegisterNftError::Storage(s) => s.into(),
        }
    }
}

impl From<CreateManagerError> for ApiError {
    fn from(e: CreateManagerError) -> Self {
        match e {
            CreateManagerError::Storage(s) => s.into(),
        }
    }
}

impl From<CreatePartnerError> for ApiError {
    fn from(e: CreatePartnerError) -> Self {
        match e {
            CreatePartnerError::ManagerNotFound(_) => ApiError::not_found(e.to_string()),
            CreatePartnerError::ManagerInactive(_) => ApiError::conflict("manager_inactive", e.to_string()),
            CreatePartnerError::DuplicateEmail(_) => ApiError::conflict("duplicate", e.to_string()),
            CreatePartnerError::Storage(s) => s.into(),
        }
    }
}
