//! Auctions: open, bid (with anti-sniping and buy-now), cancel without bids, settle exactly once.

use std::sync::Arc;

use chrono::Duration;
use domain::ports::{AccountRepo, AuctionRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::Services;

// ----- new -----

crate::define_uow!(
    /// Opening an auction: the NFT and the auctions (one active per NFT).
    NewAuctionUow, NewAuctionUowFactory { nfts: NftRepo, auctions: AuctionRepo }
);
crate::use_case_error!(NewAuctionError);

pub struct NewAuction {
    uows: Arc<dyn NewAuctionUowFactory>,
    services: Services,
}

impl NewAuction {
    pub fn new(uows: Arc<dyn NewAuctionUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Owner only, NFT `available`: any listing is removed and the NFT goes `on_auction`.
    pub async fn execute(
        &self,
        by: UserId,
        nft_id: NftId,
        terms: AuctionTerms,
        key: Option<&IdempotencyKey>,
    ) -> Result<Auction, NewAuctionError> {
        self.services
            .run_locked("new_auction", &format!("nft:{nft_id}"), || async {
                let now = self.services.now();
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut nft = uow.nfts().lock(nft_id).await?.ok_or(NewAuctionError::NotFound("NFT"))?;
                nft.ensure_owned_available(by)?;
                let auction = Auction::open(self.services.new_id(), nft.id, by, &terms, now);
                match uow.auctions().insert(&auction).await {
                    Err(RepoError::Duplicate(_)) => return Err(RuleViolation::NftUnavailable.into()),
                    other => other?,
                }
                nft.price = None;
                nft.status = NftStatus::OnAuction;
                uow.nfts().update(&nft).await?;
                uow.commit().await?;
                Ok(auction)
            })
            .await
    }
}

// ----- settlement, shared by the job and buy-now -----

/// Settles a locked, due auction over its locked NFT: with a winner, the NFT goes to them and
/// their held bid to the seller minus the fee (their own open offer on the NFT, if any, is
/// released); without bids the NFT is simply back. Both sides are told.
fn settle(
    auction: &mut Auction,
    nft: &mut Nft,
    winner_offer: Option<&mut Offer>,
    accounts: &mut Accounts,
    fx: &mut Effects<'_>,
    fees: FeeRule,
) -> Result<(), RepoError> {
    nft.status = NftStatus::Available;
    match auction.settle() {
        Some((winner, price)) => {
            let (fee, proceeds) = fees.split(price);
            accounts.payee(winner)?.take_held(price);
            accounts.payee(auction.seller_id)?.credit(proceeds);
            fx.record(fx.posting(Operation::AuctionSettle, auction.id).sale(
                winner,
                Account::Held,
                auction.seller_id,
                proceeds,
                fee,
            ));
            if let Some(offer) = winner_offer {
                offer.close(OfferStatus::Cancelled);
                accounts.payee(winner)?.release(offer.price);
                fx.record(fx.posting(Operation::OfferRelease, offer.id).release(winner, offer.price));
            }
            nft.transfer_to(winner);
            fx.notify(winner, format!("You won \"{}\" for {price} TON.", nft.title));
            fx.notify(
                auction.seller_id,
                format!("Your auction of \"{}\" ended: sold for {price} TON, {proceeds} TON credited.", nft.title),
            );
        }
        None => fx.notify(auction.seller_id, format!("Your auction of \"{}\" ended without bids.", nft.title)),
    }
    Ok(())
}

// ----- bid -----

crate::define_uow!(
    /// Bidding: the auction, its bids, the funds of bidder and outbid leader, and — for a
    /// buy-now bid that settles at once — the NFT, the seller and the winner's own offer.
    PlaceBidUow, PlaceBidUowFactory {
        auctions: AuctionRepo, nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
    }
);
crate::use_case_error!(PlaceBidError);

pub struct PlaceBid {
    uows: Arc<dyn PlaceBidUowFactory>,
    services: Services,
    fees: FeeRule,
    anti_sniping: Duration,
}

impl PlaceBid {
    pub fn new(uows: Arc<dyn PlaceBidUowFactory>, services: Services, fees: FeeRule, anti_sniping: Duration) -> Self {
        Self { uows, services, fees, anti_sniping }
    }

    /// Holds the bid from the bidder and releases the previous leader's hold (they are told).
    /// A bid at or above the buy-now price settles the auction in the same Unit of Work.
    #[tracing::instrument(name = "place_bid", skip_all, fields(bidder = %bidder, auction = %auction_id))]
    pub async fn execute(
        &self,
        bidder: UserId,
        auction_id: AuctionId,
        amount: Money,
        key: Option<&IdempotencyKey>,
    ) -> Result<Auction, PlaceBidError> {
        self.services
            .run_locked("place_bid", &format!("auction:{auction_id}"), || self.attempt(bidder, auction_id, amount, key))
            .await
    }

    async fn attempt(
        &self,
        bidder: UserId,
        auction_id: AuctionId,
        amount: Money,
        key: Option<&IdempotencyKey>,
    ) -> Result<Auction, PlaceBidError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
        let mut auction = uow.auctions().lock(auction_id).await?.ok_or(PlaceBidError::NotFound("auction"))?;
        let outcome = auction.accept_bid(bidder, amount, fx.now, self.anti_sniping)?;
        let mut settling = None;
        if outcome.buy_now {
            let nft = uow.nfts().lock(auction.nft_id).await?.ok_or(PlaceBidError::NotFound("NFT"))?;
            let offer = uow.offers().lock_open_by(nft.id, bidder).await?;
            settling = Some((nft, offer));
        }
        let mut ids = vec![bidder];
        ids.extend(outcome.previous.map(|(u, _)| u));
        if outcome.buy_now {
            ids.push(auction.seller_id);
        }
        let mut accounts = Accounts::lock(uow.accounts(), &ids).await?;
        if let Some((previous, held)) = outcome.previous {
            accounts.payee(previous)?.release(held);
            fx.record(fx.posting(Operation::BidRelease, auction.id).release(previous, held));
            if previous != bidder {
                fx.notify(previous, format!("You were outbid: {amount} TON. Your {held} TON are available again."));
            }
        }
        accounts.payer(bidder)?.hold(amount)?;
        fx.record(fx.posting(Operation::BidHold, auction.id).hold(bidder, amount));
        let bid = Bid { id: self.services.new_id(), auction_id, bidder_id: bidder, amount, created_at: fx.now };
        uow.auctions().insert_bid(&bid).await?;
        if let Some((mut nft, mut offer)) = settling {
            settle(&mut auction, &mut nft, offer.as_mut(), &mut accounts, &mut fx, self.fees)?;
            uow.nfts().update(&nft).await?;
            if let Some(offer) = &offer {
                uow.offers().update(offer).await?;
            }
        }
        uow.auctions().update(&auction).await?;
        accounts.save(uow.accounts()).await?;
        fx.write_ledger(uow.ledger()).await?;
        fx.write_outbox(uow.outbox()).await?;
        uow.commit().await?;
        Ok(auction)
    }
}

// ----- del -----

crate::define_uow!(
    /// Cancelling: the auction and its NFT.
    CancelAuctionUow, CancelAuctionUowFactory { auctions: AuctionRepo, nfts: NftRepo }
);
crate::use_case_error!(CancelAuctionError);

pub struct CancelAuction {
    uows: Arc<dyn CancelAuctionUowFactory>,
    services: Services,
}

impl CancelAuction {
    pub fn new(uows: Arc<dyn CancelAuctionUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Seller only, and only without bids (else `auction_has_bids`): the NFT is `available` again.
    pub async fn execute(
        &self,
        by: UserId,
        auction_id: AuctionId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Auction, CancelAuctionError> {
        self.services
            .run_locked("cancel_auction", &format!("auction:{auction_id}"), || async {
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut auction =
                    uow.auctions().lock(auction_id).await?.ok_or(CancelAuctionError::NotFound("auction"))?;
                auction.cancel(by)?;
                let mut nft = uow.nfts().lock(auction.nft_id).await?.ok_or(CancelAuctionError::NotFound("NFT"))?;
                nft.status = NftStatus::Available;
                uow.nfts().update(&nft).await?;
                uow.auctions().update(&auction).await?;
                uow.commit().await?;
                Ok(auction)
            })
            .await
    }
}

// ----- settle (job step) -----

crate::define_uow!(
    /// Settling: the auction, its NFT, the winner's own offer, seller and winner funds.
    SettleAuctionUow, SettleAuctionUowFactory {
        auctions: AuctionRepo, nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
    }
);
crate::use_case_error!(SettleAuctionError);

pub struct SettleAuction {
    uows: Arc<dyn SettleAuctionUowFactory>,
    services: Services,
    fees: FeeRule,
}

impl SettleAuction {
    pub fn new(uows: Arc<dyn SettleAuctionUowFactory>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Settles the auction if it is active and past its end; `Ok(None)` otherwise. The auction
    /// row is locked and its status re-checked, so concurrent runs settle it exactly once.
    pub async fn execute(&self, auction_id: AuctionId) -> Result<Option<Auction>, SettleAuctionError> {
        self.services
            .run_locked("settle_auction", &format!("auction:{auction_id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut auction =
                    uow.auctions().lock(auction_id).await?.ok_or(SettleAuctionError::NotFound("auction"))?;
                if !auction.is_due(fx.now) {
                    return Ok(None);
                }
                let mut nft = uow.nfts().lock(auction.nft_id).await?.ok_or(SettleAuctionError::NotFound("NFT"))?;
                let mut offer = match auction.leader_id {
                    Some(w) => uow.offers().lock_open_by(nft.id, w).await?,
                    None => None,
                };
                let mut ids = vec![auction.seller_id];
                ids.extend(auction.leader_id);
                let mut accounts = Accounts::lock(uow.accounts(), &ids).await?;
                settle(&mut auction, &mut nft, offer.as_mut(), &mut accounts, &mut fx, self.fees)?;
                if let Some(offer) = &offer {
                    uow.offers().update(offer).await?;
                }
                uow.nfts().update(&nft).await?;
                uow.auctions().update(&auction).await?;
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(Some(auction))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::UseCaseError;
    use domain::ports::*;

    crate::fake_uow!(BidUow: PlaceBidUow, BidFactory: PlaceBidUowFactory {
        auctions: MockAuctionRepo => AuctionRepo, nfts: MockNftRepo => NftRepo, offers: MockOfferRepo => OfferRepo,
        accounts: MockAccountRepo => AccountRepo, ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(SettleUow: SettleAuctionUow, SettleFactory: SettleAuctionUowFactory {
        auctions: MockAuctionRepo => AuctionRepo, nfts: MockNftRepo => NftRepo, offers: MockOfferRepo => OfferRepo,
        accounts: MockAccountRepo => AccountRepo, ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(NewUow: NewAuctionUow, NewFactory: NewAuctionUowFactory {
        nfts: MockNftRepo => NftRepo, auctions: MockAuctionRepo => AuctionRepo,
    });
    crate::fake_uow!(CancelUow: CancelAuctionUow, CancelFactory: CancelAuctionUowFactory {
        auctions: MockAuctionRepo => AuctionRepo, nfts: MockNftRepo => NftRepo,
    });

    fn terms() -> AuctionTerms {
        AuctionTerms::new(m("10"), None, Some(m("100")), 3600).unwrap()
    }

    fn auction(leader: Option<(i64, &str)>) -> Auction {
        let mut a = Auction::open(AuctionId(uuid::Uuid::from_u128(5)), nft(1, None).id, UserId(1), &terms(), now());
        if let Some((u, amount)) = leader {
            a.leader_id = Some(UserId(u));
            a.current_bid = Some(m(amount));
            a.bid_count = 1;
        }
        a
    }

    fn bid_uow(a: Auction) -> BidUow {
        let mut uow = BidUow::default();
        uow.auctions.expect_lock().returning(move |_| Ok(Some(a.clone())));
        uow
    }

    #[tokio::test]
    async fn a_bid_holds_the_bidder_releases_the_previous_leader_and_commits() {
        let mut uow = bid_uow(auction(Some((2, "10"))));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "0", "10"), user(3, "20", "0")]));
        uow.accounts
            .expect_save()
            .withf(|u| u.id != UserId(2) || (u.available == m("10") && u.held == m("0")))
            .returning(|_| Ok(()));
        uow.auctions.expect_insert_bid().times(1).returning(|_| Ok(()));
        uow.auctions.expect_update().withf(|a| a.leader_id == Some(UserId(3))).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
        let (f, committed) = BidFactory::new(uow);
        let a = PlaceBid::new(f, services(), FeeRule::default(), Duration::seconds(300))
            .execute(UserId(3), AuctionId(uuid::Uuid::from_u128(5)), m("10.5"), None)
            .await
            .unwrap();
        assert!(committed.get());
        assert_eq!(a.current_bid, Some(m("10.5")));
    }

    #[tokio::test]
    async fn a_low_bid_or_a_bid_without_funds_commits_nothing() {
        let (f, committed) = BidFactory::new(bid_uow(auction(Some((2, "10")))));
        let e = PlaceBid::new(f, services(), FeeRule::default(), Duration::zero())
            .execute(UserId(3), AuctionId(uuid::Uuid::from_u128(5)), m("10.4"), None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("bid_too_low", false));

        let mut uow = bid_uow(auction(None));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(3, "5", "0")]));
        let (f, committed) = BidFactory::new(uow);
        let e = PlaceBid::new(f, services(), FeeRule::default(), Duration::zero())
            .execute(UserId(3), AuctionId(uuid::Uuid::from_u128(5)), m("10"), None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("insufficient_funds", false));
    }

    #[tokio::test]
    async fn a_buy_now_bid_settles_in_the_same_unit_of_work() {
        let mut uow = bid_uow(auction(None));
        uow.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        uow.offers.expect_lock_open_by().returning(|_, _| Ok(None));
        uow.accounts = accounts_with(vec![user(1, "0", "0"), user(3, "100", "0")]);
        uow.auctions.expect_insert_bid().returning(|_| Ok(()));
        uow.auctions.expect_update().withf(|a| a.status == AuctionStatus::Settled).times(1).returning(|_| Ok(()));
        uow.nfts
            .expect_update()
            .withf(|n| n.owner_id == UserId(3) && n.status == NftStatus::Available)
            .times(1)
            .returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = BidFactory::new(uow);
        PlaceBid::new(f, services(), FeeRule::default(), Duration::zero())
            .execute(UserId(3), AuctionId(uuid::Uuid::from_u128(5)), m("100"), None)
            .await
            .unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn settlement_skips_an_auction_that_is_not_due() {
        let mut uow = SettleUow::default();
        uow.auctions.expect_lock().returning(|_| Ok(Some(auction(None))));
        let (f, committed) = SettleFactory::new(uow);
        let r =
            SettleAuction::new(f, services(), FeeRule::default()).execute(AuctionId(uuid::Uuid::from_u128(5))).await;
        assert_eq!((r.unwrap(), committed.get()), (None, false));
    }

    #[tokio::test]
    async fn settlement_of_a_due_auction_pays_the_seller_and_commits() {
        let mut due = auction(Some((2, "20")));
        due.ends_at = now();
        let mut uow = SettleUow::default();
        uow.auctions.expect_lock().returning(move |_| Ok(Some(due.clone())));
        uow.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        uow.offers.expect_lock_open_by().returning(|_, _| Ok(None));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "0"), user(2, "0", "20")]));
        uow.accounts
            .expect_save()
            .withf(|u| u.id != UserId(1) || u.available == m("19"))
            .times(2)
            .returning(|_| Ok(()));
        uow.nfts.expect_update().withf(|n| n.owner_id == UserId(2)).returning(|_| Ok(()));
        uow.auctions.expect_update().returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = SettleFactory::new(uow);
        let r =
            SettleAuction::new(f, services(), FeeRule::default()).execute(AuctionId(uuid::Uuid::from_u128(5))).await;
        assert!(r.unwrap().is_some());
        assert!(committed.get());
    }

    #[tokio::test]
    async fn opening_an_auction_on_someone_elses_nft_commits_nothing() {
        let mut uow = NewUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        let (f, committed) = NewFactory::new(uow);
        let e = NewAuction::new(f, services()).execute(UserId(2), nft(1, None).id, terms(), None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("forbidden", false));
    }

    #[tokio::test]
    async fn an_auction_with_bids_cannot_be_cancelled() {
        let mut uow = CancelUow::default();
        uow.auctions.expect_lock().returning(|_| Ok(Some(auction(Some((2, "10"))))));
        let (f, committed) = CancelFactory::new(uow);
        let e = CancelAuction::new(f, services())
            .execute(UserId(1), AuctionId(uuid::Uuid::from_u128(5)), None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("auction_has_bids", false));
    }

    #[tokio::test]
    async fn opening_an_auction_takes_the_nft_off_the_market_and_commits() {
        let mut uow = NewUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(nft(1, Some("5")))));
        uow.auctions.expect_insert().times(1).returning(|_| Ok(()));
        uow.nfts
            .expect_update()
            .withf(|n| n.status == NftStatus::OnAuction && n.price.is_none())
            .times(1)
            .returning(|_| Ok(()));
        let (f, committed) = NewFactory::new(uow);
        NewAuction::new(f, services()).execute(UserId(1), nft(1, None).id, terms(), None).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn cancelling_an_auction_without_bids_frees_the_nft_and_commits() {
        let mut uow = CancelUow::default();
        uow.auctions.expect_lock().returning(|_| Ok(Some(auction(None))));
        uow.auctions.expect_update().withf(|a| a.status == AuctionStatus::Cancelled).times(1).returning(|_| Ok(()));
        uow.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        uow.nfts.expect_update().withf(|n| n.status == NftStatus::Available).times(1).returning(|_| Ok(()));
        let (f, committed) = CancelFactory::new(uow);
        CancelAuction::new(f, services()).execute(UserId(1), AuctionId(uuid::Uuid::from_u128(5)), None).await.unwrap();
        assert!(committed.get());
    }
}
