//! What use cases share: the users an operation locked, and the ledger postings and outbox
//! messages it writes at the end of its Unit of Work.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::ports::{AccountRepo, EventRepo, LedgerRepo, OutboxRepo};
use domain::*;

use crate::Services;

/// Users locked in one statement (ascending ids), changed in memory, saved together.
pub struct Accounts {
    users: BTreeMap<UserId, User>,
}

impl Accounts {
    pub async fn lock(repo: &mut dyn AccountRepo, ids: &[UserId]) -> Result<Self, RepoError> {
        Ok(Self::locked(repo.lock(ids).await?))
    }

    /// Accounts locked by another statement (say, [`SaleRepo::lock_sale`](domain::ports::SaleRepo)).
    pub fn locked(users: Vec<User>) -> Self {
        Self { users: users.into_iter().map(|u| (u.id, u)).collect() }
    }

    /// A user who pays; one without an account has no funds.
    pub fn payer(&mut self, id: UserId) -> Result<&mut User, RuleViolation> {
        self.users.get_mut(&id).ok_or(RuleViolation::InsufficientFunds)
    }

    /// A user who receives or already holds funds: the account must exist.
    pub fn payee(&mut self, id: UserId) -> Result<&mut User, RepoError> {
        self.users.get_mut(&id).ok_or_else(|| RepoError::Other(format!("user {id} has no account")))
    }

    pub async fn save(self, repo: &mut dyn AccountRepo) -> Result<(), RepoError> {
        for u in self.users.values() {
            repo.save(u).await?;
        }
        Ok(())
    }
}

/// Ledger entries and outbox messages collected during an operation.
pub struct Effects<'a> {
    services: &'a Services,
    pub now: DateTime<Utc>,
    entries: Vec<LedgerEntry>,
    messages: Vec<OutboxMessage>,
    events: Vec<MarketEvent>,
}

impl<'a> Effects<'a> {
    /// Starts collecting; `now` is read once, so every row of the operation has the same time.
    pub fn new(services: &'a Services) -> Self {
        Self { services, now: services.now(), entries: Vec::new(), messages: Vec::new(), events: Vec::new() }
    }

    /// Starts a posting for one business operation.
    pub fn posting(&self, operation: Operation, reference: impl ToString) -> Posting {
        Posting::new(self.services.new_id(), operation, reference.to_string(), self.now)
    }

    /// Records a (balanced) posting.
    pub fn record(&mut self, posting: Posting) {
        self.entries.extend(posting.finish(|| self.services.new_id()));
    }

    pub fn notify(&mut self, user: UserId, text: impl Into<String>) {
        self.send(OutboxPayload::Notify { user_id: user, text: text.into() });
    }

    pub fn send(&mut self, payload: OutboxPayload) {
        self.messages.push(OutboxMessage { id: self.services.new_id(), payload, created_at: self.now });
    }

    pub async fn write_ledger(&self, ledger: &mut dyn LedgerRepo) -> Result<(), RepoError> {
        ledger.append(&self.entries).await
    }

    /// Claims the request's idempotency key (if any) in this Unit of Work: the claim commits or
    /// rolls back with the operation.
    pub async fn claim(
        &self,
        repo: &mut dyn domain::ports::IdempotencyRepo,
        key: Option<&crate::idempotency::IdempotencyKey>,
    ) -> Result<(), crate::Error> {
        crate::idempotency::claim(repo, key, self.now).await
    }

    /// Records a public market event about `nft`; returns it for refinement (auction, recipient).
    pub fn event(&mut self, kind: EventKind, nft: &Nft, price: Option<Money>) -> &mut MarketEvent {
        let e = MarketEvent::about(self.services.new_id(), kind, nft, price, self.now);
        self.events.push(e);
        self.events.last_mut().expect("just pushed")
    }

    /// Records a public market event about a collection (no NFT yet: presales).
    pub fn collection_event(&mut self, kind: EventKind, collection: &str, price: Option<Money>) {
        self.events.push(MarketEvent {
            id: self.services.new_id(),
            kind,
            collection: Some(collection.to_string()),
            nft_id: None,
            auction_id: None,
            price,
            recipient: None,
            created_at: self.now,
        });
    }

    /// Records an event for `user` only.
    pub fn private_event(&mut self, user: UserId, kind: EventKind, nft: &Nft, price: Option<Money>) {
        let e = MarketEvent::about(self.services.new_id(), kind, nft, price, self.now).only_for(user);
        self.events.push(e);
    }

    pub async fn write_events(&self, events: &mut dyn EventRepo) -> Result<(), RepoError> {
        if self.events.is_empty() {
            return Ok(());
        }
        events.append(&self.events).await
    }

    pub async fn write_outbox(&self, outbox: &mut dyn OutboxRepo) -> Result<(), RepoError> {
        for m in &self.messages {
            outbox.enqueue(m).await?;
        }
        Ok(())
    }
}
