//! Change the price of one's collection offer.

use domain::ports::{AccountRepo, CollectionOfferRepo, LedgerRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "set_collection_offer_price";

crate::define_uow!(
    /// Repricing: the offer, the offerer's funds, the ledger.
    SetCollectionOfferPriceUow { collection_offers: CollectionOfferRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct SetCollectionOfferPriceCommand {
    pub user: UserId,
    pub offer_id: CollectionOfferId,
    pub price: Money,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct SetCollectionOfferPrice {
    uows: Uows<dyn SetCollectionOfferPriceUow>,
    services: Services,
}

impl SetCollectionOfferPrice {
    pub fn new(uows: Uows<dyn SetCollectionOfferPriceUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Offerer only, on a live offer: the hold becomes the new price × what is left (more held,
    /// or the difference released); short of funds, nothing changes.
    #[tracing::instrument(level = "debug", name = "set_collection_offer_price", skip_all, fields(user = %cmd.user, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: SetCollectionOfferPriceCommand) -> Result<CollectionOffer, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SetCollectionOfferPriceCommand) -> Result<CollectionOffer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut offer =
                uow.collection_offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("collection offer"))?;
            if offer.user_id != cmd.user {
                return Err(RuleViolation::NotOwner.into());
            }
            offer.ensure_live(fx.now)?;
            let before = offer.held();
            offer.price = cmd.price;
            let after = cmd.price.times(offer.remaining()).ok_or(RuleViolation::InsufficientFunds)?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.user]).await?;
            let user = accounts.payer(cmd.user)?;
            if let Some(more) = after.checked_sub(before).filter(|d| !d.is_zero()) {
                user.hold(more)?;
                fx.record(fx.posting(Operation::CollectionOfferHold, offer.id).hold(cmd.user, more));
            } else if let Some(less) = before.checked_sub(after).filter(|d| !d.is_zero()) {
                user.release(less);
                fx.record(fx.posting(Operation::CollectionOfferRelease, offer.id).release(cmd.user, less));
            }
            uow.collection_offers().update(&offer).await?;
            accounts.save(uow.accounts()).await?;
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

    async fn run(tx: FakeTx, by: i64, price: &str) -> (Result<CollectionOffer, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = SetCollectionOfferPriceCommand {
            user: UserId(by),
            offer_id: open(0).id,
            price: m(price),
            idempotency: None,
        };
        (SetCollectionOfferPrice::new(store, services()).execute(cmd).await, committed.get())
    }

    fn world(offer: CollectionOffer, available: &str, held: &str) -> (FakeTx, Written<User>, Written<LedgerEntry>) {
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(move |_| Ok(Some(offer.clone())));
        let (accounts, saved) = accounts_saving(vec![user(2, available, held)]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        (tx, saved, entries)
    }

    #[tokio::test]
    async fn a_higher_price_holds_more_for_what_is_left() {
        let (mut tx, saved, entries) = world(open(1), "5", "20");
        tx.collection_offers.expect_update().withf(|o| o.price == m("12")).times(1).returning(|_| Ok(()));
        let (r, committed) = run(tx, 2, "12").await;
        assert_eq!((r.unwrap().held(), committed), (m("24"), true));
        assert_eq!(saved.all(), [user(2, "1", "24")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Available, d("-4")), (Some(2), Account::Held, d("4"))]);
    }

    #[tokio::test]
    async fn a_lower_price_releases_the_difference() {
        let (mut tx, saved, _) = world(open(1), "0", "20");
        tx.collection_offers.expect_update().returning(|_| Ok(()));
        let (r, committed) = run(tx, 2, "7.5").await;
        assert_eq!((r.unwrap().held(), committed), (m("15"), true));
        assert_eq!(saved.all(), [user(2, "5", "15")]);
    }

    #[tokio::test]
    async fn short_of_funds_a_stranger_or_a_closed_offer_change_nothing() {
        let (tx, _, _) = world(open(0), "1", "30");
        let (r, committed) = run(tx, 2, "11").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(|_| Ok(Some(open(0))));
        let (r, committed) = run(tx, 3, "11").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
        let mut filled = open(3);
        filled.status = CollectionOfferStatus::Filled;
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(move |_| Ok(Some(filled.clone())));
        let (r, committed) = run(tx, 2, "11").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OfferNotOpen.into(), false));
    }
}
