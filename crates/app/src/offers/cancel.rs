//! The offerer withdraws an open offer.

use domain::ports::{AccountRepo, LedgerRepo, OfferRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "cancel_offer";

crate::define_uow!(
    /// Cancelling: the offer and the offerer's funds.
    CancelOfferUow { offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct CancelOfferCommand {
    pub offerer: UserId,
    pub offer_id: OfferId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct CancelOffer {
    uows: Uows<dyn CancelOfferUow>,
    services: Services,
}

impl CancelOffer {
    pub fn new(uows: Uows<dyn CancelOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Offerer only, open offer: `cancelled`, the hold released.
    #[tracing::instrument(level = "debug", name = "cancel_offer", skip_all, fields(offerer = %cmd.offerer, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: CancelOfferCommand) -> Result<Offer, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CancelOfferCommand) -> Result<Offer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut offer = uow.offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?;
            if offer.offerer_id != cmd.offerer {
                return Err(RuleViolation::NotOwner.into());
            }
            if offer.status != OfferStatus::Open {
                return Err(RuleViolation::OfferNotOpen.into());
            }
            offer.close(OfferStatus::Cancelled);
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.offerer]).await?;
            accounts.payee(cmd.offerer)?.release(offer.price);
            fx.record(fx.posting(Operation::OfferRelease, offer.id).release(cmd.offerer, offer.price));
            accounts.save(uow.accounts()).await?;
            uow.offers().update(&offer).await?;
            fx.write_ledger(uow.ledger()).await?;
            Ok(offer)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    async fn cancel(tx: FakeTx, by: i64) -> (Result<Offer, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = CancelOfferCommand { offerer: UserId(by), offer_id: offer(2, "10").id, idempotency: None };
        let r = CancelOffer::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn cancel_by_the_offerer_releases_the_hold_and_commits() {
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(2, "1", "10")]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (r, committed) = cancel(tx, 2).await;
        assert_eq!(r.unwrap().status, OfferStatus::Cancelled);
        assert!(committed);
        assert_eq!(saved.all(), [user(2, "11", "0")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Held, d("-10")), (Some(2), Account::Available, d("10"))]);
    }

    #[tokio::test]
    async fn a_closed_offer_cannot_be_cancelled() {
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(|_| {
            let mut closed = offer(2, "10");
            closed.status = OfferStatus::Expired;
            Ok(Some(closed))
        });
        let (r, committed) = cancel(tx, 2).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OfferNotOpen.into(), false));
    }

    #[tokio::test]
    async fn cancel_by_anyone_else_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        let (r, committed) = cancel(tx, 3).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
    }
}
