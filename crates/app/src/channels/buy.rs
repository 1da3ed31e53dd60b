//! Buy a listed channel: the price goes into escrow and the seller is told to hand it over.

use domain::ports::{AccountRepo, ChannelSaleRepo, LedgerRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "buy_channel";

crate::define_uow!(
    /// Buying: the sale, the buyer's funds, the ledger, the notices.
    BuyChannelUow { channel_sales: ChannelSaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct BuyChannelCommand {
    pub buyer: UserId,
    pub sale_id: ChannelSaleId,
    pub expected_price: Option<Money>,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct BuyChannel {
    uows: Uows<dyn BuyChannelUow>,
    services: Services,
    transfer_within: chrono::Duration,
}

impl BuyChannel {
    pub fn new(uows: Uows<dyn BuyChannelUow>, services: Services, transfer_within: chrono::Duration) -> Self {
        Self { uows, services, transfer_within }
    }

    /// Buyer ≠ seller, `listed` (else `not_for_sale`), the expected price if given: the price is
    /// held from the buyer, the sale awaits transfer until `now + transfer_within`, and the seller
    /// is told to hand the channel over.
    #[tracing::instrument(level = "debug", name = "buy_channel", skip_all, fields(buyer = %cmd.buyer, sale = %cmd.sale_id))]
    pub async fn execute(&self, cmd: BuyChannelCommand) -> Result<ChannelSale, Error> {
        self.services.run_locked(NAME, &lock::channel_sale(cmd.sale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &BuyChannelCommand) -> Result<ChannelSale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut sale = super::lock_visible(uow.channel_sales(), cmd.sale_id, cmd.buyer).await?;
            let price = sale.sell_to(cmd.buyer, cmd.expected_price, fx.now, self.transfer_within)?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.buyer]).await?;
            let buyer = accounts.payer(cmd.buyer)?;
            buyer.hold(price)?;
            let buyer_name =
                buyer.username.as_ref().map(|u| format!("@{u}")).unwrap_or_else(|| format!("user {}", cmd.buyer));
            fx.record(fx.posting(Operation::ChannelEscrow, sale.id).hold(cmd.buyer, price));
            let deadline = sale.transfer_by.expect("set by sell_to");
            fx.notify(
                sale.seller_id,
                format!(
                    "\"{}\" was sold for {price} TON. Transfer ownership of the channel to {buyer_name} by {deadline}; \
                     the payment is released once they own it.",
                    sale.title
                ),
            );
            fx.notify(
                cmd.buyer,
                format!("You bought \"{}\": {price} TON are held until the channel is yours.", sale.title),
            );
            uow.channel_sales().update(&sale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(sale)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::fixtures::*;
    use crate::testing::*;

    async fn buy(tx: FakeTx, by: i64, expected: Option<&str>) -> (Result<ChannelSale, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = BuyChannelCommand {
            buyer: UserId(by),
            sale_id: listed().id,
            expected_price: expected.map(m),
            idempotency: None,
        };
        let r = BuyChannel::new(store, services(), chrono::Duration::hours(24)).execute(cmd).await;
        (r, committed.get())
    }

    fn with(sale: ChannelSale) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(sale.clone())));
        tx
    }

    #[tokio::test]
    async fn buying_holds_the_price_and_awaits_the_transfer() {
        let mut tx = with(listed());
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(BUYER, "150", "0")]));
        tx.accounts
            .expect_save()
            .withf(|u| u.available == m("50") && u.held == m("100"))
            .times(1)
            .returning(|_| Ok(()));
        tx.channel_sales
            .expect_update()
            .withf(|s| {
                s.status == ChannelSaleStatus::AwaitingTransfer
                    && s.transfer_by == Some(now() + chrono::Duration::hours(24))
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox.expect_enqueue().times(2).returning(|_| Ok(()));
        let (r, committed) = buy(tx, BUYER, Some("100")).await;
        assert_eq!(r.unwrap().buyer_id, Some(UserId(BUYER)));
        assert!(committed);
    }

    #[tokio::test]
    async fn the_rules_of_a_sale_hold() {
        let (r, c) = buy(with(listed()), SELLER, None).await;
        assert_eq!((r.unwrap_err(), c), (RuleViolation::OwnItem.into(), false));
        let (r, c) = buy(with(listed()), BUYER, Some("99")).await;
        assert_eq!((r.unwrap_err(), c), (RuleViolation::PriceChanged { current: m("100") }.into(), false));
        let (r, c) = buy(with(sold()), 9, None).await;
        assert_eq!((r.unwrap_err(), c), (Error::NotFound("channel sale"), false), "sold: private");
        let (r, c) = buy(with(sold()), BUYER, None).await;
        assert_eq!((r.unwrap_err(), c), (RuleViolation::NotForSale.into(), false));
        let mut tx = with(listed());
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(BUYER, "99", "0")]));
        let (r, c) = buy(tx, BUYER, None).await;
        assert_eq!((r.unwrap_err(), c), (RuleViolation::InsufficientFunds.into(), false));
    }
}
