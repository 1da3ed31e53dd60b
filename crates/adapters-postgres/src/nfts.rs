//! NFTs in custody.

use app::queries::*;
use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

#[async_trait]
impl NftRepo for PgUow {
    async fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1"), id.0, nft_row).await
    }

    async fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1 FOR UPDATE"), id.0, nft_row).await
    }

    async fn lock_all(&mut self, ids: &[NftId]) -> Result<Vec<Nft>, RepoError> {
        let ids: Vec<Uuid> = ids.iter().map(|n| n.0).collect();
        // ORDER BY under FOR UPDATE locks the rows in id order: the global order.
        let found = sqlx::query(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = ANY($1) ORDER BY id FOR UPDATE"))
            .bind(&ids)
            .fetch_all(self.conn().await?)
            .await
            .map_err(map_err)?;
        found.iter().map(nft_row).collect()
    }

    async fn insert(&mut self, nft: &Nft) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO nfts (id, gift_id, title, collection, owner_id, price, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(nft.id.0)
        .bind(&nft.gift_id)
        .bind(&nft.title)
        .bind(&nft.collection)
        .bind(nft.owner_id.0)
        .bind(nft.price.map(|p| p.as_decimal()))
        .bind(nft.status.as_str())
        .bind(nft.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Deferred: sent with the Unit of Work's next statement or commit.
    async fn update(&mut self, nft: &Nft) -> Result<(), RepoError> {
        self.defer().nft(nft);
        Ok(())
    }
}

#[async_trait]
impl NftReads for PgStore {
    async fn nfts(&self, filter: &NftFilter, page: PageRequest) -> Result<Page<Nft>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {NFT_COLUMNS} FROM nfts WHERE ($1::uuid IS NULL OR id < $1) \
             AND ($2::bool IS NULL OR (price IS NOT NULL) = $2) \
             AND ($3::bigint IS NULL OR owner_id = $3) \
             AND ($4::text IS NULL OR collection = $4) \
             ORDER BY id DESC LIMIT $5"
            ))
            .bind(page.after)
            .bind(filter.listed)
            .bind(filter.owner.map(|o| o.0))
            .bind(&filter.collection)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            nft_row,
            |n| n.id.0,
        )
        .await
    }

    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1"), id.0, nft_row).await
    }
}

pub(crate) const NFT_COLUMNS: &str = "id, gift_id, title, collection, owner_id, price, status, created_at";

pub(crate) fn nft_row(r: &PgRow) -> Result<Nft, RepoError> {
    let e = |e| bad("nft", e);
    let status: String = r.try_get("status").map_err(e)?;
    let price: Option<Decimal> = r.try_get("price").map_err(e)?;
    Ok(Nft {
        id: NftId(r.try_get("id").map_err(e)?),
        gift_id: r.try_get("gift_id").map_err(e)?,
        title: r.try_get("title").map_err(e)?,
        collection: r.try_get("collection").map_err(e)?,
        owner_id: UserId(r.try_get("owner_id").map_err(e)?),
        price: price.map(money).transpose()?,
        status: NftStatus::parse(&status).ok_or_else(|| bad("nft status", &status))?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
