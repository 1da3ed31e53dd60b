//! Rows → entities.

use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;

fn bad(what: &str, e: impl std::fmt::Display) -> RepoError {
    RepoError::Other(format!("bad {what} in database: {e}"))
}

pub fn money(d: Decimal) -> Result<Money, RepoError> {
    Money::from_decimal(d).map_err(|e| bad("amount", e))
}

pub fn user(r: &PgRow) -> Result<User, RepoError> {
    Ok(User {
        id: UserId(r.try_get("id").map_err(|e| bad("user", e))?),
        username: r.try_get("username").map_err(|e| bad("user", e))?,
        available: money(r.try_get("available").map_err(|e| bad("user", e))?)?,
        held: money(r.try_get("held").map_err(|e| bad("user", e))?)?,
    })
}

pub const NFT_COLUMNS: &str = "id, gift_id, title, collection, owner_id, price, status, created_at";

pub fn nft(r: &PgRow) -> Result<Nft, RepoError> {
    let e = |e| bad("nft", e);
    let status: String = r.try_get("status").map_err(e)?;
    let price: Option<Decimal> = r.try_get("price").map_err(e)?;
    Ok(Nft {
        id: NftId(r.try_get("id").map_err(e)?),
        gift_id: r.try_get("gift_id").map_err(e)?,
        title: r.try_get("title").map_err(e)?,
        collection: r.try_get("collection").map_err(e)?,
        owner_id: UserId(r.try_get("owner_id").map_err(e)?),
        price: price.map(money).transpose()?,
        status: NftStatus::parse(&status).ok_or_else(|| bad("nft status", &status))?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub const OFFER_COLUMNS: &str = "id, nft_id, offerer_id, price, status, expires_at, created_at";

pub fn offer(r: &PgRow) -> Result<Offer, RepoError> {
    let e = |e| bad("offer", e);
    let status: String = r.try_get("status").map_err(e)?;
    Ok(Offer {
        id: OfferId(r.try_get("id").map_err(e)?),
        nft_id: NftId(r.try_get("nft_id").map_err(e)?),
        offerer_id: UserId(r.try_get("offerer_id").map_err(e)?),
        price: money(r.try_get("price").map_err(e)?)?,
        status: OfferStatus::parse(&status).ok_or_else(|| bad("offer status", &status))?,
        expires_at: r.try_get("expires_at").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub fn ledger_entry(r: &PgRow) -> Result<LedgerEntry, RepoError> {
    let e = |e| bad("ledger entry", e);
    let account: String = r.try_get("account").map_err(e)?;
    let operation: String = r.try_get("operation").map_err(e)?;
    let user_id: Option<i64> = r.try_get("user_id").map_err(e)?;
    Ok(LedgerEntry {
        id: LedgerEntryId(r.try_get("id").map_err(e)?),
        operation_id: OperationId(r.try_get("operation_id").map_err(e)?),
        operation: Operation::parse(&operation).ok_or_else(|| bad("operation", &operation))?,
        user_id: user_id.map(UserId),
        account: Account::parse(&account).ok_or_else(|| bad("account", &account))?,
        amount: r.try_get("amount").map_err(e)?,
        reference: r.try_get("reference").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub fn deposit(r: &PgRow) -> Result<Deposit, RepoError> {
    let e = |e| bad("deposit", e);
    Ok(Deposit {
        id: DepositId(r.try_get("id").map_err(e)?),
        user_id: UserId(r.try_get("user_id").map_err(e)?),
        amount: money(r.try_get("amount").map_err(e)?)?,
        tx_hash: r.try_get("tx_hash").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub fn manager(r: &PgRow) -> Result<Manager, RepoError> {
    let e = |e| bad("manager", e);
    Ok(Manager {
        id: ManagerId(r.try_get("id").map_err(e)?),
        name: r.try_get("name").map_err(e)?,
        telegram_username: r.try_get("telegram_username").map_err(e)?,
        active: r.try_get("active").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub fn client(r: &PgRow) -> Result<Client, RepoError> {
    let e = |e| bad("client", e);
    let age: i16 = r.try_get("age").map_err(e)?;
    let mobile: String = r.try_get("mobile").map_err(e)?;
    let email: String = r.try_get("email").map_err(e)?;
    Ok(Client {
        id: ClientId(r.try_get("id").map_err(e)?),
        fio: r.try_get("fio").map_err(e)?,
        age: u8::try_from(age).map_err(|x| bad("client age", x))?,
        description: r.try_get("description").map_err(e)?,
        mobile: Mobile::parse(&mobile).map_err(|x| bad("client mobile", x))?,
        email: Email::parse(&email).map_err(|x| bad("client email", x))?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub fn bind(r: &PgRow) -> Result<ManagerBind, RepoError> {
    let e = |e| bad("manager bind", e);
    Ok(ManagerBind {
        client_id: ClientId(r.try_get("client_id").map_err(e)?),
        manager_id: ManagerId(r.try_get("manager_id").map_err(e)?),
        priority: r.try_get("priority").map_err(e)?,
        created_at: r.try_get("bind_created_at").map_err(e)?,
    })
}

pub const AUCTION_COLUMNS: &str =
    "id, nft_id, seller_id, start_price, step_percent, buy_now_price, ends_at, leader_id, current_bid, bid_count, status, created_at";

pub fn auction(r: &PgRow) -> Result<Auction, RepoError> {
    let e = |e| bad("auction", e);
    let status: String = r.try_get("status").map_err(e)?;
    let buy_now: Option<Decimal> = r.try_get("buy_now_price").map_err(e)?;
    let current: Option<Decimal> = r.try_get("current_bid").map_err(e)?;
    let leader: Option<i64> = r.try_get("leader_id").map_err(e)?;
    let step: i32 = r.try_get("step_percent").map_err(e)?;
    let bids: i32 = r.try_get("bid_count").map_err(e)?;
    Ok(Auction {
        id: AuctionId(r.try_get("id").map_err(e)?),
        nft_id: NftId(r.try_get("nft_id").map_err(e)?),
        seller_id: UserId(r.try_get("seller_id").map_err(e)?),
        start_price: money(r.try_get("start_price").map_err(e)?)?,
        step_percent: step as u32,
        buy_now_price: buy_now.map(money).transpose()?,
        ends_at: r.try_get("ends_at").map_err(e)?,
        leader_id: leader.map(UserId),
        current_bid: current.map(money).transpose()?,
        bid_count: bids as u32,
        status: AuctionStatus::parse(&status).ok_or_else(|| bad("auction status", &status))?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub fn bid(r: &PgRow) -> Result<Bid, RepoError> {
    let e = |e| bad("bid", e);
    Ok(Bid {
        id: BidId(r.try_get("id").map_err(e)?),
        auction_id: AuctionId(r.try_get("auction_id").map_err(e)?),
        bidder_id: UserId(r.try_get("bidder_id").map_err(e)?),
        amount: money(r.try_get("amount").map_err(e)?)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub const PRESALE_COLUMNS: &str =
    "id, seller_id, title, collection, price, collateral, deliver_by, buyer_id, status, nft_id, created_at";

pub fn presale(r: &PgRow) -> Result<Presale, RepoError> {
    let e = |e| bad("presale", e);
    let status: String = r.try_get("status").map_err(e)?;
    let buyer: Option<i64> = r.try_get("buyer_id").map_err(e)?;
    let nft: Option<uuid::Uuid> = r.try_get("nft_id").map_err(e)?;
    Ok(Presale {
        id: PresaleId(r.try_get("id").map_err(e)?),
        seller_id: UserId(r.try_get("seller_id").map_err(e)?),
        title: r.try_get("title").map_err(e)?,
        collection: r.try_get("collection").map_err(e)?,
        price: money(r.try_get("price").map_err(e)?)?,
        collateral: money(r.try_get("collateral").map_err(e)?)?,
        deliver_by: r.try_get("deliver_by").map_err(e)?,
        buyer_id: buyer.map(UserId),
        status: PresaleStatus::parse(&status).ok_or_else(|| bad("presale status", &status))?,
        nft_id: nft.map(NftId),
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub const WITHDRAWAL_COLUMNS: &str = "id, user_id, amount, address, status, tx_hash, created_at";

pub fn withdrawal(r: &PgRow) -> Result<Withdrawal, RepoError> {
    let e = |e| bad("withdrawal", e);
    let status: String = r.try_get("status").map_err(e)?;
    Ok(Withdrawal {
        id: WithdrawalId(r.try_get("id").map_err(e)?),
        user_id: UserId(r.try_get("user_id").map_err(e)?),
        amount: money(r.try_get("amount").map_err(e)?)?,
        address: r.try_get("address").map_err(e)?,
        status: WithdrawalStatus::parse(&status).ok_or_else(|| bad("withdrawal status", &status))?,
        tx_hash: r.try_get("tx_hash").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
