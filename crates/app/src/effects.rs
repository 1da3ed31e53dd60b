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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::{IdempotencyError, IdempotencyKey};
    use crate::testing::*;
    use domain::idempotency::KeyClaim;
    use domain::ports::{MockAccountRepo, MockEventRepo, MockIdempotencyRepo, MockLedgerRepo, MockOutboxRepo};

    #[tokio::test]
    async fn accounts_are_locked_together_and_saved_each_once() {
        let (mut repo, saved) = accounts_saving(vec![user(1, "5", "0"), user(2, "0", "1")]);
        let mut accounts = Accounts::lock(&mut repo, &[UserId(2), UserId(1)]).await.unwrap();
        accounts.payer(UserId(1)).unwrap().debit(m("2")).unwrap();
        accounts.payee(UserId(2)).unwrap().credit(m("2"));
        accounts.save(&mut repo).await.unwrap();
        assert_eq!(saved.all(), [user(1, "3", "0"), user(2, "2", "1")]);
    }

    #[tokio::test]
    async fn a_failed_save_is_returned() {
        let mut repo = MockAccountRepo::new();
        repo.expect_save().times(1).returning(|_| Err(RepoError::Unavailable("down".into())));
        let accounts = Accounts::locked(vec![user(1, "5", "0"), user(2, "0", "0")]);
        assert_eq!(accounts.save(&mut repo).await, Err(RepoError::Unavailable("down".into())));
    }

    #[test]
    fn a_payer_without_an_account_has_no_funds_and_a_payee_without_one_is_a_bug() {
        let mut accounts = Accounts::locked(vec![user(1, "5", "0")]);
        assert_eq!(accounts.payer(UserId(1)).unwrap().available, m("5"));
        assert_eq!(accounts.payee(UserId(1)).unwrap().available, m("5"));
        assert_eq!(accounts.payer(UserId(9)).unwrap_err(), RuleViolation::InsufficientFunds);
        assert_eq!(accounts.payee(UserId(9)).unwrap_err(), RepoError::Other("user 9 has no account".into()));
    }

    #[tokio::test]
    async fn recorded_postings_are_written_in_one_append_at_the_operations_time() {
        let s = services();
        let mut fx = Effects::new(&s);
        fx.record(fx.posting(Operation::OfferHold, "offer-1").hold(UserId(1), m("4")));
        fx.record(fx.posting(Operation::Deposit, "tx").transfer(
            (None, Account::External),
            (Some(UserId(2)), Account::Available),
            m("1.5"),
        ));
        let mut ledger = MockLedgerRepo::new();
        ledger
            .expect_append()
            .withf(|e| {
                let lines: Vec<_> = e.iter().map(|e| (e.user_id, e.account, e.amount, e.operation)).collect();
                lines
                    == [
                        (Some(UserId(1)), Account::Available, d("-4"), Operation::OfferHold),
                        (Some(UserId(1)), Account::Held, d("4"), Operation::OfferHold),
                        (None, Account::External, d("-1.5"), Operation::Deposit),
                        (Some(UserId(2)), Account::Available, d("1.5"), Operation::Deposit),
                    ]
                    && e[0].reference == "offer-1"
                    && e[2].reference == "tx"
                    && e.iter().all(|e| e.created_at == now())
                    && e[0].operation_id == e[1].operation_id
                    && e[1].operation_id != e[2].operation_id
            })
            .times(1)
            .returning(|_| Ok(()));
        fx.write_ledger(&mut ledger).await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_ledger_append_is_returned() {
        let s = services();
        let fx = Effects::new(&s);
        let mut ledger = MockLedgerRepo::new();
        ledger.expect_append().times(1).returning(|_| Err(RepoError::Other("boom".into())));
        assert_eq!(fx.write_ledger(&mut ledger).await, Err(RepoError::Other("boom".into())));
    }

    #[tokio::test]
    async fn notices_and_messages_are_enqueued_in_order_at_the_operations_time() {
        let s = services();
        let mut fx = Effects::new(&s);
        fx.notify(UserId(1), "hello");
        fx.send(OutboxPayload::Payout { withdrawal_id: WithdrawalId(uuid::Uuid::from_u128(4)) });
        let (mut outbox, sent) = outbox_recording();
        fx.write_outbox(&mut outbox).await.unwrap();
        let sent = sent.all();
        assert_eq!(
            sent.iter().map(|m| m.payload.clone()).collect::<Vec<_>>(),
            [
                OutboxPayload::Notify { user_id: UserId(1), text: "hello".into() },
                OutboxPayload::Payout { withdrawal_id: WithdrawalId(uuid::Uuid::from_u128(4)) },
            ]
        );
        assert!(sent.iter().all(|m| m.created_at == now()));
        assert_ne!(sent[0].id, sent[1].id);
    }

    #[tokio::test]
    async fn a_failed_enqueue_stops_and_is_returned() {
        let s = services();
        let mut fx = Effects::new(&s);
        fx.notify(UserId(1), "a");
        fx.notify(UserId(2), "b");
        let mut outbox = MockOutboxRepo::new();
        outbox.expect_enqueue().times(1).returning(|_| Err(RepoError::Unavailable("down".into())));
        assert_eq!(fx.write_outbox(&mut outbox).await, Err(RepoError::Unavailable("down".into())));
    }

    #[tokio::test]
    async fn public_collection_and_private_events_are_appended_together() {
        let s = services();
        let mut fx = Effects::new(&s);
        let n = nft(1, Some("3"));
        let auction = AuctionId(uuid::Uuid::from_u128(5));
        fx.event(EventKind::AuctionBid, &n, Some(m("3"))).in_auction(auction);
        fx.collection_event(EventKind::PresaleSold, "pepe", Some(m("2")));
        fx.private_event(UserId(1), EventKind::OfferReceived, &n, Some(m("1")));
        let (mut events, written) = events_recording();
        fx.write_events(&mut events).await.unwrap();
        let seen: Vec<_> = written
            .all()
            .into_iter()
            .map(|e| (e.kind, e.collection, e.nft_id, e.auction_id, e.price, e.recipient, e.created_at))
            .collect();
        assert_eq!(
            seen,
            [
                (EventKind::AuctionBid, Some("pepe".into()), Some(n.id), Some(auction), Some(m("3")), None, now()),
                (EventKind::PresaleSold, Some("pepe".into()), None, None, Some(m("2")), None, now()),
                (EventKind::OfferReceived, Some("pepe".into()), Some(n.id), None, Some(m("1")), Some(UserId(1)), now()),
            ]
        );
    }

    #[tokio::test]
    async fn no_events_means_no_append_and_a_failed_append_is_returned() {
        let s = services();
        let mut fx = Effects::new(&s);
        fx.write_events(&mut MockEventRepo::new()).await.unwrap();
        fx.collection_event(EventKind::PresaleSold, "pepe", None);
        let mut events = MockEventRepo::new();
        events.expect_append().times(1).returning(|_| Err(RepoError::Other("boom".into())));
        assert_eq!(fx.write_events(&mut events).await, Err(RepoError::Other("boom".into())));
    }

    #[tokio::test]
    async fn the_idempotency_key_is_claimed_at_the_operations_time() {
        let s = services();
        let fx = Effects::new(&s);
        let key = IdempotencyKey {
            owner: "user:1".into(),
            route: "POST /x".into(),
            key: "k".into(),
            request_hash: "h".into(),
        };
        let mut repo = MockIdempotencyRepo::new();
        repo.expect_claim().withf(|k, at| k.key == "k" && *at == now()).times(1).returning(|_, _| Ok(KeyClaim::InUse));
        assert_eq!(fx.claim(&mut repo, Some(&key)).await, Err(IdempotencyError::InUse.into()));
    }
}
