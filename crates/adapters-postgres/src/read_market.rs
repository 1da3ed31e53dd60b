//! Reads of auctions, offers, presales and withdrawals; the jobs' due-work queries.

use app::jobs::DueWork;
use app::queries::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::*;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::{self, AUCTION_COLUMNS, OFFER_COLUMNS, PRESALE_COLUMNS, WITHDRAWAL_COLUMNS};
use crate::PgStore;

impl PgStore {
    pub(crate) async fn auctions_page(&self, f: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError> {
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
            rows::auction,
            |a| a.id.0,
        )
        .await
    }

    pub(crate) async fn auction_with_bids(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError> {
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
        Ok(Some((rows::auction(&row)?, bids.iter().map(rows::bid).collect::<Result<_, _>>()?)))
    }

    pub(crate) async fn offers_page(&self, f: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError> {
        let (nft, user) = match f {
            OfferFilter::Nft(n) => (Some(n.0), None),
            OfferFilter::Involving(u) => (None, Some(u.0)),
        };
        let cols = OFFER_COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
        self.page(
            sqlx::query(&format!(
                "SELECT {cols} FROM offers o JOIN nfts n ON n.id = o.nft_id WHERE ($1::uuid IS NULL OR o.id < $1) \
             AND ($2::uuid IS NULL OR o.nft_id = $2) \
             AND ($3::bigint IS NULL OR o.offerer_id = $3 OR n.owner_id = $3) ORDER BY o.id DESC LIMIT $4"
            ))
            .bind(page.after)
            .bind(nft)
            .bind(user)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            rows::offer,
            |o| o.id.0,
        )
        .await
    }

    pub(crate) async fn offer_by_id(&self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.one(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1"), id.0, rows::offer).await
    }

    pub(crate) async fn presales_page(&self, f: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError> {
        self.page(
            sqlx::query(&format!(
            "SELECT {PRESALE_COLUMNS} FROM presales WHERE ($1::uuid IS NULL OR id < $1) \
             AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR seller_id = $3) ORDER BY id DESC LIMIT $4"
        ))
            .bind(page.after)
            .bind(f.status.map(|s| s.as_str()))
            .bind(f.seller.map(|u| u.0))
            .bind(i64::from(page.limit) + 1),
            page.limit,
            rows::presale,
            |p| p.id.0,
        )
        .await
    }

    pub(crate) async fn presale_by_id(&self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        self.one(&format!("SELECT {PRESALE_COLUMNS} FROM presales WHERE id = $1"), id.0, rows::presale).await
    }

    pub(crate) async fn withdrawals_page(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Withdrawal>, RepoError> {
        self.page(
sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(user.0)
        .bind(page.after)
        .bind(i64::from(page.limit) + 1),
            page.limit, rows::withdrawal, |w| w.id.0).await
    }

    pub(crate) async fn withdrawal_by_id(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        self.one(&format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE id = $1"), id.0, rows::withdrawal).await
    }

    async fn due_ids(&self, sql: &str, now: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>, RepoError> {
        Ok(sqlx::query(sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| r.get::<Uuid, _>("id"))
            .collect())
    }
}

#[async_trait]
impl DueWork for PgStore {
    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError> {
        let sql = "SELECT id FROM offers WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(OfferId).collect())
    }

    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError> {
        let sql = "SELECT id FROM auctions WHERE status = 'active' AND ends_at <= $1 ORDER BY ends_at LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(AuctionId).collect())
    }

    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError> {
        let sql = "SELECT id FROM presales WHERE status IN ('open', 'sold') AND deliver_by <= $1 ORDER BY deliver_by LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(PresaleId).collect())
    }
}
