//! Everything a use case is built from: the storage, the shared services and the business rules.
//! Use cases are cheap to build (a few `Arc` clones), so callers build one per request or job item.

use std::sync::Arc;

use domain::ports::ChannelDirectory;
use domain::{FeeRule, Money};

use crate::services::Services;
use crate::uow::Storage;

/// The business settings (SPEC §6) use cases are built with.
#[derive(Clone, Debug)]
pub struct Rules {
    pub fees: FeeRule,
    /// The smallest withdrawal.
    pub min_withdrawal: Money,
    /// A bid this close to an auction's end moves the end to now + this.
    pub anti_sniping: chrono::Duration,
    /// A presale seller's collateral, in percent of the price.
    pub collateral_percent: u32,
    /// Most open trades one maker may have.
    pub max_open_trades: u32,
    /// How long a channel's seller has to hand ownership to the buyer.
    pub channel_transfer: chrono::Duration,
    /// Charged to the owner when a gift is returned (`back`); refunded if the return fails.
    pub gift_withdrawal_fee: Money,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            fees: FeeRule::default(),
            min_withdrawal: Money::parse("1").expect("a valid amount"),
            anti_sniping: chrono::Duration::seconds(300),
            collateral_percent: 20,
            max_open_trades: 20,
            channel_transfer: chrono::Duration::seconds(86_400),
            gift_withdrawal_fee: Money::ZERO,
        }
    }
}

#[derive(Clone)]
pub struct Context {
    pub storage: Arc<Storage>,
    pub services: Services,
    pub rules: Rules,
    /// Telegram's view of channels (or the stand-in when Telegram is not configured).
    pub channels: Arc<dyn ChannelDirectory>,
}

impl Context {
    /// The storage, as any use case's Unit-of-Work source (`Uows<dyn …Uow>`).
    pub fn uows(&self) -> Arc<Storage> {
        self.storage.clone()
    }

    pub fn services(&self) -> Services {
        self.services.clone()
    }
}
