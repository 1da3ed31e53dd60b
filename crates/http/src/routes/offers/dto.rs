//! Request and response bodies: Offers.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferListParams {
    pub nft_id: Uuid,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfferRequest {
    pub nft_id: Uuid,
    pub price: Amount,
    /// 60 s – 30 days; default 7 days.
    #[schema(minimum = 60, maximum = 2592000)]
    pub expires_in_seconds: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferIdRequest {
    pub offer_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOfferPriceRequest {
    pub offer_id: Uuid,
    pub price: Amount,
}

#[derive(Serialize, ToSchema)]
pub struct OfferDto {
    pub id: Uuid,
    pub nft_id: Uuid,
    /// Shown to the offerer and to the NFT's owner only.
    pub offerer_id: Option<i64>,
    pub price: String,
    /// `open`, `accepted`, `refused`, `cancelled` or `expired` (an open offer past `expires_at` is expired).
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl OfferDto {
    /// `viewer_may_see_offerer`: the viewer is the offerer or owns the NFT.
    pub fn new(o: Offer, viewer_may_see_offerer: bool, now: DateTime<Utc>) -> Self {
        let status = if o.status == OfferStatus::Open && now >= o.expires_at { OfferStatus::Expired } else { o.status };
        Self {
            id: o.id.0,
            nft_id: o.nft_id.0,
            offerer_id: viewer_may_see_offerer.then_some(o.offerer_id.0),
            price: amount(o.price),
            status: status.as_str().into(),
            expires_at: o.expires_at,
            created_at: o.created_at,
        }
    }
}

crate::dto::page_dto!(OfferPage of OfferDto);
