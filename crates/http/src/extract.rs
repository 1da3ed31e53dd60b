//! Extractors whose rejections are problem+json: strict JSON bodies, paths and queries.

use app::idempotency::IdempotencyKey;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use domain::UserId;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A JSON body: 400 when it is not JSON, 422 (with the offending field) when it does not fit
/// the request type (unknown fields included), 413 over the body limit.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        parse_json(req, state).await.map(|(body, _)| ApiJson(body))
    }
}

/// Reads and parses a JSON body; also returns the raw bytes.
async fn parse_json<S: Send + Sync, T: DeserializeOwned>(req: Request, state: &S) -> Result<(T, Bytes), ApiError> {
    {
        let is_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
        if !is_json {
            return Err(ApiError::malformed("expected a JSON body (Content-Type: application/json)"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, domain::code::PAYLOAD_TOO_LARGE, "the body exceeds 64 KiB")
            } else {
                ApiError::malformed(rej.body_text())
            }
        })?;
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
            return Err(ApiError::malformed(format!("the body is not valid JSON: {e}")));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let parsed: T = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_string() } else { path };
            let message = e.inner().to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            ApiError::field(&field, message)
        })?;
        Ok((parsed, bytes))
    }
}

/// An `Idempotency-Key` as read from a request, before it is scoped to who sent it.
pub struct PendingKey {
    route: String,
    key: String,
    request_hash: String,
}

impl PendingKey {
    fn owned_by(self, owner: String) -> IdempotencyKey {
        IdempotencyKey { owner, route: self.route, key: self.key, request_hash: self.request_hash }
    }
}

/// A JSON body (as [`ApiJson`]) on a route that honours `Idempotency-Key`: the key, scoped per
/// route, with a SHA-256 of the body.
pub struct IdemJson<T> {
    pub body: T,
    pub key: Option<PendingKey>,
}

impl<T> IdemJson<T> {
    /// The body and the key scoped to this user.
    pub fn for_user(self, user: UserId) -> (T, Option<IdempotencyKey>) {
        (self.body, self.key.map(|k| k.owned_by(format!("user:{user}"))))
    }

    /// The body and the key scoped to staff.
    pub fn for_staff(self) -> (T, Option<IdempotencyKey>) {
        (self.body, self.key.map(|k| k.owned_by("staff".into())))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for IdemJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let key = match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => Some(idempotency_key(v.as_bytes())?),
        };
        let path = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| req.uri().path().to_owned());
        let route = format!("{} {path}", req.method());
        let (body, bytes) = parse_json(req, state).await?;
        let key = key.map(|key| PendingKey { route, key, request_hash: hex::encode(Sha256::digest(&bytes)) });
        Ok(IdemJson { body, key })
    }
}

/// An `Idempotency-Key` exactly as the document declares it ([`idempotency_key_param`]): 1 to 255
/// printable ASCII characters (spaces inside only), else 400 `malformed_request`.
pub(crate) fn idempotency_key(raw: &[u8]) -> Result<String, ApiError> {
    let printable = raw.iter().all(|b| (b' '..=b'~').contains(b));
    let edges = raw.first().is_some_and(|b| *b != b' ') && raw.last().is_some_and(|b| *b != b' ');
    if raw.is_empty() || raw.len() > 255 {
        return Err(ApiError::malformed("the Idempotency-Key header must be 1 to 255 characters"));
    }
    if !printable || !edges {
        return Err(ApiError::malformed(
            "the Idempotency-Key header must be printable ASCII, neither starting nor ending with a space",
        ));
    }
    Ok(String::from_utf8_lossy(raw).into_owned())
}

/// A path parameter; one that cannot be parsed names nothing that exists: 404.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| ApiError::not_found("no such resource"))
    }
}

/// Query parameters; ones that do not fit are a validation failure.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let field = e.path().to_string();
            ApiError::field(if field == "." { "query" } else { &field }, e.inner().to_string())
        })
    }
}

/// Query parameters where a key may repeat (`model=A&model=B` → a list); ones that do not fit
/// are a validation failure.
pub struct ApiListQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiListQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        // serde_html_form reads `key=` as absent; no parameter here may be empty.
        if let Some((key, _)) = form_urlencoded::parse(query.as_bytes()).find(|(_, v)| v.is_empty()) {
            return Err(ApiError::field(&key, "must not be empty"));
        }
        let de = serde_html_form::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiListQuery).map_err(|e| {
            let field = e.path().to_string();
            ApiError::field(if field == "." { "query" } else { &field }, e.inner().to_string())
        })
    }
}

fn idempotency_key_param(required: bool) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::Required;
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(if required { Required::True } else { Required::False })
        .description(Some(
            "Runs the request once: the same key and body again get the stored answer; the same key with \
             another body is 422 `idempotency_key_reused`; while the first is in flight, 409 \
             `idempotency_key_in_use`. Scoped per caller and route, kept 24 h.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]([ -~]*[!-~])?$")),
        ))
        .build()
}

/// The optional `Idempotency-Key` header of a route that honours it, for the OpenAPI document.
pub struct IdempotencyKeyHeader;

impl utoipa::IntoParams for IdempotencyKeyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![idempotency_key_param(false)]
    }
}

/// The `Idempotency-Key` header of a route that requires it (400 without it).
pub struct RequiredIdempotencyKey;

impl utoipa::IntoParams for RequiredIdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![idempotency_key_param(true)]
    }
}
