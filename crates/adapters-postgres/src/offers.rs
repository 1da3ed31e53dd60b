//! Offers on NFTs.

use app::ports::reads::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

#[async_trait]
impl OfferRepo for PgUow {
    async fn get(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.one(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1"), id.0, offer_row).await
    }

    async fn lock(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.one(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1 FOR UPDATE"), id.0, offer_row).await
    }

    async fn lock_open_by(&mut self, nft: NftId, offerer: UserId) -> Result<Option<Offer>, RepoError> {
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE nft_id = $1 AND offerer_id = $2 AND status = 'open' FOR UPDATE"
        ))
        .bind(nft.0)
        .bind(offerer.0)
        .fetch_optional(self.conn().await?)
        .await
        .map_err(self.fail())?;
        row.as_ref().map(offer_row).transpose()
    }

    async fn lock_open_for_nft(&mut self, nft: NftId) -> Result<Vec<Offer>, RepoError> {
        let found = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE nft_id = $1 AND status = 'open' ORDER BY id FOR UPDATE"
        ))
        .bind(nft.0)
        .fetch_all(self.conn().await?)
        .await
        .map_err(self.fail())?;
        found.iter().map(offer_row).collect()
    }

    async fn lock_open_by_on(&mut self, offerer: UserId, nfts: &[NftId]) -> Result<Vec<Offer>, RepoError> {
        let nfts: Vec<uuid::Uuid> = nfts.iter().map(|n| n.0).collect();
        let found = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE offerer_id = $1 AND nft_id = ANY($2) AND status = 'open' \
             ORDER BY id FOR UPDATE"
        ))
        .bind(offerer.0)
        .bind(&nfts)
        .fetch_all(self.conn().await?)
        .await
        .map_err(self.fail())?;
        found.iter().map(offer_row).collect()
    }

    async fn insert(&mut self, offer: &Offer) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO offers (id, nft_id, offerer_id, price, status, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(offer.id.0)
        .bind(offer.nft_id.0)
        .bind(offer.offerer_id.0)
        .bind(offer.price.as_decimal())
        .bind(offer.status.as_str())
        .bind(offer.expires_at)
        .bind(offer.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    /// Deferred: sent with the Unit of Work's next statement or commit.
    async fn update(&mut self, offer: &Offer) -> Result<(), RepoError> {
        self.defer().offer(offer);
        Ok(())
    }
}

#[async_trait]
impl OfferReads for PgStore {
    async fn offers(&self, f: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError> {
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
            offer_row,
            |o| o.id.0,
        )
        .await
    }

    async fn offer(&self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.one(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1"), id.0, offer_row).await
    }

    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError> {
        let sql = "SELECT id FROM offers WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(OfferId).collect())
    }
}

pub(crate) const OFFER_COLUMNS: &str = "id, nft_id, offerer_id, price, status, expires_at, created_at";

pub(crate) fn offer_row(r: &PgRow) -> Result<Offer, RepoError> {
    offer_at(r, 0)
}

/// The offer in the [`OFFER_COLUMNS`] starting at column `at`.
pub(crate) fn offer_at(r: &PgRow, at: usize) -> Result<Offer, RepoError> {
    let e = |e| bad("offer", e);
    let status: String = r.try_get(at + 4).map_err(e)?;
    Ok(Offer {
        id: OfferId(r.try_get(at).map_err(e)?),
        nft_id: NftId(r.try_get(at + 1).map_err(e)?),
        offerer_id: UserId(r.try_get(at + 2).map_err(e)?),
        price: money(r.try_get(at + 3).map_err(e)?)?,
        status: OfferStatus::parse(&status).ok_or_else(|| bad("offer status", &status))?,
        expires_at: r.try_get(at + 5).map_err(e)?,
        created_at: r.try_get(at + 6).map_err(e)?,
    })
}
