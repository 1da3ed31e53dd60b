//! Auctions: open, bid (with anti-sniping and buy-now), cancel without bids, settle exactly once.

use std::sync::Arc;

use chrono::Duration;
use domain::ports::{AccountRepo, AuctionRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
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
    ) -> Result<Auction, NewAuctionError> {
        self.services
            .run_locked("new_auction", &format!("nft:{nft_id}"), || async {
                let now = self.services.now();
                let mut uow = self.uows.begin().await?;
                let mut nft = uow
                    .nfts()
                    .lock(nft_id)
                    .await?
                    .ok_or(NewAuctionError::NotFound("NFT"))?;
                nft.ensure_owned_available(by)?;
                let auction = Auction::open(self.services.new_id(), nft.id, by, &terms, now);
                match uow.auctions().insert(&auction).await {
                    Err(RepoError::Duplicate(_)) => {
                        return Err(RuleViolation::NftUnavailable.into())
                    }
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
                fx.record(
                    fx.posting(Operation::OfferRelease, offer.id)
                        .release(winner, offer.price),
                );
            }
            nft.transfer_to(winner);
            fx.notify(
                winner,
                format!("You won \"{}\" for {price} TON.", nft.title),
            );
            fx.notify(
                auction.seller_id,
                format!(
                    "Your auction of \"{}\" ended: sold for {price} TON, {proceeds} TON credited.",
                    nft.title
                ),
            );
        }
        None => fx.notify(
            auction.seller_id,
            format!("Your auction of \"{}\" ended without bids.", nft.title),
        ),
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
    pub fn new(
        uows: Arc<dyn PlaceBidUowFactory>,
        services: Services,
        fees: FeeRule,
        anti_sniping: Duration,
    ) -> Self {
        Self {
            uows,
            services,
            fees,
            anti_sniping,
        }
    }

    /// Holds the bid from the bidder and releases the previous leader's hold (they are told).
    /// A bid at or above the buy-now price settles the auction in the same Unit of Work.
    #[tracing::instrument(name = "place_bid", skip_all, fields(bidder = %bidder, auction = %auction_id))]
    pub async fn execute(
        &self,
        bidder: UserId,
        auction_id: AuctionId,
        amount: Money,
    ) -> Result<Auction, PlaceBidError> {
        self.services
            .run_locked("place_bid", &format!("auction:{auction_id}"), || {
                self.attempt(bidder, auction_id, amount)
            })
            .await
    }

    async fn attempt(
        &self,
        bidder: UserId,
        auction_id: AuctionId,
        amount: Money,
    ) -> Result<Auction, PlaceBidError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        let mut auction = uow
            .auctions()
            .lock(auction_id)
            .await?
            .ok_or(PlaceBidError::NotFound("auction"))?;
        let outcome = auction.accept_bid(bidder, amount, fx.now, self.anti_sniping)?;
        let mut settling = None;
        if outcome.buy_now {
            let nft = uow
                .nfts()
                .lock(auction.nft_id)
                .await?
                .ok_or(PlaceBidError::NotFound("NFT"))?;
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
            fx.record(
                fx.posting(Operation::BidRelease, auction.id)
                    .release(previous, held),
            );
            if previous != bidder {
                fx.notify(
                    previous,
                    format!("You were outbid: {amount} TON. Your {held} TON are available again."),
                );
            }
        }
        accounts.payer(bidder)?.hold(amount)?;
        fx.record(
            fx.posting(Operation::BidHold, auction.id)
                .hold(bidder, amount),
        );
        let bid = Bid {
            id: self.services.new_id(),
            auction_id,
            bidder_id: bidder,
            amount,
            created_at: fx.now,
        };
        uow.auctions().insert_bid(&bid).await?;
        if let Some((mut nft, mut offer)) = settling {
            settle(
                &mut auction,
                &mut nft,
                offer.as_mut(),
                &mut accounts,
                &mut fx,
                self.fees,
            )?;
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
    ) -> Result<Auction, CancelAuctionError> {
        self.services
            .run_locked(
                "cancel_auction",
                &format!("auction:{auction_id}"),
                || async {
                    let mut uow = self.uows.begin().await?;
                    let mut auction = uow
                        .auctions()
                        .lock(auction_id)
                        .await?
                        .ok_or(CancelAuctionError::NotFound("auction"))?;
                    auction.cancel(by)?;
                    let mut nft = uow
                        .nfts()
                        .lock(auction.nft_id)
                        .await?
                        .ok_or(CancelAuctionError::NotFound("NFT"))?;
                    nft.status = NftStatus::Available;
                    uow.nfts().update(&nft).await?;
                    uow.auctions().update(&auction).await?;
                    uow.commit().await?;
                    Ok(auction)
                },
            )
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
        Self {
            uows,
            services,
            fees,
        }
    }

    /// Settles the auction if it is active and past its end; `Ok(None)` otherwise. The auction
    /// row is locked and its status re-checked, so concurrent runs settle it exactly once.
    pub async fn execute(
        &self,
        auction_id: AuctionId,
    ) -> Result<Option<Auction>, SettleAuctionError> {
        self.services
            .run_locked(
                "settle_auction",
                &format!("auction:{auction_id}"),
                || async {
                    let mut fx = Effects::new(&self.services, self.services.now());
                    let mut uow = self.uows.begin().await?;
                    let mut auction = uow
                        .auctions()
                        .lock(auction_id)
                        .await?
                        .ok_or(SettleAuctionError::NotFound("auction"))?;
                    if !auction.is_due(fx.now) {
                        return Ok(None);
                    }
                    let mut nft = uow
                        .nfts()
                        .lock(auction.nft_id)
                        .await?
                        .ok_or(SettleAuctionError::NotFound("NFT"))?;
                    let mut offer = match auction.leader_id {
                        Some(w) => uow.offers().lock_open_by(nft.id, w).await?,
                        None => None,
                    };
                    let mut ids = vec![auction.seller_id];
                    ids.extend(auction.leader_id);
                    let mut accounts = Accounts::lock(uow.accounts(), &ids).await?;
                    settle(
                        &mut auction,
                        &mut nft,
                        offer.as_mut(),
                        &mut accounts,
                        &mut fx,
                        self.fees,
                    )?;
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
                },
            )
            .await
    }
}
