//! Collection offers.

use app::ports::reads::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

const COLUMNS: &str =
    "id, user_id, collection, model, backdrop, symbol, price, quantity, filled, status, expires_at, created_at";

/// The live open offers a gift matches, best first (an offer naming no attribute matches any).
const MATCHING: &str = "status = 'open' AND expires_at > $2 AND collection = $3 \
     AND (model IS NULL OR model = $4) AND (backdrop IS NULL OR backdrop = $5) AND (symbol IS NULL OR symbol = $6)";

#[async_trait]
impl CollectionOfferRepo for PgUow {
    async fn lock(&mut self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError> {
        self.one(&format!("SELECT {COLUMNS} FROM collection_offers WHERE id = $1 FOR UPDATE"), id.0, row).await
    }

    async fn count_open(&mut self, user: UserId, now: DateTime<Utc>) -> Result<u32, RepoError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM collection_offers WHERE user_id = $1 AND status = 'open' AND expires_at > $2",
        )
        .bind(user.0)
        .bind(now)
        .fetch_one(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(n as u32)
    }

    async fn best_for(
        &mut self,
        nft: &Nft,
        not_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<CollectionOffer>, RepoError> {
        let name = |a: &Option<Attribute>| a.as_ref().map(|a| a.name.clone());
        let found = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM collection_offers WHERE user_id <> $1 AND {MATCHING} \
             ORDER BY price DESC, created_at, id LIMIT 1"
        ))
        .bind(not_by.0)
        .bind(now)
        .bind(&nft.collection)
        .bind(name(&nft.traits.model))
        .bind(name(&nft.traits.backdrop))
        .bind(name(&nft.traits.symbol))
        .fetch_optional(self.conn().await?)
        .await
        .map_err(self.fail())?;
        found.as_ref().map(row).transpose()
    }

    async fn insert(&mut self, o: &CollectionOffer) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO collection_offers (id, user_id, collection, model, backdrop, symbol, price, quantity, filled, \
             status, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(o.id.0)
        .bind(o.user_id.0)
        .bind(&o.criteria.collection)
        .bind(&o.criteria.model)
        .bind(&o.criteria.backdrop)
        .bind(&o.criteria.symbol)
        .bind(o.price.as_decimal())
        .bind(o.quantity as i32)
        .bind(o.filled as i32)
        .bind(o.status.as_str())
        .bind(o.expires_at)
        .bind(o.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn update(&mut self, o: &CollectionOffer) -> Result<(), RepoError> {
        sqlx::query("UPDATE collection_offers SET price = $2, filled = $3, status = $4 WHERE id = $1")
            .bind(o.id.0)
            .bind(o.price.as_decimal())
            .bind(o.filled as i32)
            .bind(o.status.as_str())
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl CollectionOfferReads for PgStore {
    async fn collection_offer_book(
        &self,
        f: &BookFilter,
        after: Option<&BookCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Page<CollectionOffer>, RepoError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM collection_offers \
             WHERE status = 'open' AND expires_at > $1 AND ($2::text IS NULL OR collection = $2) \
               AND ($3::text IS NULL OR model IS NULL OR model = $3) \
               AND ($4::text IS NULL OR backdrop IS NULL OR backdrop = $4) \
               AND ($5::text IS NULL OR symbol IS NULL OR symbol = $5) \
               AND ($6::numeric IS NULL OR price < $6 OR (price = $6 AND (created_at, id) > ($7, $8))) \
             ORDER BY price DESC, created_at, id LIMIT $9"
        ))
        .bind(now)
        .bind(&f.collection)
        .bind(&f.model)
        .bind(&f.backdrop)
        .bind(&f.symbol)
        .bind(after.map(|c| c.price.as_decimal()))
        .bind(after.map(|c| c.created_at))
        .bind(after.map(|c| c.id))
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await
        .map_err(crate::map_err)?;
        let items = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
        Ok(book_page(items, limit))
    }

    async fn collection_offers_of(&self, user: UserId, page: PageRequest) -> Result<Page<CollectionOffer>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM collection_offers WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) \
                 ORDER BY id DESC LIMIT $3"
            ))
            .bind(user.0)
            .bind(page.after)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            row,
            |o| o.id.0,
        )
        .await
    }

    async fn collection_offer(&self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError> {
        self.one(&format!("SELECT {COLUMNS} FROM collection_offers WHERE id = $1"), id.0, row).await
    }

    async fn due_collection_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<CollectionOfferId>, RepoError> {
        let sql =
            "SELECT id FROM collection_offers WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(CollectionOfferId).collect())
    }
}

fn row(r: &PgRow) -> Result<CollectionOffer, RepoError> {
    let e = |e| bad("collection offer", e);
    let status: String = r.try_get(9).map_err(e)?;
    Ok(CollectionOffer {
        id: CollectionOfferId(r.try_get(0).map_err(e)?),
        user_id: UserId(r.try_get(1).map_err(e)?),
        criteria: OfferCriteria {
            collection: r.try_get(2).map_err(e)?,
            model: r.try_get(3).map_err(e)?,
            backdrop: r.try_get(4).map_err(e)?,
            symbol: r.try_get(5).map_err(e)?,
        },
        price: money(r.try_get(6).map_err(e)?)?,
        quantity: r.try_get::<i32, _>(7).map_err(e)? as u32,
        filled: r.try_get::<i32, _>(8).map_err(e)? as u32,
        status: CollectionOfferStatus::parse(&status).ok_or_else(|| bad("collection offer status", &status))?,
        expires_at: r.try_get(10).map_err(e)?,
        created_at: r.try_get(11).map_err(e)?,
    })
}
