//! Stand-ins for when no gateway is configured (the embedded default): they log what they would
//! have sent. The payout stand-in says in every line that nothing was paid.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::ports::*;
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
    async fn transfer(&self, gift: &GiftReturn, message: OutboxId) -> Delivery {
        let (gift_id, to) = (&gift.gift_id, gift.to);
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

/// The channel directory without Telegram: it cannot see any channel, so it trusts the caller's
/// claim — the seller is the owner and the bot an administrator — and keeps saying so, so only the
/// buyer's confirmation, staff or the deadline end a sale. Every answer is logged as SIMULATED.
pub struct SimulatedChannelDirectory;

impl SimulatedChannelDirectory {
    /// A stable, negative, channel-like chat id for a username (Telegram channel ids are
    /// `-100…`), so one username is one listing.
    fn chat_id_of(username: &str) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in username.to_ascii_lowercase().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        -1_000_000_000_000 - (h % 1_000_000_000_000) as i64
    }
}

#[async_trait]
impl ChannelDirectory for SimulatedChannelDirectory {
    async fn inspect(
        &self,
        channel: &domain::ChannelRef,
        claimed_owner: UserId,
    ) -> Result<domain::ChannelInfo, DirectoryError> {
        tracing::warn!(%channel, owner = %claimed_owner, "SIMULATED channel check: Telegram is not configured; trusting the claimed owner");
        let (chat_id, username) = match channel {
            domain::ChannelRef::Username(u) => (Self::chat_id_of(u), Some(u.clone())),
            domain::ChannelRef::Id(id) => (*id, None),
        };
        Ok(domain::ChannelInfo {
            chat_id,
            title: channel.to_string(),
            username,
            owner_id: Some(claimed_owner),
            bot_is_admin: true,
        })
    }
}
