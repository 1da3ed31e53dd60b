//! Request and response bodies: Auctions.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuctionListParams {
    /// `active`, `settled` or `cancelled`.
    #[param(pattern = "^(active|settled|cancelled)$")]
    pub status: Option<String>,
    pub nft_id: Option<Uuid>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuctionRequest {
    pub nft_id: Uuid,
    pub start_price: Amount,
    /// 1–100, default 5.
    #[schema(minimum = 1, maximum = 100)]
    pub step_percent: Option<i64>,
    pub buy_now_price: Option<Amount>,
    /// 60 s – 14 days.
    #[schema(minimum = 60, maximum = 1209600)]
    pub duration_seconds: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidRequest {
    pub auction_id: Uuid,
    pub amount: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuctionIdRequest {
    pub auction_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct AuctionDto {
    pub id: Uuid,
    pub nft_id: Uuid,
    pub seller_id: i64,
    pub start_price: String,
    pub step_percent: u32,
    pub buy_now_price: Option<String>,
    pub ends_at: DateTime<Utc>,
    pub current_bid: Option<String>,
    pub leader_id: Option<i64>,
    pub bid_count: u32,
    /// The smallest bid accepted now.
    pub min_next_bid: String,
    /// `active`, `settled` or `cancelled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<Auction> for AuctionDto {
    fn from(a: Auction) -> Self {
        Self {
            id: a.id.0,
            nft_id: a.nft_id.0,
            seller_id: a.seller_id.0,
            start_price: amount(a.start_price),
            step_percent: a.step_percent,
            buy_now_price: a.buy_now_price.map(amount),
            ends_at: a.ends_at,
            current_bid: a.current_bid.map(amount),
            leader_id: a.leader_id.map(|u| u.0),
            bid_count: a.bid_count,
            min_next_bid: amount(a.min_next_bid()),
            status: a.status.as_str().into(),
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BidDto {
    pub id: Uuid,
    pub bidder_id: i64,
    pub amount: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AuctionDetail {
    #[serde(flatten)]
    pub auction: AuctionDto,
    /// Highest first.
    pub bids: Vec<BidDto>,
}

impl From<(Auction, Vec<Bid>)> for AuctionDetail {
    fn from((a, bids): (Auction, Vec<Bid>)) -> Self {
        Self {
            auction: a.into(),
            bids: bids
                .into_iter()
                .map(|b| BidDto {
                    id: b.id.0,
                    bidder_id: b.bidder_id.0,
                    amount: amount(b.amount),
                    created_at: b.created_at,
                })
                .collect(),
        }
    }
}

crate::dto::page_dto!(AuctionPage of AuctionDto);
