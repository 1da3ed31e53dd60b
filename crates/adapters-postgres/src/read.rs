//! The read side: plain queries on the pool, no Unit of Work.

use std::collections::HashMap;

use app::queries::*;
use async_trait::async_trait;
use domain::*;
use rust_decimal::Decimal;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::{self, NFT_COLUMNS};
use crate::PgStore;

#[async_trait]
impl ReadModel for PgStore {
    async fn ensure_user(&self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        let row = sqlx::query(
            "INSERT INTO users (id, username) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username \
               WHERE EXCLUDED.username IS NOT NULL AND users.username IS DISTINCT FROM EXCLUDED.username \
             RETURNING id, username, available, held",
        )
        .bind(id.0)
        .bind(&username)
        .fetch_optional(self.pool())
        .await
        .map_err(map_err)?;
        match row {
            Some(r) => rows::user(&r),
            None => self.user(id).await?.ok_or_else(|| RepoError::Other(format!("user {id} vanished"))),
        }
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, RepoError> {
        let row = sqlx::query("SELECT id, username, available, held FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn ledger(&self, user: UserId, page: PageRequest) -> Result<Page<LedgerEntry>, RepoError> {
        self.page(
sqlx::query(
            "SELECT id, operation_id, operation, user_id, account, amount, reference, created_at FROM ledger_entries \
             WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(user.0)
        .bind(page.after)
        .bind(i64::from(page.limit) + 1),
            page.limit, rows::ledger_entry, |e| e.id.0).await
    }

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
            rows::nft,
            |n| n.id.0,
        )
        .await
    }

    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1"), id.0, rows::nft).await
    }

    async fn client(&self, id: ClientId) -> Result<Option<ClientView>, RepoError> {
        let Some(row) =
            sqlx::query("SELECT id, fio, age, description, mobile, email, created_at FROM clients WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?
        else {
            return Ok(None);
        };
        let client = rows::client(&row)?;
        let found = sqlx::query(
            "SELECT b.client_id, b.manager_id, b.priority, b.created_at AS bind_created_at, \
                    m.id, m.name, m.telegram_username, m.active, m.created_at \
             FROM manager_binds b JOIN managers m ON m.id = b.manager_id \
             WHERE b.client_id = $1 ORDER BY b.priority, b.created_at",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        let managers =
            found.iter().map(|r| Ok((rows::bind(r)?, rows::manager(r)?))).collect::<Result<_, RepoError>>()?;
        Ok(Some(ClientView { client, managers }))
    }

    async fn manager_clients(&self, id: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError> {
        let exists = sqlx::query("SELECT 1 FROM managers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Ok(None);
        }
        let found = sqlx::query(
            "SELECT b.client_id, b.manager_id, b.priority, b.created_at AS bind_created_at, \
                    c.id, c.fio, c.age, c.description, c.mobile, c.email, c.created_at \
             FROM manager_binds b JOIN clients c ON c.id = b.client_id \
             WHERE b.manager_id = $1 ORDER BY b.priority, b.created_at",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        let clients = found.iter().map(|r| Ok((rows::bind(r)?, rows::client(r)?))).collect::<Result<_, RepoError>>()?;
        Ok(Some(clients))
    }

    async fn auctions(&self, filter: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError> {
        self.auctions_page(filter, page).await
    }

    async fn auction(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError> {
        self.auction_with_bids(id).await
    }

    async fn offers(&self, filter: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError> {
        self.offers_page(filter, page).await
    }

    async fn offer(&self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        self.offer_by_id(id).await
    }

    async fn presales(&self, filter: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError> {
        self.presales_page(filter, page).await
    }

    async fn presale(&self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        self.presale_by_id(id).await
    }

    async fn withdrawals(&self, user: UserId, page: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
        self.withdrawals_page(user, page).await
    }

    async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        self.withdrawal_by_id(id).await
    }

    /// Reads every fact in one repeatable-read snapshot, so a busy system audits consistently.
    async fn audit_facts(&self) -> Result<AuditFacts, RepoError> {
        let mut tx = self.pool().begin().await.map_err(map_err)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut facts = AuditFacts::default();
        let obligations: HashMap<i64, Decimal> =
            sqlx::query(
                "SELECT id, SUM(s) AS s FROM ( \
                   SELECT offerer_id AS id, price AS s FROM offers WHERE status = 'open' \
                   UNION ALL SELECT leader_id, current_bid FROM auctions WHERE status = 'active' AND leader_id IS NOT NULL \
                   UNION ALL SELECT buyer_id, price FROM presales WHERE status = 'sold' \
                   UNION ALL SELECT seller_id, collateral FROM presales WHERE status IN ('open', 'sold') \
                 ) o GROUP BY id",
            )
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(|r| (r.get::<i64, _>("id"), r.get::<Decimal, _>("s")))
                .collect();
        let users = sqlx::query(
            "SELECT u.id, u.available, u.held, \
                    COALESCE(l.a, 0) AS la, COALESCE(l.h, 0) AS lh \
             FROM users u LEFT JOIN ( \
                SELECT user_id, SUM(amount) FILTER (WHERE account = 'available') AS a, \
                                SUM(amount) FILTER (WHERE account = 'held') AS h \
                FROM ledger_entries WHERE user_id IS NOT NULL GROUP BY user_id) l ON l.user_id = u.id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for r in &users {
            let id: i64 = r.get("id");
            facts.users.push(UserFacts {
                id,
                available: r.get("available"),
                held: r.get("held"),
                ledger_available: r.get("la"),
                ledger_held: r.get("lh"),
                obligations: obligations.get(&id).copied().unwrap_or_default(),
            });
        }
        facts.unbalanced_operations = sqlx::query(
            "SELECT operation_id, SUM(amount) AS s FROM ledger_entries GROUP BY operation_id HAVING SUM(amount) <> 0",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| (OperationId(r.get::<Uuid, _>("operation_id")), r.get::<Decimal, _>("s")))
        .collect();
        let totals = sqlx::query(
            "SELECT (SELECT COALESCE(SUM(amount), 0) FROM deposits) AS deposits, \
                    COALESCE(SUM(amount) FILTER (WHERE account = 'fees'), 0) AS fees, \
                    COALESCE(SUM(amount) FILTER (WHERE account = 'pending_payouts'), 0) AS pending, \
                    COALESCE(SUM(amount) FILTER (WHERE account = 'external' AND amount > 0), 0) AS sent \
             FROM ledger_entries",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        facts.total_deposits = totals.get("deposits");
        facts.fees = totals.get("fees");
        facts.pending_payouts = totals.get("pending");
        facts.total_sent_payouts = totals.get("sent");
        facts.pending_withdrawals =
            sqlx::query("SELECT COALESCE(SUM(amount), 0) AS s FROM withdrawals WHERE status IN ('pending', 'stuck')")
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?
                .get("s");
        facts.nfts_with_several_auctions =
            sqlx::query("SELECT nft_id FROM auctions WHERE status = 'active' GROUP BY nft_id HAVING COUNT(*) > 1")
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(|r| NftId(r.get::<Uuid, _>("nft_id")))
                .collect();
        facts.orphan_nfts =
            sqlx::query("SELECT n.id FROM nfts n LEFT JOIN users u ON u.id = n.owner_id WHERE u.id IS NULL")
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(|r| NftId(r.get::<Uuid, _>("id")))
                .collect();
        tx.commit().await.map_err(map_err)?;
        Ok(facts)
    }

    async fn ping(&self) -> Result<(), RepoError> {
        sqlx::query("SELECT 1").execute(self.pool()).await.map_err(map_err)?;
        Ok(())
    }
}
