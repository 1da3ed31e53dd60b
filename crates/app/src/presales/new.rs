//! Put up a presale: a gift the seller will deliver later, backed by collateral.

use chrono::{DateTime, Utc};
use domain::ports::{AccountRepo, LedgerRepo, PresaleRepo};
use domain::presale::collateral_for;
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "new_presale";

crate::define_uow!(
    /// Creating a presale: the presale and the seller's collateral.
    NewPresaleUow { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct NewPresaleCommand {
    pub seller: UserId,
    pub title: String,
    pub collection: String,
    pub price: Money,
    /// 1 hour – 60 days ahead (checked at the edge).
    pub deliver_by: DateTime<Utc>,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct NewPresale {
    uows: Uows<dyn NewPresaleUow>,
    services: Services,
    collateral_percent: u32,
}

impl NewPresale {
    pub fn new(uows: Uows<dyn NewPresaleUow>, services: Services, collateral_percent: u32) -> Self {
        Self { uows, services, collateral_percent }
    }

    /// Creates the presale and holds the collateral from the seller.
    #[tracing::instrument(level = "debug", name = "new_presale", skip_all, fields(seller = %cmd.seller))]
    pub async fn execute(&self, cmd: NewPresaleCommand) -> Result<Presale, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &NewPresaleCommand) -> Result<Presale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let collateral = collateral_for(cmd.price, self.collateral_percent);
            let presale = Presale {
                id: self.services.new_id(),
                seller_id: cmd.seller,
                title: cmd.title.clone(),
                collection: cmd.collection.clone(),
                price: cmd.price,
                collateral,
                deliver_by: cmd.deliver_by,
                buyer_id: None,
                status: PresaleStatus::Open,
                nft_id: None,
                created_at: fx.now,
            };
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.seller]).await?;
            accounts.payer(cmd.seller)?.hold(collateral)?;
            uow.presales().insert(&presale).await?;
            fx.record(fx.posting(Operation::CollateralHold, presale.id).hold(cmd.seller, collateral));
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
    use crate::testing::*;

    fn cmd() -> NewPresaleCommand {
        NewPresaleCommand {
            seller: UserId(1),
            title: "Cake".into(),
            collection: "cakes".into(),
            price: m("20"),
            deliver_by: now() + chrono::Duration::days(1),
            idempotency: None,
        }
    }

    #[tokio::test]
    async fn creating_a_presale_holds_the_collateral_and_commits() {
        let mut tx = FakeTx::default();
        tx.presales.expect_insert().withf(|p| p.collateral == m("4")).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "0")]));
        tx.accounts.expect_save().withf(|u| u.held == m("4")).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (store, committed) = store(tx);
        let p = NewPresale::new(store, services(), 20).execute(cmd()).await.unwrap();
        assert_eq!((p.status, p.collateral, p.seller_id), (PresaleStatus::Open, m("4"), UserId(1)));
        assert!(committed.get());
        assert_eq!(entries.lines(), [(Some(1), Account::Available, d("-4")), (Some(1), Account::Held, d("4"))]);
    }

    #[tokio::test]
    async fn a_seller_without_the_collateral_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "3", "0")]));
        let (store, committed) = store(tx);
        let e = NewPresale::new(store, services(), 20).execute(cmd()).await.unwrap_err();
        assert_eq!((e, committed.get()), (RuleViolation::InsufficientFunds.into(), false));
    }
}
