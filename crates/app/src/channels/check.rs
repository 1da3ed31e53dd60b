//! The confirmation and deadline job's step for one sale awaiting transfer: released when
//! Telegram shows the buyer as the creator; refunded once past `transfer_by` otherwise.

use std::sync::Arc;

use domain::ports::ChannelDirectory;
use domain::ports::{AccountRepo, ChannelSaleRepo, LedgerRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "check_channel_sale";

crate::define_uow!(
    /// Checking: the sale, both parties' funds, the ledger, the notices.
    CheckChannelSaleUow { channel_sales: ChannelSaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Copy, Debug)]
pub struct CheckChannelSaleCommand {
    pub sale_id: ChannelSaleId,
}

pub struct CheckChannelSale {
    uows: Uows<dyn CheckChannelSaleUow>,
    services: Services,
    fees: FeeRule,
    directory: Arc<dyn ChannelDirectory>,
}

impl CheckChannelSale {
    pub fn new(
        uows: Uows<dyn CheckChannelSaleUow>,
        services: Services,
        fees: FeeRule,
        directory: Arc<dyn ChannelDirectory>,
    ) -> Self {
        Self { uows, services, fees, directory }
    }

    /// `Ok(None)` when nothing changed (not awaiting transfer any more, or the buyer does not own
    /// the channel yet and the deadline has not passed). Telegram is asked outside any Unit of
    /// Work; the second one re-locks the sale, so several instances settle it exactly once. When
    /// Telegram cannot answer nothing is refunded: the next pass asks again.
    #[tracing::instrument(level = "debug", name = "check_channel_sale", skip_all, fields(sale = %cmd.sale_id))]
    pub async fn execute(&self, cmd: CheckChannelSaleCommand) -> Result<Option<ChannelSale>, Error> {
        let Some(seen) = self.services.run(NAME, || self.read(cmd.sale_id)).await? else { return Ok(None) };
        let owner = super::owner_now(&*self.directory, &seen).await?;
        self.services.run_locked(NAME, &lock::channel_sale(cmd.sale_id), || self.settle(&seen, owner)).await
    }

    async fn read(&self, id: ChannelSaleId) -> Result<Option<ChannelSale>, Error> {
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let sale = uow.channel_sales().lock(id).await?.ok_or(Error::NotFound("channel sale"))?;
            Ok(sale.awaiting_buyer().is_ok().then_some(sale))
        }
        .await;
        crate::uow::finish(uow, done).await
    }

    async fn settle(&self, seen: &ChannelSale, owner: Option<UserId>) -> Result<Option<ChannelSale>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut sale = uow.channel_sales().lock(seen.id).await?.ok_or(Error::NotFound("channel sale"))?;
            let Ok(buyer) = sale.awaiting_buyer() else {
                return Ok(None);
            };
            let transferred = owner == Some(buyer) && seen.buyer_id == Some(buyer);
            if !transferred && !sale.is_overdue(fx.now) {
                return Ok(None);
            }
            let mut accounts = Accounts::lock(uow.accounts(), &[buyer, sale.seller_id]).await?;
            if transferred {
                super::complete(&mut sale, &mut accounts, &mut fx, self.fees)?;
            } else {
                super::refund(&mut sale, &mut accounts, &mut fx)?;
            }
            uow.channel_sales().update(&sale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Some(sale))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::fixtures::*;
    use crate::testing::*;

    fn reading(sale: ChannelSale) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(sale.clone())));
        tx
    }

    /// Settling `sale` to `to` (the seller has nothing, the buyer 100 in escrow), and what it
    /// saves of the accounts and writes to the ledger.
    fn settling(sale: ChannelSale, to: ChannelSaleStatus) -> (FakeTx, Written<User>, Written<LedgerEntry>) {
        let mut tx = reading(sale);
        let (accounts, saved) = accounts_saving(vec![user(SELLER, "0", "0"), user(BUYER, "0", "100")]);
        tx.accounts = accounts;
        tx.channel_sales.expect_update().withf(move |s| s.status == to).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        tx.outbox.expect_enqueue().times(2).returning(|_| Ok(()));
        (tx, saved, entries)
    }

    async fn check(txs: Vec<FakeTx>, owner: Option<i64>) -> (Option<ChannelSale>, Vec<bool>) {
        let (store, committed) = stores(txs);
        let uc = CheckChannelSale::new(store, services(), FeeRule::new(500), directory(owner));
        let r = uc.execute(CheckChannelSaleCommand { sale_id: sold().id }).await.unwrap();
        (r, committed.iter().map(|c| c.get()).collect())
    }

    #[tokio::test]
    async fn a_transferred_channel_is_released_to_the_seller() {
        let (settle, saved, entries) = settling(sold(), ChannelSaleStatus::Completed);
        let (r, committed) = check(vec![reading(sold()), settle], Some(BUYER)).await;
        assert_eq!(r.unwrap().status, ChannelSaleStatus::Completed);
        assert_eq!(committed, [true, true]);
        assert_eq!(saved.all(), [user(SELLER, "95", "0"), user(BUYER, "0", "0")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(BUYER), Account::Held, d("-100")),
                (Some(SELLER), Account::Available, d("95")),
                (None, Account::Fees, d("5")),
            ]
        );
    }

    #[tokio::test]
    async fn before_the_deadline_an_untransferred_channel_waits() {
        let (r, committed) = check(vec![reading(sold()), reading(sold())], Some(SELLER)).await;
        assert_eq!((r, committed), (None, vec![true, false]));
    }

    #[tokio::test]
    async fn past_the_deadline_the_buyer_is_refunded() {
        let mut overdue = sold();
        overdue.transfer_by = Some(now());
        let (settle, saved, entries) = settling(overdue.clone(), ChannelSaleStatus::Refunded);
        let (r, committed) = check(vec![reading(overdue), settle], Some(SELLER)).await;
        assert_eq!(r.unwrap().status, ChannelSaleStatus::Refunded);
        assert_eq!(committed, [true, true]);
        assert_eq!(saved.all(), [user(SELLER, "0", "0"), user(BUYER, "100", "0")]);
        assert_eq!(
            entries.lines(),
            [(Some(BUYER), Account::Held, d("-100")), (Some(BUYER), Account::Available, d("100"))]
        );
    }

    #[tokio::test]
    async fn an_owner_seen_for_another_buyer_settles_nothing() {
        // Telegram was asked about the sale bought by BUYER; meanwhile it awaits user 3, who owns
        // the channel now: that answer was not about this purchase.
        let mut resold = sold();
        resold.buyer_id = Some(UserId(3));
        let (r, committed) = check(vec![reading(sold()), reading(resold)], Some(3)).await;
        assert_eq!((r, committed), (None, vec![true, false]));
    }

    #[tokio::test]
    async fn when_telegram_cannot_answer_nothing_is_refunded() {
        let mut overdue = sold();
        overdue.transfer_by = Some(now());
        let mut d = domain::ports::MockChannelDirectory::new();
        d.expect_inspect().times(1).returning(|_, _| {
            Err(domain::ports::DirectoryError::Unavailable { retry_after: None, reason: "down".into() })
        });
        let (store, committed) = stores(vec![reading(overdue)]);
        let uc = CheckChannelSale::new(store, services(), FeeRule::new(500), std::sync::Arc::new(d));
        let r = uc.execute(CheckChannelSaleCommand { sale_id: sold().id }).await;
        assert_eq!(r, Err(Error::Dependency("Telegram")));
        assert!(committed[0].get());
    }

    #[tokio::test]
    async fn a_sale_no_longer_awaiting_is_left_alone() {
        let (r, _) = check(vec![reading(listed())], Some(BUYER)).await;
        assert_eq!(r, None);
    }
}
