//! Withdraw one's unsold presale; the collateral is released.

use domain::ports::{AccountRepo, LedgerRepo, PresaleRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "delete_presale";

crate::define_uow!(
    /// Deleting: the presale and the seller's collateral.
    DeletePresaleUow { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct DeletePresaleCommand {
    pub seller: UserId,
    pub presale_id: PresaleId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct DeletePresale {
    uows: Uows<dyn DeletePresaleUow>,
    services: Services,
}

impl DeletePresale {
    pub fn new(uows: Uows<dyn DeletePresaleUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Seller only, while unsold: `deleted`, the collateral released.
    #[tracing::instrument(level = "debug", name = "delete_presale", skip_all, fields(seller = %cmd.seller, presale = %cmd.presale_id))]
    pub async fn execute(&self, cmd: DeletePresaleCommand) -> Result<Presale, Error> {
        self.services.run_locked(NAME, &lock::presale(cmd.presale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &DeletePresaleCommand) -> Result<Presale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut presale = uow.presales().lock(cmd.presale_id).await?.ok_or(Error::NotFound("presale"))?;
            let before = presale.delete(cmd.seller, fx.now)?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.seller]).await?;
            super::adjust_collateral(&mut accounts, &mut fx, presale.id, cmd.seller, before, Money::ZERO)?;
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

    async fn delete(tx: FakeTx) -> (Result<Presale, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = DeletePresaleCommand { seller: UserId(1), presale_id: presale(None).id, idempotency: None };
        let r = DeletePresale::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn deleting_releases_the_collateral_and_commits() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        tx.presales.expect_update().withf(|p| p.status == PresaleStatus::Deleted).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "6", "4")]));
        tx.accounts.expect_save().withf(|u| u.available == m("10") && u.held == m("0")).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (r, committed) = delete(tx).await;
        assert_eq!(r.unwrap().status, PresaleStatus::Deleted);
        assert!(committed);
        assert_eq!(entries.lines(), [(Some(1), Account::Held, d("-4")), (Some(1), Account::Available, d("4"))]);
    }

    #[tokio::test]
    async fn a_sold_presale_cannot_be_deleted() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        let (r, committed) = delete(tx).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::PresaleSold.into(), false));
    }
}
