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

    async fn ledger(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, RepoError> {
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
            .filter(|n| {
                filter
                    .collection
                    .as_ref()
                    .is_none_or(|c| &n.collection == c)
            })
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
            .filter_map(|b| {
                s.managers
                    .get(&b.manager_id.0)
                    .map(|m| (b.clone(), m.clone()))
            })
            .collect();
        managers.sort_by_key(|(b, _)| (b.priority, b.created_at));
        Ok(Some(ClientView { client, managers }))
    }

    async fn manager_clients(
        &self,
        id: ManagerId,
    ) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError> {
        let s = self.snapshot();
        if !s.managers.contains_key(&id.0) {
            return Ok(None);
        }
        let mut clients: Vec<(ManagerBind, Client)> = s
            .binds
            .values()
            .filter(|b| b.manager_id == id)
            .filter_map(|b| {
                s.clients
                    .get(&b.client_id.0)
                    .map(|c| (b.clone(), c.clone()))
            })
            .collect();
        clients.sort_by_key(|(b, _)| (b.priority, b.created_at));
        Ok(Some(clients))
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
                (_, Account::External) if e.amount.is_sign_positive() => {
                    facts.total_sent_payouts += e.amount
                }
                _ => {}
            }
        }
        let mut obligations: HashMap<i64, Decimal> = HashMap::new();
        for o in s.offers.values().filter(|o| o.status == OfferStatus::Open) {
            *obligations.entry(o.offerer_id.0).or_default() += o.price.as_decimal();
        }
        for u in s.users.values() {
            facts.users.push(UserFacts {
                id: u.id.0,
                available: u.available.as_decimal(),
                held: u.held.as_decimal(),
                ledger_available: ledger_of
                    .get(&(u.id.0, Account::Available))
                    .copied()
                    .unwrap_or_default(),
                ledger_held: ledger_of
                    .get(&(u.id.0, Account::Held))
                    .copied()
                    .unwrap_or_default(),
                obligations: obligations.get(&u.id.0).copied().unwrap_or_default(),
            });
        }
        facts.unbalanced_operations = per_op
            .into_iter()
            .filter(|(_, sum)| !sum.is_zero())
            .map(|(op, sum)| (OperationId(op), sum))
            .collect();
        facts.total_deposits = s.deposits.values().map(|d| d.amount.as_decimal()).sum();
        facts.orphan_nfts = s
            .nfts
            .values()
            .filter(|n| !s.users.contains_key(&n.owner_id.0))
            .map(|n| n.id)
            .collect();
        Ok(facts)
    }

    async fn ping(&self) -> Result<(), RepoError> {
        Ok(())
    }
}
