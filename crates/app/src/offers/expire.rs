//! The expiry job's step (the seed's `clear_old_offers`): an open offer past its expiry is
//! closed and its hold released.

use domain::ports::{AccountRepo, LedgerRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "expire_offer";

crate::define_uow!(
    /// Expiring: the offer, the offerer's funds, the notice.
    ExpireOfferUow { offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Copy, Debug)]
pub struct ExpireOfferCommand {
    pub offer_id: OfferId,
}

pub struct ExpireOffer {
    uows: Uows<dyn ExpireOfferUow>,
    services: Services,
}

impl ExpireOffer {
    pub fn new(uows: Uows<dyn ExpireOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// `Ok(None)` when there was nothing to do: already closed, or not yet due. The offer row is
    /// locked and re-checked, so several instances running the job act once.
    #[tracing::instrument(level = "debug", name = "expire_offer", skip_all, fields(offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: ExpireOfferCommand) -> Result<Option<Offer>, Error> {
        self.services.run(NAME, || self.attempt(cmd)).await
    }

    async fn attempt(&self, cmd: ExpireOfferCommand) -> Result<Option<Offer>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut offer = uow.offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?;
            if offer.status != OfferStatus::Open || fx.now < offer.expires_at {
                return Ok(None);
            }
            let offerer = offer.offerer_id;
            offer.close(OfferStatus::Expired);
            fx.notify(offerer, format!("Your offer of {} TON expired; the funds are back.", offer.price));
            let mut accounts = Accounts::lock(uow.accounts(), &[offerer]).await?;
            accounts.payee(offerer)?.release(offer.price);
            fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offerer, offer.price));
            accounts.save(uow.accounts()).await?;
            uow.offers().update(&offer).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Some(offer))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    async fn expire(tx: FakeTx) -> (Option<Offer>, bool) {
        let (store, committed) = store(tx);
        let r = ExpireOffer::new(store, services()).execute(ExpireOfferCommand { offer_id: offer(2, "10").id }).await;
        (r.unwrap(), committed.get())
    }

    #[tokio::test]
    async fn expiry_skips_a_live_offer_without_committing() {
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        assert_eq!(expire(tx).await, (None, false));
    }

    #[tokio::test]
    async fn an_expired_offer_is_closed_and_the_hold_released() {
        let mut due = offer(2, "10");
        due.expires_at = now();
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(move |_| Ok(Some(due.clone())));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Expired).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(2, "1", "10")]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = expire(tx).await;
        assert_eq!(r.unwrap().status, OfferStatus::Expired);
        assert!(committed);
        assert_eq!(saved.all(), [user(2, "11", "0")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Held, d("-10")), (Some(2), Account::Available, d("10"))]);
        assert_eq!(sent.notified(), [2]);
    }

    #[tokio::test]
    async fn a_closed_offer_past_its_expiry_is_left_alone() {
        let mut closed = offer(2, "10");
        closed.expires_at = now() - chrono::Duration::days(1);
        closed.status = OfferStatus::Accepted;
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(move |_| Ok(Some(closed.clone())));
        assert_eq!(expire(tx).await, (None, false));
    }
}
