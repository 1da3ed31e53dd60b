//! Buy a listed NFT at its current price.

use domain::ports::{AccountRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo, SaleLocks, SaleRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "buy_nft";

crate::define_uow!(
    /// What buying touches: the NFT, both balances, the buyer's own offer (all three locked in one
    /// request), the ledger, the outbox.
    BuyNftUow {
        sales: SaleRepo,
        nfts: NftRepo,
        offers: OfferRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
        events: EventRepo,
    }
);

#[derive(Clone, Debug)]
pub struct BuyNftCommand {
    pub buyer: UserId,
    pub nft_id: NftId,
    /// When given and different from the current price, nothing moves (`price_changed`).
    pub expected_price: Option<Money>,
    /// The request's `Idempotency-Key`, claimed in the same Unit of Work.
    pub idempotency: Option<IdempotencyKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    pub nft: Nft,
    pub price: Money,
    pub fee: Money,
}

pub struct BuyNft {
    uows: Uows<dyn BuyNftUow>,
    services: Services,
    fees: FeeRule,
}

impl BuyNft {
    pub fn new(uows: Uows<dyn BuyNftUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Moves the price from the buyer (their own open offer on the NFT is refunded first),
    /// `price − fee` to the seller and the fee to the fee account; the NFT changes hands unlisted;
    /// the seller is notified. All in one Unit of Work.
    #[tracing::instrument(level = "debug", name = "buy_nft", skip_all, fields(buyer = %cmd.buyer, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: BuyNftCommand) -> Result<Purchase, Error> {
        self.services.run_locked(NAME, &lock::nft(cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &BuyNftCommand) -> Result<Purchase, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;

            let SaleLocks { mut nft, own_offer, parties } =
                uow.sales().lock_sale(cmd.nft_id, cmd.buyer).await?.ok_or(Error::NotFound("NFT"))?;
            let price = nft.price_for(cmd.buyer, cmd.expected_price)?;
            let seller = nft.owner_id;
            let mut accounts = Accounts::locked(parties);

            if let Some(mut offer) = own_offer {
                offer.close(OfferStatus::Cancelled);
                accounts.payee(cmd.buyer)?.release(offer.price);
                fx.record(fx.posting(Operation::OfferRelease, offer.id).release(cmd.buyer, offer.price));
                uow.offers().update(&offer).await?;
            }
            let (fee, proceeds) = self.fees.split(price);
            accounts.payer(cmd.buyer)?.debit(price)?;
            accounts.payee(seller)?.credit(proceeds);
            fx.record(fx.posting(Operation::Buy, nft.id).sale(cmd.buyer, Account::Available, seller, proceeds, fee));
            nft.transfer_to(cmd.buyer);
            fx.notify(seller, format!("Your NFT \"{}\" was sold for {price} TON; {proceeds} TON credited.", nft.title));

            accounts.save(uow.accounts()).await?;
            uow.nfts().update(&nft).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.event(EventKind::Sold, &nft, Some(price));
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            Ok(Purchase { nft, price, fee })
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use mockall::predicate::eq;

    const SELLER: UserId = UserId(1);
    const BUYER: UserId = UserId(2);

    fn cmd(expected: Option<&str>) -> BuyNftCommand {
        BuyNftCommand { buyer: BUYER, nft_id: nft(1, None).id, expected_price: expected.map(m), idempotency: None }
    }

    async fn run(tx: FakeTx, cmd: BuyNftCommand) -> (Result<Purchase, Error>, bool) {
        let (store, committed) = store(tx);
        let r = BuyNft::new(store, services(), FeeRule::new(500)).execute(cmd).await;
        (r, committed.get())
    }

    /// A transaction where the NFT is listed at `price` and the buyer has `available`.
    fn world(price: Option<&str>, available: &str) -> FakeTx {
        let mut tx = FakeTx::default();
        let listed = nft(1, price);
        let available = available.to_string();
        tx.sales.expect_lock_sale().with(eq(listed.id), eq(BUYER)).returning(move |_, _| {
            Ok(Some(SaleLocks {
                nft: listed.clone(),
                own_offer: None,
                parties: vec![user(1, "0", "0"), user(2, &available, "0")],
            }))
        });
        tx
    }

    #[tokio::test]
    async fn a_successful_buy_moves_money_and_the_nft_and_commits_once() {
        let mut tx = world(Some("10"), "25");
        tx.accounts.expect_save().withf(|u| u.id == BUYER && u.available == m("15")).times(1).returning(|_| Ok(()));
        tx.accounts.expect_save().withf(|u| u.id == SELLER && u.available == m("9.5")).times(1).returning(|_| Ok(()));
        tx.nfts.expect_update().withf(|n| n.owner_id == BUYER && n.price.is_none()).times(1).returning(|_| Ok(()));
        tx.ledger
            .expect_append()
            .withf(|e| e.len() == 3 && e.iter().map(|e| e.amount).sum::<rust_decimal::Decimal>().is_zero())
            .times(1)
            .returning(|_| Ok(()));
        tx.outbox
            .expect_enqueue()
            .withf(|msg| matches!(msg.payload, OutboxPayload::Notify { user_id, .. } if user_id == SELLER))
            .times(1)
            .returning(|_| Ok(()));

        let (purchase, committed) = run(tx, cmd(Some("10"))).await;

        let purchase = purchase.unwrap();
        assert!(committed);
        assert_eq!((purchase.price, purchase.fee, purchase.nft.owner_id), (m("10"), m("0.5"), BUYER));
    }

    #[tokio::test]
    async fn the_buyers_own_open_offer_is_refunded_before_paying() {
        let mut tx = FakeTx::default();
        tx.sales.expect_lock_sale().returning(|_, _| {
            Ok(Some(SaleLocks {
                nft: nft(1, Some("10")),
                own_offer: Some(offer(2, "8")),
                parties: vec![user(1, "0", "0"), user(2, "2", "8")],
            }))
        });
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        tx.accounts
            .expect_save()
            .withf(|u| u.id != BUYER || (u.available == m("0") && u.held == m("0")))
            .times(2)
            .returning(|_| Ok(()));
        tx.nfts.expect_update().returning(|_| Ok(()));
        tx.ledger.expect_append().withf(|e| e.len() == 5).returning(|_| Ok(()));
        tx.outbox = any_outbox();

        let (r, committed) = run(tx, cmd(None)).await;

        r.unwrap();
        assert!(committed);
    }

    async fn assert_fails_without_commit(tx: FakeTx, cmd: BuyNftCommand, expected: Error) {
        let (r, committed) = run(tx, cmd).await;
        assert_eq!(r.unwrap_err(), expected);
        assert!(!committed, "committed after {expected}");
    }

    #[tokio::test]
    async fn an_unknown_nft_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.sales.expect_lock_sale().returning(|_, _| Ok(None));
        assert_fails_without_commit(tx, cmd(None), Error::NotFound("NFT")).await;
    }

    /// A transaction where the NFT is `listed` (its seller and a rich buyer locked with it).
    fn only(listed: Nft) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.sales.expect_lock_sale().returning(move |_, _| {
            Ok(Some(SaleLocks {
                nft: listed.clone(),
                own_offer: None,
                parties: vec![user(1, "0", "0"), user(2, "100", "0")],
            }))
        });
        tx
    }

    #[tokio::test]
    async fn an_unlisted_nft_is_not_for_sale() {
        let tx = only(nft(1, None));
        assert_fails_without_commit(tx, cmd(None), RuleViolation::NotForSale.into()).await;
    }

    #[tokio::test]
    async fn buying_your_own_nft_is_refused() {
        let tx = only(nft(1, Some("1")));
        let mut c = cmd(None);
        c.buyer = SELLER;
        assert_fails_without_commit(tx, c, RuleViolation::OwnItem.into()).await;
    }

    #[tokio::test]
    async fn a_changed_price_moves_nothing_and_says_the_new_price() {
        let tx = only(nft(1, Some("12")));
        assert_fails_without_commit(tx, cmd(Some("10")), RuleViolation::PriceChanged { current: m("12") }.into()).await;
    }

    #[tokio::test]
    async fn an_nft_on_its_way_out_cannot_be_bought() {
        let mut leaving = nft(1, Some("1"));
        leaving.status = NftStatus::Withdrawing;
        let tx = only(leaving);
        assert_fails_without_commit(tx, cmd(None), RuleViolation::NftUnavailable.into()).await;
    }

    #[tokio::test]
    async fn a_buyer_without_enough_funds_commits_nothing() {
        assert_fails_without_commit(
            world(Some("10"), "9.999999999"),
            cmd(None),
            RuleViolation::InsufficientFunds.into(),
        )
        .await;
    }

    #[tokio::test]
    async fn a_storage_failure_midway_commits_nothing() {
        let mut tx = world(Some("10"), "10");
        tx.accounts.expect_save().returning(|_| Err(RepoError::Other("disk on fire".into())));
        assert_fails_without_commit(tx, cmd(None), RepoError::Other("disk on fire".into()).into()).await;
    }
}
