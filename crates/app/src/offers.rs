//! Offers: bids on an NFT whoever owns it. The price is held from the offerer while open.

use std::sync::Arc;

use chrono::Duration;
use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::Services;

// ----- new -----

crate::define_uow!(
    /// Making an offer: the NFT (locked to check owner and status), offers, the offerer's funds.
    NewOfferUow, NewOfferUowFactory {
        nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
    }
);
crate::use_case_error!(NewOfferError);

#[derive(Clone, Debug)]
pub struct NewOfferCommand {
    pub offerer: UserId,
    pub nft_id: NftId,
    pub price: Money,
    /// 60 s – 30 days (checked at the edge).
    pub expires_in: Duration,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct NewOffer {
    uows: Arc<dyn NewOfferUowFactory>,
    services: Services,
}

impl NewOffer {
    pub fn new(uows: Arc<dyn NewOfferUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Holds the price from the offerer and tells the owner. One open offer per user and NFT.
    #[tracing::instrument(name = "new_offer", skip_all, fields(offerer = %cmd.offerer, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: NewOfferCommand) -> Result<Offer, NewOfferError> {
        self.services.run_locked("new_offer", &format!("nft:{}", cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &NewOfferCommand) -> Result<Offer, NewOfferError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        crate::idempotency::claim(uow.idempotency(), cmd.idempotency.as_ref(), self.services.now()).await??;
        let nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(NewOfferError::NotFound("NFT"))?;
        if nft.owner_id == cmd.offerer {
            return Err(RuleViolation::OwnItem.into());
        }
        nft.ensure_available()?;
        let offer = Offer {
            id: self.services.new_id(),
            nft_id: nft.id,
            offerer_id: cmd.offerer,
            price: cmd.price,
            status: OfferStatus::Open,
            expires_at: fx.now + cmd.expires_in,
            created_at: fx.now,
        };
        // Users are locked before inserting rows that reference them (see ADR 002).
        let mut accounts = Accounts::lock(uow.accounts(), &[cmd.offerer]).await?;
        accounts.payer(cmd.offerer)?.hold(cmd.price)?;
        match uow.offers().insert(&offer).await {
            Err(RepoError::Duplicate(_)) => return Err(RuleViolation::OfferExists.into()),
            other => other?,
        }
        fx.record(fx.posting(Operation::OfferHold, offer.id).hold(cmd.offerer, cmd.price));
        fx.notify(nft.owner_id, format!("New offer of {} TON for \"{}\".", cmd.price, nft.title));
        accounts.save(uow.accounts()).await?;
        fx.write_ledger(uow.ledger()).await?;
        fx.write_outbox(uow.outbox()).await?;
        uow.commit().await?;
        Ok(offer)
    }
}

// ----- set-price -----

crate::define_uow!(
    /// Changing an offer's price: the offer and the offerer's funds.
    SetOfferPriceUow, SetOfferPriceUowFactory { offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo }
);
crate::use_case_error!(SetOfferPriceError);

pub struct SetOfferPrice {
    uows: Arc<dyn SetOfferPriceUowFactory>,
    services: Services,
}

impl SetOfferPrice {
    pub fn new(uows: Arc<dyn SetOfferPriceUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Offerer only, on a live offer: the hold grows or shrinks by the difference.
    pub async fn execute(
        &self,
        by: UserId,
        offer_id: OfferId,
        price: Money,
        key: Option<&IdempotencyKey>,
    ) -> Result<Offer, SetOfferPriceError> {
        self.services
            .run("set_offer_price", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut offer = uow.offers().lock(offer_id).await?.ok_or(SetOfferPriceError::NotFound("offer"))?;
                if offer.offerer_id != by {
                    return Err(RuleViolation::NotOwner.into());
                }
                offer.ensure_live(fx.now)?;
                let mut accounts = Accounts::lock(uow.accounts(), &[by]).await?;
                let user = accounts.payer(by)?;
                if let Some(more) = price.checked_sub(offer.price) {
                    user.hold(more)?;
                    fx.record(fx.posting(Operation::OfferHold, offer.id).hold(by, more));
                } else if let Some(less) = offer.price.checked_sub(price) {
                    user.release(less);
                    fx.record(fx.posting(Operation::OfferRelease, offer.id).release(by, less));
                }
                offer.price = price;
                uow.offers().update(&offer).await?;
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                uow.commit().await?;
                Ok(offer)
            })
            .await
    }
}

// ----- accept / refuse (the NFT's current owner) -----

crate::define_uow!(
    /// Accepting or refusing: the NFT, the offer, both users' funds.
    DecideOfferUow, DecideOfferUowFactory {
        nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
    }
);
crate::use_case_error!(DecideOfferError);

/// What the owner decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Refuse,
}

pub struct DecideOffer {
    uows: Arc<dyn DecideOfferUowFactory>,
    services: Services,
    fees: FeeRule,
}

impl DecideOffer {
    pub fn new(uows: Arc<dyn DecideOfferUowFactory>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Accept: the held price goes to the owner minus the fee and the NFT to the offerer
    /// (unlisted). Refuse: the hold is released. Either way the offerer is told.
    #[tracing::instrument(name = "decide_offer", skip_all, fields(by = %by, offer = %offer_id, ?decision))]
    pub async fn execute(
        &self,
        by: UserId,
        offer_id: OfferId,
        decision: Decision,
        key: Option<&IdempotencyKey>,
    ) -> Result<Offer, DecideOfferError> {
        let use_case = if decision == Decision::Accept { "accept_offer" } else { "refuse_offer" };
        self.services
            .run_locked(use_case, &format!("offer:{offer_id}"), || self.attempt(by, offer_id, decision, key))
            .await
    }

    async fn attempt(
        &self,
        by: UserId,
        offer_id: OfferId,
        decision: Decision,
        key: Option<&IdempotencyKey>,
    ) -> Result<Offer, DecideOfferError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
        // Lock order: the NFT first, then the offer (re-read under its lock).
        let nft_id = uow.offers().get(offer_id).await?.ok_or(DecideOfferError::NotFound("offer"))?.nft_id;
        let mut nft = uow.nfts().lock(nft_id).await?.ok_or(DecideOfferError::NotFound("NFT"))?;
        let mut offer = uow.offers().lock(offer_id).await?.ok_or(DecideOfferError::NotFound("offer"))?;
        if nft.owner_id != by {
            return Err(RuleViolation::NotOwner.into());
        }
        let owner = nft.owner_id;
        let offerer = offer.offerer_id;
        match decision {
            Decision::Accept => {
                offer.ensure_live(fx.now)?;
                nft.ensure_available()?;
                if offerer == owner {
                    return Err(RuleViolation::OwnItem.into());
                }
                let mut accounts = Accounts::lock(uow.accounts(), &[owner, offerer]).await?;
                let (fee, proceeds) = self.fees.split(offer.price);
                accounts.payee(offerer)?.take_held(offer.price);
                accounts.payee(owner)?.credit(proceeds);
                fx.record(fx.posting(Operation::OfferAccept, offer.id).sale(
                    offerer,
                    Account::Held,
                    owner,
                    proceeds,
                    fee,
                ));
                offer.close(OfferStatus::Accepted);
                nft.transfer_to(offerer);
                fx.notify(
                    offerer,
                    format!("Your offer of {} TON for \"{}\" was accepted: it is yours.", offer.price, nft.title),
                );
                uow.nfts().update(&nft).await?;
                accounts.save(uow.accounts()).await?;
            }
            Decision::Refuse => {
                if offer.status != OfferStatus::Open {
                    return Err(RuleViolation::OfferNotOpen.into());
                }
                let mut accounts = Accounts::lock(uow.accounts(), &[offerer]).await?;
                accounts.payee(offerer)?.release(offer.price);
                fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offerer, offer.price));
                offer.close(OfferStatus::Refused);
                fx.notify(
                    offerer,
                    format!("Your offer of {} TON for \"{}\" was refused; the funds are back.", offer.price, nft.title),
                );
                accounts.save(uow.accounts()).await?;
            }
        }
        uow.offers().update(&offer).await?;
        fx.write_ledger(uow.ledger()).await?;
        fx.write_outbox(uow.outbox()).await?;
        uow.commit().await?;
        Ok(offer)
    }
}

// ----- cancel (offerer) and expire (job) -----

crate::define_uow!(
    /// Closing an offer from the offerer's side: the offer and the offerer's funds.
    CloseOfferUow, CloseOfferUowFactory { offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);
crate::use_case_error!(CloseOfferError);

pub struct CloseOffer {
    uows: Arc<dyn CloseOfferUowFactory>,
    services: Services,
}

impl CloseOffer {
    pub fn new(uows: Arc<dyn CloseOfferUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// The offerer withdraws an open offer; the hold is released.
    pub async fn cancel(
        &self,
        by: UserId,
        offer_id: OfferId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Offer, CloseOfferError> {
        self.services
            .run("cancel_offer", || self.attempt(offer_id, Some(by), key))
            .await
            .and_then(|o| o.ok_or(RuleViolation::OfferNotOpen.into()))
    }

    /// Expires an open offer past its expiry (the job's step). `Ok(None)` when there was
    /// nothing to do: already closed, or not yet due — safe to run on several instances.
    pub async fn expire(&self, offer_id: OfferId) -> Result<Option<Offer>, CloseOfferError> {
        self.services.run("expire_offer", || self.attempt(offer_id, None, None)).await
    }

    async fn attempt(
        &self,
        offer_id: OfferId,
        cancelled_by: Option<UserId>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<Offer>, CloseOfferError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
        let mut offer = uow.offers().lock(offer_id).await?.ok_or(CloseOfferError::NotFound("offer"))?;
        let offerer = offer.offerer_id;
        match cancelled_by {
            Some(by) if by != offerer => return Err(RuleViolation::NotOwner.into()),
            Some(_) if offer.status != OfferStatus::Open => return Err(RuleViolation::OfferNotOpen.into()),
            Some(_) => offer.close(OfferStatus::Cancelled),
            None if offer.status != OfferStatus::Open || fx.now < offer.expires_at => return Ok(None),
            None => {
                offer.close(OfferStatus::Expired);
                fx.notify(offerer, format!("Your offer of {} TON expired; the funds are back.", offer.price));
            }
        }
        let mut accounts = Accounts::lock(uow.accounts(), &[offerer]).await?;
        accounts.payee(offerer)?.release(offer.price);
        fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offerer, offer.price));
        accounts.save(uow.accounts()).await?;
        uow.offers().update(&offer).await?;
        fx.write_ledger(uow.ledger()).await?;
        fx.write_outbox(uow.outbox()).await?;
        uow.commit().await?;
        Ok(Some(offer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::UseCaseError;
    use domain::ports::*;

    crate::fake_uow!(NewUow: NewOfferUow, NewFactory: NewOfferUowFactory {
        nfts: MockNftRepo => NftRepo, offers: MockOfferRepo => OfferRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(DecideUow: DecideOfferUow, DecideFactory: DecideOfferUowFactory {
        nfts: MockNftRepo => NftRepo, offers: MockOfferRepo => OfferRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(CloseUow: CloseOfferUow, CloseFactory: CloseOfferUowFactory {
        offers: MockOfferRepo => OfferRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });
    crate::fake_uow!(PriceUow: SetOfferPriceUow, PriceFactory: SetOfferPriceUowFactory {
        offers: MockOfferRepo => OfferRepo, accounts: MockAccountRepo => AccountRepo, ledger: MockLedgerRepo => LedgerRepo,
    });

    fn new_cmd(offerer: i64, price: &str) -> NewOfferCommand {
        NewOfferCommand {
            offerer: UserId(offerer),
            nft_id: nft(1, None).id,
            price: m(price),
            expires_in: Duration::days(7),
            idempotency: None,
        }
    }

    fn new_uow(nft_: Nft) -> NewUow {
        let mut uow = NewUow::default();
        uow.nfts.expect_lock().returning(move |_| Ok(Some(nft_.clone())));
        uow
    }

    #[tokio::test]
    async fn a_new_offer_holds_the_price_and_commits() {
        let mut uow = new_uow(nft(1, None));
        uow.offers.expect_insert().times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "10", "0")]));
        uow.accounts.expect_save().withf(|u| u.available == m("6") && u.held == m("4")).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = NewFactory::new(uow);
        let offer = NewOffer::new(f, services()).execute(new_cmd(2, "4")).await.unwrap();
        assert!(committed.get());
        assert_eq!(offer.status, OfferStatus::Open);
    }

    #[tokio::test]
    async fn offering_on_your_own_or_an_unavailable_nft_commits_nothing() {
        let (f, committed) = NewFactory::new(new_uow(nft(2, None)));
        let e = NewOffer::new(f, services()).execute(new_cmd(2, "4")).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("own_item", false));
        let mut gone = nft(1, None);
        gone.status = NftStatus::Withdrawing;
        let (f, committed) = NewFactory::new(new_uow(gone));
        let e = NewOffer::new(f, services()).execute(new_cmd(2, "4")).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("nft_unavailable", false));
    }

    #[tokio::test]
    async fn a_second_open_offer_or_too_little_money_commits_nothing() {
        let mut uow = new_uow(nft(1, None));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "10", "0")]));
        uow.offers.expect_insert().returning(|_| Err(RepoError::Duplicate("offers_one_open_per_user_nft".into())));
        let (f, committed) = NewFactory::new(uow);
        let e = NewOffer::new(f, services()).execute(new_cmd(2, "4")).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("offer_exists", false));

        let mut uow = new_uow(nft(1, None));
        uow.offers.expect_insert().returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "3", "0")]));
        let (f, committed) = NewFactory::new(uow);
        let e = NewOffer::new(f, services()).execute(new_cmd(2, "4")).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("insufficient_funds", false));
    }

    fn decide_uow(owner: i64, offer_: Offer) -> DecideUow {
        let mut uow = DecideUow::default();
        let o = offer_.clone();
        uow.offers.expect_get().returning(move |_| Ok(Some(o.clone())));
        uow.offers.expect_lock().returning(move |_| Ok(Some(offer_.clone())));
        uow.nfts.expect_lock().returning(move |_| Ok(Some(nft(owner, Some("50")))));
        uow
    }

    #[tokio::test]
    async fn accepting_pays_the_owner_moves_the_nft_and_commits() {
        let mut uow = decide_uow(1, offer(2, "10"));
        uow.accounts = accounts_with(vec![user(1, "0", "0"), user(2, "0", "10")]);
        uow.nfts.expect_update().withf(|n| n.owner_id == UserId(2) && n.price.is_none()).times(1).returning(|_| Ok(()));
        uow.offers.expect_update().withf(|o| o.status == OfferStatus::Accepted).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = DecideFactory::new(uow);
        DecideOffer::new(f, services(), FeeRule::default())
            .execute(UserId(1), offer(2, "10").id, Decision::Accept, None)
            .await
            .unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn accepting_as_a_stranger_or_an_expired_offer_commits_nothing() {
        let (f, committed) = DecideFactory::new(decide_uow(1, offer(2, "10")));
        let e = DecideOffer::new(f, services(), FeeRule::default())
            .execute(UserId(3), offer(2, "10").id, Decision::Accept, None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("forbidden", false));
        let mut expired = offer(2, "10");
        expired.expires_at = now();
        let (f, committed) = DecideFactory::new(decide_uow(1, expired));
        let e = DecideOffer::new(f, services(), FeeRule::default())
            .execute(UserId(1), offer(2, "10").id, Decision::Accept, None)
            .await
            .unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("offer_not_open", false));
    }

    #[tokio::test]
    async fn refusing_releases_the_hold_and_commits() {
        let mut uow = decide_uow(1, offer(2, "10"));
        uow.accounts = accounts_with(vec![user(2, "0", "10")]);
        uow.offers.expect_update().withf(|o| o.status == OfferStatus::Refused).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = DecideFactory::new(uow);
        DecideOffer::new(f, services(), FeeRule::default())
            .execute(UserId(1), offer(2, "10").id, Decision::Refuse, None)
            .await
            .unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn cancel_by_the_offerer_commits_and_by_anyone_else_does_not() {
        let mut uow = CloseUow::default();
        uow.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        uow.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        uow.accounts = accounts_with(vec![user(2, "0", "10")]);
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = CloseFactory::new(uow);
        CloseOffer::new(f, services()).cancel(UserId(2), offer(2, "10").id, None).await.unwrap();
        assert!(committed.get());

        let mut uow = CloseUow::default();
        uow.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        let (f, committed) = CloseFactory::new(uow);
        let e = CloseOffer::new(f, services()).cancel(UserId(3), offer(2, "10").id, None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("forbidden", false));
    }

    #[tokio::test]
    async fn expiry_skips_a_live_offer_without_committing() {
        let mut uow = CloseUow::default();
        uow.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        let (f, committed) = CloseFactory::new(uow);
        assert_eq!(CloseOffer::new(f, services()).expire(offer(2, "10").id).await.unwrap(), None);
        assert!(!committed.get());
    }

    #[tokio::test]
    async fn raising_an_offer_beyond_the_funds_commits_nothing() {
        let mut uow = PriceUow::default();
        uow.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "1", "10")]));
        let (f, committed) = PriceFactory::new(uow);
        let e =
            SetOfferPrice::new(f, services()).execute(UserId(2), offer(2, "10").id, m("12"), None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("insufficient_funds", false));
    }

    #[tokio::test]
    async fn lowering_an_offer_releases_the_difference_and_commits() {
        let mut uow = PriceUow::default();
        uow.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        uow.offers.expect_update().withf(|o| o.price == m("4")).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "0", "10")]));
        uow.accounts.expect_save().withf(|u| u.available == m("6") && u.held == m("4")).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        let (f, committed) = PriceFactory::new(uow);
        SetOfferPrice::new(f, services()).execute(UserId(2), offer(2, "10").id, m("4"), None).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn an_expired_offer_is_closed_by_the_job_and_the_hold_released() {
        let mut due = offer(2, "10");
        due.expires_at = now();
        let mut uow = CloseUow::default();
        uow.offers.expect_lock().returning(move |_| Ok(Some(due.clone())));
        uow.offers.expect_update().withf(|o| o.status == OfferStatus::Expired).times(1).returning(|_| Ok(()));
        uow.accounts = accounts_with(vec![user(2, "0", "10")]);
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = CloseFactory::new(uow);
        assert!(CloseOffer::new(f, services()).expire(offer(2, "10").id).await.unwrap().is_some());
        assert!(committed.get());
    }
}
