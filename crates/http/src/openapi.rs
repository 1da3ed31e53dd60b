//! The OpenAPI 3.1 document, built from the handlers' annotations, and every resource's routes.

use std::sync::Arc;

use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::routes::{
    admin, auctions, channels, collection_offers, live, market, me, nfts, offers, ops, partners, presales, telegram,
    trades,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "atomarket", description = "Custodial marketplace for Telegram collectible gifts, paid in TON."),
    modifiers(&Security),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "tma",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`tma <initData>`: Telegram Mini App init data",
            ))),
        );
        components.add_security_scheme(
            "staff",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Declares what every route can answer besides its own outcomes, from the route's shape, so the
/// document describes the service (a schema-driven fuzzer checks it): rate limits (429), storage
/// down (503), credentials (401/403), bodies (400/413/422), parameters (404/422),
/// `Idempotency-Key` (400/409/422); problems as `application/problem+json`.
struct Contract;

const PROBLEM_TYPE: &str = "application/problem+json";

fn problem_response(status: u16, codes: &str) -> Response {
    let reason = axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    let mut response = ResponseBuilder::new()
        .description(format!("{reason}: {codes}"))
        .content(PROBLEM_TYPE, Content::new(Some(Ref::from_schema_name("Problem"))))
        .build();
    if status == 429 {
        let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1));
        let mut retry = Header::new(seconds);
        retry.description = Some("Seconds to wait before trying again.".into());
        response.headers.insert("Retry-After".into(), retry);
    }
    response
}

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for op in operations.into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
                let idempotent = params.iter().any(|p| p.name.eq_ignore_ascii_case("idempotency-key"));
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = op.request_body.is_some();
                let mut add = |status: u16, codes: &str| {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem_response(status, codes).into());
                };
                if body || idempotent {
                    add(400, "malformed_request (not JSON, or a malformed Idempotency-Key)");
                }
                if secured {
                    add(401, domain::code::UNAUTHORIZED);
                    add(403, domain::code::FORBIDDEN);
                }
                if has(ParameterIn::Path) {
                    add(404, domain::code::NOT_FOUND);
                }
                if idempotent {
                    add(409, domain::code::IDEMPOTENCY_KEY_IN_USE);
                }
                if body {
                    add(413, domain::code::PAYLOAD_TOO_LARGE);
                }
                if body || has(ParameterIn::Query) || idempotent {
                    add(422, "validation_failed (with the fields at fault), idempotency_key_reused");
                }
                add(429, domain::code::RATE_LIMITED);
                if path.starts_with("/api/") || path.starts_with("/telegram/") {
                    add(503, domain::code::UNAVAILABLE);
                }
                // Problems are `application/problem+json` wherever a route declares one.
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = response {
                        if let Some(content) = r.content.shift_remove("application/json") {
                            let is_problem =
                                matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"));
                            let key = if is_problem { PROBLEM_TYPE } else { "application/json" };
                            r.content.insert(key.into(), content);
                        }
                    }
                }
            }
        }
    }
}

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(me::routes())
        .merge(nfts::routes())
        .merge(offers::routes())
        .merge(collection_offers::routes())
        .merge(auctions::routes())
        .merge(presales::routes())
        .merge(market::routes())
        .merge(trades::routes())
        .merge(channels::routes())
        .merge(live::routes())
        .merge(admin::routes())
        .merge(telegram::routes())
        .merge(partners::routes())
        .merge(ops::routes())
}

/// The routes and the OpenAPI document describing them, every route's common answers declared.
pub fn router_and_doc() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes().split_for_parts();
    Contract.modify(&mut doc);
    (router, doc)
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    router_and_doc().1
}
