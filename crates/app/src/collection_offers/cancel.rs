//! Cancel one's collection offer, or expire one past its time (the job): what is left released.

use domain::ports::{AccountRepo, CollectionOfferRepo, LedgerRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "cancel_collection_offer";

crate::define_uow!(
    /// Closing: the offer, the offerer's funds, the ledger, the notice.
    CloseCollectionOfferUow {
        collection_offers: CollectionOfferRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
    }
);

#[derive(Clone, Debug)]
pub struct CancelCollectionOfferCommand {
    pub user: UserId,
    pub offer_id: CollectionOfferId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct CancelCollectionOffer {
    uows: Uows<dyn CloseCollectionOfferUow>,
    services: Services,
}

impl CancelCollectionOffer {
    pub fn new(uows: Uows<dyn CloseCollectionOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Offerer only, open only: `cancelled`, what is left released.
    #[tracing::instrument(level = "debug", name = "cancel_collection_offer", skip_all, fields(user = %cmd.user, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: CancelCollectionOfferCommand) -> Result<CollectionOffer, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CancelCollectionOfferCommand) -> Result<CollectionOffer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut offer =
                uow.collection_offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("collection offer"))?;
            if offer.user_id != cmd.user {
                return Err(RuleViolation::NotOwner.into());
            }
            if offer.status != CollectionOfferStatus::Open {
                return Err(RuleViolation::OfferNotOpen.into());
            }
            close(&mut *uow, &mut fx, &mut offer, CollectionOfferStatus::Cancelled).await?;
            Ok(offer)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

/// Closes `offer` (locked, open) with `status` and releases what it held.
pub(crate) async fn close(
    uow: &mut dyn CloseCollectionOfferUow,
    fx: &mut Effects<'_>,
    offer: &mut CollectionOffer,
    status: CollectionOfferStatus,
) -> Result<(), Error> {
    let held = offer.held();
    offer.close(status);
    let mut accounts = Accounts::lock(uow.accounts(), &[offer.user_id]).await?;
    accounts.payee(offer.user_id)?.release(held);
    fx.record(fx.posting(Operation::CollectionOfferRelease, offer.id).release(offer.user_id, held));
    if status == CollectionOfferStatus::Expired {
        fx.notify(
            offer.user_id,
            format!("Your collection offer for {} expired; {held} TON are back.", offer.criteria.collection),
        );
    }
    uow.collection_offers().update(offer).await?;
    accounts.save(uow.accounts()).await?;
    fx.write_ledger(uow.ledger()).await?;
    fx.write_outbox(uow.outbox()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn open(filled: u32) -> CollectionOffer {
        CollectionOffer {
            id: CollectionOfferId(uuid::Uuid::from_u128(7)),
            user_id: UserId(2),
            criteria: OfferCriteria { collection: "Plush Pepe".into(), ..Default::default() },
            price: m("10"),
            quantity: 3,
            filled,
            status: CollectionOfferStatus::Open,
            expires_at: now() + chrono::Duration::hours(1),
            created_at: now(),
        }
    }

    async fn run(tx: FakeTx, by: i64) -> (Result<CollectionOffer, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = CancelCollectionOfferCommand { user: UserId(by), offer_id: open(0).id, idempotency: None };
        (CancelCollectionOffer::new(store, services()).execute(cmd).await, committed.get())
    }

    #[tokio::test]
    async fn cancelling_releases_what_is_left() {
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(|_| Ok(Some(open(1))));
        tx.collection_offers
            .expect_update()
            .withf(|o| o.status == CollectionOfferStatus::Cancelled)
            .times(1)
            .returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(2, "0", "20")]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        tx.outbox = outbox_recording().0;
        let (r, committed) = run(tx, 2).await;
        assert_eq!((r.unwrap().status, committed), (CollectionOfferStatus::Cancelled, true));
        assert_eq!(saved.all(), [user(2, "20", "0")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Held, d("-20")), (Some(2), Account::Available, d("20"))]);
    }

    #[tokio::test]
    async fn only_the_offerer_cancels_and_only_an_open_offer() {
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(|_| Ok(Some(open(0))));
        let (r, committed) = run(tx, 3).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
        let mut filled = open(3);
        filled.status = CollectionOfferStatus::Filled;
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(move |_| Ok(Some(filled.clone())));
        let (r, committed) = run(tx, 2).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OfferNotOpen.into(), false));
    }
}
