//! The taker accepts a trade: every NFT changes owner and both TON legs move, in one Unit of Work.

use domain::ports::{AccountRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo, TradeRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "accept_trade";

crate::define_uow!(
    /// Accepting: the trade, every NFT of it, each party's own offers on what it receives, both
    /// users' funds, the ledger and the notices.
    AcceptTradeUow {
        trades: TradeRepo, nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo,
        outbox: OutboxRepo, events: EventRepo,
    }
);

#[derive(Clone, Debug)]
pub struct AcceptTradeCommand {
    pub taker: UserId,
    pub trade_id: TradeId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct AcceptTrade {
    uows: Uows<dyn AcceptTradeUow>,
    services: Services,
    fees: FeeRule,
}

impl AcceptTrade {
    pub fn new(uows: Uows<dyn AcceptTradeUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Taker only, open and not expired. Every `want` NFT must still be the taker's and
    /// `available` (else `trade_stale`, the trade stays open). The `give` NFTs go to the taker and
    /// the `want` NFTs to the maker, unlisted and `available`; the maker's held amount goes to the
    /// taker and the `want` amount from the taker to the maker, each leg less the fee; each
    /// party's own open offers on NFTs it receives are cancelled and refunded. Both are told.
    #[tracing::instrument(level = "debug", name = "accept_trade", skip_all, fields(taker = %cmd.taker, trade = %cmd.trade_id))]
    pub async fn execute(&self, cmd: AcceptTradeCommand) -> Result<Trade, Error> {
        self.services.run_locked(NAME, &lock::trade(cmd.trade_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &AcceptTradeCommand) -> Result<Trade, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut trade = super::lock_for(uow.trades(), cmd.trade_id, cmd.taker).await?;
            trade.ensure_actor(cmd.taker, TradeParty::Taker, fx.now)?;
            let (maker, taker) = (trade.maker_id, trade.taker_id);
            let mut nfts = uow.nfts().lock_all(&trade.nft_ids()).await?;
            let gives = |n: &Nft| trade.give.nft_ids.contains(&n.id);
            let still_there = nfts.len() == trade.nft_ids().len()
                && nfts.iter().all(|n| {
                    if gives(n) {
                        n.owner_id == maker && n.status == NftStatus::InTrade
                    } else {
                        n.owner_id == taker && n.status == NftStatus::Available
                    }
                });
            if !still_there {
                return Err(RuleViolation::TradeStale.into());
            }
            let mut own_offers = uow.offers().lock_open_by_on(taker, &trade.give.nft_ids).await?;
            own_offers.extend(uow.offers().lock_open_by_on(maker, &trade.want.nft_ids).await?);
            let mut accounts = Accounts::lock(uow.accounts(), &[maker, taker]).await?;

            // The want amount must be available before the trade moves anything (ADR 007).
            let mut settle = fx.posting(Operation::TradeSettle, trade.id);
            if let Some(want) = trade.want.amount {
                let (fee, proceeds) = self.fees.split(want);
                accounts.payer(taker)?.debit(want)?;
                accounts.payee(maker)?.credit(proceeds);
                settle = settle.sale(taker, Account::Available, maker, proceeds, fee);
            }
            if let Some(give) = trade.give.amount {
                let (fee, proceeds) = self.fees.split(give);
                accounts.payee(maker)?.take_held(give);
                accounts.payee(taker)?.credit(proceeds);
                settle = settle.sale(maker, Account::Held, taker, proceeds, fee);
            }
            for offer in &mut own_offers {
                offer.close(OfferStatus::Cancelled);
                accounts.payee(offer.offerer_id)?.release(offer.price);
                fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offer.offerer_id, offer.price));
                uow.offers().update(offer).await?;
            }
            fx.record(settle);
            for nft in nfts.iter_mut() {
                let to = if gives(nft) { taker } else { maker };
                nft.transfer_to(to);
                nft.status = NftStatus::Available;
                uow.nfts().update(nft).await?;
                // Public: which NFTs changed hands; never the trade's amounts.
                fx.event(EventKind::TradeCompleted, nft, None);
            }
            trade.close(TradeStatus::Accepted);
            let (gave, got) = (super::describe(&trade.give), super::describe(&trade.want));
            fx.notify(maker, format!("Your trade was accepted: you gave {gave} and received {got}."));
            fx.notify(taker, format!("Trade done: you received {gave} and gave {got}."));
            uow.trades().update(&trade).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            Ok(trade)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::trades::fixtures::*;

    fn with(t: Trade, nfts: Vec<Nft>) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.trades.expect_lock().returning(move |_| Ok(Some(t.clone())));
        tx.nfts.expect_lock_all().returning(move |_| Ok(nfts.clone()));
        tx
    }

    fn in_place() -> Vec<Nft> {
        vec![nft_of(1, MAKER, NftStatus::InTrade), nft_of(2, TAKER, NftStatus::Available)]
    }

    async fn accept(tx: FakeTx, by: i64) -> (Result<Trade, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = AcceptTradeCommand { taker: UserId(by), trade_id: trade().id, idempotency: None };
        let r = AcceptTrade::new(store, services(), FeeRule::new(500)).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn accepting_swaps_every_nft_moves_both_legs_less_fees_and_commits() {
        let mut tx = with(trade(), in_place());
        tx.offers.expect_lock_open_by_on().returning(|_, _| Ok(vec![]));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(MAKER, "0", "3"), user(TAKER, "5", "0")]));
        // maker: 3 held out, 0.95 in; taker: 1 out, 2.85 in.
        tx.accounts
            .expect_save()
            .withf(|u| match u.id.0 {
                MAKER => u.available == m("0.95") && u.held == m("0"),
                _ => u.available == m("6.85"),
            })
            .times(2)
            .returning(|_| Ok(()));
        tx.nfts
            .expect_update()
            .withf(|n| {
                n.status == NftStatus::Available
                    && n.owner_id
                        == if n.id == nft_of(1, 0, NftStatus::Available).id { UserId(TAKER) } else { UserId(MAKER) }
            })
            .times(2)
            .returning(|_| Ok(()));
        tx.trades.expect_update().withf(|t| t.status == TradeStatus::Accepted).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, public) = events_recording();
        tx.events = events;
        let (r, committed) = accept(tx, TAKER).await;
        assert_eq!(r.unwrap().status, TradeStatus::Accepted);
        assert!(committed);
        // One settlement: the taker pays 1 (0.95 + 0.05 fee) and gets 2.85 of the maker's held 3.
        assert_eq!(
            entries.lines(),
            [
                (Some(TAKER), Account::Available, d("1.85")),
                (Some(MAKER), Account::Available, d("0.95")),
                (None, Account::Fees, d("0.20")),
                (Some(MAKER), Account::Held, d("-3")),
            ]
        );
        assert_eq!(sent.notified(), [MAKER, TAKER]);
        assert_eq!(
            public.all().iter().map(|e| (e.kind, e.nft_id, e.price)).collect::<Vec<_>>(),
            in_place().iter().map(|n| (EventKind::TradeCompleted, Some(n.id), None)).collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn a_given_nft_no_longer_in_the_trade_makes_it_stale() {
        let not_in_trade = vec![nft_of(1, MAKER, NftStatus::Available), nft_of(2, TAKER, NftStatus::Available)];
        let (r, committed) = accept(with(trade(), not_in_trade), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeStale.into(), false));
        let not_the_makers = vec![nft_of(1, 9, NftStatus::InTrade), nft_of(2, TAKER, NftStatus::Available)];
        let (r, committed) = accept(with(trade(), not_the_makers), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeStale.into(), false));
    }

    #[tokio::test]
    async fn a_wanted_nft_the_taker_no_longer_owns_makes_the_trade_stale() {
        let sold = vec![nft_of(1, MAKER, NftStatus::InTrade), nft_of(2, 9, NftStatus::Available)];
        let (r, committed) = accept(with(trade(), sold), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeStale.into(), false));
    }

    #[tokio::test]
    async fn an_nft_of_the_trade_that_is_gone_makes_it_stale() {
        let (r, committed) = accept(with(trade(), vec![nft_of(1, MAKER, NftStatus::InTrade)]), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeStale.into(), false));
    }

    #[tokio::test]
    async fn the_takers_own_offer_on_what_it_receives_is_refunded() {
        let mut tx = with(trade(), in_place());
        let mut own = offer(TAKER, "2");
        own.nft_id = nft_of(1, MAKER, NftStatus::InTrade).id;
        tx.offers
            .expect_lock_open_by_on()
            .withf(|u, _| *u == UserId(TAKER))
            .returning(move |_, _| Ok(vec![own.clone()]));
        tx.offers.expect_lock_open_by_on().withf(|u, _| *u == UserId(MAKER)).returning(|_, _| Ok(vec![]));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(MAKER, "0", "3"), user(TAKER, "1", "2")]));
        tx.accounts
            .expect_save()
            .withf(|u| u.id != UserId(TAKER) || (u.available == m("4.85") && u.held == m("0")))
            .returning(|_| Ok(()));
        tx.nfts.expect_update().returning(|_| Ok(()));
        tx.trades.expect_update().returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        let (r, committed) = accept(tx, TAKER).await;
        r.unwrap();
        assert!(committed);
    }

    #[tokio::test]
    async fn a_wanted_nft_that_moved_makes_the_trade_stale_and_nothing_moves() {
        let moved = vec![nft_of(1, MAKER, NftStatus::InTrade), nft_of(2, TAKER, NftStatus::OnAuction)];
        let (r, committed) = accept(with(trade(), moved), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeStale.into(), false));
    }

    #[tokio::test]
    async fn the_maker_cannot_accept_and_a_stranger_does_not_see_the_trade() {
        let (r, committed) = accept(with(trade(), in_place()), MAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotParty.into(), false));
        let (r, committed) = accept(with(trade(), in_place()), 9).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("trade"), false));
    }

    #[tokio::test]
    async fn a_closed_or_expired_trade_cannot_be_accepted() {
        let mut closed = trade();
        closed.status = TradeStatus::Cancelled;
        let (r, committed) = accept(with(closed, in_place()), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeNotOpen.into(), false));
        let mut expired = trade();
        expired.expires_at = now();
        let (r, committed) = accept(with(expired, in_place()), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TradeNotOpen.into(), false));
    }

    #[tokio::test]
    async fn a_taker_without_the_want_amount_commits_nothing() {
        let mut tx = with(trade(), in_place());
        tx.offers.expect_lock_open_by_on().returning(|_, _| Ok(vec![]));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(MAKER, "0", "3"), user(TAKER, "0.5", "0")]));
        let (r, committed) = accept(tx, TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
    }
}
