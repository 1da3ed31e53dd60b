//! Request and response bodies: collection offers.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollectionOfferRequest {
    pub collection: String,
    /// Only gifts of this model (by name); absent: any.
    pub model: Option<String>,
    pub backdrop: Option<String>,
    pub symbol: Option<String>,
    /// Paid for each gift.
    pub price: Amount,
    /// How many gifts, 1–50; `price × quantity` is held.
    #[schema(minimum = 1, maximum = 50)]
    pub quantity: u32,
    /// 60 s – 30 days; default 7 days.
    #[schema(minimum = 60, maximum = 2592000)]
    pub expires_in_seconds: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FillCollectionOfferRequest {
    pub offer_id: Uuid,
    /// 1–10 of your NFTs, each matching the offer.
    #[schema(min_items = 1, max_items = 10)]
    pub nft_ids: Vec<Uuid>,
    /// When given and the offer's price differs: 409 `price_changed`, nothing moves.
    pub expected_price: Option<Amount>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCollectionOfferPriceRequest {
    pub offer_id: Uuid,
    pub price: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionOfferIdRequest {
    pub offer_id: Uuid,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BookParams {
    pub collection: Option<String>,
    /// Offers a gift of this model could fill: those naming it and those naming no model.
    pub model: Option<String>,
    pub backdrop: Option<String>,
    pub symbol: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CriteriaDto {
    pub collection: String,
    pub model: Option<String>,
    pub backdrop: Option<String>,
    pub symbol: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CollectionOfferDto {
    pub id: Uuid,
    pub user_id: i64,
    pub criteria: CriteriaDto,
    /// Paid for each gift.
    pub price: String,
    pub quantity: u32,
    pub filled: u32,
    /// Gifts still wanted (0 unless open).
    pub remaining: u32,
    /// `open`, `filled`, `cancelled` or `expired` (an open offer past `expires_at` is expired).
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl CollectionOfferDto {
    pub fn new(o: CollectionOffer, now: DateTime<Utc>) -> Self {
        let status = match o.status {
            CollectionOfferStatus::Open if now >= o.expires_at => CollectionOfferStatus::Expired,
            s => s,
        };
        Self {
            id: o.id.0,
            user_id: o.user_id.0,
            remaining: if status == CollectionOfferStatus::Open { o.remaining() } else { 0 },
            criteria: CriteriaDto {
                collection: o.criteria.collection,
                model: o.criteria.model,
                backdrop: o.criteria.backdrop,
                symbol: o.criteria.symbol,
            },
            price: amount(o.price),
            quantity: o.quantity,
            filled: o.filled,
            status: status.as_str().into(),
            expires_at: o.expires_at,
            created_at: o.created_at,
        }
    }
}

crate::dto::page_dto!(CollectionOfferPage of CollectionOfferDto);
