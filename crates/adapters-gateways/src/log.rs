//! Stand-ins for when no gateway is configured (the embedded default): they log what they would
//! have sent. The payout stand-in says in every line that nothing was paid.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::gateways::*;
use domain::{OutboxId, UserId, WithdrawalId};

pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, user: UserId, text: &str, message: OutboxId) -> Delivery {
        tracing::info!(user = %user, %message, text, "notification (log only: no Telegram delivery configured)");
        Delivery::Delivered
    }
}

pub struct LogGiftTransfer;

#[async_trait]
impl GiftTransfer for LogGiftTransfer {
    async fn transfer(&self, gift_id: &str, to: UserId, message: OutboxId) -> Delivery {
        tracing::info!(gift_id, to = %to, %message, "SIMULATED gift transfer (no Telegram business connection configured)");
        Delivery::Delivered
    }
}

/// Pays nothing; answers `simulated:<withdrawal id>` as the transaction hash.
#[derive(Default)]
pub struct LogPayoutGateway {
    seen: Mutex<HashSet<WithdrawalId>>,
}

fn simulated(id: WithdrawalId) -> PayoutStatus {
    PayoutStatus::Sent { tx_hash: format!("simulated:{id}") }
}

#[async_trait]
impl PayoutGateway for LogPayoutGateway {
    async fn send(&self, p: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable> {
        self.seen.lock().expect("poisoned").insert(p.withdrawal_id);
        tracing::info!(
            withdrawal = %p.withdrawal_id, amount = %p.amount, address = %p.address,
            "SIMULATED payout: no payout gateway configured, nothing was paid"
        );
        Ok(simulated(p.withdrawal_id))
    }

    async fn lookup(&self, id: WithdrawalId) -> Result<PayoutStatus, GatewayUnavailable> {
        let seen = self.seen.lock().expect("poisoned").contains(&id);
        tracing::info!(withdrawal = %id, seen, "SIMULATED payout lookup: nothing is ever paid");
        Ok(if seen { simulated(id) } else { PayoutStatus::NotFound })
    }
}
