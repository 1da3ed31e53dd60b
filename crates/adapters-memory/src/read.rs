//! The read side over committed snapshots.

use std::collections::{BTreeMap, HashMap};

use app::queries::*;
use async_trait::async_trait;
use domain::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::MemoryStore;

#[async_trait]
impl ReadModel for MemoryStore {
    async fn ensure_user(&self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        if let Some(u) = self.snapshot().users.get(&id.0) {
            if username.is_none() || u.username == username {
                return Ok(u.clone());
            }
        }
        let mut uow = self.begin().await;
        let user = domain::ports::AccountRepo::ensure_locked(&mut uow, id, username).await?;
        uow.commit();
        Ok(user)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.snapshot().users.get(&id.0).cloned())
    }

    async fn ledger(&self, user: UserId, page: PageRequest) -> Result<Page<LedgerEntry>, RepoError> {
        let s = self.snapshot();
        let upper = page.after.unwrap_or(Uuid::max());
        let items: Vec<LedgerEntry> = s
            .ledger_by_user
            .range((user.0, Uuid::nil())..(user.0, upper))
            .rev()
            .take(page.limit as usize + 1)
            .filter_map(|((_, id), _)| s.ledger.get(id).cloned())
            .collect();
        Ok(Page::from_overfetch(items, page.limit, |e| e.id.0))
    }

    async fn nfts(&self, filter: &NftFilter, page: PageRequest) -> Result<Page<Nft>, RepoError> {
        let s = self.snapshot();
        let upper = page.after.unwrap_or(Uuid::max());
        let items: Vec<Nft> = s
            .nfts
            .range(..upper)
            .rev()
            .map(|(_, n)| n)
            .filter(|n| filter.listed.is_none_or(|l| n.price.is_some() == l))
            .filter(|n| filter.owner.is_none_or(|o| n.owner_id == o))
            .filter(|n| filter.collection.as_ref().is_none_or(|c| &n.collection == c))
            .take(page.limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(items, page.limit, |n| n.id.0))
    }

    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError> {
        Ok(self.snapshot().nfts.get(&id.0).cloned())
    }

    async fn client(&self, id: ClientId) -> Result<Option<ClientView>, RepoError> {
        let s = self.snapshot();
        let Some(client) = s.clients.get(&id.0).cloned() else {
            return Ok(None);
        };
        let mut managers: Vec<(ManagerBind, Manager)> = s
            .binds
            .values()
            .filter(|b| b.client_id == id)
            .filter_map(|b| s.managers.get(&b.manager_id.0).map(|m| (b.clone(), m.clone())))
            .collect();
        managers.sort_by_key(|(b, _)| (b.priority, b.created_at));
        Ok(Some(ClientView { client, managers }))
    }

    async fn manager_clients(&self, id: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError> {
        let s = self.snapshot();
        if !s.managers.contains_key(&id.0) {
            return Ok(None);
        }
        let mut clients: Vec<(ManagerBind, Client)> = s
            .binds
            .values()
            .filter(|b| b.manager_id == id)
            .filter_map(|b| s.clients.get(&b.client_id.0).map(|c| (b.clone(), c.clone())))
            .collect();
        clients.sort_by_key(|(b, _)| (b.priority, b.created_at));
        Ok(Some(clients))
    }

    async fn auctions(&self, filter: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError> {
        Ok(self.auctions_page(filter, page))
    }

    async fn auction(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError> {
        Ok(self.auction_with_bids(id))
    }

    async fn offers(&self, filter: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError> {
        Ok(self.offers_page(filter, page))
    }

    async fn offer(&self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        Ok(self.snapshot().offers.get(&id.0).cloned())
    }

    async fn presales(&self, filter: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError> {
        Ok(self.presales_page(filter, page))
    }

    async fn presale(&self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        Ok(self.snapshot().presales.get(&id.0).cloned())
    }

    async fn withdrawals(&self, user: UserId, page: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
        Ok(self.withdrawals_page(user, page))
    }

    async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        Ok(self.snapshot().withdrawals.get(&id.0).cloned())
    }

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
