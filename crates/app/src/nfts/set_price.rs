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
        let done = async {
            let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            let before = nft.price;
            nft.set_price(cmd.owner, cmd.price, fx.now)?;
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
            Ok(nft)
        }
        .await;
        crate::uow::finish(uow, done).await
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

    /// Sets `to` on an NFT priced `from` and returns the kinds of the events written.
    async fn events_of(from: Option<&str>, to: Option<&str>) -> Vec<(EventKind, Option<Money>)> {
        let mut tx = FakeTx::default();
        let before = nft(1, from);
        tx.nfts.expect_lock().returning(move |_| Ok(Some(before.clone())));
        let expected = to.map(m);
        tx.nfts.expect_update().withf(move |n| n.price == expected).times(1).returning(|_| Ok(()));
        let (events, written) = events_recording();
        tx.events = events;
        let (store, committed) = store(tx);
        let r = SetNftPrice::new(store, services()).execute(cmd(1, to)).await.unwrap();
        assert_eq!(r.price, to.map(m));
        assert!(committed.get());
        written.all().into_iter().map(|e| (e.kind, e.price)).collect()
    }

    #[tokio::test]
    async fn listing_unlisting_and_repricing_each_tell_the_market() {
        assert_eq!(events_of(None, Some("3")).await, [(EventKind::Listed, Some(m("3")))]);
        assert_eq!(events_of(Some("3"), None).await, [(EventKind::Unlisted, None)]);
        assert_eq!(events_of(Some("3"), Some("4")).await, [(EventKind::PriceChanged, Some(m("4")))]);
    }

    #[tokio::test]
    async fn setting_the_same_price_or_unlisting_an_unlisted_nft_tells_nobody() {
        assert_eq!(events_of(Some("3"), Some("3")).await, []);
        assert_eq!(events_of(None, None).await, []);
    }

    #[tokio::test]
    async fn an_nft_that_is_not_available_cannot_be_listed() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        let (store, committed) = store(tx);
        let e = SetNftPrice::new(store, services()).execute(cmd(1, Some("3"))).await.unwrap_err();
        assert_eq!((e, committed.get()), (RuleViolation::NftUnavailable.into(), false));
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
