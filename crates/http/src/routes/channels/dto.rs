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
    #[schema(example = "@gift_channel", pattern = "^@[A-Za-z][A-Za-z0-9_]{4,31}$|^-?[1-9][0-9]{0,17}$")]
    pub channel: String,
    pub price: Amount,
    /// At most 2000 characters.
    #[schema(max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChannelPriceRequest {
    pub channel_sale_id: Uuid,
    pub price: Amount,
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
    pub expected_price: Option<Amount>,
}

/// Staff's decision on a disputed sale.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveChannelRequest {
    /// `complete` (pay the seller) or `refund` (return the escrow to the buyer).
    #[schema(pattern = "^(complete|refund)$")]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChannelListParams {
    /// `listed`, `awaiting_transfer`, `completed`, `refunded` or `deleted`.
    #[param(pattern = "^(listed|awaiting_transfer|completed|refunded|deleted)$")]
    pub status: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

crate::dto::page_dto!(ChannelSalePage of ChannelSaleDto);
