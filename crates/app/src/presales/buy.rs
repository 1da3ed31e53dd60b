//! Buy a presale: the price is held until delivery or the deadline.

use domain::ports::{AccountRepo, EventRepo, LedgerRepo, OutboxRepo, PresaleRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "buy_presale";

crate::define_uow!(
    /// Buying a presale: the presale and the buyer's funds.
    BuyPresaleUow { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo, events: EventRepo }
);

#[derive(Clone, Debug)]
pub struct BuyPresaleCommand {
    pub buyer: UserId,
    pub presale_id: PresaleId,
    pub expected_price: Option<Money>,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct BuyPresale {
    uows: Uows<dyn BuyPresaleUow>,
    services: Services,
}

impl BuyPresale {
    pub fn new(uows: Uows<dyn BuyPresaleUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Holds the price from the buyer until delivery (or the deadline); the seller is told.
    #[tracing::instrument(level = "debug", name = "buy_presale", skip_all, fields(buyer = %cmd.buyer, presale = %cmd.presale_id))]
    pub async fn execute(&self, cmd: BuyPresaleCommand) -> Result<Presale, Error> {
        self.services.run_locked(NAME, &lock::presale(cmd.presale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &BuyPresaleCommand) -> Result<Presale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut presale = uow.presales().lock(cmd.presale_id).await?.ok_or(Error::NotFound("presale"))?;
            let price = presale.sell_to(cmd.buyer, cmd.expected_price, fx.now)?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.buyer]).await?;
            accounts.payer(cmd.buyer)?.hold(price)?;
            fx.record(fx.posting(Operation::PresaleHold, presale.id).hold(cmd.buyer, price));
            fx.notify(
                presale.seller_id,
                format!(
                    "Your presale \"{}\" was sold for {price} TON. Deliver by {}.",
                    presale.title, presale.deliver_by
                ),
            );
            uow.presales().update(&presale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.collection_event(EventKind::PresaleSold, &presale.collection, Some(price));
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
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

    async fn buy(tx: FakeTx, buyer: i64, expected: Option<&str>) -> (Result<Presale, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = BuyPresaleCommand {
            buyer: UserId(buyer),
            presale_id: presale(None).id,
            expected_price: expected.map(m),
            idempotency: None,
        };
        let r = BuyPresale::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    fn open() -> FakeTx {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        tx
    }

    #[tokio::test]
    async fn buying_holds_the_price_and_commits() {
        let mut tx = open();
        tx.presales.expect_update().withf(|p| p.status == PresaleStatus::Sold).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(2, "30", "0")]);
        tx.accounts = accounts;
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = buy(tx, 2, Some("20")).await;
        assert_eq!(r.unwrap().buyer_id, Some(UserId(2)));
        assert!(committed);
        assert_eq!(saved.all(), [user(2, "10", "20")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Available, d("-20")), (Some(2), Account::Held, d("20"))]);
        assert_eq!(sent.notified(), [1], "the seller is told");
        assert_eq!(
            written.all().into_iter().map(|e| (e.kind, e.collection, e.price)).collect::<Vec<_>>(),
            [(EventKind::PresaleSold, Some("cakes".to_string()), Some(m("20")))]
        );
    }

    #[tokio::test]
    async fn buying_your_own_presale_commits_nothing() {
        let (r, committed) = buy(open(), 1, None).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OwnItem.into(), false));
    }

    #[tokio::test]
    async fn a_changed_price_commits_nothing() {
        let (r, committed) = buy(open(), 2, Some("19")).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::PriceChanged { current: m("20") }.into(), false));
    }
}
