//! A gift has arrived in custody: register it as an `available` NFT of its owner.

use domain::ports::{AccountRepo, NftRepo};
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "register_nft";

crate::define_uow!(
    /// Registering touches the owner's account (created when new) and the NFTs.
    RegisterNftUow { accounts: AccountRepo, nfts: NftRepo }
);

#[derive(Clone, Debug)]
pub struct RegisterNftCommand {
    pub owner_id: UserId,
    pub gift_id: String,
    /// `None`: "{collection} #{number}" (or the collection when there is no number).
    pub title: Option<String>,
    pub collection: String,
    /// Number, model, backdrop, symbol — all optional.
    pub traits: GiftTraits,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct RegisterNft {
    uows: Uows<dyn RegisterNftUow>,
    services: Services,
}

impl RegisterNft {
    pub fn new(uows: Uows<dyn RegisterNftUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates the owner's account when new and an `available`, unlisted NFT; a `gift_id`
    /// registered before is a `duplicate`.
    #[tracing::instrument(level = "debug", name = "register_nft", skip_all, fields(owner = %cmd.owner_id))]
    pub async fn execute(&self, cmd: RegisterNftCommand) -> Result<Nft, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &RegisterNftCommand) -> Result<Nft, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            uow.accounts().ensure_locked(cmd.owner_id, None).await?;
            let nft = Nft {
                id: self.services.new_id(),
                gift_id: cmd.gift_id.clone(),
                title: cmd.title.clone().unwrap_or_else(|| cmd.traits.default_title(&cmd.collection)),
                collection: cmd.collection.clone(),
                owner_id: cmd.owner_id,
                price: None,
                status: NftStatus::Available,
                created_at: fx.now,
                listed_at: None,
                traits: cmd.traits.clone(),
                can_transfer_at: None,
                telegram: None,
            };
            match uow.nfts().insert(&nft).await {
                Err(RepoError::Duplicate(_)) => {
                    return Err(RuleViolation::Duplicate { what: format!("gift {}", cmd.gift_id) }.into())
                }
                other => other?,
            }
            Ok(nft)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn cmd() -> RegisterNftCommand {
        RegisterNftCommand {
            owner_id: UserId(1),
            gift_id: "g1".into(),
            title: Some("Plush Pepe".into()),
            collection: "pepe".into(),
            traits: GiftTraits::default(),
            idempotency: None,
        }
    }

    #[tokio::test]
    async fn the_attributes_are_kept_and_the_title_defaults_to_collection_and_number() {
        let traits = GiftTraits {
            number: Some(1234),
            model: Some(Attribute::new("Cozy Galaxy", 15).unwrap()),
            backdrop: Some(Attribute::new("Midnight Blue", 20).unwrap()),
            symbol: Some(Attribute::new("Star", 4).unwrap()),
        };
        let kept = traits.clone();
        let mut tx = FakeTx::default();
        tx.accounts.expect_ensure_locked().times(1).returning(|id, _| Ok(User::new(id, None)));
        tx.nfts
            .expect_insert()
            .withf(move |n| n.traits == kept && n.title == "Plush Pepe #1234" && n.can_transfer_at.is_none())
            .times(1)
            .returning(|_| Ok(()));
        let (store, committed) = store(tx);
        let cmd = RegisterNftCommand { title: None, collection: "Plush Pepe".into(), traits, ..cmd() };

        let nft = RegisterNft::new(store, services()).execute(cmd).await.unwrap();

        assert_eq!(nft.title, "Plush Pepe #1234");
        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_new_gift_becomes_an_available_nft_of_its_owner() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_ensure_locked().times(1).returning(|id, _| Ok(User::new(id, None)));
        tx.nfts
            .expect_insert()
            .withf(|n| n.owner_id == UserId(1) && n.status == NftStatus::Available && n.price.is_none())
            .times(1)
            .returning(|_| Ok(()));
        let (store, committed) = store(tx);

        RegisterNft::new(store, services()).execute(cmd()).await.unwrap();

        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_gift_registered_before_is_a_duplicate_and_nothing_commits() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.nfts.expect_insert().returning(|_| Err(RepoError::Duplicate(Constraint::GiftId)));
        let (store, committed) = store(tx);

        let e = RegisterNft::new(store, services()).execute(cmd()).await.unwrap_err();

        assert_eq!(e, RuleViolation::Duplicate { what: "gift g1".into() }.into());
        assert!(!committed.get());
    }
}
