//! The store's health: the audit's facts over one committed snapshot, and a ping.

use std::collections::{BTreeMap, HashMap};

use app::ports::reads::{AuditFacts, DeskBacklog, DeskReads, StoreHealth, UserFacts};
use async_trait::async_trait;
use domain::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::MemoryStore;

#[async_trait]
impl StoreHealth for MemoryStore {
    async fn audit_facts(&self) -> Result<AuditFacts, RepoError> {
        let s = self.snapshot();
        let mut ledger_of: HashMap<(i64, Account), Decimal> = HashMap::new();
        let mut per_op: BTreeMap<Uuid, Decimal> = BTreeMap::new();
        let mut facts = AuditFacts::default();
        for e in s.ledger.values() {
            *per_op.entry(e.operation_id.0).or_default() += e.amount;
            match (e.user_id, e.account) {
                (Some(u), a @ (Account::Available | Account::Held)) => {
                    *ledger_of.entry((u.0, a)).or_default() += e.amount
                }
                (_, Account::Fees) => facts.fees += e.amount,
                (_, Account::PendingPayouts) => facts.pending_payouts += e.amount,
                (_, Account::External) if e.amount.is_sign_positive() => facts.total_sent_payouts += e.amount,
                _ => {}
            }
        }
        let mut obligations: HashMap<i64, Decimal> = HashMap::new();
        let mut owe = |u: UserId, m: Money| *obligations.entry(u.0).or_default() += m.as_decimal();
        for o in s.offers.values().filter(|o| o.status == OfferStatus::Open) {
            owe(o.offerer_id, o.price);
        }
        for o in s.collection_offers.values() {
            owe(o.user_id, o.held());
        }
        for a in s.auctions.values().filter(|a| a.status == AuctionStatus::Active) {
            if let (Some(l), Some(b)) = (a.leader_id, a.current_bid) {
                owe(l, b);
            }
        }
        for p in s.presales.values() {
            if matches!(p.status, PresaleStatus::Open | PresaleStatus::Sold) {
                owe(p.seller_id, p.collateral);
            }
            if let (PresaleStatus::Sold, Some(b)) = (p.status, p.buyer_id) {
                owe(b, p.price);
            }
        }
        let open_trades: Vec<&Trade> = s.trades.values().filter(|t| t.status == TradeStatus::Open).collect();
        for t in &open_trades {
            if let Some(amount) = t.give.amount {
                owe(t.maker_id, amount);
            }
        }
        for c in s.channel_sales.values().filter(|c| c.status == ChannelSaleStatus::AwaitingTransfer) {
            if let Some(buyer) = c.buyer_id {
                owe(buyer, c.price);
            }
        }
        let mut offered: HashMap<NftId, (usize, UserId)> = HashMap::new();
        for t in &open_trades {
            for id in &t.give.nft_ids {
                offered.entry(*id).or_insert((0, t.maker_id)).0 += 1;
            }
        }
        for n in s.nfts.values() {
            let in_trade = n.status == NftStatus::InTrade;
            let fits = match offered.get(&n.id) {
                Some((1, maker)) => in_trade && n.owner_id == *maker,
                Some(_) => false,
                None => !in_trade,
            };
            if !fits {
                facts.misplaced_trade_nfts.push(n.id);
            }
        }
        facts.gifts_missing_from_account = s
            .missing_gifts
            .iter()
            .filter(|g| s.gift_ids.get(*g).and_then(|id| s.nfts.get(id)).is_some_and(crate::chain::held_on_the_account))
            .cloned()
            .collect();
        let mut active: HashMap<Uuid, usize> = HashMap::new();
        for a in s.auctions.values().filter(|a| a.status == AuctionStatus::Active) {
            *active.entry(a.nft_id.0).or_default() += 1;
        }
        facts.nfts_with_several_auctions =
            active.into_iter().filter(|(_, n)| *n > 1).map(|(id, _)| NftId(id)).collect();
        facts.pending_withdrawals = s
            .withdrawals
            .values()
            .filter(|w| matches!(w.status, WithdrawalStatus::Pending | WithdrawalStatus::Stuck))
            .map(|w| w.amount.as_decimal())
            .sum();
        for u in s.users.values() {
            facts.users.push(UserFacts {
                id: u.id.0,
                available: u.available.as_decimal(),
                held: u.held.as_decimal(),
                ledger_available: ledger_of.get(&(u.id.0, Account::Available)).copied().unwrap_or_default(),
                ledger_held: ledger_of.get(&(u.id.0, Account::Held)).copied().unwrap_or_default(),
                obligations: obligations.get(&u.id.0).copied().unwrap_or_default(),
            });
        }
        facts.unbalanced_operations =
            per_op.into_iter().filter(|(_, sum)| !sum.is_zero()).map(|(op, sum)| (OperationId(op), sum)).collect();
        facts.total_deposits = s.deposits.values().map(|d| d.amount.as_decimal()).sum();
        facts.orphan_nfts = s.nfts.values().filter(|n| !s.users.contains_key(&n.owner_id.0)).map(|n| n.id).collect();
        Ok(facts)
    }

    async fn ping(&self) -> Result<(), RepoError> {
        Ok(())
    }
}

#[async_trait]
impl DeskReads for MemoryStore {
    async fn desk_backlog(&self) -> Result<DeskBacklog, RepoError> {
        let s = self.snapshot();
        let count = |n: usize| n as u64;
        Ok(DeskBacklog {
            stuck_withdrawals: count(s.withdrawals.values().filter(|w| w.status == WithdrawalStatus::Stuck).count()),
            unassigned_deposits: count(s.unmatched.values().filter(|u| u.assigned_to.is_none()).count()),
            unassigned_gifts: count(s.unmatched_gifts.values().filter(|u| u.assigned_to.is_none()).count()),
            outbox_backlog: count(s.outbox.values().filter(|r| !r.done).count()),
            oldest_outbox_at: s.outbox.values().filter(|r| !r.done).map(|r| r.message.created_at).min(),
        })
    }
}
