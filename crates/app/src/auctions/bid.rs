//! Bid in an auction.

use domain::ports::{AccountRepo, AuctionRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "place_bid";

crate::define_uow!(
    /// Bidding: the auction, its bids, the funds of bidder and outbid leader, and — for a
    /// buy-now bid that settles at once — the NFT, the seller and the winner's own offer.
    PlaceBidUow {
        auctions: AuctionRepo, nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo,
        outbox: OutboxRepo, events: EventRepo,
    }
);

#[derive(Clone, Debug)]
pub struct PlaceBidCommand {
    pub bidder: UserId,
    pub auction_id: AuctionId,
    pub amount: Money,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct PlaceBid {
    uows: Uows<dyn PlaceBidUow>,
    services: Services,
    fees: FeeRule,
    anti_sniping: chrono::Duration,
}

impl PlaceBid {
    pub fn new(uows: Uows<dyn PlaceBidUow>, services: Services, fees: FeeRule, anti_sniping: chrono::Duration) -> Self {
        Self { uows, services, fees, anti_sniping }
    }

    /// Holds the bid from the bidder and releases the previous leader's hold (they are told).
    /// A bid at or above the buy-now price settles the auction in the same Unit of Work.
    #[tracing::instrument(level = "debug", name = "place_bid", skip_all, fields(bidder = %cmd.bidder, auction = %cmd.auction_id))]
    pub async fn execute(&self, cmd: PlaceBidCommand) -> Result<Auction, Error> {
        self.services.run_locked(NAME, &lock::auction(cmd.auction_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &PlaceBidCommand) -> Result<Auction, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let (bidder, amount) = (cmd.bidder, cmd.amount);
            let mut auction = uow.auctions().lock(cmd.auction_id).await?.ok_or(Error::NotFound("auction"))?;
            let outcome = auction.accept_bid(bidder, amount, fx.now, self.anti_sniping)?;
            let mut settling = None;
            let nft = uow.nfts().get(auction.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            if outcome.buy_now {
                let nft = uow.nfts().lock(auction.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
                let offer = uow.offers().lock_open_by(nft.id, bidder).await?;
                settling = Some((nft, offer));
            }
            fx.event(EventKind::AuctionBid, &nft, Some(amount)).in_auction(auction.id);
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
            let bid = Bid {
                id: self.services.new_id(),
                auction_id: auction.id,
                bidder_id: bidder,
                amount,
                created_at: fx.now,
            };
            uow.auctions().insert_bid(&bid).await?;
            if let Some((mut nft, mut offer)) = settling {
                super::settle(&mut auction, &mut nft, offer.as_mut(), &mut accounts, &mut fx, self.fees)?;
                uow.nfts().update(&nft).await?;
                if let Some(offer) = &offer {
                    uow.offers().update(offer).await?;
                }
            }
            uow.auctions().update(&auction).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
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

    fn with(a: Auction) -> FakeTx {
        let mut tx = FakeTx::default();
        let listed = nft(1, None);
        tx.nfts.expect_get().returning(move |_| Ok(Some(listed.clone())));
        tx.auctions.expect_lock().returning(move |_| Ok(Some(a.clone())));
        tx
    }

    async fn bid(tx: FakeTx, bidder: i64, amount: &str) -> (Result<Auction, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = PlaceBidCommand {
            bidder: UserId(bidder),
            auction_id: auction(None).id,
            amount: m(amount),
            idempotency: None,
        };
        let r = PlaceBid::new(store, services(), FeeRule::default(), chrono::Duration::seconds(300)).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_bid_holds_the_bidder_releases_the_previous_leader_and_commits() {
        let mut tx = with(auction(Some((2, "10"))));
        let (accounts, saved) = accounts_saving(vec![user(2, "0", "10"), user(3, "20", "0")]);
        tx.accounts = accounts;
        tx.auctions.expect_insert_bid().times(1).returning(|_| Ok(()));
        tx.auctions.expect_update().withf(|a| a.leader_id == Some(UserId(3))).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = bid(tx, 3, "10.5").await;
        assert_eq!(r.unwrap().current_bid, Some(m("10.5")));
        assert!(committed);
        assert_eq!(saved.all(), [user(2, "10", "0"), user(3, "9.5", "10.5")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(2), Account::Held, d("-10")),
                (Some(2), Account::Available, d("10")),
                (Some(3), Account::Available, d("-10.5")),
                (Some(3), Account::Held, d("10.5")),
            ]
        );
        assert_eq!(sent.notified(), [2], "the previous leader is told");
    }

    #[tokio::test]
    async fn the_leader_raising_their_own_bid_re_holds_it_and_is_not_told_they_were_outbid() {
        let mut tx = with(auction(Some((2, "10"))));
        let (accounts, saved) = accounts_saving(vec![user(2, "5", "10")]);
        tx.accounts = accounts;
        tx.auctions
            .expect_insert_bid()
            .withf(|b| b.bidder_id == UserId(2) && b.amount == m("11"))
            .times(1)
            .returning(|_| Ok(()));
        tx.auctions.expect_update().withf(|a| a.current_bid == Some(m("11"))).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = bid(tx, 2, "11").await;
        assert_eq!(r.unwrap().leader_id, Some(UserId(2)));
        assert!(committed);
        assert_eq!(saved.all(), [user(2, "4", "11")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(2), Account::Held, d("-10")),
                (Some(2), Account::Available, d("10")),
                (Some(2), Account::Available, d("-11")),
                (Some(2), Account::Held, d("11")),
            ]
        );
        assert_eq!(
            written.all().into_iter().map(|e| (e.kind, e.price, e.auction_id)).collect::<Vec<_>>(),
            [(EventKind::AuctionBid, Some(m("11")), Some(auction(None).id))]
        );
    }

    #[tokio::test]
    async fn a_low_bid_is_refused_with_the_minimum_and_commits_nothing() {
        let (r, committed) = bid(with(auction(Some((2, "10")))), 3, "10.4").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::BidTooLow { min: m("10.5") }.into(), false));
    }

    #[tokio::test]
    async fn a_bid_without_funds_commits_nothing() {
        let mut tx = with(auction(None));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(3, "5", "0")]));
        let (r, committed) = bid(tx, 3, "10").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
    }

    #[tokio::test]
    async fn a_buy_now_bid_settles_in_the_same_unit_of_work() {
        let mut tx = with(auction(None));
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        tx.offers.expect_lock_open_by().returning(|_, _| Ok(None));
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0"), user(3, "100", "0")]);
        tx.accounts = accounts;
        tx.auctions.expect_insert_bid().times(1).returning(|_| Ok(()));
        tx.auctions.expect_update().withf(|a| a.status == AuctionStatus::Settled).times(1).returning(|_| Ok(()));
        tx.nfts
            .expect_update()
            .withf(|n| n.owner_id == UserId(3) && n.status == NftStatus::Available)
            .times(1)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = bid(tx, 3, "100").await;
        assert_eq!(r.unwrap().status, AuctionStatus::Settled);
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "95", "0"), user(3, "0", "0")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(3), Account::Available, d("-100")),
                (Some(3), Account::Held, d("100")),
                (Some(3), Account::Held, d("-100")),
                (Some(1), Account::Available, d("95")),
                (None, Account::Fees, d("5")),
            ]
        );
        assert_eq!(sent.notified(), [3, 1]);
        assert_eq!(
            written.all().into_iter().map(|e| (e.kind, e.price)).collect::<Vec<_>>(),
            [(EventKind::AuctionBid, Some(m("100"))), (EventKind::AuctionSettled, Some(m("100")))]
        );
    }
}
