//! Auctions and their bids.

use app::ports::reads::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::*;
use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::map_err;
use crate::rows::{bad, money, opt};
use crate::{PgStore, PgUow};

#[async_trait]
impl AuctionRepo for PgUow {
    async fn lock(&mut self, id: AuctionId) -> Result<Option<Auction>, RepoError> {
        self.one(&format!("SELECT {AUCTION_COLUMNS} FROM auctions WHERE id = $1 FOR UPDATE"), id.0, auction_row).await
    }

    async fn insert(&mut self, a: &Auction) -> Result<(), RepoError> {
        sqlx::query(&format!(
            "INSERT INTO auctions ({AUCTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(a.id.0)
        .bind(a.nft_id.0)
        .bind(a.seller_id.0)
        .bind(a.start_price.as_decimal())
        .bind(a.step_percent as i32)
        .bind(opt(a.buy_now_price))
        .bind(a.ends_at)
        .bind(a.leader_id.map(|u| u.0))
        .bind(opt(a.current_bid))
        .bind(a.bid_count as i32)
        .bind(a.status.as_str())
        .bind(a.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn update(&mut self, a: &Auction) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE auctions SET ends_at = $2, leader_id = $3, current_bid = $4, bid_count = $5, status = $6 WHERE id = $1",
        )
        .bind(a.id.0)
        .bind(a.ends_at)
        .bind(a.leader_id.map(|u| u.0))
        .bind(opt(a.current_bid))
        .bind(a.bid_count as i32)
        .bind(a.status.as_str())
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn insert_bid(&mut self, b: &Bid) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO bids (id, auction_id, bidder_id, amount, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(b.id.0)
            .bind(b.auction_id.0)
            .bind(b.bidder_id.0)
            .bind(b.amount.as_decimal())
            .bind(b.created_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl AuctionReads for PgStore {
    async fn auctions(&self, f: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {AUCTION_COLUMNS} FROM auctions WHERE ($1::uuid IS NULL OR id < $1) \
             AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR nft_id = $3) ORDER BY id DESC LIMIT $4"
            ))
            .bind(page.after)
            .bind(f.status.map(|s| s.as_str()))
            .bind(f.nft.map(|n| n.0))
            .bind(i64::from(page.limit) + 1),
            page.limit,
            auction_row,
            |a| a.id.0,
        )
        .await
    }

    async fn auction(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError> {
        let Some(row) = sqlx::query(&format!("SELECT {AUCTION_COLUMNS} FROM auctions WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?
        else {
            return Ok(None);
        };
        let bids = sqlx::query("SELECT id, auction_id, bidder_id, amount, created_at FROM bids WHERE auction_id = $1 ORDER BY amount DESC, id")
            .bind(id.0)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        Ok(Some((auction_row(&row)?, bids.iter().map(bid_row).collect::<Result<_, _>>()?)))
    }

    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError> {
        let sql = "SELECT id FROM auctions WHERE status = 'active' AND ends_at <= $1 ORDER BY ends_at LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(AuctionId).collect())
    }
}

pub(crate) const AUCTION_COLUMNS: &str =
    "id, nft_id, seller_id, start_price, step_percent, buy_now_price, ends_at, leader_id, current_bid, bid_count, status, created_at";

pub(crate) fn auction_row(r: &PgRow) -> Result<Auction, RepoError> {
    let e = |e| bad("auction", e);
    let status: String = r.try_get("status").map_err(e)?;
    let buy_now: Option<Decimal> = r.try_get("buy_now_price").map_err(e)?;
    let current: Option<Decimal> = r.try_get("current_bid").map_err(e)?;
    let leader: Option<i64> = r.try_get("leader_id").map_err(e)?;
    let step: i32 = r.try_get("step_percent").map_err(e)?;
    let bids: i32 = r.try_get("bid_count").map_err(e)?;
    Ok(Auction {
        id: AuctionId(r.try_get("id").map_err(e)?),
        nft_id: NftId(r.try_get("nft_id").map_err(e)?),
        seller_id: UserId(r.try_get("seller_id").map_err(e)?),
        start_price: money(r.try_get("start_price").map_err(e)?)?,
        step_percent: step as u32,
        buy_now_price: buy_now.map(money).transpose()?,
        ends_at: r.try_get("ends_at").map_err(e)?,
        leader_id: leader.map(UserId),
        current_bid: current.map(money).transpose()?,
        bid_count: bids as u32,
        status: AuctionStatus::parse(&status).ok_or_else(|| bad("auction status", &status))?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub(crate) fn bid_row(r: &PgRow) -> Result<Bid, RepoError> {
    let e = |e| bad("bid", e);
    Ok(Bid {
        id: BidId(r.try_get("id").map_err(e)?),
        auction_id: AuctionId(r.try_get("auction_id").map_err(e)?),
        bidder_id: UserId(r.try_get("bidder_id").map_err(e)?),
        amount: money(r.try_get("amount").map_err(e)?)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
