//! Repository ports for auctions, presales and withdrawals.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;

use crate::error::map_err;
use crate::rows::{self, AUCTION_COLUMNS, PRESALE_COLUMNS, WITHDRAWAL_COLUMNS};
use crate::PgUow;

fn opt(m: Option<Money>) -> Option<rust_decimal::Decimal> {
    m.map(|m| m.as_decimal())
}

#[async_trait]
impl AuctionRepo for PgUow {
    async fn lock(&mut self, id: AuctionId) -> Result<Option<Auction>, RepoError> {
        self.one(&format!("SELECT {AUCTION_COLUMNS} FROM auctions WHERE id = $1 FOR UPDATE"), id.0, rows::auction).await
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
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
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
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_bid(&mut self, b: &Bid) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO bids (id, auction_id, bidder_id, amount, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(b.id.0)
            .bind(b.auction_id.0)
            .bind(b.bidder_id.0)
            .bind(b.amount.as_decimal())
            .bind(b.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl PresaleRepo for PgUow {
    async fn lock(&mut self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        self.one(&format!("SELECT {PRESALE_COLUMNS} FROM presales WHERE id = $1 FOR UPDATE"), id.0, rows::presale).await
    }

    async fn insert(&mut self, p: &Presale) -> Result<(), RepoError> {
        sqlx::query(&format!(
            "INSERT INTO presales ({PRESALE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(p.id.0)
        .bind(p.seller_id.0)
        .bind(&p.title)
        .bind(&p.collection)
        .bind(p.price.as_decimal())
        .bind(p.collateral.as_decimal())
        .bind(p.deliver_by)
        .bind(p.buyer_id.map(|u| u.0))
        .bind(p.status.as_str())
        .bind(p.nft_id.map(|n| n.0))
        .bind(p.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update(&mut self, p: &Presale) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE presales SET price = $2, collateral = $3, buyer_id = $4, status = $5, nft_id = $6 WHERE id = $1",
        )
        .bind(p.id.0)
        .bind(p.price.as_decimal())
        .bind(p.collateral.as_decimal())
        .bind(p.buyer_id.map(|u| u.0))
        .bind(p.status.as_str())
        .bind(p.nft_id.map(|n| n.0))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl WithdrawalRepo for PgUow {
    async fn lock(&mut self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        self.one(
            &format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE id = $1 FOR UPDATE"),
            id.0,
            rows::withdrawal,
        )
        .await
    }

    async fn insert(&mut self, w: &Withdrawal) -> Result<(), RepoError> {
        sqlx::query(&format!("INSERT INTO withdrawals ({WITHDRAWAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(w.id.0)
            .bind(w.user_id.0)
            .bind(w.amount.as_decimal())
            .bind(&w.address)
            .bind(w.status.as_str())
            .bind(&w.tx_hash)
            .bind(w.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn update(&mut self, w: &Withdrawal) -> Result<(), RepoError> {
        sqlx::query("UPDATE withdrawals SET status = $2, tx_hash = $3 WHERE id = $1")
            .bind(w.id.0)
            .bind(w.status.as_str())
            .bind(&w.tx_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
