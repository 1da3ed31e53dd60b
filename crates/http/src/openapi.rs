//! The OpenAPI 3.1 document, built from the handlers' annotations, and every resource's routes.

use std::sync::Arc;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::routes::{admin, auctions, channels, market, me, nfts, offers, ops, partners, presales, trades};
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

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(me::routes())
        .merge(nfts::routes())
        .merge(offers::routes())
        .merge(auctions::routes())
        .merge(presales::routes())
        .merge(market::routes())
        .merge(trades::routes())
        .merge(channels::routes())
        .merge(admin::routes())
        .merge(partners::routes())
        .merge(ops::routes())
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
