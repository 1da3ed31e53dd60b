//! A unique gift on the business account — from a webhook update, or found by the reconciler —
//! taken into custody once.

use domain::ports::{AccountRepo, GiftInboxRepo, NftRepo, OutboxRepo};
use domain::*;

use super::{custody_ports, take_into_custody, Custody};
use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "receive_gift";

crate::define_uow!(
    /// The gift's NFT, its sender's account (created when new), the inbox (updates seen,
    /// unmatched gifts), the outbox (the sender is told).
    ReceiveGiftUow { nfts: NftRepo, accounts: AccountRepo, gifts: GiftInboxRepo, outbox: OutboxRepo }
);

custody_ports!(ReceiveGiftUow);

#[derive(Clone, Debug)]
pub struct ReceiveGiftCommand {
    /// The Telegram update that carried it (the webhook); `None` from the reconciler.
    pub update_id: Option<i64>,
    /// Who sent it, when Telegram says.
    pub sender: Option<UserId>,
    pub gift: ReceivedGift,
}

/// What receiving came to (returned once per gift, never stored: its size does not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Custody(Custody),
    /// This update was handled before: nothing changed.
    Replayed,
}

pub struct ReceiveGift {
    uows: Uows<dyn ReceiveGiftUow>,
    services: Services,
}

impl ReceiveGift {
    pub fn new(uows: Uows<dyn ReceiveGiftUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// In one Unit of Work: the update noted as handled (a repeat changes nothing), then the gift
    /// taken into custody for its sender — or kept for staff — exactly once per gift.
    #[tracing::instrument(level = "debug", name = "receive_gift", skip_all, fields(gift = %cmd.gift.gift_id))]
    pub async fn execute(&self, cmd: ReceiveGiftCommand) -> Result<Received, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &ReceiveGiftCommand) -> Result<Received, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            if let Some(update) = cmd.update_id {
                if !uow.gifts().claim_update(update, fx.now).await? {
                    return Ok(Received::Replayed);
                }
            }
            let custody = take_into_custody(&mut *uow, &mut fx, &self.services, cmd.sender, &cmd.gift).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Received::Custody(custody))
        }
        .await;
        match done {
            // Nothing to keep: a repeated update, or a gift the reconciler finds held already (a
            // webhook's update of a held gift is kept as handled).
            Ok(r @ Received::Replayed) => {
                uow.rollback().await;
                Ok(r)
            }
            Ok(r @ Received::Custody(Custody::Held(_))) if cmd.update_id.is_none() => {
                uow.rollback().await;
                Ok(r)
            }
            other => crate::uow::finish(uow, other).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gifts::fixtures::*;
    use crate::testing::*;
    use mockall::predicate::eq;

    fn cmd(update: Option<i64>, sender: Option<UserId>) -> ReceiveGiftCommand {
        ReceiveGiftCommand { update_id: update, sender, gift: gift("PlushPepe-1234", "5123") }
    }

    async fn run(tx: FakeTx, cmd: ReceiveGiftCommand) -> (Result<Received, Error>, bool) {
        let (store, committed) = store(tx);
        let r = ReceiveGift::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    fn notices(tx: &mut FakeTx, n: usize) {
        tx.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::Notify { .. }))
            .times(n)
            .returning(|_| Ok(()));
    }

    #[tokio::test]
    async fn a_first_gift_becomes_an_nft_of_its_sender_with_its_attributes() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_claim_update().with(eq(41), mockall::predicate::always()).times(1).returning(|_, _| Ok(true));
        tx.nfts.expect_lock_by_gift_id().with(eq("PlushPepe-1234")).times(1).returning(|_| Ok(None));
        tx.accounts
            .expect_ensure_locked()
            .with(eq(SENDER), eq(None))
            .times(1)
            .returning(|id, _| Ok(User::new(id, None)));
        let expected = gift("PlushPepe-1234", "5123");
        tx.nfts
            .expect_insert()
            .withf(move |n| {
                n.owner_id == SENDER
                    && n.gift_id == "PlushPepe-1234"
                    && n.collection == "Plush Pepe"
                    && n.title == "Plush Pepe #1234"
                    && n.traits == expected.traits
                    && n.telegram == Some(expected.telegram.clone())
                    && n.status == NftStatus::Available
                    && n.price.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        notices(&mut tx, 1);

        let (r, committed) = run(tx, cmd(Some(41), Some(SENDER))).await;

        assert!(matches!(r.unwrap(), Received::Custody(Custody::Registered(n)) if n.owner_id == SENDER));
        assert!(committed);
    }

    #[tokio::test]
    async fn the_same_update_again_changes_nothing() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_claim_update().times(1).returning(|_, _| Ok(false));

        let (r, committed) = run(tx, cmd(Some(41), Some(SENDER))).await;

        assert_eq!(r.unwrap(), Received::Replayed);
        assert!(!committed);
    }

    #[tokio::test]
    async fn a_gift_held_already_changes_nothing_but_its_update_is_noted() {
        for (update, commits) in [(Some(42), true), (None, false)] {
            let mut tx = FakeTx::default();
            tx.gifts.expect_claim_update().returning(|_, _| Ok(true));
            let held = nft(SENDER.0, None);
            let id = held.id;
            tx.nfts.expect_lock_by_gift_id().times(1).returning(move |_| Ok(Some(held.clone())));

            let (r, committed) = run(tx, cmd(update, Some(SENDER))).await;

            assert_eq!(r.unwrap(), Received::Custody(Custody::Held(id)));
            assert_eq!(committed, commits, "update {update:?}");
        }
    }

    #[tokio::test]
    async fn a_gift_that_left_comes_back_as_the_same_nft_of_its_new_sender() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_claim_update().returning(|_, _| Ok(true));
        let mut gone = nft(1, None);
        gone.status = NftStatus::Withdrawn;
        gone.telegram = Some(TelegramGift { owned_gift_id: "100".into(), transfer_star_count: None });
        let id = gone.id;
        tx.nfts.expect_lock_by_gift_id().returning(move |_| Ok(Some(gone.clone())));
        tx.accounts.expect_ensure_locked().times(1).returning(|id, _| Ok(User::new(id, None)));
        tx.nfts
            .expect_update_custody()
            .withf(move |n| {
                n.id == id
                    && n.owner_id == SENDER
                    && n.status == NftStatus::Available
                    && n.telegram.as_ref().unwrap().owned_gift_id == "5123"
            })
            .times(1)
            .returning(|_| Ok(()));
        notices(&mut tx, 1);

        let (r, committed) = run(tx, cmd(Some(43), Some(SENDER))).await;

        assert!(matches!(r.unwrap(), Received::Custody(Custody::CameBack(n)) if n.id == id));
        assert!(committed);
    }

    #[tokio::test]
    async fn without_a_sender_or_from_the_blockchain_the_gift_is_kept_for_staff() {
        for (sender, from_blockchain, reason) in
            [(None, false, UnmatchedReason::UnknownSender), (Some(SENDER), true, UnmatchedReason::FromBlockchain)]
        {
            let mut tx = FakeTx::default();
            tx.nfts.expect_lock_by_gift_id().returning(|_| Ok(None));
            tx.gifts
                .expect_insert_unmatched()
                .withf(move |g| g.reason == reason && g.sender_id == sender && g.assigned_to.is_none())
                .times(1)
                .returning(|_| Ok(true));
            let mut c = cmd(None, sender);
            c.gift.from_blockchain = from_blockchain;

            let (r, committed) = run(tx, c).await;

            assert!(matches!(r.unwrap(), Received::Custody(Custody::Unmatched(g, true)) if g.reason == reason));
            assert!(committed, "{reason:?}");
        }
    }

    #[tokio::test]
    async fn two_first_sights_racing_run_again_and_the_second_sees_the_first() {
        let mut first = FakeTx::default();
        first.nfts.expect_lock_by_gift_id().returning(|_| Ok(None));
        first.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        first.nfts.expect_insert().times(1).returning(|_| Err(RepoError::Duplicate(Constraint::GiftId)));
        let mut second = FakeTx::default();
        let held = nft(3, None);
        let id = held.id;
        second.nfts.expect_lock_by_gift_id().returning(move |_| Ok(Some(held.clone())));
        let (store, committed) = stores(vec![first, second]);

        let r = ReceiveGift::new(store, services()).execute(cmd(None, Some(SENDER))).await.unwrap();

        assert_eq!(r, Received::Custody(Custody::Held(id)));
        assert!(!committed[0].get() && !committed[1].get());
    }
}
