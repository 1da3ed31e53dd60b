//! NFTs in custody: registered when a gift arrives, listed, bought, returned to Telegram.

pub mod back;
pub mod buy;
pub mod record_gift_return;
pub mod register;
pub mod sell;
pub mod set_price;
pub mod sweep;
