//! The expiry job's step: an open trade past its expiry is closed and the maker's hold released.

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OutboxRepo, TradeRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "expire_trade";

crate::define_uow!(
    /// Expiring: the trade, the offered NFTs, the maker's hold, the notices.
    ExpireTradeUow { trades: TradeRepo, nfts: NftRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Copy, Debug)]
pub struct ExpireTradeCommand {
    pub trade_id: TradeId,
}

pub struct ExpireTrade {
    uows: Uows<dyn ExpireTradeUow>,
    services: Services,
}

impl ExpireTrade {
    pub fn new(uows: Uows<dyn ExpireTradeUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// `Ok(None)` when there is nothing to do (closed meanwhile, or not yet due): the trade row is
    /// locked and re-checked, so several instances expire it once.
    #[tracing::instrument(level = "debug", name = "expire_trade", skip_all, fields(trade = %cmd.trade_id))]
    pub async fn execute(&self, cmd: ExpireTradeCommand) -> Result<Option<Trade>, Error> {
        self.services.run_locked(NAME, &lock::trade(cmd.trade_id), || self.attempt(cmd)).await
    }

    async fn attempt(&self, cmd: ExpireTradeCommand) -> Result<Option<Trade>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut trade = uow.trades().lock(cmd.trade_id).await?.ok_or(Error::NotFound("trade"))?;
            if trade.status != TradeStatus::Open || fx.now < trade.expires_at {
                return Ok(None);
            }
            let mut give = uow.nfts().lock_all(&trade.give.nft_ids).await?;
            let mut accounts = Accounts::lock(uow.accounts(), &[trade.maker_id]).await?;
            super::unwind(&mut trade, TradeStatus::Expired, &mut give, &mut accounts, &mut fx)?;
            let what = super::describe(&trade.give);
            fx.notify(trade.maker_id, format!("Your trade offering {what} expired; everything is yours again."));
            fx.notify(trade.taker_id, format!("A trade offering you {what} expired."));
            for nft in &give {
                uow.nfts().update(nft).await?;
            }
            uow.trades().update(&trade).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Some(trade))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::trades::fixtures::*;

    async fn expire(tx: FakeTx) -> (Option<Trade>, bool) {
        let (store, committed) = store(tx);
        let r = ExpireTrade::new(store, services()).execute(ExpireTradeCommand { trade_id: trade().id }).await;
        (r.unwrap(), committed.get())
    }

    #[tokio::test]
    async fn a_live_trade_is_left_alone() {
        let mut tx = FakeTx::default();
        tx.trades.expect_lock().returning(|_| Ok(Some(trade())));
        assert_eq!(expire(tx).await, (None, false));
    }

    #[tokio::test]
    async fn a_trade_past_its_expiry_is_expired_and_released() {
        let mut due = trade();
        due.expires_at = now();
        let mut tx = FakeTx::default();
        tx.trades.expect_lock().returning(move |_| Ok(Some(due.clone())));
        tx.nfts
            .expect_lock_all()
            .withf(|ids| ids == [nft_of(1, MAKER, NftStatus::InTrade).id])
            .returning(|_| Ok(vec![nft_of(1, MAKER, NftStatus::InTrade)]));
        tx.nfts.expect_update().withf(|n| n.status == NftStatus::Available).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(MAKER, "0", "3")]);
        tx.accounts = accounts;
        tx.trades.expect_update().withf(|t| t.status == TradeStatus::Expired).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = expire(tx).await;
        assert_eq!(r.unwrap().status, TradeStatus::Expired);
        assert!(committed);
        assert_eq!(saved.all(), [user(MAKER, "3", "0")]);
        assert_eq!(entries.lines(), [(Some(MAKER), Account::Held, d("-3")), (Some(MAKER), Account::Available, d("3"))]);
        assert_eq!(sent.notified(), [MAKER, TAKER]);
    }

    #[tokio::test]
    async fn a_closed_trade_past_its_expiry_is_left_alone() {
        let mut closed = trade();
        closed.expires_at = now() - chrono::Duration::days(1);
        closed.status = TradeStatus::Accepted;
        let mut tx = FakeTx::default();
        tx.trades.expect_lock().returning(move |_| Ok(Some(closed.clone())));
        assert_eq!(expire(tx).await, (None, false));
    }
}
