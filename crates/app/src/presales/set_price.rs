//! Change the price of one's unsold presale; the collateral follows the price.

use domain::ports::{AccountRepo, LedgerRepo, PresaleRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "set_presale_price";

crate::define_uow!(
    /// Repricing: the presale and the seller's collateral.
    SetPresalePriceUow { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct SetPresalePriceCommand {
    pub seller: UserId,
    pub presale_id: PresaleId,
    pub price: Money,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct SetPresalePrice {
    uows: Uows<dyn SetPresalePriceUow>,
    services: Services,
    collateral_percent: u32,
}

impl SetPresalePrice {
    pub fn new(uows: Uows<dyn SetPresalePriceUow>, services: Services, collateral_percent: u32) -> Self {
        Self { uows, services, collateral_percent }
    }

    /// Seller only, while unsold: new price, and the collateral re-held at the new price.
    #[tracing::instrument(level = "debug", name = "set_presale_price", skip_all, fields(seller = %cmd.seller, presale = %cmd.presale_id))]
    pub async fn execute(&self, cmd: SetPresalePriceCommand) -> Result<Presale, Error> {
        self.services.run_locked(NAME, &lock::presale(cmd.presale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SetPresalePriceCommand) -> Result<Presale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut presale = uow.presales().lock(cmd.presale_id).await?.ok_or(Error::NotFound("presale"))?;
            let before = presale.reprice(cmd.seller, cmd.price, self.collateral_percent, fx.now)?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.seller]).await?;
            super::adjust_collateral(&mut accounts, &mut fx, presale.id, cmd.seller, before, presale.collateral)?;
            uow.presales().update(&presale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            Ok(presale)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presales::fixtures::presale;
    use crate::testing::*;

    async fn reprice(tx: FakeTx, price: &str) -> (Result<Presale, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = SetPresalePriceCommand {
            seller: UserId(1),
            presale_id: presale(None).id,
            price: m(price),
            idempotency: None,
        };
        let r = SetPresalePrice::new(store, services(), 20).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn repricing_re_holds_the_collateral_and_commits() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        tx.presales.expect_update().withf(|p| p.collateral == m("6")).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "4")]));
        tx.accounts.expect_save().withf(|u| u.available == m("8") && u.held == m("6")).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (r, committed) = reprice(tx, "30").await;
        assert_eq!(r.unwrap().price, m("30"));
        assert!(committed);
        assert_eq!(entries.lines(), [(Some(1), Account::Available, d("-2")), (Some(1), Account::Held, d("2"))]);
    }

    #[tokio::test]
    async fn a_sold_presale_cannot_be_repriced() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        let (r, committed) = reprice(tx, "5").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::PresaleSold.into(), false));
    }
}
