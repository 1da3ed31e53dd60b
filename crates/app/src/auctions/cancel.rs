//! The seller withdraws an auction that has no bids (`del`).

use domain::ports::{AuctionRepo, NftRepo};
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "cancel_auction";

crate::define_uow!(
    /// Cancelling: the auction and its NFT.
    CancelAuctionUow { auctions: AuctionRepo, nfts: NftRepo }
);

#[derive(Clone, Debug)]
pub struct CancelAuctionCommand {
    pub seller: UserId,
    pub auction_id: AuctionId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct CancelAuction {
    uows: Uows<dyn CancelAuctionUow>,
    services: Services,
}

impl CancelAuction {
    pub fn new(uows: Uows<dyn CancelAuctionUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Seller only, and only without bids (else `auction_has_bids`): the NFT is `available` again.
    #[tracing::instrument(level = "debug", name = "cancel_auction", skip_all, fields(seller = %cmd.seller, auction = %cmd.auction_id))]
    pub async fn execute(&self, cmd: CancelAuctionCommand) -> Result<Auction, Error> {
        self.services.run_locked(NAME, &lock::auction(cmd.auction_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CancelAuctionCommand) -> Result<Auction, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut auction = uow.auctions().lock(cmd.auction_id).await?.ok_or(Error::NotFound("auction"))?;
            auction.cancel(cmd.seller)?;
            let mut nft = uow.nfts().lock(auction.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            nft.status = NftStatus::Available;
            uow.nfts().update(&nft).await?;
            uow.auctions().update(&auction).await?;
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

    async fn cancel(tx: FakeTx) -> (Result<Auction, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = CancelAuctionCommand { seller: UserId(1), auction_id: auction(None).id, idempotency: None };
        let r = CancelAuction::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn an_auction_with_bids_cannot_be_cancelled() {
        let mut tx = FakeTx::default();
        tx.auctions.expect_lock().returning(|_| Ok(Some(auction(Some((2, "10"))))));
        let (r, committed) = cancel(tx).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::AuctionHasBids.into(), false));
    }

    #[tokio::test]
    async fn cancelling_an_auction_without_bids_frees_the_nft_and_commits() {
        let mut tx = FakeTx::default();
        tx.auctions.expect_lock().returning(|_| Ok(Some(auction(None))));
        tx.auctions.expect_update().withf(|a| a.status == AuctionStatus::Cancelled).times(1).returning(|_| Ok(()));
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        tx.nfts.expect_update().withf(|n| n.status == NftStatus::Available).times(1).returning(|_| Ok(()));
        let (r, committed) = cancel(tx).await;
        assert_eq!(r.unwrap().status, AuctionStatus::Cancelled);
        assert!(committed);
    }
}
