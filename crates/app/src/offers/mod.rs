//! Offers: bids on an NFT whoever owns it. The price is held from the offerer while open.

pub mod accept;
pub mod cancel;
pub mod expire;
pub mod new;
pub mod refuse;
pub mod set_price;
