//! The settlement job's step: an active auction past its end is settled exactly once.

use domain::ports::{AccountRepo, AuctionRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "settle_auction";

crate::define_uow!(
    /// Settling: the auction, its NFT, the winner's own offer, seller and winner funds.
    SettleAuctionUow {
        auctions: AuctionRepo, nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo,
        outbox: OutboxRepo, events: EventRepo,
    }
);

#[derive(Clone, Copy, Debug)]
pub struct SettleAuctionCommand {
    pub auction_id: AuctionId,
}

pub struct SettleAuction {
    uows: Uows<dyn SettleAuctionUow>,
    services: Services,
    fees: FeeRule,
}

impl SettleAuction {
    pub fn new(uows: Uows<dyn SettleAuctionUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Settles the auction if it is active and past its end; `Ok(None)` otherwise. The auction
    /// row is locked and its status re-checked, so concurrent runs settle it exactly once.
    #[tracing::instrument(level = "debug", name = "settle_auction", skip_all, fields(auction = %cmd.auction_id))]
    pub async fn execute(&self, cmd: SettleAuctionCommand) -> Result<Option<Auction>, Error> {
        self.services.run_locked(NAME, &lock::auction(cmd.auction_id), || self.attempt(cmd)).await
    }

    async fn attempt(&self, cmd: SettleAuctionCommand) -> Result<Option<Auction>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut auction = uow.auctions().lock(cmd.auction_id).await?.ok_or(Error::NotFound("auction"))?;
            if !auction.is_due(fx.now) {
                return Ok(None);
            }
            let mut nft = uow.nfts().lock(auction.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            let mut offer = match auction.leader_id {
                Some(w) => uow.offers().lock_open_by(nft.id, w).await?,
                None => None,
            };
            let mut ids = vec![auction.seller_id];
            ids.extend(auction.leader_id);
            let mut accounts = Accounts::lock(uow.accounts(), &ids).await?;
            super::settle(&mut auction, &mut nft, offer.as_mut(), &mut accounts, &mut fx, self.fees)?;
            if let Some(offer) = &offer {
                uow.offers().update(offer).await?;
            }
            uow.nfts().update(&nft).await?;
            uow.auctions().update(&auction).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            Ok(Some(auction))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auctions::fixtures::*;
    use crate::testing::*;

    async fn settle(tx: FakeTx) -> (Option<Auction>, bool) {
        let (store, committed) = store(tx);
        let cmd = SettleAuctionCommand { auction_id: auction(None).id };
        let r = SettleAuction::new(store, services(), FeeRule::default()).execute(cmd).await;
        (r.unwrap(), committed.get())
    }

    #[tokio::test]
    async fn settlement_skips_an_auction_that_is_not_due() {
        let mut tx = FakeTx::default();
        tx.auctions.expect_lock().returning(|_| Ok(Some(auction(None))));
        assert_eq!(settle(tx).await, (None, false));
    }

    #[tokio::test]
    async fn settlement_of_a_due_auction_pays_the_seller_and_commits() {
        let mut due = auction(Some((2, "20")));
        due.ends_at = now();
        let mut tx = FakeTx::default();
        tx.auctions.expect_lock().returning(move |_| Ok(Some(due.clone())));
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        tx.offers.expect_lock_open_by().returning(|_, _| Ok(None));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "0"), user(2, "0", "20")]));
        tx.accounts.expect_save().withf(|u| u.id != UserId(1) || u.available == m("19")).times(2).returning(|_| Ok(()));
        tx.nfts.expect_update().withf(|n| n.owner_id == UserId(2)).returning(|_| Ok(()));
        tx.auctions.expect_update().returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        let (r, committed) = settle(tx).await;
        assert_eq!(r.unwrap().status, AuctionStatus::Settled);
        assert!(committed);
    }

    #[tokio::test]
    async fn the_winners_own_open_offer_on_the_nft_is_cancelled_and_released() {
        let mut due = auction(Some((2, "20")));
        due.ends_at = now();
        let mut tx = FakeTx::default();
        tx.auctions.expect_lock().returning(move |_| Ok(Some(due.clone())));
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        tx.offers
            .expect_lock_open_by()
            .withf(|n, u| *n == nft(1, None).id && *u == UserId(2))
            .returning(|_, _| Ok(Some(offer(2, "7"))));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0"), user(2, "1", "27")]);
        tx.accounts = accounts;
        tx.nfts
            .expect_update()
            .withf(|n| n.owner_id == UserId(2) && n.status == NftStatus::Available)
            .times(1)
            .returning(|_| Ok(()));
        tx.auctions.expect_update().withf(|a| a.status == AuctionStatus::Settled).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = settle(tx).await;
        assert_eq!(r.unwrap().status, AuctionStatus::Settled);
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "19", "0"), user(2, "8", "0")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(2), Account::Held, d("-20")),
                (Some(1), Account::Available, d("19")),
                (None, Account::Fees, d("1")),
                (Some(2), Account::Held, d("-7")),
                (Some(2), Account::Available, d("7")),
            ]
        );
        assert_eq!(sent.notified(), [2, 1]);
        assert_eq!(
            written.all().into_iter().map(|e| (e.kind, e.price, e.auction_id)).collect::<Vec<_>>(),
            [(EventKind::AuctionSettled, Some(m("20")), Some(auction(None).id))]
        );
    }

    #[tokio::test]
    async fn an_auction_without_bids_gives_the_nft_back_to_the_seller() {
        let mut due = auction(None);
        due.ends_at = now();
        let mut tx = FakeTx::default();
        tx.auctions.expect_lock().returning(move |_| Ok(Some(due.clone())));
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        tx.accounts = accounts_with(vec![user(1, "0", "0")]);
        tx.nfts
            .expect_update()
            .withf(|n| n.owner_id == UserId(1) && n.status == NftStatus::Available)
            .times(1)
            .returning(|_| Ok(()));
        tx.auctions.expect_update().returning(|_| Ok(()));
        tx.ledger.expect_append().withf(|e| e.is_empty()).returning(|_| Ok(()));
        tx.outbox = any_outbox();
        let (r, committed) = settle(tx).await;
        assert!(r.is_some());
        assert!(committed);
    }
}
