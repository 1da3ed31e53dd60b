//! The deadline job's step: a presale past `deliver_by` without delivery.

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, PresaleRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "expire_presale";

crate::define_uow!(
    /// Expiring an overdue presale: the presale, buyer and seller funds.
    ExpirePresaleUow { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Copy, Debug)]
pub struct ExpirePresaleCommand {
    pub presale_id: PresaleId,
}

pub struct ExpirePresale {
    uows: Uows<dyn ExpirePresaleUow>,
    services: Services,
}

impl ExpirePresale {
    pub fn new(uows: Uows<dyn ExpirePresaleUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Sold: the buyer's hold is released and the buyer gets half the collateral, the fee account
    /// the other half. Unsold: the collateral goes back to the seller. `Ok(None)` when not due
    /// (already closed or not yet overdue).
    #[tracing::instrument(level = "debug", name = "expire_presale", skip_all, fields(presale = %cmd.presale_id))]
    pub async fn execute(&self, cmd: ExpirePresaleCommand) -> Result<Option<Presale>, Error> {
        self.services.run_locked(NAME, &lock::presale(cmd.presale_id), || self.attempt(cmd)).await
    }

    async fn attempt(&self, cmd: ExpirePresaleCommand) -> Result<Option<Presale>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut presale = uow.presales().lock(cmd.presale_id).await?.ok_or(Error::NotFound("presale"))?;
            if !presale.is_overdue(fx.now) {
                return Ok(None);
            }
            let (seller, collateral, price) = (presale.seller_id, presale.collateral, presale.price);
            let accounts = match presale.expire() {
                Some((buyer, to_buyer, to_fees)) => {
                    let mut accounts = Accounts::lock(uow.accounts(), &[buyer, seller]).await?;
                    accounts.payee(buyer)?.release(price);
                    accounts.payee(seller)?.take_held(collateral);
                    accounts.payee(buyer)?.credit(to_buyer);
                    fx.record(
                        fx.posting(Operation::PresaleForfeit, presale.id)
                            .release(buyer, price)
                            .transfer((Some(seller), Account::Held), (Some(buyer), Account::Available), to_buyer)
                            .transfer((Some(seller), Account::Held), (None, Account::Fees), to_fees),
                    );
                    fx.notify(
                        buyer,
                        format!(
                            "\"{}\" was not delivered in time: {price} TON back and {to_buyer} TON compensation.",
                            presale.title
                        ),
                    );
                    fx.notify(
                        seller,
                        format!(
                            "\"{}\" was not delivered in time: the collateral of {collateral} TON is forfeited.",
                            presale.title
                        ),
                    );
                    accounts
                }
                None => {
                    let mut accounts = Accounts::lock(uow.accounts(), &[seller]).await?;
                    accounts.payee(seller)?.release(collateral);
                    fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(seller, collateral));
                    fx.notify(
                        seller,
                        format!("Your unsold presale \"{}\" expired; the collateral is released.", presale.title),
                    );
                    accounts
                }
            };
            accounts.save(uow.accounts()).await?;
            uow.presales().update(&presale).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Some(presale))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presales::fixtures::presale;
    use crate::testing::*;

    async fn expire(tx: FakeTx) -> (Option<Presale>, bool) {
        let (store, committed) = store(tx);
        let r =
            ExpirePresale::new(store, services()).execute(ExpirePresaleCommand { presale_id: presale(None).id }).await;
        (r.unwrap(), committed.get())
    }

    #[tokio::test]
    async fn the_deadline_refunds_the_buyer_with_half_the_collateral() {
        let mut overdue = presale(Some(2));
        overdue.deliver_by = now();
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(move |_| Ok(Some(overdue.clone())));
        tx.presales.expect_update().withf(|p| p.status == PresaleStatus::Expired).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "4"), user(2, "0", "20")]));
        tx.accounts
            .expect_save()
            .withf(
                |u| if u.id == UserId(2) { u.available == m("22") } else { u.held == m("0") && u.available == m("0") },
            )
            .times(2)
            .returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        let (r, committed) = expire(tx).await;
        assert_eq!(r.unwrap().status, PresaleStatus::Expired);
        assert!(committed);
    }

    #[tokio::test]
    async fn the_deadline_of_a_sold_presale_forfeits_the_collateral_exactly() {
        let mut overdue = presale(Some(2));
        overdue.deliver_by = now();
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(move |_| Ok(Some(overdue.clone())));
        tx.presales.expect_update().withf(|p| p.status == PresaleStatus::Expired).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(1, "1", "4"), user(2, "0", "20")]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = expire(tx).await;
        assert_eq!(r.unwrap().status, PresaleStatus::Expired);
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "1", "0"), user(2, "22", "0")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(2), Account::Held, d("-20")),
                (Some(2), Account::Available, d("22")),
                (Some(1), Account::Held, d("-4")),
                (None, Account::Fees, d("2")),
            ]
        );
        assert_eq!(sent.notified(), [2, 1]);
    }

    #[tokio::test]
    async fn the_deadline_of_an_unsold_presale_releases_the_collateral() {
        let mut overdue = presale(None);
        overdue.deliver_by = now();
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(move |_| Ok(Some(overdue.clone())));
        tx.presales.expect_update().withf(|p| p.status == PresaleStatus::Expired).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(1, "1", "4")]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = expire(tx).await;
        assert_eq!(r.unwrap().status, PresaleStatus::Expired);
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "5", "0")]);
        assert_eq!(entries.lines(), [(Some(1), Account::Held, d("-4")), (Some(1), Account::Available, d("4"))]);
        assert_eq!(sent.notified(), [1]);
    }

    #[tokio::test]
    async fn a_presale_not_yet_due_is_left_alone() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        assert_eq!(expire(tx).await, (None, false), "not due: nothing written");
    }
}
