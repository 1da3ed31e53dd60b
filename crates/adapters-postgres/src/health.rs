//! The store's health: the audit's facts in one repeatable-read snapshot, and a ping.

use std::collections::HashMap;

use app::ports::reads::*;
use async_trait::async_trait;
use domain::*;
use rust_decimal::Decimal;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::PgStore;

#[async_trait]
impl StoreHealth for PgStore {
    /// Reads every fact in one repeatable-read snapshot, so a busy system audits consistently.
    async fn audit_facts(&self) -> Result<AuditFacts, RepoError> {
        let mut tx = self.sqlx_pool().begin().await.map_err(map_err)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut facts = AuditFacts::default();
        let obligations: HashMap<i64, Decimal> =
            sqlx::query(
                "SELECT id, SUM(s) AS s FROM ( \
                   SELECT offerer_id AS id, price AS s FROM offers WHERE status = 'open' \
                   UNION ALL SELECT user_id, price * (quantity - filled) FROM collection_offers WHERE status = 'open' \
                   UNION ALL SELECT leader_id, current_bid FROM auctions WHERE status = 'active' AND leader_id IS NOT NULL \
                   UNION ALL SELECT buyer_id, price FROM presales WHERE status = 'sold' \
                   UNION ALL SELECT seller_id, collateral FROM presales WHERE status IN ('open', 'sold') \
                   UNION ALL SELECT maker_id, give_amount FROM trades WHERE status = 'open' AND give_amount IS NOT NULL \
                   UNION ALL SELECT buyer_id, price FROM channel_sales WHERE status = 'awaiting_transfer' \
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
        facts.misplaced_trade_nfts = sqlx::query(
            "WITH offered AS (SELECT unnest(give_nft_ids) AS nft_id, maker_id FROM trades WHERE status = 'open'), \
                  counted AS (SELECT nft_id, COUNT(*) AS n, MIN(maker_id) AS maker FROM offered GROUP BY nft_id) \
             SELECT n.id FROM nfts n LEFT JOIN counted c ON c.nft_id = n.id \
             WHERE (n.status = 'in_trade') <> (c.n IS NOT NULL) OR c.n > 1 OR (c.n = 1 AND c.maker <> n.owner_id)",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| NftId(r.get::<Uuid, _>("id")))
        .collect();
        facts.gifts_missing_from_account = sqlx::query(
            "SELECT m.gift_id FROM gift_custody_missing m JOIN nfts n ON n.gift_id = m.gift_id \
             WHERE n.owned_gift_id IS NOT NULL AND n.status NOT IN ('withdrawing', 'withdrawn') ORDER BY m.gift_id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.get::<String, _>("gift_id"))
        .collect();
        tx.commit().await.map_err(map_err)?;
        Ok(facts)
    }

    async fn ping(&self) -> Result<(), RepoError> {
        sqlx::query("SELECT 1").execute(self.pool()).await.map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl DeskReads for PgStore {
    /// Counts on partial or leading-column indexes (`withdrawals_status_idx`,
    /// `unmatched_deposits_open_idx`, `unmatched_gifts_one_open_per_gift`; the outbox's backlog
    /// and its oldest row over the partial `outbox_due_idx`, which holds only undelivered rows).
    async fn desk_backlog(&self) -> Result<DeskBacklog, RepoError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM withdrawals WHERE status = 'stuck') AS stuck, \
                    (SELECT COUNT(*) FROM unmatched_deposits WHERE assigned_to IS NULL) AS deposits, \
                    (SELECT COUNT(*) FROM unmatched_gifts WHERE assigned_to IS NULL) AS gifts, \
                    o.backlog, o.oldest \
             FROM (SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest FROM outbox \
                   WHERE delivered_at IS NULL AND failed_at IS NULL) o",
        )
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        let count = |name: &str| row.try_get::<i64, _>(name).map(|n| n.max(0) as u64).map_err(map_err);
        Ok(DeskBacklog {
            stuck_withdrawals: count("stuck")?,
            unassigned_deposits: count("deposits")?,
            unassigned_gifts: count("gifts")?,
            outbox_backlog: count("backlog")?,
            oldest_outbox_at: row.try_get("oldest").map_err(map_err)?,
        })
    }
}
