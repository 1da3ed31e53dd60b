//! Repository ports on the Unit of Work's transaction.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use rust_decimal::Decimal;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::{self, NFT_COLUMNS, OFFER_COLUMNS};
use crate::PgUow;

#[async_trait]
impl AccountRepo for PgUow {
    async fn get(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        let row = sqlx::query("SELECT id, username, available, held FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn lock(&mut self, ids: &[UserId]) -> Result<Vec<User>, RepoError> {
        let ids: Vec<i64> = ids.iter().map(|u| u.0).collect();
        // ORDER BY under FOR UPDATE locks the rows in id order: the global order.
        let found =
            sqlx::query("SELECT id, username, available, held FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
                .bind(&ids)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        found.iter().map(rows::user).collect()
    }

    async fn ensure_locked(&mut self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        let row = sqlx::query(
            "INSERT INTO users (id, username) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET username = COALESCE(EXCLUDED.username, users.username) \
             RETURNING id, username, available, held",
        )
        .bind(id.0)
        .bind(username)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows::user(&row)
    }

    async fn save(&mut self, user: &User) -> Result<(), RepoError> {
        let done = sqlx::query("UPDATE users SET available = $2, held = $3 WHERE id = $1")
            .bind(user.id.0)
            .bind(user.available.as_decimal())
            .bind(user.held.as_decimal())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() != 1 {
            return Err(RepoError::Other(format!("user {} does not exist", user.id)));
        }
        Ok(())
    }
}

#[async_trait]
impl NftRepo for PgUow {
    async fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1"), id.0, rows::nft).await
    }

    async fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1 FOR UPDATE"), id.0, rows::nft).await
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
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update(&mut self, nft: &Nft) -> Result<(), RepoError> {
        let done = sqlx::query("UPDATE nfts SET owner_id = $2, price = $3, status = $4 WHERE id = $1")
            .bind(nft.id.0)
            .bind(nft.owner_id.0)
            .bind(nft.price.map(|p| p.as_decimal()))
            .bind(nft.status.as_str())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() != 1 {
            return Err(RepoError::Other(format!("NFT {} does not exist", nft.id)));
        }
        Ok(())
    }
}

#[async_trait]
impl OfferRepo for PgUow {
    async fn get(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.one(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1"), id.0, rows::offer).await
    }

    async fn lock(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.one(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1 FOR UPDATE"), id.0, rows::offer).await
    }

    async fn lock_open_by(&mut self, nft: NftId, offerer: UserId) -> Result<Option<Offer>, RepoError> {
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE nft_id = $1 AND offerer_id = $2 AND status = 'open' FOR UPDATE"
        ))
        .bind(nft.0)
        .bind(offerer.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.as_ref().map(rows::offer).transpose()
    }

    async fn lock_open_for_nft(&mut self, nft: NftId) -> Result<Vec<Offer>, RepoError> {
        let found = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE nft_id = $1 AND status = 'open' ORDER BY id FOR UPDATE"
        ))
        .bind(nft.0)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        found.iter().map(rows::offer).collect()
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
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update(&mut self, offer: &Offer) -> Result<(), RepoError> {
        sqlx::query("UPDATE offers SET price = $2, status = $3, expires_at = $4 WHERE id = $1")
            .bind(offer.id.0)
            .bind(offer.price.as_decimal())
            .bind(offer.status.as_str())
            .bind(offer.expires_at)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl LedgerRepo for PgUow {
    /// One statement for all entries (UNNEST), whatever their number.
    async fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError> {
        if entries.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = entries.iter().map(|e| e.id.0).collect();
        let ops: Vec<Uuid> = entries.iter().map(|e| e.operation_id.0).collect();
        let kinds: Vec<&str> = entries.iter().map(|e| e.operation.as_str()).collect();
        let users: Vec<Option<i64>> = entries.iter().map(|e| e.user_id.map(|u| u.0)).collect();
        let accounts: Vec<&str> = entries.iter().map(|e| e.account.as_str()).collect();
        let amounts: Vec<Decimal> = entries.iter().map(|e| e.amount).collect();
        let refs: Vec<&str> = entries.iter().map(|e| e.reference.as_str()).collect();
        let at: Vec<chrono::DateTime<chrono::Utc>> = entries.iter().map(|e| e.created_at).collect();
        sqlx::query(
            "INSERT INTO ledger_entries (id, operation_id, operation, user_id, account, amount, reference, created_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::numeric[], $7::text[], $8::timestamptz[])",
        )
        .bind(ids)
        .bind(ops)
        .bind(kinds)
        .bind(users)
        .bind(accounts)
        .bind(amounts)
        .bind(refs)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl OutboxRepo for PgUow {
    async fn enqueue(&mut self, message: &OutboxMessage) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO outbox (id, kind, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(message.id.0)
            .bind(message.payload.kind())
            .bind(Json(&message.payload))
            .bind(message.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl DepositRepo for PgUow {
    async fn find_by_tx_hash(&mut self, tx_hash: &str) -> Result<Option<Deposit>, RepoError> {
        let row = sqlx::query("SELECT id, user_id, amount, tx_hash, created_at FROM deposits WHERE tx_hash = $1")
            .bind(tx_hash)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::deposit).transpose()
    }

    async fn insert(&mut self, d: &Deposit) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO deposits (id, user_id, amount, tx_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(d.id.0)
            .bind(d.user_id.0)
            .bind(d.amount.as_decimal())
            .bind(&d.tx_hash)
            .bind(d.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl ClientRepo for PgUow {
    async fn insert(&mut self, c: &Client) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO clients (id, fio, age, description, mobile, email, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.0)
        .bind(&c.fio)
        .bind(i16::from(c.age))
        .bind(&c.description)
        .bind(c.mobile.as_str())
        .bind(c.email.as_str())
        .bind(c.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl ManagerRepo for PgUow {
    async fn get_for_share(&mut self, id: ManagerId) -> Result<Option<Manager>, RepoError> {
        let row =
            sqlx::query("SELECT id, name, telegram_username, active, created_at FROM managers WHERE id = $1 FOR SHARE")
                .bind(id.0)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
        row.as_ref().map(rows::manager).transpose()
    }

    async fn insert(&mut self, m: &Manager) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO managers (id, name, telegram_username, active, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(m.id.0)
        .bind(&m.name)
        .bind(&m.telegram_username)
        .bind(m.active)
        .bind(m.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl ManagerBindRepo for PgUow {
    async fn insert(&mut self, b: &ManagerBind) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO manager_binds (client_id, manager_id, priority, created_at) VALUES ($1, $2, $3, $4)")
            .bind(b.client_id.0)
            .bind(b.manager_id.0)
            .bind(b.priority)
            .bind(b.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
