//! Staff register a gift kept unmatched to the user it belongs to: once, with an audit trail.

use domain::ports::{AccountRepo, GiftInboxRepo, NftRepo, OutboxRepo, StaffActionRepo};
use domain::*;

use super::{custody_ports, into_custody_of, Custody};
use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "assign_unmatched_gift";

crate::define_uow!(
    /// The unmatched gift, its NFT, the owner's account, the audit trail, the outbox.
    AssignUnmatchedGiftUow {
        gifts: GiftInboxRepo,
        nfts: NftRepo,
        accounts: AccountRepo,
        staff_actions: StaffActionRepo,
        outbox: OutboxRepo,
    }
);

custody_ports!(AssignUnmatchedGiftUow);

#[derive(Clone, Debug)]
pub struct AssignUnmatchedGiftCommand {
    pub actor: String,
    pub id: UnmatchedGiftId,
    pub user_id: UserId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct AssignUnmatchedGift {
    uows: Uows<dyn AssignUnmatchedGiftUow>,
    services: Services,
}

impl AssignUnmatchedGift {
    pub fn new(uows: Uows<dyn AssignUnmatchedGiftUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Registers the gift as `user_id`'s NFT (created if new; the same NFT if the gift had left
    /// custody before), marks it assigned and records who did it. An assigned one again, or a
    /// gift an NFT in custody stands for already: 409 `duplicate`.
    #[tracing::instrument(level = "debug", name = "assign_unmatched_gift", skip_all, fields(id = %cmd.id, user = %cmd.user_id))]
    pub async fn execute(&self, cmd: AssignUnmatchedGiftCommand) -> Result<(UnmatchedGift, Nft), Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &AssignUnmatchedGiftCommand) -> Result<(UnmatchedGift, Nft), Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut kept = uow.gifts().lock_unmatched(cmd.id).await?.ok_or(Error::NotFound("unmatched gift"))?;
            if let Some(to) = kept.assigned_to {
                return Err(
                    RuleViolation::Duplicate { what: format!("this gift, assigned to user {to} already") }.into()
                );
            }
            let known = uow.nfts().lock_by_gift_id(&kept.gift.gift_id).await?;
            if known.as_ref().is_some_and(|n| n.status != NftStatus::Withdrawn) {
                let what = format!("an NFT in custody for gift {}", kept.gift.gift_id);
                return Err(RuleViolation::Duplicate { what }.into());
            }
            let nft = match into_custody_of(&mut *uow, &mut fx, &self.services, cmd.user_id, &kept.gift, known).await? {
                Some(Custody::Registered(nft) | Custody::CameBack(nft)) => nft,
                _ => {
                    let what = format!("gift {} with this Telegram message", kept.gift.gift_id);
                    return Err(RuleViolation::Duplicate { what }.into());
                }
            };
            kept.assigned_to = Some(cmd.user_id);
            kept.assigned_at = Some(fx.now);
            uow.gifts().update_unmatched(&kept).await?;
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: kept.id.to_string(),
                detail: format!("gift {} registered to user {} as NFT {}", kept.gift.gift_id, cmd.user_id, nft.id),
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok((kept, nft))
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gifts::fixtures::*;
    use crate::testing::*;
    use mockall::predicate::eq;

    const OWNER: UserId = UserId(11);

    fn kept(assigned: Option<UserId>) -> UnmatchedGift {
        UnmatchedGift {
            id: UnmatchedGiftId(uuid::Uuid::from_u128(9)),
            gift: gift("anonymous-1", "501"),
            sender_id: None,
            reason: UnmatchedReason::UnknownSender,
            received_at: now(),
            assigned_to: assigned,
            assigned_at: assigned.map(|_| now()),
        }
    }

    fn cmd() -> AssignUnmatchedGiftCommand {
        AssignUnmatchedGiftCommand { actor: "staff:1".into(), id: kept(None).id, user_id: OWNER, idempotency: None }
    }

    async fn run(tx: FakeTx) -> (Result<(UnmatchedGift, Nft), Error>, bool) {
        let (store, committed) = store(tx);
        let r = AssignUnmatchedGift::new(store, services()).execute(cmd()).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn staff_register_a_kept_gift_to_its_owner_once_with_a_record() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_lock_unmatched().with(eq(kept(None).id)).returning(|_| Ok(Some(kept(None))));
        tx.nfts.expect_lock_by_gift_id().with(eq("anonymous-1")).returning(|_| Ok(None));
        tx.accounts
            .expect_ensure_locked()
            .with(eq(OWNER), eq(None))
            .times(1)
            .returning(|id, _| Ok(User::new(id, None)));
        tx.nfts
            .expect_insert()
            .withf(|n| n.owner_id == OWNER && n.gift_id == "anonymous-1" && n.telegram.is_some())
            .times(1)
            .returning(|_| Ok(()));
        tx.gifts
            .expect_update_unmatched()
            .withf(|g| g.assigned_to == Some(OWNER) && g.assigned_at.is_some())
            .times(1)
            .returning(|_| Ok(()));
        tx.staff_actions
            .expect_record()
            .withf(|a| a.actor == "staff:1" && a.action == NAME && a.detail.contains("anonymous-1"))
            .times(1)
            .returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));

        let (r, committed) = run(tx).await;

        let (assigned, nft) = r.unwrap();
        assert_eq!((assigned.assigned_to, nft.owner_id), (Some(OWNER), OWNER));
        assert!(committed);
    }

    #[tokio::test]
    async fn an_assigned_gift_or_one_held_already_is_a_duplicate_and_nothing_changes() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_lock_unmatched().returning(|_| Ok(Some(kept(Some(UserId(5))))));
        let (r, committed) = run(tx).await;
        assert_eq!(r.unwrap_err().code(), "duplicate");
        assert!(!committed);

        let mut tx = FakeTx::default();
        tx.gifts.expect_lock_unmatched().returning(|_| Ok(Some(kept(None))));
        tx.nfts.expect_lock_by_gift_id().returning(|_| Ok(Some(nft(3, None))));
        let (r, committed) = run(tx).await;
        assert_eq!(r.unwrap_err().code(), "duplicate");
        assert!(!committed);
    }

    #[tokio::test]
    async fn an_unknown_gift_is_not_found() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_lock_unmatched().returning(|_| Ok(None));
        let (r, committed) = run(tx).await;
        assert_eq!(r.unwrap_err(), Error::NotFound("unmatched gift"));
        assert!(!committed);
    }

    #[tokio::test]
    async fn a_gift_that_had_left_comes_back_as_its_nft() {
        let mut tx = FakeTx::default();
        tx.gifts.expect_lock_unmatched().returning(|_| Ok(Some(kept(None))));
        let mut gone = nft(3, None);
        gone.status = NftStatus::Withdrawn;
        let id = gone.id;
        tx.nfts.expect_lock_by_gift_id().returning(move |_| Ok(Some(gone.clone())));
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.nfts
            .expect_update_custody()
            .withf(move |n| n.id == id && n.owner_id == OWNER && n.status == NftStatus::Available)
            .times(1)
            .returning(|_| Ok(()));
        tx.gifts.expect_update_unmatched().times(1).returning(|_| Ok(()));
        tx.staff_actions.expect_record().times(1).returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));

        let (r, committed) = run(tx).await;

        assert_eq!(r.unwrap().1.id, id);
        assert!(committed);
    }
}
