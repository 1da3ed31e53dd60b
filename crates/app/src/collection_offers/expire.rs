//! The expiry job's step: an open collection offer past its expiry is closed and what it held
//! released. It can never be filled after that.

use domain::*;

use super::cancel::CloseCollectionOfferUow;
use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "expire_collection_offer";

pub struct ExpireCollectionOffer {
    uows: Uows<dyn CloseCollectionOfferUow>,
    services: Services,
}

impl ExpireCollectionOffer {
    pub fn new(uows: Uows<dyn CloseCollectionOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// `Ok(None)` when there was nothing to do (closed, or not yet due). Locked and re-checked,
    /// so several instances running the job act once.
    #[tracing::instrument(level = "debug", name = "expire_collection_offer", skip_all, fields(offer = %id))]
    pub async fn execute(&self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, Error> {
        self.services.run(NAME, || self.attempt(id)).await
    }

    async fn attempt(&self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut offer = uow.collection_offers().lock(id).await?.ok_or(Error::NotFound("collection offer"))?;
            if offer.status != CollectionOfferStatus::Open || fx.now < offer.expires_at {
                return Ok(None);
            }
            super::cancel::close(&mut *uow, &mut fx, &mut offer, CollectionOfferStatus::Expired).await?;
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

    fn offer_due(at: chrono::DateTime<chrono::Utc>, status: CollectionOfferStatus) -> CollectionOffer {
        CollectionOffer {
            id: CollectionOfferId(uuid::Uuid::from_u128(7)),
            user_id: UserId(2),
            criteria: OfferCriteria { collection: "Plush Pepe".into(), ..Default::default() },
            price: m("10"),
            quantity: 3,
            filled: 2,
            status,
            expires_at: at,
            created_at: at - chrono::Duration::days(1),
        }
    }

    async fn run(tx: FakeTx) -> (Option<CollectionOffer>, bool) {
        let (store, committed) = store(tx);
        let r = ExpireCollectionOffer::new(store, services())
            .execute(offer_due(now(), CollectionOfferStatus::Open).id)
            .await;
        (r.unwrap(), committed.get())
    }

    #[tokio::test]
    async fn a_due_offer_expires_and_releases_what_is_left() {
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(|_| Ok(Some(offer_due(now(), CollectionOfferStatus::Open))));
        tx.collection_offers.expect_update().times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(2, "0", "10")]);
        tx.accounts = accounts;
        tx.ledger = ledger_recording().0;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = run(tx).await;
        assert_eq!((r.unwrap().status, committed), (CollectionOfferStatus::Expired, true));
        assert_eq!(saved.all(), [user(2, "10", "0")]);
        assert_eq!(sent.notified(), [2]);
    }

    #[tokio::test]
    async fn a_live_or_closed_offer_is_left_alone() {
        for o in [
            offer_due(now() + chrono::Duration::hours(1), CollectionOfferStatus::Open),
            offer_due(now() - chrono::Duration::hours(1), CollectionOfferStatus::Cancelled),
        ] {
            let mut tx = FakeTx::default();
            tx.collection_offers.expect_lock().returning(move |_| Ok(Some(o.clone())));
            assert_eq!(run(tx).await, (None, false));
        }
    }
}
