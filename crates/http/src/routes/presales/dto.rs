//! Request and response bodies: Presales.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;
use crate::routes::nfts::dto::NftDto;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PresaleListParams {
    /// `open`, `sold`, `delivered`, `expired` or `deleted`.
    #[param(pattern = "^(open|sold|delivered|expired|deleted)$")]
    pub status: Option<String>,
    /// `me` or a user id.
    #[param(pattern = "^(me|[1-9][0-9]{0,17})$")]
    pub seller: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPresaleRequest {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub title: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub collection: String,
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
    pub expected_price: Option<Amount>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresalePriceRequest {
    pub presale_id: Uuid,
    pub price: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverPresaleRequest {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
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
