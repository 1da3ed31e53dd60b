//! Change the price of one's open offer.

use domain::ports::{AccountRepo, LedgerRepo, OfferRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "set_offer_price";

crate::define_uow!(
    /// Changing an offer's price: the offer and the offerer's funds.
    SetOfferPriceUow { offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Debug)]
pub struct SetOfferPriceCommand {
    pub offerer: UserId,
    pub offer_id: OfferId,
    pub price: Money,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct SetOfferPrice {
    uows: Uows<dyn SetOfferPriceUow>,
    services: Services,
}

impl SetOfferPrice {
    pub fn new(uows: Uows<dyn SetOfferPriceUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Offerer only, on a live offer: the hold grows or shrinks by the difference.
    #[tracing::instrument(level = "debug", name = "set_offer_price", skip_all, fields(offerer = %cmd.offerer, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: SetOfferPriceCommand) -> Result<Offer, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SetOfferPriceCommand) -> Result<Offer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut offer = uow.offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?;
            if offer.offerer_id != cmd.offerer {
                return Err(RuleViolation::NotOwner.into());
            }
            offer.ensure_live(fx.now)?;
            let by = cmd.offerer;
            let mut accounts = Accounts::lock(uow.accounts(), &[by]).await?;
            let user = accounts.payer(by)?;
            if let Some(more) = cmd.price.checked_sub(offer.price) {
                user.hold(more)?;
                fx.record(fx.posting(Operation::OfferHold, offer.id).hold(by, more));
            } else if let Some(less) = offer.price.checked_sub(cmd.price) {
                user.release(less);
                fx.record(fx.posting(Operation::OfferRelease, offer.id).release(by, less));
            }
            offer.price = cmd.price;
            uow.offers().update(&offer).await?;
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

    fn cmd(offerer: i64, price: &str) -> SetOfferPriceCommand {
        SetOfferPriceCommand {
            offerer: UserId(offerer),
            offer_id: offer(2, "10").id,
            price: m(price),
            idempotency: None,
        }
    }

    fn with_offer() -> FakeTx {
        let mut tx = FakeTx::default();
        tx.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        tx
    }

    #[tokio::test]
    async fn raising_an_offer_beyond_the_funds_commits_nothing() {
        let mut tx = with_offer();
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "1", "10")]));
        let (store, committed) = store(tx);
        let e = SetOfferPrice::new(store, services()).execute(cmd(2, "12")).await.unwrap_err();
        assert_eq!((e, committed.get()), (RuleViolation::InsufficientFunds.into(), false));
    }

    #[tokio::test]
    async fn lowering_an_offer_releases_the_difference_and_commits() {
        let mut tx = with_offer();
        tx.offers.expect_update().withf(|o| o.price == m("4")).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "0", "10")]));
        tx.accounts.expect_save().withf(|u| u.available == m("6") && u.held == m("4")).times(1).returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        let (store, committed) = store(tx);
        SetOfferPrice::new(store, services()).execute(cmd(2, "4")).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn only_the_offerer_reprices_an_offer() {
        let (store, committed) = store(with_offer());
        let e = SetOfferPrice::new(store, services()).execute(cmd(3, "4")).await.unwrap_err();
        assert_eq!((e, committed.get()), (RuleViolation::NotOwner.into(), false));
    }
}
