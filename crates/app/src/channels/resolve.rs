//! Staff settle a disputed channel sale either way while it awaits transfer.

use domain::ports::{AccountRepo, ChannelSaleRepo, LedgerRepo, OutboxRepo, StaffActionRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "resolve_channel_sale";

crate::define_uow!(
    /// Resolving: the sale, both parties' funds, the ledger, the notices, the audit trail.
    ResolveChannelSaleUow {
        channel_sales: ChannelSaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
        staff_actions: StaffActionRepo,
    }
);

/// Staff's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelOutcome {
    /// The buyer got the channel: the seller is paid.
    Complete,
    /// The buyer did not: the escrow goes back.
    Refund,
}

#[derive(Clone, Debug)]
pub struct ResolveChannelSaleCommand {
    pub actor: String,
    pub sale_id: ChannelSaleId,
    pub outcome: ChannelOutcome,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct ResolveChannelSale {
    uows: Uows<dyn ResolveChannelSaleUow>,
    services: Services,
    fees: FeeRule,
}

impl ResolveChannelSale {
    pub fn new(uows: Uows<dyn ResolveChannelSaleUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// While awaiting transfer (else `channel_sale_closed`): complete or refund; recorded.
    #[tracing::instrument(level = "debug", name = "resolve_channel_sale", skip_all, fields(sale = %cmd.sale_id, actor = %cmd.actor))]
    pub async fn execute(&self, cmd: ResolveChannelSaleCommand) -> Result<ChannelSale, Error> {
        self.services.run_locked(NAME, &lock::channel_sale(cmd.sale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &ResolveChannelSaleCommand) -> Result<ChannelSale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut sale = uow.channel_sales().lock(cmd.sale_id).await?.ok_or(Error::NotFound("channel sale"))?;
            let buyer = sale.awaiting_buyer()?;
            let mut accounts = Accounts::lock(uow.accounts(), &[buyer, sale.seller_id]).await?;
            let detail = match cmd.outcome {
                ChannelOutcome::Complete => {
                    super::complete(&mut sale, &mut accounts, &mut fx, self.fees)?;
                    "complete"
                }
                ChannelOutcome::Refund => {
                    super::refund(&mut sale, &mut accounts, &mut fx)?;
                    "refund"
                }
            };
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: sale.id.to_string(),
                detail: detail.into(),
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            uow.channel_sales().update(&sale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
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

    struct Resolved {
        result: Result<ChannelSale, Error>,
        committed: bool,
        saved: Vec<User>,
        lines: Vec<(Option<i64>, Account, rust_decimal::Decimal)>,
        notified: Vec<i64>,
    }

    async fn resolve(
        sale: ChannelSale,
        outcome: ChannelOutcome,
        to: ChannelSaleStatus,
        detail: &'static str,
    ) -> Resolved {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(sale.clone())));
        let (accounts, saved) = accounts_saving(vec![user(SELLER, "0", "0"), user(BUYER, "0", "100")]);
        tx.accounts = accounts;
        tx.channel_sales.expect_update().withf(move |s| s.status == to).times(1).returning(|_| Ok(()));
        tx.staff_actions
            .expect_record()
            .withf(move |a| {
                a.action == "resolve_channel_sale"
                    && a.actor == "staff:1"
                    && a.subject == sold().id.to_string()
                    && a.detail == detail
            })
            .times(1)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (store, committed) = store(tx);
        let cmd = ResolveChannelSaleCommand { actor: "staff:1".into(), sale_id: sold().id, outcome, idempotency: None };
        let result = ResolveChannelSale::new(store, services(), FeeRule::new(500)).execute(cmd).await;
        Resolved {
            result,
            committed: committed.get(),
            saved: saved.all(),
            lines: entries.lines(),
            notified: sent.notified(),
        }
    }

    #[tokio::test]
    async fn staff_completing_a_sale_pays_the_seller_and_record_it() {
        let r = resolve(sold(), ChannelOutcome::Complete, ChannelSaleStatus::Completed, "complete").await;
        assert_eq!((r.result.unwrap().status, r.committed), (ChannelSaleStatus::Completed, true));
        assert_eq!(r.saved, [user(SELLER, "95", "0"), user(BUYER, "0", "0")]);
        assert_eq!(
            r.lines,
            [
                (Some(BUYER), Account::Held, d("-100")),
                (Some(SELLER), Account::Available, d("95")),
                (None, Account::Fees, d("5")),
            ]
        );
        assert_eq!(r.notified, [SELLER, BUYER]);
    }

    #[tokio::test]
    async fn staff_refunding_a_sale_returns_the_escrow_and_record_it() {
        let r = resolve(sold(), ChannelOutcome::Refund, ChannelSaleStatus::Refunded, "refund").await;
        assert_eq!((r.result.unwrap().status, r.committed), (ChannelSaleStatus::Refunded, true));
        assert_eq!(r.saved, [user(SELLER, "0", "0"), user(BUYER, "100", "0")]);
        assert_eq!(r.lines, [(Some(BUYER), Account::Held, d("-100")), (Some(BUYER), Account::Available, d("100"))]);
        assert_eq!(r.notified, [BUYER, SELLER]);
    }

    #[tokio::test]
    async fn a_sale_not_awaiting_transfer_is_closed() {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(|_| Ok(Some(listed())));
        let (store, committed) = store(tx);
        let cmd = ResolveChannelSaleCommand {
            actor: "staff:1".into(),
            sale_id: listed().id,
            outcome: ChannelOutcome::Refund,
            idempotency: None,
        };
        let r = ResolveChannelSale::new(store, services(), FeeRule::new(500)).execute(cmd).await;
        assert_eq!((r.unwrap_err(), committed.get()), (RuleViolation::ChannelSaleClosed.into(), false));
    }
}
