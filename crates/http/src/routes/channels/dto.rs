//! Request and response bodies: channel listings and sales.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelRequest {
    /// `@username` or the numeric chat id (`-100…`).
    #[schema(example = "@gift_channel")]
    pub channel: String,
    #[schema(value_type = String, example = "250")]
    pub price: Amount,
    /// At most 2000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChannelPriceRequest {
    pub channel_sale_id: Uuid,
    /// Required.
    #[schema(value_type = String, example = "200")]
    pub price: Option<Amount>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSaleIdRequest {
    pub channel_sale_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyChannelRequest {
    pub channel_sale_id: Uuid,
    /// When given and different from the current price: 409 `price_changed`, nothing moves.
    #[schema(value_type = Option<String>, example = "250")]
    pub expected_price: Option<Amount>,
}

/// Staff's decision on a disputed sale.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveChannelRequest {
    /// `complete` (pay the seller) or `refund` (return the escrow to the buyer).
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelSaleDto {
    pub id: Uuid,
    pub seller_id: i64,
    /// Telegram's chat id of the channel.
    pub chat_id: i64,
    pub title: String,
    pub username: Option<String>,
    pub description: Option<String>,
    pub price: String,
    /// `listed`, `awaiting_transfer`, `completed`, `refunded` or `deleted`.
    pub status: String,
    pub buyer_id: Option<i64>,
    /// While awaiting transfer: when the escrow is refunded unless the buyer owns the channel.
    pub transfer_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ChannelSale> for ChannelSaleDto {
    fn from(s: ChannelSale) -> Self {
        Self {
            id: s.id.0,
            seller_id: s.seller_id.0,
            chat_id: s.chat_id,
            title: s.title,
            username: s.username,
            description: s.description,
            price: amount(s.price),
            status: s.status.as_str().into(),
            buyer_id: s.buyer_id.map(|u| u.0),
            transfer_by: s.transfer_by,
            created_at: s.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChannelListParams {
    /// `listed`, `awaiting_transfer`, `completed`, `refunded` or `deleted`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

crate::dto::page_dto!(ChannelSalePage of ChannelSaleDto);
