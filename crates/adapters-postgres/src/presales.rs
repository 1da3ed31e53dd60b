//! Presales.

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
impl PresaleRepo for PgUow {
    async fn lock(&mut self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        self.one(&format!("SELECT {PRESALE_COLUMNS} FROM presales WHERE id = $1 FOR UPDATE"), id.0, presale_row).await
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
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
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
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl PresaleReads for PgStore {
    async fn presales(&self, f: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError> {
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
            presale_row,
            |p| p.id.0,
        )
        .await
    }

    async fn presale(&self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        self.one(&format!("SELECT {PRESALE_COLUMNS} FROM presales WHERE id = $1"), id.0, presale_row).await
    }

    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError> {
        let sql = "SELECT id FROM presales WHERE status IN ('open', 'sold') AND deliver_by <= $1 ORDER BY deliver_by LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(PresaleId).collect())
    }
}

pub(crate) const PRESALE_COLUMNS: &str =
    "id, seller_id, title, collection, price, collateral, deliver_by, buyer_id, status, nft_id, created_at";

pub(crate) fn presale_row(r: &PgRow) -> Result<Presale, RepoError> {
    let e = |e| bad("presale", e);
    let status: String = r.try_get("status").map_err(e)?;
    let buyer: Option<i64> = r.try_get("buyer_id").map_err(e)?;
    let nft: Option<uuid::Uuid> = r.try_get("nft_id").map_err(e)?;
    Ok(Presale {
        id: PresaleId(r.try_get("id").map_err(e)?),
        seller_id: UserId(r.try_get("seller_id").map_err(e)?),
        title: r.try_get("title").map_err(e)?,
        collection: r.try_get("collection").map_err(e)?,
        price: money(r.try_get("price").map_err(e)?)?,
        collateral: money(r.try_get("collateral").map_err(e)?)?,
        deliver_by: r.try_get("deliver_by").map_err(e)?,
        buyer_id: buyer.map(UserId),
        status: PresaleStatus::parse(&status).ok_or_else(|| bad("presale status", &status))?,
        nft_id: nft.map(NftId),
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
