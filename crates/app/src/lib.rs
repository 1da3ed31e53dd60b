//! Use cases of atomarket. Each module holds one use case: its own Unit-of-Work trait (exactly
//! the repositories it touches), the use case and its error enum. Nothing here knows which
//! adapter runs underneath.

pub mod auctions;
pub mod audit;
pub mod back_nft;
pub mod buy_nft;
pub mod create_manager;
pub mod create_partner;
pub mod deposit;
pub mod effects;
pub mod gift_returns;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod offers;
pub mod payouts;
pub mod presales;
pub mod queries;
pub mod register_nft;
pub mod relay;
pub mod services;
pub mod set_nft_price;
pub mod uow;
pub mod withdraw;

pub use services::Services;
pub use uow::{RetryPolicy, UseCaseError};

#[cfg(test)]
mod testing;

/// Calls `$callback!` with every use case's Unit-of-Work trait, its factory and its repositories
/// (`Uow, Factory { accessor: Port, … }; …`): the one list adapters implement and the composition
/// root requires.
#[macro_export]
macro_rules! for_each_uow {
    ($callback:ident) => {
        $callback! {
    $crate::buy_nft::BuyNftUow, $crate::buy_nft::BuyNftUowFactory {
        nfts: domain::ports::NftRepo, accounts: domain::ports::AccountRepo, offers: domain::ports::OfferRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::deposit::DepositUow, $crate::deposit::DepositUowFactory {
        deposits: domain::ports::DepositRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo
    };
    $crate::create_partner::CreatePartnerUow, $crate::create_partner::CreatePartnerUowFactory {
        clients: domain::ports::ClientRepo, managers: domain::ports::ManagerRepo, manager_binds: domain::ports::ManagerBindRepo
    };
    $crate::create_manager::CreateManagerUow, $crate::create_manager::CreateManagerUowFactory { managers: domain::ports::ManagerRepo };
    $crate::register_nft::RegisterNftUow, $crate::register_nft::RegisterNftUowFactory { accounts: domain::ports::AccountRepo, nfts: domain::ports::NftRepo };
    $crate::set_nft_price::SetNftPriceUow, $crate::set_nft_price::SetNftPriceUowFactory { nfts: domain::ports::NftRepo };
    $crate::back_nft::BackNftUow, $crate::back_nft::BackNftUowFactory {
        nfts: domain::ports::NftRepo, offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::offers::NewOfferUow, $crate::offers::NewOfferUowFactory {
        nfts: domain::ports::NftRepo, offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::offers::SetOfferPriceUow, $crate::offers::SetOfferPriceUowFactory { offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo };
    $crate::offers::DecideOfferUow, $crate::offers::DecideOfferUowFactory {
        nfts: domain::ports::NftRepo, offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::offers::CloseOfferUow, $crate::offers::CloseOfferUowFactory {
        offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::auctions::NewAuctionUow, $crate::auctions::NewAuctionUowFactory { nfts: domain::ports::NftRepo, auctions: domain::ports::AuctionRepo };
    $crate::auctions::PlaceBidUow, $crate::auctions::PlaceBidUowFactory {
        auctions: domain::ports::AuctionRepo, nfts: domain::ports::NftRepo, offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::auctions::CancelAuctionUow, $crate::auctions::CancelAuctionUowFactory { auctions: domain::ports::AuctionRepo, nfts: domain::ports::NftRepo };
    $crate::auctions::SettleAuctionUow, $crate::auctions::SettleAuctionUowFactory {
        auctions: domain::ports::AuctionRepo, nfts: domain::ports::NftRepo, offers: domain::ports::OfferRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::presales::PresaleSellerUow, $crate::presales::PresaleSellerUowFactory {
        presales: domain::ports::PresaleRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo
    };
    $crate::presales::BuyPresaleUow, $crate::presales::BuyPresaleUowFactory {
        presales: domain::ports::PresaleRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::presales::DeliverPresaleUow, $crate::presales::DeliverPresaleUowFactory {
        presales: domain::ports::PresaleRepo, nfts: domain::ports::NftRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::presales::ExpirePresaleUow, $crate::presales::ExpirePresaleUowFactory {
        presales: domain::ports::PresaleRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::withdraw::WithdrawUow, $crate::withdraw::WithdrawUowFactory {
        accounts: domain::ports::AccountRepo, withdrawals: domain::ports::WithdrawalRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::payouts::PayoutResultUow, $crate::payouts::PayoutResultUowFactory {
        withdrawals: domain::ports::WithdrawalRepo, accounts: domain::ports::AccountRepo, ledger: domain::ports::LedgerRepo, outbox: domain::ports::OutboxRepo
    };
    $crate::gift_returns::GiftReturnUow, $crate::gift_returns::GiftReturnUowFactory { nfts: domain::ports::NftRepo, outbox: domain::ports::OutboxRepo };
        }
    };
}
