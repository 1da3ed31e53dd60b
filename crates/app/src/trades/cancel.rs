//! The maker withdraws a trade: the hold is released, the offered NFTs are free again.

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OutboxRepo, TradeRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "cancel_trade";

crate::define_uow!(
    /// Cancelling: the trade, the offered NFTs, the maker's hold, the notice.
    CancelTradeUow { trades: TradeRepo, nfts: NftRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct CancelTradeCommand {
    pub maker: UserId,
    pub trade_id: TradeId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct CancelTrade {
    uows: Uows<dyn CancelTradeUow>,
    services: Services,
}

impl CancelTrade {
    pub fn new(uows: Uows<dyn CancelTradeUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Maker only, while open: `cancelled`, the hold released, the `give` NFTs `available`; the
    /// taker is told.
    #[tracing::instrument(level = "debug", name = "cancel_trade", skip_all, fields(maker = %cmd.maker, trade = %cmd.trade_id))]
    pub async fn execute(&self, cmd: CancelTradeCommand) -> Result<Trade, Error> {
        self.services.run_locked(NAME, &lock::trade(cmd.trade_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CancelTradeCommand) -> Result<Trade, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut trade = super::lock_for(uow.trades(), cmd.trade_id, cmd.maker).await?;
            trade.ensure_actor(cmd.maker, TradeParty::Maker, fx.now)?;
            let mut give = uow.nfts().lock_all(&trade.give.nft_ids).await?;
            let mut accounts = Accounts::lock(uow.accounts(), &[trade.maker_id]).await?;
            super::unwind(&mut trade, TradeStatus::Cancelled, &mut give, &mut accounts, &mut fx)?;
            fx.notify(trade.taker_id, format!("A trade offering you {} was withdrawn.", super::describe(&trade.give)));
            for nft in &give {
                uow.nfts().update(nft).await?;
            }
            uow.trades().update(&trade).await?;
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

    async fn cancel(tx: FakeTx, by: i64) -> (Result<Trade, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = CancelTradeCommand { maker: UserId(by), trade_id: trade().id, idempotency: None };
        let r = CancelTrade::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    fn open_trade() -> FakeTx {
        let mut tx = FakeTx::default();
        tx.trades.expect_lock().returning(|_| Ok(Some(trade())));
        tx
    }

    #[tokio::test]
    async fn cancelling_releases_the_hold_frees_the_nfts_and_tells_the_taker() {
        let mut tx = open_trade();
        tx.nfts.expect_lock_all().returning(|_| Ok(vec![nft_of(1, MAKER, NftStatus::InTrade)]));
        tx.nfts.expect_update().withf(|n| n.status == NftStatus::Available).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(MAKER, "0", "3")]));
        tx.accounts.expect_save().withf(|u| u.available == m("3") && u.held == m("0")).times(1).returning(|_| Ok(()));
        tx.trades.expect_update().withf(|t| t.status == TradeStatus::Cancelled).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        tx.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::Notify { user_id, .. } if user_id == UserId(TAKER)))
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = cancel(tx, MAKER).await;
        assert_eq!(r.unwrap().status, TradeStatus::Cancelled);
        assert!(committed);
        assert_eq!(entries.lines(), [(Some(MAKER), Account::Held, d("-3")), (Some(MAKER), Account::Available, d("3"))]);
    }

    #[tokio::test]
    async fn the_taker_cannot_cancel_and_strangers_see_nothing() {
        let (r, committed) = cancel(open_trade(), TAKER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotParty.into(), false));
        let (r, committed) = cancel(open_trade(), 9).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("trade"), false));
    }
}
