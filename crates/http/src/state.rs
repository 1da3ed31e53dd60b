//! What handlers share.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use app::auctions::{CancelAuction, NewAuction, PlaceBid};
use app::back_nft::BackNft;
use app::buy_nft::BuyNft;
use app::create_manager::CreateManager;
use app::create_partner::CreatePartner;
use app::deposit::CreditDeposit;
use app::health::HealthCheck;
use app::idempotency::IdempotencyLog;
use app::offers::{CloseOffer, DecideOffer, NewOffer, SetOfferPrice};
use app::presales::{BuyPresale, DeliverPresale, PresaleSeller};
use app::queries::ReadModel;
use app::register_nft::RegisterNft;
use app::set_nft_price::SetNftPrice;
use app::withdraw::Withdraw;
use domain::ports::Clock;

use crate::auth::AuthConfig;

/// The use cases behind the routes.
pub struct UseCases {
    pub buy_nft: BuyNft,
    pub set_nft_price: SetNftPrice,
    pub deposit: CreditDeposit,
    pub register_nft: RegisterNft,
    pub create_manager: CreateManager,
    pub create_partner: CreatePartner,
    pub back_nft: BackNft,
    pub new_offer: NewOffer,
    pub set_offer_price: SetOfferPrice,
    pub decide_offer: DecideOffer,
    pub close_offer: Arc<CloseOffer>,
    pub new_auction: NewAuction,
    pub place_bid: PlaceBid,
    pub cancel_auction: CancelAuction,
    pub presale_seller: PresaleSeller,
    pub buy_presale: BuyPresale,
    pub deliver_presale: DeliverPresale,
    pub withdraw: Withdraw,
}

pub struct AppState {
    pub uc: UseCases,
    pub reads: Arc<dyn ReadModel>,
    pub auth: AuthConfig,
    /// The clock business rules run on (offer expiry shown in reads).
    pub clock: Arc<dyn Clock>,
    /// Dependencies `/readyz` reports; the one named `database` decides readiness.
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// Renders `/metrics`.
    pub render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// Responses of requests that carried an `Idempotency-Key`.
    pub idempotency: Arc<dyn IdempotencyLog>,
    /// Users already stored, with the username last seen (saves a write per request).
    pub(crate) known_users: Mutex<HashSet<(i64, Option<String>)>>,
}

impl AppState {
    pub fn new(
        uc: UseCases,
        reads: Arc<dyn ReadModel>,
        auth: AuthConfig,
        clock: Arc<dyn Clock>,
        health: Vec<Arc<dyn HealthCheck>>,
        render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
        idempotency: Arc<dyn IdempotencyLog>,
    ) -> Self {
        Self { uc, reads, auth, clock, health, render_metrics, idempotency, known_users: Mutex::default() }
    }
}
