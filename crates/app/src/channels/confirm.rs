//! A party confirms a channel sale: the buyer's word releases the escrow at once; the seller's
//! releases it only when Telegram shows the buyer as the channel's creator.

use std::sync::Arc;

use domain::ports::ChannelDirectory;
use domain::ports::{AccountRepo, ChannelSaleRepo, LedgerRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "confirm_channel_sale";

crate::define_uow!(
    /// Confirming: the sale, both parties' funds, the ledger, the notices.
    ConfirmChannelSaleUow { channel_sales: ChannelSaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct ConfirmChannelSaleCommand {
    pub by: UserId,
    pub sale_id: ChannelSaleId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct ConfirmChannelSale {
    uows: Uows<dyn ConfirmChannelSaleUow>,
    services: Services,
    fees: FeeRule,
    directory: Arc<dyn ChannelDirectory>,
}

/// What the first Unit of Work found.
enum Step {
    Done(ChannelSale),
    /// The seller asked: Telegram must say who owns the channel now.
    AskTelegram(ChannelSale),
}

impl ConfirmChannelSale {
    pub fn new(
        uows: Uows<dyn ConfirmChannelSaleUow>,
        services: Services,
        fees: FeeRule,
        directory: Arc<dyn ChannelDirectory>,
    ) -> Self {
        Self { uows, services, fees, directory }
    }

    /// Parties only (others: not found), while awaiting transfer (else `channel_sale_closed`).
    /// Returns the sale: `completed`, or unchanged when the seller asked and the buyer does not
    /// own the channel yet. Telegram is asked between two Units of Work, never inside one.
    #[tracing::instrument(level = "debug", name = "confirm_channel_sale", skip_all, fields(by = %cmd.by, sale = %cmd.sale_id))]
    pub async fn execute(&self, cmd: ConfirmChannelSaleCommand) -> Result<ChannelSale, Error> {
        let key = lock::channel_sale(cmd.sale_id);
        let sale = match self.services.run_locked(NAME, &key, || self.first(&cmd)).await? {
            Step::Done(sale) => return Ok(sale),
            Step::AskTelegram(sale) => sale,
        };
        let buyer = sale.awaiting_buyer()?;
        if super::owner_now(&*self.directory, &sale).await? != Some(buyer) {
            return Ok(sale);
        }
        self.services.run_locked(NAME, &key, || self.release_if_still_awaiting(&sale)).await
    }

    async fn first(&self, cmd: &ConfirmChannelSaleCommand) -> Result<Step, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut sale = super::lock_visible(uow.channel_sales(), cmd.sale_id, cmd.by).await?;
            let buyer = sale.awaiting_buyer()?;
            if cmd.by != buyer {
                return Ok(Step::AskTelegram(sale));
            }
            let mut accounts = Accounts::lock(uow.accounts(), &[buyer, sale.seller_id]).await?;
            super::complete(&mut sale, &mut accounts, &mut fx, self.fees)?;
            uow.channel_sales().update(&sale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Step::Done(sale))
        }
        .await;
        crate::uow::finish(uow, done).await
    }

    /// Telegram says the buyer owns the channel: release, unless the sale closed meanwhile.
    async fn release_if_still_awaiting(&self, seen: &ChannelSale) -> Result<ChannelSale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut sale = uow.channel_sales().lock(seen.id).await?.ok_or(Error::NotFound("channel sale"))?;
            if sale.awaiting_buyer()? != seen.awaiting_buyer()? {
                return Err(RuleViolation::ChannelSaleClosed.into());
            }
            let mut accounts = Accounts::lock(uow.accounts(), &[sale.awaiting_buyer()?, sale.seller_id]).await?;
            super::complete(&mut sale, &mut accounts, &mut fx, self.fees)?;
            uow.channel_sales().update(&sale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(sale)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::fixtures::*;
    use crate::testing::*;

    fn completing(tx: &mut FakeTx) {
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(SELLER, "0", "0"), user(BUYER, "0", "100")]));
        tx.accounts
            .expect_save()
            .withf(|u| if u.id == UserId(SELLER) { u.available == m("95") } else { u.held == m("0") })
            .times(2)
            .returning(|_| Ok(()));
        tx.channel_sales
            .expect_update()
            .withf(|s| s.status == ChannelSaleStatus::Completed)
            .times(1)
            .returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox.expect_enqueue().times(2).returning(|_| Ok(()));
    }

    fn cmd(by: i64) -> ConfirmChannelSaleCommand {
        ConfirmChannelSaleCommand { by: UserId(by), sale_id: sold().id, idempotency: None }
    }

    #[tokio::test]
    async fn the_buyers_confirmation_releases_the_escrow_at_once() {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        completing(&mut tx);
        let (store, committed) = store(tx);
        let uc = ConfirmChannelSale::new(store, services(), FeeRule::new(500), directory(None));
        assert_eq!(uc.execute(cmd(BUYER)).await.unwrap().status, ChannelSaleStatus::Completed);
        assert!(committed.get());
    }

    #[tokio::test]
    async fn the_sellers_confirmation_changes_nothing_until_the_buyer_owns_the_channel() {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        let (store, _) = store(tx);
        let uc = ConfirmChannelSale::new(store, services(), FeeRule::new(500), directory(Some(SELLER)));
        assert_eq!(uc.execute(cmd(SELLER)).await.unwrap().status, ChannelSaleStatus::AwaitingTransfer);
    }

    #[tokio::test]
    async fn the_sellers_confirmation_releases_once_telegram_shows_the_buyer_as_creator() {
        let mut read = FakeTx::default();
        read.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        let mut release = FakeTx::default();
        release.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        completing(&mut release);
        let (store, committed) = stores(vec![read, release]);
        let uc = ConfirmChannelSale::new(store, services(), FeeRule::new(500), directory(Some(BUYER)));
        assert_eq!(uc.execute(cmd(SELLER)).await.unwrap().status, ChannelSaleStatus::Completed);
        assert!(committed[1].get(), "released in a Unit of Work of its own, after asking Telegram");
    }

    #[tokio::test]
    async fn a_sale_closed_while_telegram_was_asked_is_not_released() {
        let mut read = FakeTx::default();
        read.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        let mut release = FakeTx::default();
        release.channel_sales.expect_lock().returning(|_| {
            let mut done = sold();
            done.status = ChannelSaleStatus::Completed;
            Ok(Some(done))
        });
        let (store, committed) = stores(vec![read, release]);
        let uc = ConfirmChannelSale::new(store, services(), FeeRule::new(500), directory(Some(BUYER)));
        assert_eq!(uc.execute(cmd(SELLER)).await.unwrap_err(), RuleViolation::ChannelSaleClosed.into());
        assert!(!committed[1].get());
    }

    #[tokio::test]
    async fn a_sale_bought_by_someone_else_meanwhile_is_not_released() {
        let mut read = FakeTx::default();
        read.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        let mut release = FakeTx::default();
        release.channel_sales.expect_lock().returning(|_| {
            let mut other = sold();
            other.buyer_id = Some(UserId(3));
            Ok(Some(other))
        });
        let (store, committed) = stores(vec![read, release]);
        let uc = ConfirmChannelSale::new(store, services(), FeeRule::new(500), directory(Some(BUYER)));
        assert_eq!(uc.execute(cmd(SELLER)).await.unwrap_err(), RuleViolation::ChannelSaleClosed.into());
        assert!(!committed[1].get());
    }

    #[tokio::test]
    async fn strangers_see_nothing_and_a_closed_sale_cannot_be_confirmed() {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(|_| Ok(Some(sold())));
        let (fake, committed) = store(tx);
        let uc = ConfirmChannelSale::new(fake, services(), FeeRule::new(500), directory(None));
        assert_eq!((uc.execute(cmd(9)).await.unwrap_err(), committed.get()), (Error::NotFound("channel sale"), false));

        let mut done = sold();
        done.status = ChannelSaleStatus::Completed;
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(done.clone())));
        let (store, committed) = store(tx);
        let uc = ConfirmChannelSale::new(store, services(), FeeRule::new(500), directory(None));
        assert_eq!(
            (uc.execute(cmd(BUYER)).await.unwrap_err(), committed.get()),
            (RuleViolation::ChannelSaleClosed.into(), false)
        );
    }
}
