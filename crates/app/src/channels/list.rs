//! List a channel for sale (`new`), once Telegram confirms the seller created it and the bot
//! administers it.

use std::sync::Arc;

use domain::ports::ChannelSaleRepo;
use domain::ports::{ChannelDirectory, DirectoryError};
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "list_channel";

crate::define_uow!(
    /// Listing touches the channel sales alone (one live one per channel).
    ListChannelUow { channel_sales: ChannelSaleRepo }
);

#[derive(Clone, Debug)]
pub struct ListChannelCommand {
    pub seller: UserId,
    pub channel: ChannelRef,
    pub price: Money,
    pub description: Option<String>,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct ListChannel {
    uows: Uows<dyn ListChannelUow>,
    services: Services,
    directory: Arc<dyn ChannelDirectory>,
}

impl ListChannel {
    pub fn new(uows: Uows<dyn ListChannelUow>, services: Services, directory: Arc<dyn ChannelDirectory>) -> Self {
        Self { uows, services, directory }
    }

    /// Asks Telegram first (outside any Unit of Work): the channel must exist, the bot must be an
    /// administrator and the seller its creator, else `channel_not_verified` with the reason. Then
    /// one listing per channel (`channel_listed`); nothing is held from the seller.
    #[tracing::instrument(level = "debug", name = "list_channel", skip_all, fields(seller = %cmd.seller, channel = %cmd.channel))]
    pub async fn execute(&self, cmd: ListChannelCommand) -> Result<ChannelSale, Error> {
        let info = match self.directory.inspect(&cmd.channel, cmd.seller).await {
            Ok(info) => info,
            Err(DirectoryError::NotFound(_)) => {
                let reason = "the channel does not exist or the marketplace bot cannot see it".into();
                return Err(RuleViolation::ChannelNotVerified { reason }.into());
            }
            Err(DirectoryError::Unavailable { reason, .. }) => {
                tracing::warn!(%reason, "cannot verify a channel with Telegram");
                return Err(Error::Dependency("Telegram"));
            }
        };
        info.verify_seller(cmd.seller)?;
        self.services.run(NAME, || self.attempt(&cmd, &info)).await
    }

    async fn attempt(&self, cmd: &ListChannelCommand, info: &ChannelInfo) -> Result<ChannelSale, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let sale = ChannelSale {
                id: self.services.new_id(),
                seller_id: cmd.seller,
                chat_id: info.chat_id,
                title: info.title.clone(),
                username: info.username.clone(),
                description: cmd.description.clone(),
                price: cmd.price,
                buyer_id: None,
                status: ChannelSaleStatus::Listed,
                transfer_by: None,
                created_at: fx.now,
            };
            match uow.channel_sales().insert(&sale).await {
                Err(RepoError::Duplicate(_)) => return Err(RuleViolation::ChannelListed.into()),
                other => other?,
            }
            Ok(sale)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::fixtures::*;
    use crate::testing::*;

    fn cmd() -> ListChannelCommand {
        ListChannelCommand {
            seller: UserId(SELLER),
            channel: ChannelRef::Username("gift_hub".into()),
            price: m("100"),
            description: None,
            idempotency: None,
        }
    }

    async fn list(tx: FakeTx, directory: Arc<dyn ChannelDirectory>) -> (Result<ChannelSale, Error>, bool) {
        let (store, committed) = store(tx);
        let r = ListChannel::new(store, services(), directory).execute(cmd()).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_verified_channel_is_listed_under_its_chat_id() {
        let mut tx = FakeTx::default();
        tx.channel_sales
            .expect_insert()
            .withf(|s| s.chat_id == -1001 && s.status == ChannelSaleStatus::Listed)
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = list(tx, directory(Some(SELLER))).await;
        assert_eq!(r.unwrap().title, "Gift Hub");
        assert!(committed);
    }

    #[tokio::test]
    async fn someone_elses_channel_is_not_verified_and_nothing_is_written() {
        let (r, committed) = list(FakeTx::default(), directory(Some(7))).await;
        assert!(matches!(r, Err(Error::Rule(RuleViolation::ChannelNotVerified { .. }))));
        assert!(!committed);
    }

    #[tokio::test]
    async fn a_channel_listed_already_is_refused() {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_insert().returning(|_| Err(RepoError::Duplicate(Constraint::OneLiveSalePerChannel)));
        let (r, committed) = list(tx, directory(Some(SELLER))).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::ChannelListed.into(), false));
    }

    #[tokio::test]
    async fn telegram_down_is_unavailable_not_a_refusal() {
        let mut d = domain::ports::MockChannelDirectory::new();
        d.expect_inspect()
            .returning(|_, _| Err(DirectoryError::Unavailable { retry_after: None, reason: "timeout".into() }));
        let (r, committed) = list(FakeTx::default(), Arc::new(d)).await;
        assert_eq!((r.unwrap_err(), committed), (Error::Dependency("Telegram"), false));
    }
}
