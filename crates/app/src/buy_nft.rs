//! Buy a listed NFT at its current price.

use std::sync::Arc;

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::idempotency::{IdempotencyError, IdempotencyKey};
use crate::services::Services;
use crate::uow::UseCaseError;

crate::define_uow!(
    /// What buying touches: the NFT, both balances, the buyer's own offer, the ledger, the outbox.
    BuyNftUow, BuyNftUowFactory {
        nfts: NftRepo,
        accounts: AccountRepo,
        offers: OfferRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
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

#[derive(Debug, thiserror::Error)]
pub enum BuyNftError {
    #[error("NFT not found")]
    NotFound,
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl UseCaseError for BuyNftError {
    fn is_transient(&self) -> bool {
        matches!(self, BuyNftError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            BuyNftError::NotFound => "not_found",
            BuyNftError::Rule(r) => r.code(),
            BuyNftError::Idempotency(_) => "idempotency",
            BuyNftError::Storage(_) => "storage",
        }
    }
}

pub struct BuyNft {
    uows: Arc<dyn BuyNftUowFactory>,
    services: Services,
    fees: FeeRule,
}

impl BuyNft {
    pub fn new(uows: Arc<dyn BuyNftUowFactory>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Moves the price from the buyer (their own open offer on the NFT is refunded first),
    /// `price − fee` to the seller and the fee to the fee account; the NFT changes hands unlisted;
    /// the seller is notified. All in one Unit of Work.
    #[tracing::instrument(name = "buy_nft", skip_all, fields(buyer = %cmd.buyer, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: BuyNftCommand) -> Result<Purchase, BuyNftError> {
        let key = format!("nft:{}", cmd.nft_id);
        self.services.run_locked("buy_nft", &key, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &BuyNftCommand) -> Result<Purchase, BuyNftError> {
        let now = self.services.now();
        let mut uow = self.uows.begin().await?;
        crate::idempotency::claim(uow.idempotency(), cmd.idempotency.as_ref(), self.services.now()).await??;

        let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(BuyNftError::NotFound)?;
        let price = nft.price_for(cmd.buyer, cmd.expected_price)?;
        let seller_id = nft.owner_id;
        let own_offer = uow.offers().lock_open_by(nft.id, cmd.buyer).await?;

        let users = uow.accounts().lock(&[cmd.buyer, seller_id]).await?;
        let (mut buyer, mut seller) = split_pair(users, cmd.buyer, seller_id)?;

        let mut entries = Vec::new();
        if let Some(mut offer) = own_offer {
            offer.close(OfferStatus::Cancelled);
            buyer.release(offer.price);
            uow.offers().update(&offer).await?;
            let refund = Posting::new(self.services.new_id(), Operation::OfferRelease, offer.id.to_string(), now)
                .transfer((Some(buyer.id), Account::Held), (Some(buyer.id), Account::Available), offer.price);
            entries.extend(refund.finish(|| self.services.new_id()));
        }

        let (fee, proceeds) = self.fees.split(price);
        buyer.debit(price)?;
        seller.credit(proceeds);
        nft.transfer_to(buyer.id);
        let sale = Posting::new(self.services.new_id(), Operation::Buy, nft.id.to_string(), now)
            .transfer((Some(buyer.id), Account::Available), (Some(seller.id), Account::Available), proceeds)
            .transfer((Some(buyer.id), Account::Available), (None, Account::Fees), fee);
        entries.extend(sale.finish(|| self.services.new_id()));

        uow.accounts().save(&buyer).await?;
        uow.accounts().save(&seller).await?;
        uow.nfts().update(&nft).await?;
        uow.ledger().append(&entries).await?;
        uow.outbox()
            .enqueue(&OutboxMessage {
                id: self.services.new_id(),
                payload: OutboxPayload::Notify {
                    user_id: seller.id,
                    text: format!("Your NFT \"{}\" was sold for {price} TON; {proceeds} TON credited.", nft.title),
                },
                created_at: now,
            })
            .await?;
        uow.commit().await?;
        Ok(Purchase { nft, price, fee })
    }
}

/// Picks the buyer and seller out of a locked pair. A buyer with no account has no funds.
fn split_pair(users: Vec<User>, buyer: UserId, seller: UserId) -> Result<(User, User), BuyNftError> {
    let mut buyer_row = None;
    let mut seller_row = None;
    for u in users {
        if u.id == buyer {
            buyer_row = Some(u);
        } else if u.id == seller {
            seller_row = Some(u);
        }
    }
    let buyer = buyer_row.ok_or(RuleViolation::InsufficientFunds)?;
    let seller = seller_row.ok_or_else(|| RepoError::Other(format!("owner {seller} of an NFT has no account")))?;
    Ok((buyer, seller))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{now, services};
    use domain::ports::*;
    use mockall::predicate::eq;

    crate::fake_uow!(FakeUow: BuyNftUow, FakeFactory: BuyNftUowFactory {
        nfts: MockNftRepo => NftRepo,
        accounts: MockAccountRepo => AccountRepo,
        offers: MockOfferRepo => OfferRepo,
        ledger: MockLedgerRepo => LedgerRepo,
        outbox: MockOutboxRepo => OutboxRepo,
    });

    const SELLER: UserId = UserId(1);
    const BUYER: UserId = UserId(2);

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn listed_nft(price: Option<&str>) -> Nft {
        Nft {
            id: NftId(uuid::Uuid::from_u128(7)),
            gift_id: "gift".into(),
            title: "Plush Pepe".into(),
            collection: "pepe".into(),
            owner_id: SELLER,
            price: price.map(m),
            status: NftStatus::Available,
            created_at: now(),
        }
    }

    fn user(id: UserId, available: &str, held: &str) -> User {
        User { id, username: None, available: m(available), held: m(held) }
    }

    fn cmd(expected: Option<&str>) -> BuyNftCommand {
        BuyNftCommand { buyer: BUYER, nft_id: listed_nft(None).id, expected_price: expected.map(m), idempotency: None }
    }

    fn use_case(uow: FakeUow) -> (BuyNft, crate::testing::Committed) {
        let (factory, committed) = FakeFactory::new(uow);
        (BuyNft::new(factory, services(), FeeRule::new(500)), committed)
    }

    /// A UoW where the NFT is listed at `price` and the buyer has `available`.
    fn world(price: Option<&str>, available: &str) -> FakeUow {
        let mut uow = FakeUow::default();
        let nft = listed_nft(price);
        uow.nfts.expect_lock().with(eq(nft.id)).returning(move |_| Ok(Some(nft.clone())));
        uow.offers.expect_lock_open_by().returning(|_, _| Ok(None));
        let available = available.to_string();
        uow.accounts.expect_lock().returning(move |_| Ok(vec![user(SELLER, "0", "0"), user(BUYER, &available, "0")]));
        uow
    }

    #[tokio::test]
    async fn a_successful_buy_moves_money_and_the_nft_and_commits_once() {
        let mut uow = world(Some("10"), "25");
        uow.accounts.expect_save().withf(|u| u.id == BUYER && u.available == m("15")).times(1).returning(|_| Ok(()));
        uow.accounts.expect_save().withf(|u| u.id == SELLER && u.available == m("9.5")).times(1).returning(|_| Ok(()));
        uow.nfts.expect_update().withf(|n| n.owner_id == BUYER && n.price.is_none()).times(1).returning(|_| Ok(()));
        uow.ledger
            .expect_append()
            .withf(|e| e.len() == 3 && e.iter().map(|e| e.amount).sum::<rust_decimal::Decimal>().is_zero())
            .times(1)
            .returning(|_| Ok(()));
        uow.outbox
            .expect_enqueue()
            .withf(|msg| matches!(msg.payload, OutboxPayload::Notify { user_id, .. } if user_id == SELLER))
            .times(1)
            .returning(|_| Ok(()));
        let (uc, committed) = use_case(uow);

        let purchase = uc.execute(cmd(Some("10"))).await.unwrap();

        assert!(committed.get());
        assert_eq!((purchase.price, purchase.fee, purchase.nft.owner_id), (m("10"), m("0.5"), BUYER));
    }

    #[tokio::test]
    async fn the_buyers_own_open_offer_is_refunded_before_paying() {
        let mut uow = FakeUow::default();
        let nft = listed_nft(Some("10"));
        uow.nfts.expect_lock().returning(move |_| Ok(Some(nft.clone())));
        let offer = Offer {
            id: OfferId(uuid::Uuid::from_u128(9)),
            nft_id: listed_nft(None).id,
            offerer_id: BUYER,
            price: m("8"),
            status: OfferStatus::Open,
            expires_at: now(),
            created_at: now(),
        };
        uow.offers.expect_lock_open_by().returning(move |_, _| Ok(Some(offer.clone())));
        uow.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(SELLER, "0", "0"), user(BUYER, "2", "8")]));
        uow.accounts
            .expect_save()
            .withf(|u| u.id != BUYER || (u.available == m("0") && u.held == m("0")))
            .times(2)
            .returning(|_| Ok(()));
        uow.nfts.expect_update().returning(|_| Ok(()));
        uow.ledger.expect_append().withf(|e| e.len() == 5).returning(|_| Ok(()));
        uow.outbox.expect_enqueue().returning(|_| Ok(()));
        let (uc, committed) = use_case(uow);

        uc.execute(cmd(None)).await.unwrap();

        assert!(committed.get());
    }

    async fn assert_fails_without_commit(uow: FakeUow, cmd: BuyNftCommand, expected: &str) {
        let (uc, committed) = use_case(uow);
        let err = uc.execute(cmd).await.unwrap_err();
        assert_eq!(err.reason(), expected, "{err}");
        assert!(!committed.get(), "committed after {err}");
    }

    #[tokio::test]
    async fn an_unknown_nft_commits_nothing() {
        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(None));
        assert_fails_without_commit(uow, cmd(None), "not_found").await;
    }

    #[tokio::test]
    async fn an_unlisted_nft_is_not_for_sale() {
        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(listed_nft(None))));
        assert_fails_without_commit(uow, cmd(None), "not_for_sale").await;
    }

    #[tokio::test]
    async fn buying_your_own_nft_is_refused() {
        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(listed_nft(Some("1")))));
        let mut c = cmd(None);
        c.buyer = SELLER;
        assert_fails_without_commit(uow, c, "own_item").await;
    }

    #[tokio::test]
    async fn a_changed_price_moves_nothing() {
        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(listed_nft(Some("12")))));
        assert_fails_without_commit(uow, cmd(Some("10")), "price_changed").await;
    }

    #[tokio::test]
    async fn an_nft_on_its_way_out_cannot_be_bought() {
        let mut uow = FakeUow::default();
        let mut nft = listed_nft(Some("1"));
        nft.status = NftStatus::Withdrawing;
        uow.nfts.expect_lock().returning(move |_| Ok(Some(nft.clone())));
        assert_fails_without_commit(uow, cmd(None), "nft_unavailable").await;
    }

    #[tokio::test]
    async fn a_buyer_without_enough_funds_commits_nothing() {
        assert_fails_without_commit(world(Some("10"), "9.999999999"), cmd(None), "insufficient_funds").await;
    }

    #[tokio::test]
    async fn a_storage_failure_midway_commits_nothing() {
        let mut uow = world(Some("10"), "10");
        uow.accounts.expect_save().returning(|_| Err(RepoError::Other("disk on fire".into())));
        assert_fails_without_commit(uow, cmd(None), "storage").await;
    }
}
