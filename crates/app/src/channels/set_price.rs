//! Change the price of one's listed channel.

use domain::ports::ChannelSaleRepo;
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "set_channel_price";

crate::define_uow!(
    /// Repricing touches the listing alone.
    SetChannelPriceUow { channel_sales: ChannelSaleRepo }
);

#[derive(Clone, Debug)]
pub struct SetChannelPriceCommand {
    pub seller: UserId,
    pub sale_id: ChannelSaleId,
    pub price: Money,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct SetChannelPrice {
    uows: Uows<dyn SetChannelPriceUow>,
    services: Services,
}

impl SetChannelPrice {
    pub fn new(uows: Uows<dyn SetChannelPriceUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Seller only (others: forbidden), while `listed` (else `not_for_sale`).
    #[tracing::instrument(level = "debug", name = "set_channel_price", skip_all, fields(seller = %cmd.seller, sale = %cmd.sale_id))]
    pub async fn execute(&self, cmd: SetChannelPriceCommand) -> Result<ChannelSale, Error> {
        self.services.run_locked(NAME, &lock::channel_sale(cmd.sale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SetChannelPriceCommand) -> Result<ChannelSale, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut sale = super::lock_visible(uow.channel_sales(), cmd.sale_id, cmd.seller).await?;
            sale.ensure_seller_may_change(cmd.seller)?;
            sale.price = cmd.price;
            uow.channel_sales().update(&sale).await?;
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

    async fn reprice(sale: ChannelSale, by: i64) -> (Result<ChannelSale, Error>, bool) {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(sale.clone())));
        tx.channel_sales.expect_update().withf(|s| s.price == m("90")).returning(|_| Ok(()));
        let (store, committed) = store(tx);
        let cmd =
            SetChannelPriceCommand { seller: UserId(by), sale_id: listed().id, price: m("90"), idempotency: None };
        let r = SetChannelPrice::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn the_seller_reprices_a_listed_channel() {
        let (r, committed) = reprice(listed(), SELLER).await;
        assert_eq!(r.unwrap().price, m("90"));
        assert!(committed);
    }

    #[tokio::test]
    async fn others_are_refused_and_a_sold_channel_is_not_for_sale() {
        let (r, committed) = reprice(listed(), 9).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
        let (r, committed) = reprice(sold(), SELLER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotForSale.into(), false));
        let (r, committed) = reprice(sold(), 9).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("channel sale"), false), "a sold channel is private");
    }
}
