//! Propose a trade (`new`): the maker's NFTs go `in_trade` and the maker's TON is held.

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OutboxRepo, TradeRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "propose_trade";

crate::define_uow!(
    /// Proposing: every NFT of the trade, both users, the trades (counted per maker), the hold.
    ProposeTradeUow { nfts: NftRepo, accounts: AccountRepo, trades: TradeRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct ProposeTradeCommand {
    /// Validated at the edge: two parties, 1–20 NFTs without repeats, a bounded expiry.
    pub terms: TradeTerms,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct ProposeTrade {
    uows: Uows<dyn ProposeTradeUow>,
    services: Services,
    max_open: u32,
}

impl ProposeTrade {
    pub fn new(uows: Uows<dyn ProposeTradeUow>, services: Services, max_open: u32) -> Self {
        Self { uows, services, max_open }
    }

    /// `give` NFTs must be the maker's (else forbidden) and `available` (a listing is removed);
    /// `want` NFTs the taker's and `available` (else `nft_unavailable`); at most `max_open` live
    /// trades per maker; the `give` amount is held. The taker is told.
    #[tracing::instrument(level = "debug", name = "propose_trade", skip_all, fields(maker = %cmd.terms.maker, taker = %cmd.terms.taker))]
    pub async fn execute(&self, cmd: ProposeTradeCommand) -> Result<Trade, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &ProposeTradeCommand) -> Result<Trade, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let terms = &cmd.terms;
            let (maker, taker) = (terms.maker, terms.taker);
            if uow.accounts().get(taker).await?.is_none() {
                return Err(Error::NotFound("user"));
            }
            let ids = terms.nft_ids();
            let mut nfts = uow.nfts().lock_all(&ids).await?;
            if nfts.len() != ids.len() {
                return Err(Error::NotFound("NFT"));
            }
            for nft in &nfts {
                if terms.give.nft_ids.contains(&nft.id) && nft.owner_id != maker {
                    return Err(RuleViolation::NotOwner.into());
                }
            }
            for nft in &nfts {
                let wanted_from_someone_else = terms.want.nft_ids.contains(&nft.id) && nft.owner_id != taker;
                if wanted_from_someone_else || nft.status != NftStatus::Available {
                    return Err(RuleViolation::NftUnavailable.into());
                }
            }
            // The maker's row lock serialises the maker's proposals, so the limit holds.
            let mut accounts = Accounts::lock(uow.accounts(), &[maker]).await?;
            if uow.trades().count_live_by_maker(maker, fx.now).await? >= self.max_open {
                return Err(RuleViolation::TooManyOpenTrades { max: self.max_open }.into());
            }
            let trade = Trade::open(self.services.new_id(), terms.clone(), fx.now);
            if let Some(amount) = trade.give.amount {
                accounts.payer(maker)?.hold(amount)?;
                fx.record(fx.posting(Operation::TradeHold, trade.id).hold(maker, amount));
            }
            for nft in nfts.iter_mut().filter(|n| trade.give.nft_ids.contains(&n.id)) {
                nft.price = None;
                nft.status = NftStatus::InTrade;
                uow.nfts().update(nft).await?;
            }
            uow.trades().insert(&trade).await?;
            fx.notify(
                taker,
                format!(
                    "New trade proposal: {} for {}. It expires at {}.",
                    super::describe(&trade.give),
                    super::describe(&trade.want),
                    trade.expires_at
                ),
            );
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
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

    fn cmd() -> ProposeTradeCommand {
        let t = trade();
        let terms = TradeTerms::new(t.maker_id, t.taker_id, t.give, t.want, None).unwrap();
        ProposeTradeCommand { terms, idempotency: None }
    }

    fn world(nfts: Vec<Nft>, maker_available: &str, open_trades: u32) -> FakeTx {
        world_saving(nfts, maker_available, open_trades).0
    }

    /// The world of a proposal, and the accounts it saves.
    fn world_saving(nfts: Vec<Nft>, maker_available: &str, open_trades: u32) -> (FakeTx, Written<User>) {
        let mut tx = FakeTx::default();
        let (mut accounts, saved) = accounts_saving(vec![user(MAKER, maker_available, "0"), user(TAKER, "0", "0")]);
        accounts.expect_get().withf(|id| *id == UserId(TAKER)).returning(|id| Ok(Some(User::new(id, None))));
        tx.accounts = accounts;
        tx.nfts.expect_lock_all().returning(move |_| Ok(nfts.clone()));
        tx.trades
            .expect_count_live_by_maker()
            .withf(|maker, at| *maker == UserId(MAKER) && *at == now())
            .returning(move |_, _| Ok(open_trades));
        (tx, saved)
    }

    fn both() -> Vec<Nft> {
        vec![nft_of(1, MAKER, NftStatus::Available), nft_of(2, TAKER, NftStatus::Available)]
    }

    async fn propose(tx: FakeTx) -> (Result<Trade, Error>, bool) {
        let (store, committed) = store(tx);
        let r = ProposeTrade::new(store, services(), 20).execute(cmd()).await;
        (r, committed.get())
    }

    /// Proposes over `nfts` with `open_trades` live ones and checks everything written.
    async fn proposed(open_trades: u32) {
        let (mut tx, saved) = world_saving(both(), "10", open_trades);
        tx.nfts
            .expect_update()
            .withf(|n| {
                n.id == nft_of(1, MAKER, NftStatus::Available).id
                    && n.owner_id == UserId(MAKER)
                    && n.status == NftStatus::InTrade
                    && n.price.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.trades
            .expect_insert()
            .withf(|t| t.status == TradeStatus::Open && t.give == trade().give)
            .times(1)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = propose(tx).await;
        assert_eq!(r.unwrap().status, TradeStatus::Open);
        assert!(committed);
        assert_eq!(saved.all(), [user(MAKER, "7", "3")]);
        assert_eq!(entries.lines(), [(Some(MAKER), Account::Available, d("-3")), (Some(MAKER), Account::Held, d("3"))]);
        assert_eq!(sent.notified(), [TAKER]);
        let text = match &sent.all()[0].payload {
            OutboxPayload::Notify { text, .. } => text.clone(),
            other => panic!("{other:?}"),
        };
        assert!(text.starts_with("New trade proposal: 1 NFT and 3 TON for 1 NFT and 1 TON."), "{text}");
    }

    #[tokio::test]
    async fn a_proposal_puts_the_give_nfts_in_trade_holds_the_amount_and_commits() {
        proposed(0).await;
    }

    #[tokio::test]
    async fn a_maker_one_below_the_limit_may_still_propose() {
        proposed(19).await;
    }

    #[tokio::test]
    async fn an_nft_that_does_not_exist_is_not_found() {
        let (r, committed) = propose(world(vec![nft_of(1, MAKER, NftStatus::Available)], "10", 0)).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("NFT"), false));
    }

    #[tokio::test]
    async fn offering_someone_elses_nft_is_forbidden() {
        let nfts = vec![nft_of(1, 9, NftStatus::Available), nft_of(2, TAKER, NftStatus::Available)];
        let (r, committed) = propose(world(nfts, "10", 0)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
    }

    #[tokio::test]
    async fn asking_for_an_nft_the_taker_does_not_own_or_an_unavailable_one_is_refused() {
        let not_takers = vec![nft_of(1, MAKER, NftStatus::Available), nft_of(2, 9, NftStatus::Available)];
        let (r, committed) = propose(world(not_takers, "10", 0)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NftUnavailable.into(), false));
        let on_auction = vec![nft_of(1, MAKER, NftStatus::OnAuction), nft_of(2, TAKER, NftStatus::Available)];
        let (r, committed) = propose(world(on_auction, "10", 0)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NftUnavailable.into(), false));
    }

    #[tokio::test]
    async fn a_maker_at_the_limit_or_without_the_amount_commits_nothing() {
        let (r, committed) = propose(world(both(), "10", 20)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TooManyOpenTrades { max: 20 }.into(), false));
        let (r, committed) = propose(world(both(), "2", 0)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
    }

    #[tokio::test]
    async fn an_unknown_taker_is_not_found() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_get().returning(|_| Ok(None));
        let (r, committed) = propose(tx).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("user"), false));
    }
}
