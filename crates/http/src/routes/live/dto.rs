//! Request and response bodies: the activity feed, collection statistics, the event stream.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

/// A public market event.
#[derive(Serialize, ToSchema)]
pub struct ActivityDto {
    /// Time-ordered: also its position in the event stream (`id:` there).
    pub id: Uuid,
    /// `listed`, `unlisted`, `price_changed`, `sold`, `offer_made`, `offer_accepted`,
    /// `auction_started`, `auction_bid`, `auction_settled`, `trade_completed`, `presale_sold`,
    /// `presale_delivered` (and, on the stream only, the private `offer_received`).
    pub kind: String,
    pub collection: Option<String>,
    pub nft_id: Option<Uuid>,
    pub auction_id: Option<Uuid>,
    /// The price of the sale, listing, offer or bid; `null` for trades and unlistings.
    pub price: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<MarketEvent> for ActivityDto {
    fn from(e: MarketEvent) -> Self {
        Self {
            id: e.id.0,
            kind: e.kind.as_str().into(),
            collection: e.collection,
            nft_id: e.nft_id.map(|n| n.0),
            auction_id: e.auction_id.map(|a| a.0),
            price: e.price.map(amount),
            created_at: e.created_at,
        }
    }
}

crate::dto::page_dto!(ActivityPage of ActivityDto);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
    #[param(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub collection: Option<String>,
    pub nft_id: Option<Uuid>,
    #[param(
        pattern = "^(listed|unlisted|price_changed|sold|offer_made|offer_accepted|auction_started|auction_bid|auction_settled|trade_completed|presale_sold|presale_delivered)$"
    )]
    pub kind: Option<String>,
}

/// A collection's market now.
#[derive(Serialize, ToSchema)]
pub struct CollectionDto {
    pub name: String,
    /// NFTs listed for sale.
    pub listed: u64,
    /// The lowest listed price; `null` when nothing is listed.
    pub floor_price: Option<String>,
    /// Distinct owners of its NFTs in custody.
    pub owners: u64,
    pub sales_24h: u64,
    pub volume_24h: String,
    pub sales_7d: u64,
    pub volume_7d: String,
    pub last_sale: Option<LastSaleDto>,
}

#[derive(Serialize, ToSchema)]
pub struct LastSaleDto {
    pub price: String,
    pub at: DateTime<Utc>,
}

impl From<app::ports::reads::CollectionStats> for CollectionDto {
    fn from(s: app::ports::reads::CollectionStats) -> Self {
        Self {
            name: s.name,
            listed: s.listed,
            floor_price: s.floor.map(amount),
            owners: s.owners,
            sales_24h: s.sales_24h,
            volume_24h: amount(s.volume_24h),
            sales_7d: s.sales_7d,
            volume_7d: amount(s.volume_7d),
            last_sale: s.last_sale.map(|(p, at)| LastSaleDto { price: amount(p), at }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CollectionList {
    pub items: Vec<CollectionDto>,
    /// The `cursor` of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CollectionsParams {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^n1([0-9a-f]{2})+$")]
    pub cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// `hour` (the last 7 days) or `day` (the last 90 days); default `day`.
    #[param(pattern = "^(hour|day)$")]
    pub interval: Option<String>,
}

/// Sales of one hour or day.
#[derive(Serialize, ToSchema)]
pub struct PricePointDto {
    /// Start of the interval.
    pub at: DateTime<Utc>,
    pub min: String,
    pub avg: String,
    pub max: String,
    pub volume: String,
    pub sales: u64,
}

impl From<app::ports::reads::PricePoint> for PricePointDto {
    fn from(p: app::ports::reads::PricePoint) -> Self {
        Self {
            at: p.at,
            min: amount(p.min),
            avg: amount(p.avg),
            max: amount(p.max),
            volume: amount(p.volume),
            sales: p.sales,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PriceHistory {
    pub collection: String,
    /// `hour` or `day`.
    pub interval: String,
    /// Oldest first; intervals without sales are left out.
    pub points: Vec<PricePointDto>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    #[param(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub collection: Option<String>,
    pub nft_id: Option<Uuid>,
    pub auction_id: Option<Uuid>,
}

/// The private `balance` event of the stream: the user's balance moved; read `/api/me`.
#[derive(Serialize, ToSchema)]
pub struct BalanceEventDto {
    pub id: Uuid,
    /// The ledger operation that moved it (`buy`, `deposit`…).
    pub operation: String,
    pub at: DateTime<Utc>,
}

/// A collection, by name.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CollectionPath {
    #[param(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
}

/// One attribute value of a collection and its market.
#[derive(Serialize, ToSchema)]
pub struct AttributeStatsDto {
    pub name: String,
    #[schema(minimum = 0, maximum = 1000)]
    pub rarity_per_mille: u16,
    /// NFTs with it in custody.
    pub count: u64,
    /// Of those, listed.
    pub listed: u64,
    /// The lowest listed price; `null` when none is listed.
    pub floor: Option<String>,
}

/// A collection's filter panel: each kind's values, rarest first.
#[derive(Serialize, ToSchema)]
pub struct AttributePanelDto {
    pub model: Vec<AttributeStatsDto>,
    pub backdrop: Vec<AttributeStatsDto>,
    pub symbol: Vec<AttributeStatsDto>,
}

impl From<app::ports::reads::AttributePanel> for AttributePanelDto {
    fn from(p: app::ports::reads::AttributePanel) -> Self {
        let list = |v: Vec<app::ports::reads::AttributeStats>| {
            v.into_iter()
                .map(|a| AttributeStatsDto {
                    name: a.name,
                    rarity_per_mille: a.rarity_per_mille,
                    count: a.count,
                    listed: a.listed,
                    floor: a.floor.map(crate::dto::amount),
                })
                .collect()
        };
        Self { model: list(p.model), backdrop: list(p.backdrop), symbol: list(p.symbol) }
    }
}
