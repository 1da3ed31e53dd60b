//! The OpenAPI 3.1 document, built from the handlers' annotations, and the routes themselves.

use std::sync::Arc;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::handlers::{admin, auctions, market, me, nfts, offers, ops, partners, presales};
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
        .routes(routes!(me::me))
        .routes(routes!(me::ledger))
        .routes(routes!(nfts::list))
        .routes(routes!(nfts::get))
        .routes(routes!(nfts::buy))
        .routes(routes!(nfts::set_price))
        .routes(routes!(nfts::back))
        .routes(routes!(offers::list))
        .routes(routes!(offers::mine))
        .routes(routes!(offers::create))
        .routes(routes!(offers::accept))
        .routes(routes!(offers::refuse))
        .routes(routes!(offers::cancel))
        .routes(routes!(offers::set_price))
        .routes(routes!(auctions::list))
        .routes(routes!(auctions::get))
        .routes(routes!(auctions::create))
        .routes(routes!(auctions::bid))
        .routes(routes!(auctions::cancel))
        .routes(routes!(presales::list))
        .routes(routes!(presales::get))
        .routes(routes!(presales::create))
        .routes(routes!(presales::set_price))
        .routes(routes!(presales::delete))
        .routes(routes!(presales::buy))
        .routes(routes!(presales::deliver))
        .routes(routes!(market::output))
        .routes(routes!(market::list))
        .routes(routes!(market::get))
        .routes(routes!(admin::deposit))
        .routes(routes!(admin::register_nft))
        .routes(routes!(admin::audit))
        .routes(routes!(partners::create_manager))
        .routes(routes!(partners::create_partner))
        .routes(routes!(partners::get_partner))
        .routes(routes!(partners::manager_clients))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
