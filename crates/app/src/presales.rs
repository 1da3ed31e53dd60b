//! Presales: sell a gift before it can be delivered, backed by the seller's collateral.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OutboxRepo, PresaleRepo};
use domain::presale::collateral_for;
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::Services;

crate::define_uow!(
    /// Seller-side changes to a presale: the presale, the seller's collateral.
    PresaleSellerUow, PresaleSellerUowFactory { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo }
);
crate::use_case_error!(PresaleSellerError);

#[derive(Clone, Debug)]
pub struct NewPresaleCommand {
    pub seller: UserId,
    pub title: String,
    pub collection: String,
    pub price: Money,
    /// 1 hour – 60 days ahead (checked at the edge).
    pub deliver_by: DateTime<Utc>,
    pub idempotency: Option<IdempotencyKey>,
}

/// `new`, `set-price` and `delete`: the seller's side.
pub struct PresaleSeller {
    uows: Arc<dyn PresaleSellerUowFactory>,
    services: Services,
    collateral_percent: u32,
}

impl PresaleSeller {
    pub fn new(uows: Arc<dyn PresaleSellerUowFactory>, services: Services, collateral_percent: u32) -> Self {
        Self { uows, services, collateral_percent }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.services.now()
    }

    /// Creates the presale and holds the collateral from the seller.
    pub async fn create(&self, cmd: NewPresaleCommand) -> Result<Presale, PresaleSellerError> {
        self.services
            .run("new_presale", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), cmd.idempotency.as_ref(), self.services.now()).await??;
                let collateral = collateral_for(cmd.price, self.collateral_percent);
                let presale = Presale {
                    id: self.services.new_id(),
                    seller_id: cmd.seller,
                    title: cmd.title.clone(),
                    collection: cmd.collection.clone(),
                    price: cmd.price,
                    collateral,
                    deliver_by: cmd.deliver_by,
                    buyer_id: None,
                    status: PresaleStatus::Open,
                    nft_id: None,
                    created_at: fx.now,
                };
                let mut accounts = Accounts::lock(uow.accounts(), &[cmd.seller]).await?;
                accounts.payer(cmd.seller)?.hold(collateral)?;
                uow.presales().insert(&presale).await?;
                fx.record(fx.posting(Operation::CollateralHold, presale.id).hold(cmd.seller, collateral));
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                uow.commit().await?;
                Ok(presale)
            })
            .await
    }

    /// New price while unsold; the collateral is re-held at the new price.
    pub async fn set_price(
        &self,
        by: UserId,
        id: PresaleId,
        price: Money,
        key: Option<&IdempotencyKey>,
    ) -> Result<Presale, PresaleSellerError> {
        self.change(by, id, key, "set_presale_price", |p, now, pct| {
            p.reprice(by, price, pct, now).map(|old| (old, p.collateral))
        })
        .await
    }

    /// Withdraws an unsold presale; the collateral is released.
    pub async fn delete(
        &self,
        by: UserId,
        id: PresaleId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Presale, PresaleSellerError> {
        self.change(by, id, key, "delete_presale", |p, now, _| p.delete(by, now).map(|c| (c, Money::ZERO))).await
    }

    /// Applies `f` (which returns the collateral held before and after) and moves the difference.
    async fn change<F>(
        &self,
        by: UserId,
        id: PresaleId,
        key: Option<&IdempotencyKey>,
        use_case: &'static str,
        f: F,
    ) -> Result<Presale, PresaleSellerError>
    where
        F: Fn(&mut Presale, DateTime<Utc>, u32) -> Result<(Money, Money), RuleViolation>,
    {
        self.services
            .run_locked(use_case, &format!("presale:{id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut presale = uow.presales().lock(id).await?.ok_or(PresaleSellerError::NotFound("presale"))?;
                let (before, after) = f(&mut presale, fx.now, self.collateral_percent)?;
                let mut accounts = Accounts::lock(uow.accounts(), &[by]).await?;
                let seller = accounts.payer(by)?;
                if let Some(more) = after.checked_sub(before) {
                    seller.hold(more)?;
                    fx.record(fx.posting(Operation::CollateralHold, presale.id).hold(by, more));
                } else if let Some(less) = before.checked_sub(after) {
                    seller.release(less);
                    fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(by, less));
                }
                uow.presales().update(&presale).await?;
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                uow.commit().await?;
                Ok(presale)
            })
            .await
    }
}

// ----- buy -----

crate::define_uow!(
    /// Buying a presale: the presale and the buyer's funds.
    BuyPresaleUow, BuyPresaleUowFactory { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);
crate::use_case_error!(BuyPresaleError);

pub struct BuyPresale {
    uows: Arc<dyn BuyPresaleUowFactory>,
    services: Services,
}

impl BuyPresale {
    pub fn new(uows: Arc<dyn BuyPresaleUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Holds the price from the buyer until delivery (or the deadline); the seller is told.
    pub async fn execute(
        &self,
        buyer: UserId,
        id: PresaleId,
        expected_price: Option<Money>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Presale, BuyPresaleError> {
        self.services
            .run_locked("buy_presale", &format!("presale:{id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut presale = uow.presales().lock(id).await?.ok_or(BuyPresaleError::NotFound("presale"))?;
                let price = presale.sell_to(buyer, expected_price, fx.now)?;
                let mut accounts = Accounts::lock(uow.accounts(), &[buyer]).await?;
                accounts.payer(buyer)?.hold(price)?;
                fx.record(fx.posting(Operation::PresaleHold, presale.id).hold(buyer, price));
                fx.notify(
                    presale.seller_id,
                    format!(
                        "Your presale \"{}\" was sold for {price} TON. Deliver by {}.",
                        presale.title, presale.deliver_by
                    ),
                );
                uow.presales().update(&presale).await?;
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(presale)
            })
            .await
    }
}

// ----- deliver (staff) -----

crate::define_uow!(
    /// Delivery: the presale, the new NFT, buyer and seller funds.
    DeliverPresaleUow, DeliverPresaleUowFactory {
        presales: PresaleRepo, nfts: NftRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
    }
);

#[derive(Debug, thiserror::Error)]
pub enum DeliverPresaleError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("gift {0} is already registered")]
    DuplicateGift(String),
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    #[error(transparent)]
    Idempotency(#[from] crate::idempotency::IdempotencyError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl crate::UseCaseError for DeliverPresaleError {
    fn is_transient(&self) -> bool {
        matches!(self, DeliverPresaleError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            DeliverPresaleError::NotFound(_) => "not_found",
            DeliverPresaleError::DuplicateGift(_) => "duplicate",
            DeliverPresaleError::Rule(r) => r.code(),
            DeliverPresaleError::Idempotency(_) => "idempotency",
            DeliverPresaleError::Storage(_) => "storage",
        }
    }
}

pub struct DeliverPresale {
    uows: Arc<dyn DeliverPresaleUowFactory>,
    services: Services,
    fees: FeeRule,
}

impl DeliverPresale {
    pub fn new(uows: Arc<dyn DeliverPresaleUowFactory>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// The gift arrived: an NFT owned by the buyer is created, the held price goes to the seller
    /// minus the fee and the collateral is released to the seller.
    pub async fn execute(
        &self,
        id: PresaleId,
        gift_id: String,
        key: Option<&IdempotencyKey>,
    ) -> Result<(Presale, Nft), DeliverPresaleError> {
        self.services
            .run_locked("deliver_presale", &format!("presale:{id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut presale = uow.presales().lock(id).await?.ok_or(DeliverPresaleError::NotFound("presale"))?;
                let nft_id: NftId = self.services.new_id();
                let buyer = presale.deliver(nft_id)?;
                let nft = Nft {
                    id: nft_id,
                    gift_id: gift_id.clone(),
                    title: presale.title.clone(),
                    collection: presale.collection.clone(),
                    owner_id: buyer,
                    price: None,
                    status: NftStatus::Available,
                    created_at: fx.now,
                };
                let seller = presale.seller_id;
                let mut accounts = Accounts::lock(uow.accounts(), &[buyer, seller]).await?;
                match uow.nfts().insert(&nft).await {
                    Err(RepoError::Duplicate(_)) => return Err(DeliverPresaleError::DuplicateGift(gift_id.clone())),
                    other => other?,
                }
                let (fee, proceeds) = self.fees.split(presale.price);
                accounts.payee(buyer)?.take_held(presale.price);
                let s = accounts.payee(seller)?;
                s.credit(proceeds);
                s.release(presale.collateral);
                fx.record(fx.posting(Operation::PresaleDeliver, presale.id).sale(
                    buyer,
                    Account::Held,
                    seller,
                    proceeds,
                    fee,
                ));
                fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(seller, presale.collateral));
                fx.notify(buyer, format!("Your presale gift \"{}\" was delivered.", presale.title));
                fx.notify(
                    seller,
                    format!(
                        "Delivery of \"{}\" confirmed: {proceeds} TON credited, collateral released.",
                        presale.title
                    ),
                );
                uow.presales().update(&presale).await?;
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok((presale, nft))
            })
            .await
    }
}

// ----- deadline (job step) -----

crate::define_uow!(
    /// Expiring an overdue presale: the presale, buyer and seller funds.
    ExpirePresaleUow, ExpirePresaleUowFactory { presales: PresaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);
crate::use_case_error!(ExpirePresaleError);

pub struct ExpirePresale {
    uows: Arc<dyn ExpirePresaleUowFactory>,
    services: Services,
}

impl ExpirePresale {
    pub fn new(uows: Arc<dyn ExpirePresaleUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Past `deliver_by` without delivery. Sold: the buyer's hold is released and the buyer gets
    /// half the collateral, the fee account the other half. Unsold: the collateral goes back to
    /// the seller. `Ok(None)` when not due (already closed or not yet overdue).
    pub async fn execute(&self, id: PresaleId) -> Result<Option<Presale>, ExpirePresaleError> {
        self.services
            .run_locked("expire_presale", &format!("presale:{id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut presale = uow.presales().lock(id).await?.ok_or(ExpirePresaleError::NotFound("presale"))?;
                if !presale.is_overdue(fx.now) {
                    return Ok(None);
                }
                let seller = presale.seller_id;
                let collateral = presale.collateral;
                let price = presale.price;
                match presale.expire() {
                    Some((buyer, to_buyer, to_fees)) => {
                        let mut accounts = Accounts::lock(uow.accounts(), &[buyer, seller]).await?;
                        accounts.payee(buyer)?.release(price);
                        accounts.payee(seller)?.take_held(collateral);
                        accounts.payee(buyer)?.credit(to_buyer);
                        fx.record(
                            fx.posting(Operation::PresaleForfeit, presale.id)
                                .release(buyer, price)
                                .transfer((Some(seller), Account::Held), (Some(buyer), Account::Available), to_buyer)
                                .transfer((Some(seller), Account::Held), (None, Account::Fees), to_fees),
                        );
                        fx.notify(
                            buyer,
                            format!(
                                "\"{}\" was not delivered in time: {price} TON back and {to_buyer} TON compensation.",
                                presale.title
                            ),
                        );
                        fx.notify(
                            seller,
                            format!(
                                "\"{}\" was not delivered in time: the collateral of {collateral} TON is forfeited.",
                                presale.title
                            ),
                        );
                        accounts.save(uow.accounts()).await?;
                    }
                    None => {
                        let mut accounts = Accounts::lock(uow.accounts(), &[seller]).await?;
                        accounts.payee(seller)?.release(collateral);
                        fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(seller, collateral));
                        fx.notify(
                            seller,
                            format!("Your unsold presale \"{}\" expired; the collateral is released.", presale.title),
                        );
                        accounts.save(uow.accounts()).await?;
                    }
                }
                uow.presales().update(&presale).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(Some(presale))
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

    crate::fake_uow!(SellerUow: PresaleSellerUow, SellerFactory: PresaleSellerUowFactory {
        presales: MockPresaleRepo => PresaleRepo, accounts: MockAccountRepo => AccountRepo, ledger: MockLedgerRepo => LedgerRepo,
    });
    crate::fake_uow!(BuyUow: BuyPresaleUow, BuyFactory: BuyPresaleUowFactory {
        presales: MockPresaleRepo => PresaleRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(DeliverUow: DeliverPresaleUow, DeliverFactory: DeliverPresaleUowFactory {
        presales: MockPresaleRepo => PresaleRepo, nfts: MockNftRepo => NftRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(ExpireUow: ExpirePresaleUow, ExpireFactory: ExpirePresaleUowFactory {
        presales: MockPresaleRepo => PresaleRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });

    fn presale(buyer: Option<i64>) -> Presale {
        Presale {
            id: PresaleId(uuid::Uuid::from_u128(8)),
            seller_id: UserId(1),
            title: "Cake".into(),
            collection: "cakes".into(),
            price: m("20"),
            collateral: m("4"),
            deliver_by: now() + chrono::Duration::days(1),
            buyer_id: buyer.map(UserId),
            status: if buyer.is_some() { PresaleStatus::Sold } else { PresaleStatus::Open },
            nft_id: None,
            created_at: now(),
        }
    }

    #[tokio::test]
    async fn creating_a_presale_holds_the_collateral_and_commits() {
        let mut uow = SellerUow::default();
        uow.presales.expect_insert().withf(|p| p.collateral == m("4")).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "0")]));
        uow.accounts.expect_save().withf(|u| u.held == m("4")).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        let (f, committed) = SellerFactory::new(uow);
        let cmd = NewPresaleCommand {
            seller: UserId(1),
            title: "Cake".into(),
            collection: "cakes".into(),
            price: m("20"),
            deliver_by: now() + chrono::Duration::days(1),
            idempotency: None,
        };
        PresaleSeller::new(f, services(), 20).create(cmd).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_sold_presale_cannot_be_deleted_or_repriced() {
        for delete in [true, false] {
            let mut uow = SellerUow::default();
            uow.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
            let (f, committed) = SellerFactory::new(uow);
            let uc = PresaleSeller::new(f, services(), 20);
            let e = if delete {
                uc.delete(UserId(1), presale(None).id, None).await.unwrap_err()
            } else {
                uc.set_price(UserId(1), presale(None).id, m("5"), None).await.unwrap_err()
            };
            assert_eq!((e.reason(), committed.get()), ("presale_sold", false));
        }
    }

    #[tokio::test]
    async fn buying_holds_the_price_and_commits_and_buying_your_own_does_not() {
        let mut uow = BuyUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        uow.presales.expect_update().withf(|p| p.status == PresaleStatus::Sold).times(1).returning(|_| Ok(()));
        uow.accounts = accounts_with(vec![user(2, "30", "0")]);
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = BuyFactory::new(uow);
        BuyPresale::new(f, services()).execute(UserId(2), presale(None).id, Some(m("20")), None).await.unwrap();
        assert!(committed.get());

        let mut uow = BuyUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        let (f, committed) = BuyFactory::new(uow);
        let e = BuyPresale::new(f, services()).execute(UserId(1), presale(None).id, None, None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("own_item", false));
    }

    #[tokio::test]
    async fn delivery_creates_the_nft_pays_the_seller_and_commits() {
        let mut uow = DeliverUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        uow.presales.expect_update().withf(|p| p.status == PresaleStatus::Delivered).returning(|_| Ok(()));
        uow.nfts.expect_insert().withf(|n| n.owner_id == UserId(2)).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "4"), user(2, "0", "20")]));
        uow.accounts
            .expect_save()
            .withf(|u| u.id != UserId(1) || (u.available == m("23") && u.held == m("0")))
            .times(2)
            .returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = DeliverFactory::new(uow);
        DeliverPresale::new(f, services(), FeeRule::default())
            .execute(presale(None).id, "gift-9".into(), None)
            .await
            .unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn delivering_an_unsold_presale_or_a_known_gift_commits_nothing() {
        let mut uow = DeliverUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        let (f, committed) = DeliverFactory::new(uow);
        let e = DeliverPresale::new(f, services(), FeeRule::default())
            .execute(presale(None).id, "g".into(), None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("presale_not_sold", false));

        let mut uow = DeliverUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "4"), user(2, "0", "20")]));
        uow.nfts.expect_insert().returning(|_| Err(RepoError::Duplicate("nfts_gift_id_key".into())));
        let (f, committed) = DeliverFactory::new(uow);
        let e = DeliverPresale::new(f, services(), FeeRule::default())
            .execute(presale(None).id, "g".into(), None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("duplicate", false));
    }

    #[tokio::test]
    async fn the_deadline_refunds_the_buyer_with_half_the_collateral() {
        let mut overdue = presale(Some(2));
        overdue.deliver_by = now();
        let mut uow = ExpireUow::default();
        uow.presales.expect_lock().returning(move |_| Ok(Some(overdue.clone())));
        uow.presales.expect_update().withf(|p| p.status == PresaleStatus::Expired).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "4"), user(2, "0", "20")]));
        uow.accounts
            .expect_save()
            .withf(
                |u| if u.id == UserId(2) { u.available == m("22") } else { u.held == m("0") && u.available == m("0") },
            )
            .times(2)
            .returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = ExpireFactory::new(uow);
        assert!(ExpirePresale::new(f, services()).execute(presale(None).id).await.unwrap().is_some());
        assert!(committed.get());

        let mut uow = ExpireUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        let (f, committed) = ExpireFactory::new(uow);
        assert_eq!(ExpirePresale::new(f, services()).execute(presale(None).id).await.unwrap(), None);
        assert!(!committed.get(), "not due: nothing written");
    }

    #[tokio::test]
    async fn repricing_re_holds_the_collateral_and_deleting_releases_it() {
        let mut uow = SellerUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        uow.presales.expect_update().withf(|p| p.collateral == m("6")).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "4")]));
        uow.accounts.expect_save().withf(|u| u.available == m("8") && u.held == m("6")).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        let (f, committed) = SellerFactory::new(uow);
        PresaleSeller::new(f, services(), 20).set_price(UserId(1), presale(None).id, m("30"), None).await.unwrap();
        assert!(committed.get());

        let mut uow = SellerUow::default();
        uow.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        uow.presales.expect_update().withf(|p| p.status == PresaleStatus::Deleted).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "6", "4")]));
        uow.accounts.expect_save().withf(|u| u.available == m("10") && u.held == m("0")).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        let (f, committed) = SellerFactory::new(uow);
        PresaleSeller::new(f, services(), 20).delete(UserId(1), presale(None).id, None).await.unwrap();
        assert!(committed.get());
    }
}
