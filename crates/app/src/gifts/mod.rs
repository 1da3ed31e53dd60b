//! The gift rail (SPEC §5b): gifts enter custody from the Telegram business account by
//! themselves — from the webhook as they arrive, from the reconciler for whatever the webhook
//! missed — and what cannot be matched to a sender is kept for staff.

pub mod assign;
pub mod receive;
pub mod sync;

use domain::ports::{AccountRepo, GiftInboxRepo, NftRepo};
use domain::*;

use crate::effects::Effects;
use crate::{Error, Services};

/// What became of a gift the business account holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Custody {
    /// First seen: a new NFT of its sender.
    Registered(Nft),
    /// It had left custody and came back: the same NFT, its sender's now.
    CameBack(Nft),
    /// An NFT stands for it already (a repeat): nothing changed.
    Held(NftId),
    /// No sender, or from the blockchain: kept for staff (`false` when it was kept already).
    Unmatched(UnmatchedGift, bool),
}

/// The ports taking a gift into custody needs (any Unit of Work that has these three).
pub(crate) trait CustodyPorts: Send {
    fn nfts(&mut self) -> &mut dyn NftRepo;
    fn accounts(&mut self) -> &mut dyn AccountRepo;
    fn gifts(&mut self) -> &mut dyn GiftInboxRepo;
}

macro_rules! custody_ports {
    ($uow:ident) => {
        impl $crate::gifts::CustodyPorts for dyn $uow {
            fn nfts(&mut self) -> &mut dyn domain::ports::NftRepo {
                $uow::nfts(self)
            }
            fn accounts(&mut self) -> &mut dyn domain::ports::AccountRepo {
                $uow::accounts(self)
            }
            fn gifts(&mut self) -> &mut dyn domain::ports::GiftInboxRepo {
                $uow::gifts(self)
            }
        }
    };
}
pub(crate) use custody_ports;

/// Takes `gift` into custody for `sender` within the caller's Unit of Work: a new NFT, or the
/// NFT that stands for it back from withdrawn, or nothing when one holds it already. Without a
/// sender (or for a gift from the blockchain, which cannot move inside Telegram) it is kept as an
/// unmatched gift. Exactly once per gift: the NFT row of a gift is locked, and two first sights
/// racing meet at its unique `gift_id` (the loser runs again and sees the winner's).
pub(crate) async fn take_into_custody<U: CustodyPorts + ?Sized>(
    uow: &mut U,
    fx: &mut Effects<'_>,
    services: &Services,
    sender: Option<UserId>,
    gift: &ReceivedGift,
) -> Result<Custody, Error> {
    let known = uow.nfts().lock_by_gift_id(&gift.gift_id).await?;
    let known_id = known.as_ref().map(|n| n.id);
    if let Some(nft) = &known {
        if nft.status != NftStatus::Withdrawn {
            return Ok(Custody::Held(nft.id));
        }
    }
    let reason = match sender {
        _ if gift.from_blockchain => Some(UnmatchedReason::FromBlockchain),
        None => Some(UnmatchedReason::UnknownSender),
        Some(_) => None,
    };
    if let Some(reason) = reason {
        let kept = UnmatchedGift {
            id: services.new_id(),
            gift: gift.clone(),
            sender_id: sender,
            reason,
            received_at: fx.now,
            assigned_to: None,
            assigned_at: None,
        };
        let new = uow.gifts().insert_unmatched(&kept).await?;
        if new {
            metrics::counter!("gifts_unmatched_total", "reason" => reason.as_str()).increment(1);
        }
        return Ok(Custody::Unmatched(kept, new));
    }
    let sender = sender.expect("a gift without a sender is kept above");
    match into_custody_of(uow, fx, services, sender, gift, known).await? {
        Some(custody) => Ok(custody),
        None => Ok(Custody::Held(known_id.expect("only a known NFT stays held"))),
    }
}

/// Takes `gift` into custody for `owner`: a new NFT when `known` is `None`, else the known
/// (withdrawn) NFT back — `None` when it is the very message it left after (nothing changes).
/// The owner's account is created when new; they are told.
pub(crate) async fn into_custody_of<U: CustodyPorts + ?Sized>(
    uow: &mut U,
    fx: &mut Effects<'_>,
    services: &Services,
    owner: UserId,
    gift: &ReceivedGift,
    known: Option<Nft>,
) -> Result<Option<Custody>, Error> {
    uow.accounts().ensure_locked(owner, None).await?;
    match known {
        Some(mut nft) => {
            if !nft.come_back(owner, gift) {
                return Ok(None);
            }
            uow.nfts().update_custody(&nft).await?;
            fx.notify(owner, format!("Your gift \"{}\" is in custody again.", nft.title));
            metrics::counter!("gifts_received_total", "how" => "came_back").increment(1);
            Ok(Some(Custody::CameBack(nft)))
        }
        None => {
            let nft = register(services, fx, owner, gift);
            match uow.nfts().insert(&nft).await {
                // Someone registered the same gift meanwhile: run again and see theirs.
                Err(RepoError::Duplicate(c)) => {
                    return Err(RepoError::Transient(format!("gift registered concurrently ({c:?})")).into())
                }
                other => other?,
            }
            fx.notify(owner, format!("Your gift \"{}\" is in custody: you can sell it now.", nft.title));
            metrics::counter!("gifts_received_total", "how" => "new").increment(1);
            Ok(Some(Custody::Registered(nft)))
        }
    }
}

/// The NFT a gift from Telegram becomes.
pub(crate) fn register(services: &Services, fx: &Effects<'_>, owner: UserId, gift: &ReceivedGift) -> Nft {
    Nft {
        id: services.new_id(),
        gift_id: gift.gift_id.clone(),
        title: gift.traits.default_title(&gift.collection),
        collection: gift.collection.clone(),
        owner_id: owner,
        price: None,
        status: NftStatus::Available,
        created_at: fx.now,
        listed_at: None,
        traits: gift.traits.clone(),
        can_transfer_at: gift.can_transfer_at,
        telegram: Some(gift.telegram.clone()),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub const SENDER: UserId = UserId(7);

    pub fn gift(slug: &str, owned: &str) -> ReceivedGift {
        ReceivedGift {
            gift_id: slug.into(),
            collection: "Plush Pepe".into(),
            traits: GiftTraits {
                number: Some(1234),
                model: Some(Attribute::new("Cozy Galaxy", 15).unwrap()),
                backdrop: Some(Attribute::new("Midnight Blue", 20).unwrap()),
                symbol: Some(Attribute::new("Star", 4).unwrap()),
            },
            telegram: TelegramGift { owned_gift_id: owned.into(), transfer_star_count: Some(25) },
            can_transfer_at: None,
            from_blockchain: false,
        }
    }
}
