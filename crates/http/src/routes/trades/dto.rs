//! Request and response bodies: trades.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

/// One side of a trade: NFTs and an optional amount of TON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TradeSideRequest {
    /// At most 10; `[]` for none.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub nft_ids: Vec<Uuid>,
    pub amount: Option<Amount>,
}

impl From<TradeSideRequest> for TradeSide {
    fn from(s: TradeSideRequest) -> Self {
        TradeSide { nft_ids: s.nft_ids.into_iter().map(NftId).collect(), amount: s.amount.map(|a| a.0) }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTradeRequest {
    /// The user asked to trade (a Telegram user id).
    #[schema(minimum = 1)]
    pub taker_id: i64,
    /// What the maker (the caller) puts in.
    pub give: TradeSideRequest,
    /// What the maker asks for from the taker.
    pub want: TradeSideRequest,
    /// 60 s – 7 days; default 24 hours.
    #[schema(minimum = 60, maximum = 604800)]
    pub expires_in_seconds: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TradeIdRequest {
    pub trade_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct TradeSideDto {
    pub nft_ids: Vec<Uuid>,
    /// `null` when this side puts in no TON.
    pub amount: Option<String>,
}

impl From<TradeSide> for TradeSideDto {
    fn from(s: TradeSide) -> Self {
        Self { nft_ids: s.nft_ids.into_iter().map(|n| n.0).collect(), amount: s.amount.map(amount) }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TradeDto {
    pub id: Uuid,
    pub maker_id: i64,
    pub taker_id: i64,
    pub give: TradeSideDto,
    pub want: TradeSideDto,
    /// `open`, `accepted`, `declined`, `cancelled` or `expired` (an open trade past `expires_at`
    /// is shown expired).
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl TradeDto {
    pub fn new(t: Trade, now: DateTime<Utc>) -> Self {
        let status = if t.status == TradeStatus::Open && now >= t.expires_at { TradeStatus::Expired } else { t.status };
        Self {
            id: t.id.0,
            maker_id: t.maker_id.0,
            taker_id: t.taker_id.0,
            give: t.give.into(),
            want: t.want.into(),
            status: status.as_str().into(),
            expires_at: t.expires_at,
            created_at: t.created_at,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TradeListParams {
    /// `maker` or `taker`; both when absent.
    #[param(pattern = "^(maker|taker)$")]
    pub role: Option<String>,
    /// `open`, `accepted`, `declined`, `cancelled` or `expired`.
    #[param(pattern = "^(open|accepted|declined|cancelled|expired)$")]
    pub status: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TradePage {
    pub items: Vec<TradeDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
