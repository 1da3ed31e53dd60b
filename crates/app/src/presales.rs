//! Presales: sell a gift before it can be delivered, backed by the seller's collateral.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OutboxRepo, PresaleRepo};
use domain::presale::collateral_for;
use domain::*;

use crate::effects::{Accounts, Effects};
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
}

/// `new`, `set-price` and `delete`: the seller's side.
pub struct PresaleSeller {
    uows: Arc<dyn PresaleSellerUowFactory>,
    services: Services,
    collateral_percent: u32,
}

impl PresaleSeller {
    pub fn new(
        uows: Arc<dyn PresaleSellerUowFactory>,
        services: Services,
        collateral_percent: u32,
    ) -> Self {
        Self {
            uows,
            services,
            collateral_percent,
        }
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
                uow.presales().insert(&presale).await?;
                let mut accounts = Accounts::lock(uow.accounts(), &[cmd.seller]).await?;
                accounts.payer(cmd.seller)?.hold(collateral)?;
                fx.record(
                    fx.posting(Operation::CollateralHold, presale.id)
                        .hold(cmd.seller, collateral),
                );
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
    ) -> Result<Presale, PresaleSellerError> {
        self.change(by, id, "set_presale_price", |p, now, pct| {
            p.reprice(by, price, pct, now)
                .map(|old| (old, p.collateral))
        })
        .await
    }

    /// Withdraws an unsold presale; the collateral is released.
    pub async fn delete(&self, by: UserId, id: PresaleId) -> Result<Presale, PresaleSellerError> {
        self.change(by, id, "delete_presale", |p, now, _| {
            p.delete(by, now).map(|c| (c, Money::ZERO))
        })
        .await
    }

    /// Applies `f` (which returns the collateral held before and after) and moves the difference.
    async fn change<F>(
        &self,
        by: UserId,
        id: PresaleId,
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
                let mut presale = uow
                    .presales()
                    .lock(id)
                    .await?
                    .ok_or(PresaleSellerError::NotFound("presale"))?;
                let (before, after) = f(&mut presale, fx.now, self.collateral_percent)?;
                let mut accounts = Accounts::lock(uow.accounts(), &[by]).await?;
                let seller = accounts.payer(by)?;
                if let Some(more) = after.checked_sub(before) {
                    seller.hold(more)?;
                    fx.record(
                        fx.posting(Operation::CollateralHold, presale.id)
                            .hold(by, more),
                    );
                } else if let Some(less) = before.checked_sub(after) {
                    seller.release(less);
                    fx.record(
                        fx.posting(Operation::CollateralRelease, presale.id)
                            .release(by, less),
                    );
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
    ) -> Result<Presale, BuyPresaleError> {
        self.services
            .run_locked("buy_presale", &format!("presale:{id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut presale = uow
                    .presales()
                    .lock(id)
                    .await?
                    .ok_or(BuyPresaleError::NotFound("presale"))?;
                let price = presale.sell_to(buyer, expected_price, fx.now)?;
                let mut accounts = Accounts::lock(uow.accounts(), &[buyer]).await?;
                accounts.payer(buyer)?.hold(price)?;
                fx.record(
                    fx.posting(Operation::PresaleHold, presale.id)
                        .hold(buyer, price),
                );
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
        Self {
            uows,
            services,
            fees,
        }
    }

    /// The gift arrived: an NFT owned by the buyer is created, the held price goes to the seller
    /// minus the fee and the collateral is released to the seller.
    pub async fn execute(
        &self,
        id: PresaleId,
        gift_id: String,
    ) -> Result<(Presale, Nft), DeliverPresaleError> {
        self.services
            .run_locked("deliver_presale", &format!("presale:{id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
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
                match uow.nfts().insert(&nft).await {
                    Err(RepoError::Duplicate(_)) => return Err(DeliverPresaleError::DuplicateGift(gift_id.clone())),
                    other => other?,
                }
                let seller = presale.seller_id;
                let mut accounts = Accounts::lock(uow.accounts(), &[buyer, seller]).await?;
                let (fee, proceeds) = self.fees.split(presale.price);
                accounts.payee(buyer)?.take_held(presale.price);
                let s = accounts.payee(seller)?;
                s.credit(proceeds);
                s.release(presale.collateral);
                fx.record(fx.posting(Operation::PresaleDeliver, presale.id).sale(buyer, Account::Held, seller, proceeds, fee));
                fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(seller, presale.collateral));
                fx.notify(buyer, format!("Your presale gift \"{}\" was delivered.", presale.title));
                fx.notify(seller, format!("Delivery of \"{}\" confirmed: {proceeds} TON credited, collateral released.", presale.title));
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
                        fx.notify(buyer, format!("\"{}\" was not delivered in time: {price} TON back and {to_buyer} TON compensation.", presale.title));
                        fx.notify(seller, format!("\"{}\" was not delivered in time: the collateral of {collateral} TON is forfeited.", presale.title));
                        accounts.save(uow.accounts()).await?;
                    }
                    None => {
                        let mut accounts = Accounts::lock(uow.accounts(), &[seller]).await?;
                        accounts.payee(seller)?.release(collateral);
                        fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(seller, collateral));
                        fx.notify(seller, format!("Your unsold presale \"{}\" expired; the collateral is released.", presale.title));
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
