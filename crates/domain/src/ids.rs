//! Identifiers. Users are Telegram ids; everything else is a UUID.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    )*};
}

uuid_id!(
    NftId,
    OfferId,
    CollectionOfferId,
    AuctionId,
    BidId,
    PresaleId,
    WithdrawalId,
    ClientId,
    ManagerId,
    LedgerEntryId,
    OperationId,
    OutboxId,
    DepositId,
    StaffActionId,
    TradeId,
    ChannelSaleId,
    UnmatchedDepositId,
    UnmatchedGiftId,
    MarketEventId,
);

/// A Telegram user id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_id_displays_as_its_telegram_number() {
        assert_eq!(UserId(42).to_string(), "42");
        assert_eq!(UserId(-1001).to_string(), "-1001");
    }

    #[test]
    fn a_uuid_id_displays_as_its_uuid_and_converts_both_ways() {
        let u = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let id = NftId::from(u);
        assert_eq!(id.to_string(), "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(id.as_uuid(), u);
    }
}
