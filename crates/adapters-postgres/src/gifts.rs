//! The gift rail's inbox: Telegram updates handled, and gifts no NFT stands for.

use app::ports::reads::{GiftReads, Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::GiftInboxRepo;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::map_err;
use crate::rows::{bad, BindTraits};
use crate::{PgStore, PgUow};

const UNMATCHED_GIFT_COLUMNS: &str =
    "id, gift_id, collection, number, model, model_rarity, backdrop, backdrop_rarity, \
     symbol, symbol_rarity, owned_gift_id, transfer_stars, can_transfer_at, from_blockchain, sender_id, reason, \
     received_at, assigned_to, assigned_at";

fn attribute(r: &PgRow, name: &str, rarity: &str) -> Result<Option<Attribute>, RepoError> {
    let e = |e| bad("unmatched gift attribute", e);
    Ok(crate::rows::attribute(r.try_get(name).map_err(e)?, r.try_get(rarity).map_err(e)?))
}

fn unmatched_gift_row(r: &PgRow) -> Result<UnmatchedGift, RepoError> {
    let e = |e| bad("unmatched gift", e);
    let reason: String = r.try_get("reason").map_err(e)?;
    Ok(UnmatchedGift {
        id: UnmatchedGiftId(r.try_get("id").map_err(e)?),
        gift: ReceivedGift {
            gift_id: r.try_get("gift_id").map_err(e)?,
            collection: r.try_get("collection").map_err(e)?,
            traits: GiftTraits {
                number: r.try_get::<Option<i64>, _>("number").map_err(e)?.map(|n| n as u32),
                model: attribute(r, "model", "model_rarity")?,
                backdrop: attribute(r, "backdrop", "backdrop_rarity")?,
                symbol: attribute(r, "symbol", "symbol_rarity")?,
            },
            telegram: TelegramGift {
                owned_gift_id: r.try_get("owned_gift_id").map_err(e)?,
                transfer_star_count: r.try_get::<Option<i64>, _>("transfer_stars").map_err(e)?.map(|n| n as u32),
            },
            can_transfer_at: r.try_get("can_transfer_at").map_err(e)?,
            from_blockchain: r.try_get("from_blockchain").map_err(e)?,
        },
        sender_id: r.try_get::<Option<i64>, _>("sender_id").map_err(e)?.map(UserId),
        reason: UnmatchedReason::parse(&reason).ok_or_else(|| bad("unmatched gift reason", &reason))?,
        received_at: r.try_get("received_at").map_err(e)?,
        assigned_to: r.try_get::<Option<i64>, _>("assigned_to").map_err(e)?.map(UserId),
        assigned_at: r.try_get("assigned_at").map_err(e)?,
    })
}

#[async_trait]
impl GiftInboxRepo for PgUow {
    async fn claim_update(&mut self, update_id: i64, at: DateTime<Utc>) -> Result<bool, RepoError> {
        let done = sqlx::query(
            "INSERT INTO telegram_updates (update_id, received_at) VALUES ($1, $2) ON CONFLICT (update_id) DO NOTHING",
        )
        .bind(update_id)
        .bind(at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_unmatched(&mut self, u: &UnmatchedGift) -> Result<bool, RepoError> {
        let g = &u.gift;
        let done = sqlx::query(&format!(
            "INSERT INTO unmatched_gifts ({UNMATCHED_GIFT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (gift_id) WHERE assigned_to IS NULL DO NOTHING"
        ))
        .bind(u.id.0)
        .bind(&g.gift_id)
        .bind(&g.collection)
        .bind_traits(&g.traits)
        .bind(&g.telegram.owned_gift_id)
        .bind(g.telegram.transfer_star_count.map(i64::from))
        .bind(g.can_transfer_at)
        .bind(g.from_blockchain)
        .bind(u.sender_id.map(|s| s.0))
        .bind(u.reason.as_str())
        .bind(u.received_at)
        .bind(u.assigned_to.map(|s| s.0))
        .bind(u.assigned_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn lock_unmatched(&mut self, id: UnmatchedGiftId) -> Result<Option<UnmatchedGift>, RepoError> {
        self.one(
            &format!("SELECT {UNMATCHED_GIFT_COLUMNS} FROM unmatched_gifts WHERE id = $1 FOR UPDATE"),
            id.0,
            unmatched_gift_row,
        )
        .await
    }

    async fn update_unmatched(&mut self, u: &UnmatchedGift) -> Result<(), RepoError> {
        sqlx::query("UPDATE unmatched_gifts SET assigned_to = $2, assigned_at = $3 WHERE id = $1")
            .bind(u.id.0)
            .bind(u.assigned_to.map(|s| s.0))
            .bind(u.assigned_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }

    async fn replace_missing(&mut self, gift_ids: &[String], at: DateTime<Utc>) -> Result<(), RepoError> {
        sqlx::query(
            "WITH gone AS (DELETE FROM gift_custody_missing) \
             INSERT INTO gift_custody_missing (gift_id, found_at) SELECT unnest($1::text[]), $2",
        )
        .bind(gift_ids)
        .bind(at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl GiftReads for PgStore {
    async fn unmatched_gifts(&self, page: PageRequest) -> Result<Page<UnmatchedGift>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {UNMATCHED_GIFT_COLUMNS} FROM unmatched_gifts WHERE ($1::uuid IS NULL OR id < $1) \
                 ORDER BY id DESC LIMIT $2"
            ))
            .bind(page.after)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            unmatched_gift_row,
            |u| u.id.0,
        )
        .await
    }

    async fn gifts_in_custody(&self, registered_before: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
        let rows = sqlx::query(
            "SELECT gift_id FROM nfts WHERE owned_gift_id IS NOT NULL AND status NOT IN ('withdrawing', 'withdrawn') \
             AND created_at < $1",
        )
        .bind(registered_before)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(|e| bad("gift id", e))).collect()
    }
}
