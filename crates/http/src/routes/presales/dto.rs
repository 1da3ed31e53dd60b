//! Request and response bodies: Presales.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;
use crate::routes::nfts::dto::NftDto;

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PresaleListParams {
    /// `open`, `sold`, `delivered`, `expired` or `deleted`.
    pub status: Option<String>,
    /// `me` or a user id.
    pub seller: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPresaleRequest {
    pub title: String,
    pub collection: String,
    #[schema(value_type = String, example = "25")]
    pub price: Amount,
    /// RFC 3339; 1 hour – 60 days ahead.
    pub deliver_by: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresaleIdRequest {
    pub presale_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyPresaleRequest {
    pub presale_id: Uuid,
    #[schema(value_type = Option<String>)]
    pub expected_price: Option<Amount>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresalePriceRequest {
    pub presale_id: Uuid,
    #[schema(value_type = String)]
    pub price: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverPresaleRequest {
    pub gift_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct PresaleDto {
    pub id: Uuid,
    pub seller_id: i64,
    pub title: String,
    pub collection: String,
    pub price: String,
    /// Held from the seller until delivery.
    pub collateral: String,
    pub deliver_by: DateTime<Utc>,
    /// `open`, `sold`, `delivered`, `expired` or `deleted`.
    pub status: String,
    /// Shown to the seller and the buyer only.
    pub buyer_id: Option<i64>,
    pub nft_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl PresaleDto {
    pub fn new(p: Presale, viewer: Option<UserId>) -> Self {
        let party = viewer.is_none_or(|v| v == p.seller_id || Some(v) == p.buyer_id);
        Self {
            id: p.id.0,
            seller_id: p.seller_id.0,
            title: p.title,
            collection: p.collection,
            price: amount(p.price),
            collateral: amount(p.collateral),
            deliver_by: p.deliver_by,
            status: p.status.as_str().into(),
            buyer_id: p.buyer_id.filter(|_| party).map(|u| u.0),
            nft_id: p.nft_id.map(|n| n.0),
            created_at: p.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveredPresale {
    pub presale: PresaleDto,
    pub nft: NftDto,
}

crate::dto::page_dto!(PresalePage of PresaleDto);
