//! Place a collection offer.

use chrono::Duration;
use domain::collection_offer::{MAX_OPEN_PER_USER, MAX_QUANTITY};
use domain::ports::{AccountRepo, CollectionOfferRepo, LedgerRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "new_collection_offer";

crate::define_uow!(
    /// Placing: the offerer's funds (locked first: their open offers are counted under it), the
    /// offer, the ledger.
    NewCollectionOfferUow { accounts: AccountRepo, collection_offers: CollectionOfferRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct NewCollectionOfferCommand {
    pub user: UserId,
    pub criteria: OfferCriteria,
    pub price: Money,
    /// 1–50 (checked at the edge and here).
    pub quantity: u32,
    /// 60 s – 30 days (checked at the edge).
    pub expires_in: Duration,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct NewCollectionOffer {
    uows: Uows<dyn NewCollectionOfferUow>,
    services: Services,
}

impl NewCollectionOffer {
    pub fn new(uows: Uows<dyn NewCollectionOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Holds price × quantity; at most 20 open per user.
    #[tracing::instrument(level = "debug", name = "new_collection_offer", skip_all, fields(user = %cmd.user))]
    pub async fn execute(&self, cmd: NewCollectionOfferCommand) -> Result<CollectionOffer, Error> {
        if !(1..=MAX_QUANTITY).contains(&cmd.quantity) {
            return Err(Error::Invalid(vec![FieldError::new("quantity", "must be 1 to 50")]));
        }
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &NewCollectionOfferCommand) -> Result<CollectionOffer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.user]).await?;
            if uow.collection_offers().count_open(cmd.user, fx.now).await? >= MAX_OPEN_PER_USER {
                return Err(RuleViolation::TooManyOpenOffers { max: MAX_OPEN_PER_USER }.into());
            }
            let total = cmd.price.times(cmd.quantity).ok_or(RuleViolation::InsufficientFunds)?;
            accounts.payer(cmd.user)?.hold(total)?;
            let offer = CollectionOffer {
                id: self.services.new_id(),
                user_id: cmd.user,
                criteria: cmd.criteria.clone(),
                price: cmd.price,
                quantity: cmd.quantity,
                filled: 0,
                status: CollectionOfferStatus::Open,
                expires_at: fx.now + cmd.expires_in,
                created_at: fx.now,
            };
            uow.collection_offers().insert(&offer).await?;
            fx.record(fx.posting(Operation::CollectionOfferHold, offer.id).hold(cmd.user, total));
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

    fn cmd(quantity: u32) -> NewCollectionOfferCommand {
        NewCollectionOfferCommand {
            user: UserId(2),
            criteria: OfferCriteria {
                collection: "Plush Pepe".into(),
                model: Some("Gold".into()),
                ..Default::default()
            },
            price: m("2.5"),
            quantity,
            expires_in: Duration::days(7),
            idempotency: None,
        }
    }

    async fn run(tx: FakeTx, c: NewCollectionOfferCommand) -> (Result<CollectionOffer, Error>, bool) {
        let (store, committed) = store(tx);
        let r = NewCollectionOffer::new(store, services()).execute(c).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn placing_holds_price_times_quantity_and_commits() {
        let mut tx = FakeTx::default();
        let (accounts, saved) = accounts_saving(vec![user(2, "10", "0")]);
        tx.accounts = accounts;
        tx.collection_offers.expect_count_open().returning(|_, _| Ok(19));
        tx.collection_offers
            .expect_insert()
            .withf(|o| o.quantity == 4 && o.filled == 0 && o.held() == m("10"))
            .times(1)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (r, committed) = run(tx, cmd(4)).await;
        let o = r.unwrap();
        assert_eq!(
            (o.status, o.criteria.model.as_deref(), committed),
            (CollectionOfferStatus::Open, Some("Gold"), true)
        );
        assert_eq!(saved.all(), [user(2, "0", "10")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Available, d("-10")), (Some(2), Account::Held, d("10"))]);
    }

    #[tokio::test]
    async fn the_twenty_first_open_offer_is_refused() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "100", "0")]));
        tx.collection_offers.expect_count_open().returning(|_, _| Ok(20));
        let (r, committed) = run(tx, cmd(1)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::TooManyOpenOffers { max: 20 }.into(), false));
    }

    #[tokio::test]
    async fn an_offer_the_funds_do_not_cover_is_refused() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "9.99", "0")]));
        tx.collection_offers.expect_count_open().returning(|_, _| Ok(0));
        let (r, committed) = run(tx, cmd(4)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
    }

    #[tokio::test]
    async fn a_quantity_out_of_bounds_is_invalid_before_any_unit_of_work() {
        for q in [0, 51] {
            let (r, committed) = run(FakeTx::default(), cmd(q)).await;
            assert!(matches!(r, Err(Error::Invalid(_))), "{q}: {r:?}");
            assert!(!committed);
        }
    }
}
