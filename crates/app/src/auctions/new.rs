//! Put one's NFT up for auction.

use domain::ports::{AuctionRepo, EventRepo, NftRepo};
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "new_auction";

crate::define_uow!(
    /// Opening an auction: the NFT and the auctions (one active per NFT).
    NewAuctionUow { nfts: NftRepo, auctions: AuctionRepo, events: EventRepo }
);

#[derive(Clone, Debug)]
pub struct NewAuctionCommand {
    pub seller: UserId,
    pub nft_id: NftId,
    pub terms: AuctionTerms,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct NewAuction {
    uows: Uows<dyn NewAuctionUow>,
    services: Services,
}

impl NewAuction {
    pub fn new(uows: Uows<dyn NewAuctionUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Owner only, NFT `available`: any listing is removed and the NFT goes `on_auction`.
    #[tracing::instrument(level = "debug", name = "new_auction", skip_all, fields(seller = %cmd.seller, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: NewAuctionCommand) -> Result<Auction, Error> {
        self.services.run_locked(NAME, &lock::nft(cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &NewAuctionCommand) -> Result<Auction, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            nft.ensure_owned_available(cmd.seller)?;
            let auction = Auction::open(self.services.new_id(), nft.id, cmd.seller, &cmd.terms, fx.now);
            match uow.auctions().insert(&auction).await {
                Err(RepoError::Duplicate(_)) => return Err(RuleViolation::NftUnavailable.into()),
                other => other?,
            }
            nft.price = None;
            nft.status = NftStatus::OnAuction;
            uow.nfts().update(&nft).await?;
            fx.event(EventKind::AuctionStarted, &nft, Some(auction.start_price)).in_auction(auction.id);
            fx.write_events(uow.events()).await?;
            Ok(auction)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auctions::fixtures::*;
    use crate::testing::*;

    async fn open(tx: FakeTx, by: i64) -> (Result<Auction, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = NewAuctionCommand { seller: UserId(by), nft_id: nft(1, None).id, terms: terms(), idempotency: None };
        let r = NewAuction::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn opening_an_auction_on_someone_elses_nft_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        let (r, committed) = open(tx, 2).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
    }

    #[tokio::test]
    async fn opening_an_auction_takes_the_nft_off_the_market_and_commits() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, Some("5")))));
        tx.auctions.expect_insert().times(1).returning(|_| Ok(()));
        tx.nfts
            .expect_update()
            .withf(|n| n.status == NftStatus::OnAuction && n.price.is_none())
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = open(tx, 1).await;
        assert_eq!(r.unwrap().status, AuctionStatus::Active);
        assert!(committed);
    }
}
