//! Offers: bids on an NFT whoever owns it. The price is held from the offerer while open.

use std::sync::Arc;

use chrono::Duration;
use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
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
        self.services
            .run_locked("new_offer", &format!("nft:{}", cmd.nft_id), || {
                self.attempt(&cmd)
            })
            .await
    }

    async fn attempt(&self, cmd: &NewOfferCommand) -> Result<Offer, NewOfferError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        let nft = uow
            .nfts()
            .lock(cmd.nft_id)
            .await?
            .ok_or(NewOfferError::NotFound("NFT"))?;
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
        match uow.offers().insert(&offer).await {
            Err(RepoError::Duplicate(_)) => return Err(RuleViolation::OfferExists.into()),
            other => other?,
        }
        let mut accounts = Accounts::lock(uow.accounts(), &[cmd.offerer]).await?;
        accounts.payer(cmd.offerer)?.hold(cmd.price)?;
        fx.record(
            fx.posting(Operation::OfferHold, offer.id)
                .hold(cmd.offerer, cmd.price),
        );
        fx.notify(
            nft.owner_id,
            format!("New offer of {} TON for \"{}\".", cmd.price, nft.title),
        );
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
    ) -> Result<Offer, SetOfferPriceError> {
        self.services
            .run("set_offer_price", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut offer = uow
                    .offers()
                    .lock(offer_id)
                    .await?
                    .ok_or(SetOfferPriceError::NotFound("offer"))?;
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
                    fx.record(
                        fx.posting(Operation::OfferRelease, offer.id)
                            .release(by, less),
                    );
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
        Self {
            uows,
            services,
            fees,
        }
    }

    /// Accept: the held price goes to the owner minus the fee and the NFT to the offerer
    /// (unlisted). Refuse: the hold is released. Either way the offerer is told.
    #[tracing::instrument(name = "decide_offer", skip_all, fields(by = %by, offer = %offer_id, ?decision))]
    pub async fn execute(
        &self,
        by: UserId,
        offer_id: OfferId,
        decision: Decision,
    ) -> Result<Offer, DecideOfferError> {
        let nft_id = {
            let mut uow = self.uows.begin().await?;
            uow.offers()
                .get(offer_id)
                .await?
                .ok_or(DecideOfferError::NotFound("offer"))?
                .nft_id
        };
        let use_case = if decision == Decision::Accept {
            "accept_offer"
        } else {
            "refuse_offer"
        };
        self.services
            .run_locked(use_case, &format!("nft:{nft_id}"), || {
                self.attempt(by, offer_id, nft_id, decision)
            })
            .await
    }

    async fn attempt(
        &self,
        by: UserId,
        offer_id: OfferId,
        nft_id: NftId,
        decision: Decision,
    ) -> Result<Offer, DecideOfferError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        let mut nft = uow
            .nfts()
            .lock(nft_id)
            .await?
            .ok_or(DecideOfferError::NotFound("NFT"))?;
        let mut offer = uow
            .offers()
            .lock(offer_id)
            .await?
            .ok_or(DecideOfferError::NotFound("offer"))?;
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
                    format!(
                        "Your offer of {} TON for \"{}\" was accepted: it is yours.",
                        offer.price, nft.title
                    ),
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
                fx.record(
                    fx.posting(Operation::OfferRelease, offer.id)
                        .release(offerer, offer.price),
                );
                offer.close(OfferStatus::Refused);
                fx.notify(
                    offerer,
                    format!(
                        "Your offer of {} TON for \"{}\" was refused; the funds are back.",
                        offer.price, nft.title
                    ),
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
    pub async fn cancel(&self, by: UserId, offer_id: OfferId) -> Result<Offer, CloseOfferError> {
        self.services
            .run("cancel_offer", || self.attempt(offer_id, Some(by)))
            .await
            .and_then(|o| o.ok_or(RuleViolation::OfferNotOpen.into()))
    }

    /// Expires an open offer past its expiry (the job's step). `Ok(None)` when there was
    /// nothing to do: already closed, or not yet due — safe to run on several instances.
    pub async fn expire(&self, offer_id: OfferId) -> Result<Option<Offer>, CloseOfferError> {
        self.services
            .run("expire_offer", || self.attempt(offer_id, None))
            .await
    }

    async fn attempt(
        &self,
        offer_id: OfferId,
        cancelled_by: Option<UserId>,
    ) -> Result<Option<Offer>, CloseOfferError> {
        let mut fx = Effects::new(&self.services, self.services.now());
        let mut uow = self.uows.begin().await?;
        let mut offer = uow
            .offers()
            .lock(offer_id)
            .await?
            .ok_or(CloseOfferError::NotFound("offer"))?;
        let offerer = offer.offerer_id;
        match cancelled_by {
            Some(by) if by != offerer => return Err(RuleViolation::NotOwner.into()),
            Some(_) if offer.status != OfferStatus::Open => {
                return Err(RuleViolation::OfferNotOpen.into())
            }
            Some(_) => offer.close(OfferStatus::Cancelled),
            None if offer.status != OfferStatus::Open || fx.now < offer.expires_at => {
                return Ok(None)
            }
            None => {
                offer.close(OfferStatus::Expired);
                fx.notify(
                    offerer,
                    format!(
                        "Your offer of {} TON expired; the funds are back.",
                        offer.price
                    ),
                );
            }
        }
        let mut accounts = Accounts::lock(uow.accounts(), &[offerer]).await?;
        accounts.payee(offerer)?.release(offer.price);
        fx.record(
            fx.posting(Operation::OfferRelease, offer.id)
                .release(offerer, offer.price),
        );
        accounts.save(uow.accounts()).await?;
        uow.offers().update(&offer).await?;
        fx.write_ledger(uow.ledger()).await?;
        fx.write_outbox(uow.outbox()).await?;
        uow.commit().await?;
        Ok(Some(offer))
    }
}
