//! Withdraw one's listed channel.

use domain::ports::ChannelSaleRepo;
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "delete_channel_listing";

crate::define_uow!(
    /// Deleting touches the listing alone.
    DeleteChannelListingUow { channel_sales: ChannelSaleRepo }
);

#[derive(Clone, Debug)]
pub struct DeleteChannelListingCommand {
    pub seller: UserId,
    pub sale_id: ChannelSaleId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct DeleteChannelListing {
    uows: Uows<dyn DeleteChannelListingUow>,
    services: Services,
}

impl DeleteChannelListing {
    pub fn new(uows: Uows<dyn DeleteChannelListingUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Seller only (others: forbidden), while `listed` (else `not_for_sale`): `deleted`, and the
    /// channel may be listed again.
    #[tracing::instrument(level = "debug", name = "delete_channel_listing", skip_all, fields(seller = %cmd.seller, sale = %cmd.sale_id))]
    pub async fn execute(&self, cmd: DeleteChannelListingCommand) -> Result<ChannelSale, Error> {
        self.services.run_locked(NAME, &lock::channel_sale(cmd.sale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &DeleteChannelListingCommand) -> Result<ChannelSale, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut sale = super::lock_visible(uow.channel_sales(), cmd.sale_id, cmd.seller).await?;
            sale.ensure_seller_may_change(cmd.seller)?;
            sale.status = ChannelSaleStatus::Deleted;
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

    async fn delete(sale: ChannelSale, by: i64) -> (Result<ChannelSale, Error>, bool) {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(sale.clone())));
        tx.channel_sales.expect_update().withf(|s| s.status == ChannelSaleStatus::Deleted).returning(|_| Ok(()));
        let (store, committed) = store(tx);
        let cmd = DeleteChannelListingCommand { seller: UserId(by), sale_id: listed().id, idempotency: None };
        let r = DeleteChannelListing::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn the_seller_deletes_a_listed_channel() {
        let (r, committed) = delete(listed(), SELLER).await;
        assert_eq!(r.unwrap().status, ChannelSaleStatus::Deleted);
        assert!(committed);
    }

    #[tokio::test]
    async fn a_sold_channel_cannot_be_deleted() {
        let (r, committed) = delete(sold(), SELLER).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotForSale.into(), false));
    }
}
