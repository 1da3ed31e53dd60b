//! List an NFT at a price, or unlist it.

use crate::effects::Effects;
use domain::ports::{EventRepo, NftRepo};
use domain::*;

use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "set_nft_price";

crate::define_uow!(
    /// Listing touches the NFT alone.
    SetNftPriceUow { nfts: NftRepo, events: EventRepo }
);

#[derive(Clone, Debug)]
pub struct SetNftPriceCommand {
    pub owner: UserId,
    pub nft_id: NftId,
    /// `None` unlists.
    pub price: Option<Money>,
}

pub struct SetNftPrice {
    uows: Uows<dyn SetNftPriceUow>,
    services: Services,
}

impl SetNftPrice {
    pub fn new(uows: Uows<dyn SetNftPriceUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Owner only, NFT `available`. Takes the NFT's lock so a price change and a buy queue.
    #[tracing::instrument(level = "debug", name = "set_nft_price", skip_all, fields(owner = %cmd.owner, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: SetNftPriceCommand) -> Result<Nft, Error> {
        self.services.run_locked(NAME, &lock::nft(cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SetNftPriceCommand) -> Result<Nft, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
        let before = nft.price;
        nft.set_price(cmd.owner, cmd.price)?;
        let kind = match (before, nft.price) {
            (None, Some(_)) => Some(EventKind::Listed),
            (Some(_), None) => Some(EventKind::Unlisted),
            (Some(a), Some(b)) if a != b => Some(EventKind::PriceChanged),
            _ => None,
        };
        if let Some(kind) = kind {
            fx.event(kind, &nft, nft.price);
        }
        uow.nfts().update(&nft).await?;
        fx.write_events(uow.events()).await?;
        uow.commit().await?;
        Ok(nft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn cmd(owner: i64, price: Option<&str>) -> SetNftPriceCommand {
        SetNftPriceCommand { owner: UserId(owner), nft_id: nft(1, None).id, price: price.map(m) }
    }

    #[tokio::test]
    async fn the_owner_lists_an_available_nft_and_commits() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        tx.nfts.expect_update().withf(|n| n.price == Some(m("3"))).times(1).returning(|_| Ok(()));
        let (store, committed) = store(tx);

        let listed = SetNftPrice::new(store, services()).execute(cmd(1, Some("3"))).await.unwrap();

        assert_eq!(listed.price, Some(m("3")));
        assert!(committed.get());
    }

    #[tokio::test]
    async fn someone_else_cannot_list_it_and_nothing_is_written() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        let (store, committed) = store(tx);

        let e = SetNftPrice::new(store, services()).execute(cmd(2, Some("3"))).await.unwrap_err();

        assert_eq!(e, RuleViolation::NotOwner.into());
        assert!(!committed.get());
    }
}
