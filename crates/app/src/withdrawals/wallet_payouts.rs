//! Payouts from the marketplace's own wallet (SPEC §5a), exactly once per withdrawal, over three
//! ports: the chain ([`WalletChain`]), the wallet's key ([`TransferSigner`]) and the
//! [`WalletJournal`]. It implements [`PayoutGateway`], so the relay drives it like any gateway.
//!
//! A signed transfer carries a seqno and an expiry, so it can apply at most once, and it is
//! recorded in the journal **before** it is sent. The journal allows one transfer in flight per
//! wallet and one in flight or landed per withdrawal. A transfer in flight is followed on chain
//! (by its message hash, or by its comment — the withdrawal id); it is replaced by a new one only
//! once its expiry has passed and the wallet's seqno shows it never landed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use domain::ports::{
    Clock, GatewayUnavailable, PayoutGateway, PayoutRequest, PayoutStatus, SignError, TransferOnChain, TransferQuery,
    TransferSigner, TransferToSign, WalletChain,
};
use domain::{Money, RepoError, WithdrawalId};

use crate::ports::{TransferState, WalletJournal, WalletTransfer};

/// Payouts signed by the marketplace wallet and broadcast through the chain.
pub struct WalletPayouts {
    chain: Arc<dyn WalletChain>,
    signer: Arc<dyn TransferSigner>,
    journal: Arc<dyn WalletJournal>,
    clock: Arc<dyn Clock>,
    /// How long a signed transfer may land.
    ttl: chrono::Duration,
    /// How long past its expiry the indexer gets to show a transfer that landed.
    grace: chrono::Duration,
    /// Kept in the wallet beyond every payout, for fees.
    fee_reserve: Money,
}

/// Where a transfer in flight stands on chain.
enum Followed {
    Sent(String),
    Pending,
    /// It did not land and never will (or landed paying nothing): a new one may be signed.
    Gone,
}

fn journal_down(e: RepoError) -> GatewayUnavailable {
    GatewayUnavailable { retry_after: None, reason: format!("wallet journal: {e}") }
}

impl WalletPayouts {
    pub fn new(
        chain: Arc<dyn WalletChain>,
        signer: Arc<dyn TransferSigner>,
        journal: Arc<dyn WalletJournal>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            chain,
            signer,
            journal,
            clock,
            ttl: chrono::Duration::seconds(60),
            grace: chrono::Duration::seconds(60),
            fee_reserve: Money::parse("0.05").expect("an amount"),
        }
    }

    /// Shorter expiry and grace (tests).
    pub fn with_timing(mut self, ttl: chrono::Duration, grace: chrono::Duration) -> Self {
        self.ttl = ttl;
        self.grace = grace;
        self
    }

    pub fn wallet_address(&self) -> String {
        self.signer.address()
    }

    /// Looks for the wallet transaction of `t`: the one its message started (by hash), or one that
    /// sent its payout (by comment, destination and amount), from a minute before it was signed
    /// to a minute past its expiry and grace.
    async fn on_chain(&self, t: &WalletTransfer) -> Result<Option<TransferOnChain>, GatewayUnavailable> {
        let query = TransferQuery {
            wallet: self.signer.raw_address(),
            msg_hash: t.msg_hash.clone(),
            destination: t.destination.clone(),
            amount: t.amount,
            comment: t.withdrawal_id.to_string(),
            from: t.created_at - chrono::Duration::seconds(60),
            until: t.valid_until + self.grace + chrono::Duration::seconds(60),
        };
        self.chain.find_transfer(&query).await
    }

    /// Follows a transfer in flight and settles it in the journal once the chain has decided.
    async fn follow(&self, t: &WalletTransfer) -> Result<Followed, GatewayUnavailable> {
        match self.on_chain(t).await? {
            Some(found) if found.paid => {
                let tx_hash = found.tx_hash;
                self.journal.settle(&t.msg_hash, TransferState::Landed, Some(&tx_hash)).await.map_err(journal_down)?;
                metrics::counter!("ton_payouts_landed_total").increment(1);
                return Ok(Followed::Sent(tx_hash));
            }
            Some(found) => {
                // It used its seqno and paid nothing (the wallet could not pay): sign again.
                let tx_hash = found.tx_hash;
                tracing::warn!(withdrawal = %t.withdrawal_id, tx = %tx_hash, "ALERT: wallet transfer landed without paying");
                self.journal.settle(&t.msg_hash, TransferState::Expired, Some(&tx_hash)).await.map_err(journal_down)?;
                return Ok(Followed::Gone);
            }
            None => {}
        }
        let now = self.clock.now();
        if now <= t.valid_until {
            // Sending the same signed message again is harmless: it applies at most once.
            if let Err(e) = self.chain.broadcast(&t.boc).await {
                tracing::debug!(error = %e, "re-sending a transfer in flight failed");
            }
            return Ok(Followed::Pending);
        }
        if now <= t.valid_until + self.grace {
            return Ok(Followed::Pending); // the indexer may not show it yet
        }
        let state = self.chain.wallet_state(&self.signer.raw_address()).await?;
        if state.seqno <= t.seqno {
            // Expired, and its seqno never used: it never landed and never will.
            self.journal.settle(&t.msg_hash, TransferState::Expired, None).await.map_err(journal_down)?;
            tracing::info!(withdrawal = %t.withdrawal_id, seqno = t.seqno, "wallet transfer expired unsent; it will be signed again");
            return Ok(Followed::Gone);
        }
        // Its seqno was used, yet the indexer shows nothing: wait for it.
        Ok(Followed::Pending)
    }

    fn status(f: Followed) -> PayoutStatus {
        match f {
            Followed::Sent(tx_hash) => PayoutStatus::Sent { tx_hash },
            Followed::Pending => PayoutStatus::Pending,
            Followed::Gone => PayoutStatus::NotFound,
        }
    }

    /// Signs and sends a new transfer for `p`, unless the wallet is busy with another one.
    async fn start(&self, p: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable> {
        let wallet = self.signer.raw_address();
        if let Some(busy) = self.journal.in_flight(&wallet).await.map_err(journal_down)? {
            if busy.withdrawal_id != p.withdrawal_id {
                if let Followed::Pending = self.follow(&busy).await? {
                    return Ok(PayoutStatus::Pending); // one seqno at a time: after that one
                }
            }
        }
        if p.amount.to_nanotons().is_none_or(|n| n == 0) {
            return Ok(PayoutStatus::Rejected(format!("{} TON is not a payable amount", p.amount)));
        }
        let state = self.chain.wallet_state(&wallet).await?;
        let needed = p.amount.checked_add(self.fee_reserve).unwrap_or(p.amount);
        if state.balance < needed {
            metrics::counter!("ton_wallet_short_total").increment(1);
            metrics::gauge!("ton_wallet_balance_short").set(1.0);
            tracing::error!(withdrawal = %p.withdrawal_id, balance = %state.balance, needed = %needed, "ALERT: wallet balance too low for a payout; it waits");
            return Err(GatewayUnavailable {
                retry_after: Some(Duration::from_secs(60)),
                reason: "the wallet's balance is too low; the payout waits".into(),
            });
        }
        metrics::gauge!("ton_wallet_balance_short").set(0.0);
        let now = self.clock.now();
        let valid_until = now + self.ttl;
        // Whole seconds: what the signed message carries.
        let valid_until = DateTime::from_timestamp(valid_until.timestamp(), 0).unwrap_or(valid_until);
        let signed = match self.signer.sign(&TransferToSign {
            seqno: state.seqno,
            destination: p.address.clone(),
            amount: p.amount,
            comment: p.withdrawal_id.to_string(),
            valid_until,
            deploy: !state.deployed,
        }) {
            Ok(s) => s,
            Err(e @ SignError::InvalidAddress(_)) => return Ok(PayoutStatus::Rejected(e.to_string())),
            Err(e) => return Err(GatewayUnavailable { retry_after: None, reason: format!("cannot sign: {e}") }),
        };
        let transfer = WalletTransfer {
            msg_hash: signed.msg_hash.clone(),
            withdrawal_id: p.withdrawal_id,
            wallet,
            seqno: state.seqno,
            destination: p.address.clone(),
            amount: p.amount,
            valid_until,
            boc: signed.boc.clone(),
            state: TransferState::InFlight,
            tx_hash: None,
            created_at: now,
        };
        match self.journal.record(&transfer).await {
            Ok(()) => {}
            // Another sender took the seqno (or this withdrawal) first.
            Err(RepoError::Duplicate(_)) => return Ok(PayoutStatus::Pending),
            Err(e) => return Err(journal_down(e)),
        }
        if let Err(e) = self.chain.broadcast(&signed.boc).await {
            // Maybe sent, maybe not: it is recorded, and followed on chain from now on.
            tracing::warn!(withdrawal = %p.withdrawal_id, error = %e, "sending a signed transfer: no answer; following it on chain");
        }
        metrics::counter!("ton_payouts_signed_total").increment(1);
        Ok(PayoutStatus::Pending)
    }
}

#[async_trait]
impl PayoutGateway for WalletPayouts {
    async fn send(&self, p: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable> {
        match self.journal.transfer_of(p.withdrawal_id).await.map_err(journal_down)? {
            Some(t) if t.state == TransferState::Landed => {
                Ok(PayoutStatus::Sent { tx_hash: t.tx_hash.unwrap_or_default() })
            }
            Some(t) if t.state == TransferState::InFlight => match self.follow(&t).await? {
                Followed::Gone => self.start(p).await,
                other => Ok(Self::status(other)),
            },
            _ => self.start(p).await,
        }
    }

    async fn lookup(&self, id: WithdrawalId) -> Result<PayoutStatus, GatewayUnavailable> {
        match self.journal.transfer_of(id).await.map_err(journal_down)? {
            None => Ok(PayoutStatus::NotFound),
            Some(t) => match t.state {
                TransferState::Landed => Ok(PayoutStatus::Sent { tx_hash: t.tx_hash.unwrap_or_default() }),
                TransferState::Expired => Ok(PayoutStatus::NotFound),
                TransferState::InFlight => Ok(Self::status(self.follow(&t).await?)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::ports::{MockClock, MockTransferSigner, MockWalletChain, SignedTransfer, WalletState};
    use mockall::predicate::eq;
    use mockall::Sequence;

    use super::*;
    use crate::ports::MockWalletJournal;
    use crate::testing::{m, now};

    const WALLET: &str = "0:1111111111111111111111111111111111111111111111111111111111111111";
    const PAYEE: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";

    fn id(n: u128) -> WithdrawalId {
        WithdrawalId(uuid::Uuid::from_u128(n))
    }

    fn request(n: u128) -> PayoutRequest {
        PayoutRequest { withdrawal_id: id(n), address: PAYEE.into(), amount: m("1.5") }
    }

    fn secs(s: i64) -> chrono::Duration {
        chrono::Duration::seconds(s)
    }

    /// A transfer of withdrawal `n` in flight with `seqno`, valid until `valid_until`.
    fn in_flight(n: u128, seqno: u32, valid_until: DateTime<Utc>) -> WalletTransfer {
        WalletTransfer {
            msg_hash: format!("hash-{n}-{seqno}"),
            withdrawal_id: id(n),
            wallet: WALLET.into(),
            seqno,
            destination: PAYEE.into(),
            amount: m("1.5"),
            valid_until,
            boc: format!("boc-{n}-{seqno}"),
            state: TransferState::InFlight,
            tx_hash: None,
            created_at: valid_until - secs(60),
        }
    }

    fn state(balance: &str, seqno: u32) -> WalletState {
        WalletState { balance: m(balance), seqno, deployed: true }
    }

    /// Mocks of the three ports; the signer knows its address, nothing else is expected yet (a
    /// mock called without an expectation panics, so every test also asserts what is not called).
    struct Ports {
        chain: MockWalletChain,
        signer: MockTransferSigner,
        journal: MockWalletJournal,
    }

    fn ports() -> Ports {
        let mut signer = MockTransferSigner::new();
        signer.expect_raw_address().returning(|| WALLET.into());
        signer.expect_address().returning(|| "EQwallet".into());
        Ports { chain: MockWalletChain::new(), signer, journal: MockWalletJournal::new() }
    }

    /// The service at `at` (60 s expiry, 60 s grace: the defaults).
    fn payouts(p: Ports, at: DateTime<Utc>) -> WalletPayouts {
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || at);
        WalletPayouts::new(Arc::new(p.chain), Arc::new(p.signer), Arc::new(p.journal), Arc::new(clock))
    }

    fn signs(p: &mut Ports, seqno: u32, times: usize) {
        p.signer.expect_sign().withf(move |t| t.seqno == seqno).times(times).returning(|t| {
            Ok(SignedTransfer { boc: format!("boc-new-{}", t.seqno), msg_hash: format!("hash-new-{}", t.seqno) })
        });
    }

    #[tokio::test]
    async fn a_first_send_signs_with_the_wallet_s_seqno_and_records_before_broadcasting() {
        let mut p = ports();
        let mut order = Sequence::new();
        p.journal.expect_transfer_of().with(eq(id(1))).times(1).returning(|_| Ok(None));
        p.journal.expect_in_flight().with(eq(WALLET)).times(1).returning(|_| Ok(None));
        p.chain.expect_wallet_state().with(eq(WALLET)).times(1).returning(|_| Ok(state("10", 7)));
        p.signer
            .expect_sign()
            .withf(|t| {
                *t == TransferToSign {
                    seqno: 7,
                    destination: PAYEE.into(),
                    amount: m("1.5"),
                    comment: id(1).to_string(),
                    valid_until: now() + secs(60),
                    deploy: false,
                }
            })
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(SignedTransfer { boc: "boc-new".into(), msg_hash: "hash-new".into() }));
        p.journal
            .expect_record()
            .withf(|t| {
                *t == WalletTransfer {
                    msg_hash: "hash-new".into(),
                    withdrawal_id: id(1),
                    wallet: WALLET.into(),
                    seqno: 7,
                    destination: PAYEE.into(),
                    amount: m("1.5"),
                    valid_until: now() + secs(60),
                    boc: "boc-new".into(),
                    state: TransferState::InFlight,
                    tx_hash: None,
                    created_at: now(),
                }
            })
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        p.chain.expect_broadcast().with(eq("boc-new")).times(1).in_sequence(&mut order).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_wallet_never_deployed_signs_its_code_along() {
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().returning(|_| Ok(WalletState { deployed: false, ..state("10", 0) }));
        p.signer
            .expect_sign()
            .withf(|t| t.deploy && t.seqno == 0)
            .times(1)
            .returning(|_| Ok(SignedTransfer { boc: "b".into(), msg_hash: "h".into() }));
        p.journal.expect_record().times(1).returning(|_| Ok(()));
        p.chain.expect_broadcast().times(1).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_lost_broadcast_answer_leaves_the_recorded_transfer_pending() {
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().returning(|_| Ok(state("10", 7)));
        signs(&mut p, 7, 1);
        p.journal.expect_record().times(1).returning(|_| Ok(()));
        p.chain
            .expect_broadcast()
            .times(1)
            .returning(|_| Err(GatewayUnavailable { retry_after: None, reason: "timed out".into() }));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_seqno_taken_by_another_sender_first_is_not_broadcast() {
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().returning(|_| Ok(state("10", 7)));
        signs(&mut p, 7, 1);
        p.journal
            .expect_record()
            .times(1)
            .returning(|_| Err(RepoError::Duplicate(domain::Constraint::OneTransferInFlightPerWallet)));
        p.chain.expect_broadcast().times(0);
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_journal_that_fails_to_record_stops_the_payout_before_broadcasting() {
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().returning(|_| Ok(state("10", 7)));
        signs(&mut p, 7, 1);
        p.journal.expect_record().times(1).returning(|_| Err(RepoError::Unavailable("down".into())));
        p.chain.expect_broadcast().times(0);
        assert!(payouts(p, now()).send(&request(1)).await.is_err());
    }

    #[tokio::test]
    async fn a_retry_with_a_transfer_in_flight_looks_on_chain_and_resends_the_same_message_unsigned_again() {
        let mut p = ports();
        let t = in_flight(1, 7, now() + secs(30));
        let mut order = Sequence::new();
        p.journal.expect_transfer_of().with(eq(id(1))).times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain
            .expect_find_transfer()
            .withf(|q| {
                *q == TransferQuery {
                    wallet: WALLET.into(),
                    msg_hash: "hash-1-7".into(),
                    destination: PAYEE.into(),
                    amount: m("1.5"),
                    comment: id(1).to_string(),
                    from: now() + secs(30) - secs(60) - secs(60),
                    until: now() + secs(30) + secs(60) + secs(60),
                }
            })
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(None));
        p.chain.expect_broadcast().with(eq("boc-1-7")).times(1).in_sequence(&mut order).returning(|_| Ok(()));
        p.signer.expect_sign().times(0);
        p.journal.expect_record().times(0);
        p.journal.expect_settle().times(0);
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn within_the_grace_a_transfer_not_yet_shown_waits_without_resending() {
        let mut p = ports();
        let t = in_flight(1, 7, now() - secs(30));
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain.expect_find_transfer().times(1).returning(|_| Ok(None));
        p.chain.expect_broadcast().times(0);
        p.chain.expect_wallet_state().times(0);
        p.signer.expect_sign().times(0);
        assert_eq!(payouts(p, now()).lookup(id(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_landed_transfer_is_reported_sent_with_its_transaction_and_settled_landed() {
        for lookup in [false, true] {
            let mut p = ports();
            let t = in_flight(1, 7, now() + secs(30));
            p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
            p.chain
                .expect_find_transfer()
                .times(1)
                .returning(|_| Ok(Some(TransferOnChain { tx_hash: "tx-1".into(), paid: true })));
            p.journal
                .expect_settle()
                .withf(|h, s, tx| h == "hash-1-7" && *s == TransferState::Landed && *tx == Some("tx-1"))
                .times(1)
                .returning(|_, _, _| Ok(()));
            p.chain.expect_broadcast().times(0);
            p.signer.expect_sign().times(0);
            let gw = payouts(p, now());
            let status = if lookup { gw.lookup(id(1)).await } else { gw.send(&request(1)).await };
            assert_eq!(status, Ok(PayoutStatus::Sent { tx_hash: "tx-1".into() }), "lookup: {lookup}");
        }
    }

    #[tokio::test]
    async fn a_transfer_already_landed_is_sent_without_asking_the_chain() {
        let mut p = ports();
        let t = WalletTransfer { state: TransferState::Landed, tx_hash: Some("tx-1".into()), ..in_flight(1, 7, now()) };
        p.journal.expect_transfer_of().times(2).returning(move |_| Ok(Some(t.clone())));
        let gw = payouts(p, now());
        assert_eq!(gw.send(&request(1)).await, Ok(PayoutStatus::Sent { tx_hash: "tx-1".into() }));
        assert_eq!(gw.lookup(id(1)).await, Ok(PayoutStatus::Sent { tx_hash: "tx-1".into() }));
    }

    #[tokio::test]
    async fn past_expiry_and_grace_with_its_seqno_unused_it_expires_and_a_new_transfer_is_signed() {
        let mut p = ports();
        let t = in_flight(1, 7, now() - secs(61));
        let mut order = Sequence::new();
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain.expect_find_transfer().times(1).in_sequence(&mut order).returning(|_| Ok(None));
        // The seqno check, then the new transfer's seqno: the wallet has not moved.
        p.chain.expect_wallet_state().times(1).in_sequence(&mut order).returning(|_| Ok(state("10", 7)));
        p.journal
            .expect_settle()
            .withf(|h, s, tx| h == "hash-1-7" && *s == TransferState::Expired && tx.is_none())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(()));
        p.journal.expect_in_flight().times(1).in_sequence(&mut order).returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).in_sequence(&mut order).returning(|_| Ok(state("10", 7)));
        p.signer
            .expect_sign()
            .withf(|t| t.seqno == 7 && t.valid_until == now() + secs(60))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(SignedTransfer { boc: "boc-new".into(), msg_hash: "hash-new".into() }));
        p.journal
            .expect_record()
            .withf(|t| t.msg_hash == "hash-new" && t.seqno == 7 && t.state == TransferState::InFlight)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        p.chain.expect_broadcast().with(eq("boc-new")).times(1).in_sequence(&mut order).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn an_expired_transfer_is_looked_up_as_not_found_so_the_relay_sends_again() {
        let mut p = ports();
        let t = in_flight(1, 7, now() - secs(121));
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain.expect_find_transfer().times(1).returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("10", 7)));
        p.journal.expect_settle().withf(|_, s, _| *s == TransferState::Expired).times(1).returning(|_, _, _| Ok(()));
        p.signer.expect_sign().times(0);
        assert_eq!(payouts(p, now()).lookup(id(1)).await, Ok(PayoutStatus::NotFound));

        let mut p = ports();
        let t = WalletTransfer { state: TransferState::Expired, ..in_flight(1, 7, now() - secs(121)) };
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        assert_eq!(payouts(p, now()).lookup(id(1)).await, Ok(PayoutStatus::NotFound));
    }

    #[tokio::test]
    async fn past_expiry_with_its_seqno_used_but_not_shown_it_waits_unsigned() {
        let mut p = ports();
        let t = in_flight(1, 7, now() - secs(121));
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain.expect_find_transfer().times(1).returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("10", 8)));
        p.journal.expect_settle().times(0);
        p.signer.expect_sign().times(0);
        p.journal.expect_record().times(0);
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_transfer_that_used_its_seqno_without_paying_is_expired_and_signed_again() {
        let mut p = ports();
        let t = in_flight(1, 7, now() + secs(30));
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain
            .expect_find_transfer()
            .times(1)
            .returning(|_| Ok(Some(TransferOnChain { tx_hash: "tx-aborted".into(), paid: false })));
        p.journal
            .expect_settle()
            .withf(|h, s, tx| h == "hash-1-7" && *s == TransferState::Expired && *tx == Some("tx-aborted"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        p.journal.expect_in_flight().times(1).returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("10", 8)));
        signs(&mut p, 8, 1);
        p.journal.expect_record().withf(|t| t.seqno == 8).times(1).returning(|_| Ok(()));
        p.chain.expect_broadcast().with(eq("boc-new-8")).times(1).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn another_withdrawal_s_transfer_in_flight_makes_this_one_wait_unsigned() {
        let mut p = ports();
        let busy = in_flight(2, 7, now() + secs(30));
        p.journal.expect_transfer_of().with(eq(id(1))).times(1).returning(|_| Ok(None));
        p.journal.expect_in_flight().with(eq(WALLET)).times(1).returning(move |_| Ok(Some(busy.clone())));
        p.chain.expect_find_transfer().withf(|q| q.msg_hash == "hash-2-7").times(1).returning(|_| Ok(None));
        // The other one is still valid: it is sent again, as it is.
        p.chain.expect_broadcast().with(eq("boc-2-7")).times(1).returning(|_| Ok(()));
        p.chain.expect_wallet_state().times(0);
        p.signer.expect_sign().times(0);
        p.journal.expect_record().times(0);
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn another_withdrawal_s_transfer_found_landed_is_settled_and_this_one_signed_next() {
        let mut p = ports();
        let busy = in_flight(2, 7, now() + secs(30));
        p.journal.expect_transfer_of().times(1).returning(|_| Ok(None));
        p.journal.expect_in_flight().times(1).returning(move |_| Ok(Some(busy.clone())));
        p.chain
            .expect_find_transfer()
            .times(1)
            .returning(|_| Ok(Some(TransferOnChain { tx_hash: "tx-2".into(), paid: true })));
        p.journal
            .expect_settle()
            .withf(|h, s, tx| h == "hash-2-7" && *s == TransferState::Landed && *tx == Some("tx-2"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("10", 8)));
        signs(&mut p, 8, 1);
        p.journal.expect_record().withf(|t| t.withdrawal_id == id(1) && t.seqno == 8).times(1).returning(|_| Ok(()));
        p.chain.expect_broadcast().with(eq("boc-new-8")).times(1).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn the_lookup_of_an_unknown_withdrawal_is_not_found_and_touches_nothing_else() {
        let mut p = ports();
        p.journal.expect_transfer_of().with(eq(id(9))).times(1).returning(|_| Ok(None));
        p.chain.expect_find_transfer().times(0);
        p.chain.expect_wallet_state().times(0);
        p.chain.expect_broadcast().times(0);
        p.signer.expect_sign().times(0);
        assert_eq!(payouts(p, now()).lookup(id(9)).await, Ok(PayoutStatus::NotFound));
    }

    #[tokio::test]
    async fn an_unpayable_amount_or_address_is_rejected_and_nothing_is_recorded() {
        // Zero: refused before the chain is asked.
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(0);
        let zero = PayoutRequest { amount: Money::ZERO, ..request(1) };
        assert!(matches!(payouts(p, now()).send(&zero).await, Ok(PayoutStatus::Rejected(_))));

        // No address: the signer says so.
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("10", 7)));
        p.signer.expect_sign().times(1).returning(|_| Err(SignError::InvalidAddress("bad base64".into())));
        p.journal.expect_record().times(0);
        p.chain.expect_broadcast().times(0);
        assert_eq!(
            payouts(p, now()).send(&request(1)).await,
            Ok(PayoutStatus::Rejected("invalid address: bad base64".into()))
        );

        // Any other signing failure: not a refusal, the payout waits.
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().returning(|_| Ok(state("10", 7)));
        p.signer.expect_sign().times(1).returning(|_| Err(SignError::Failed("cell overflow".into())));
        p.journal.expect_record().times(0);
        let err = payouts(p, now()).send(&request(1)).await.unwrap_err();
        assert_eq!(err.reason, "cannot sign: cell overflow");
    }

    #[tokio::test]
    async fn a_wallet_short_of_funds_makes_the_payout_wait_unsigned() {
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        // 1.5 and the 0.05 fee reserve: 1.549999999 is one nanoton short.
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("1.549999999", 7)));
        p.signer.expect_sign().times(0);
        p.journal.expect_record().times(0);
        let err = payouts(p, now()).send(&request(1)).await.unwrap_err();
        assert_eq!(err.retry_after, Some(Duration::from_secs(60)));
    }

    #[tokio::test]
    async fn a_journal_down_is_a_gateway_unavailable() {
        let mut p = ports();
        p.journal.expect_transfer_of().times(1).returning(|_| Err(RepoError::Unavailable("down".into())));
        let err = payouts(p, now()).lookup(id(1)).await.unwrap_err();
        assert!(err.reason.starts_with("wallet journal:"), "{}", err.reason);
    }

    #[test]
    fn the_wallet_address_is_the_signer_s() {
        assert_eq!(payouts(ports(), now()).wallet_address(), "EQwallet");
    }

    #[tokio::test]
    async fn a_wallet_holding_exactly_the_payout_and_the_fee_reserve_pays() {
        let mut p = ports();
        p.journal.expect_transfer_of().returning(|_| Ok(None));
        p.journal.expect_in_flight().returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("1.55", 7)));
        signs(&mut p, 7, 1);
        p.journal.expect_record().times(1).returning(|_| Ok(()));
        p.chain.expect_broadcast().times(1).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }

    #[tokio::test]
    async fn a_send_after_an_expired_transfer_signs_a_new_one_without_following_the_old() {
        let mut p = ports();
        let t = WalletTransfer { state: TransferState::Expired, ..in_flight(1, 7, now() - secs(300)) };
        p.journal.expect_transfer_of().times(1).returning(move |_| Ok(Some(t.clone())));
        p.chain.expect_find_transfer().times(0);
        p.journal.expect_settle().times(0);
        p.journal.expect_in_flight().times(1).returning(|_| Ok(None));
        p.chain.expect_wallet_state().times(1).returning(|_| Ok(state("10", 8)));
        signs(&mut p, 8, 1);
        p.journal.expect_record().withf(|t| t.seqno == 8 && t.msg_hash == "hash-new-8").times(1).returning(|_| Ok(()));
        p.chain.expect_broadcast().with(eq("boc-new-8")).times(1).returning(|_| Ok(()));
        assert_eq!(payouts(p, now()).send(&request(1)).await, Ok(PayoutStatus::Pending));
    }
}
