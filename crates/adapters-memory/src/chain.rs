//! Deposit memos, the deposit watcher's cursor, unmatched deposits and the wallet's journal.

use app::ports::reads::{DepositReads, GiftReads, Page, PageRequest};
use app::ports::{TransferState, WalletJournal, WalletTransfer};
use async_trait::async_trait;
use domain::ports::{ChainRepo, GiftInboxRepo, UnmatchedDepositRepo};
use domain::*;
use uuid::Uuid;

use crate::{MemoryStore, MemoryUow};

#[async_trait]
impl ChainRepo for MemoryUow {
    async fn memo_of(&mut self, user: UserId) -> Result<Option<String>, RepoError> {
        Ok(self.state.memos.get(&user.0).cloned())
    }

    async fn insert_memo(&mut self, user: UserId, memo: &str) -> Result<(), RepoError> {
        if self.state.memos.contains_key(&user.0) {
            return Err(self.fail(RepoError::Duplicate(Constraint::OneMemoPerUser)));
        }
        if self.state.memo_owners.contains_key(memo) {
            return Err(self.fail(RepoError::Duplicate(Constraint::MemoTaken)));
        }
        if !self.state.users.contains_key(&user.0) {
            return Err(self.fail(RepoError::MissingReference(Constraint::MemoUser)));
        }
        self.state.memos.insert(user.0, memo.to_string());
        self.state.memo_owners.insert(memo.to_string(), user.0);
        Ok(())
    }

    async fn user_by_memo(&mut self, memo: &str) -> Result<Option<UserId>, RepoError> {
        Ok(self.state.memo_owners.get(memo).map(|id| UserId(*id)))
    }

    async fn lock_cursor(&mut self, account: &str) -> Result<Option<ChainCursor>, RepoError> {
        Ok(self.state.cursors.get(account).cloned())
    }

    async fn save_cursor(&mut self, account: &str, cursor: &ChainCursor) -> Result<(), RepoError> {
        self.state.cursors.insert(account.to_string(), cursor.clone());
        Ok(())
    }
}

#[async_trait]
impl UnmatchedDepositRepo for MemoryUow {
    async fn insert(&mut self, deposit: &UnmatchedDeposit) -> Result<bool, RepoError> {
        if self.state.unmatched.values().any(|u| u.tx_hash == deposit.tx_hash) {
            return Ok(false);
        }
        self.state.unmatched.insert(deposit.id.0, deposit.clone());
        Ok(true)
    }

    async fn lock(&mut self, id: UnmatchedDepositId) -> Result<Option<UnmatchedDeposit>, RepoError> {
        Ok(self.state.unmatched.get(&id.0).cloned())
    }

    async fn update(&mut self, deposit: &UnmatchedDeposit) -> Result<(), RepoError> {
        if let Some(to) = deposit.assigned_to {
            if !self.state.users.contains_key(&to.0) {
                return Err(self.fail(RepoError::MissingReference(Constraint::UnmatchedDepositAssignee)));
            }
        }
        match self.state.unmatched.get_mut(&deposit.id.0) {
            Some(row) => *row = deposit.clone(),
            None => return Err(self.fail(RepoError::Other(format!("unmatched deposit {} does not exist", deposit.id)))),
        }
        Ok(())
    }
}

#[async_trait]
impl GiftInboxRepo for MemoryUow {
    async fn claim_update(&mut self, update_id: i64, _at: chrono::DateTime<chrono::Utc>) -> Result<bool, RepoError> {
        Ok(self.state.telegram_updates.insert(update_id).is_none())
    }

    async fn insert_unmatched(&mut self, gift: &UnmatchedGift) -> Result<bool, RepoError> {
        let kept = |u: &UnmatchedGift| u.gift.gift_id == gift.gift.gift_id && u.assigned_to.is_none();
        if self.state.unmatched_gifts.values().any(kept) {
            return Ok(false);
        }
        self.state.unmatched_gifts.insert(gift.id.0, gift.clone());
        Ok(true)
    }

    async fn lock_unmatched(&mut self, id: UnmatchedGiftId) -> Result<Option<UnmatchedGift>, RepoError> {
        Ok(self.state.unmatched_gifts.get(&id.0).cloned())
    }

    async fn update_unmatched(&mut self, gift: &UnmatchedGift) -> Result<(), RepoError> {
        if let Some(to) = gift.assigned_to {
            if !self.state.users.contains_key(&to.0) {
                return Err(self.fail(RepoError::MissingReference(Constraint::UnmatchedGiftAssignee)));
            }
        }
        match self.state.unmatched_gifts.get_mut(&gift.id.0) {
            Some(row) => *row = gift.clone(),
            None => return Err(self.fail(RepoError::Other(format!("unmatched gift {} does not exist", gift.id)))),
        }
        Ok(())
    }

    async fn replace_missing(
        &mut self,
        gift_ids: &[String],
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), RepoError> {
        self.state.missing_gifts = gift_ids.iter().cloned().collect();
        Ok(())
    }
}

#[async_trait]
impl GiftReads for MemoryStore {
    async fn unmatched_gifts(&self, page: PageRequest) -> Result<Page<UnmatchedGift>, RepoError> {
        let s = self.snapshot();
        let upper = page.after.unwrap_or(Uuid::max());
        let items: Vec<UnmatchedGift> =
            s.unmatched_gifts.range(..upper).rev().take(page.limit as usize + 1).map(|(_, u)| u.clone()).collect();
        Ok(Page::from_overfetch(items, page.limit, |u| u.id.0))
    }

    async fn gifts_in_custody(
        &self,
        registered_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, RepoError> {
        let held = |n: &&Nft| n.created_at < registered_before && held_on_the_account(n);
        Ok(self.snapshot().nfts.values().filter(held).map(|n| n.gift_id.clone()).collect())
    }
}

/// An NFT the business account should hold: it came through the gift rail and is not leaving.
pub(crate) fn held_on_the_account(n: &Nft) -> bool {
    n.telegram.is_some() && !matches!(n.status, NftStatus::Withdrawing | NftStatus::Withdrawn)
}

#[async_trait]
impl DepositReads for MemoryStore {
    async fn unmatched_deposits(&self, page: PageRequest) -> Result<Page<UnmatchedDeposit>, RepoError> {
        let s = self.snapshot();
        let upper = page.after.unwrap_or(Uuid::max());
        let items: Vec<UnmatchedDeposit> =
            s.unmatched.range(..upper).rev().take(page.limit as usize + 1).map(|(_, u)| u.clone()).collect();
        Ok(Page::from_overfetch(items, page.limit, |u| u.id.0))
    }
}

#[async_trait]
impl WalletJournal for MemoryStore {
    async fn transfer_of(&self, withdrawal: WithdrawalId) -> Result<Option<WalletTransfer>, RepoError> {
        let s = self.snapshot();
        let mine: Vec<&WalletTransfer> =
            s.wallet_transfers.values().filter(|t| t.withdrawal_id == withdrawal).collect();
        let live = mine.iter().find(|t| t.state != TransferState::Expired);
        Ok(live.or_else(|| mine.iter().max_by_key(|t| t.created_at)).map(|t| (*t).clone()))
    }

    async fn in_flight(&self, wallet: &str) -> Result<Option<WalletTransfer>, RepoError> {
        let s = self.snapshot();
        Ok(s.wallet_transfers.values().find(|t| t.wallet == wallet && t.state == TransferState::InFlight).cloned())
    }

    async fn record(&self, transfer: &WalletTransfer) -> Result<(), RepoError> {
        self.write("record_wallet_transfer", |s| {
            let busy =
                s.wallet_transfers.values().any(|t| t.wallet == transfer.wallet && t.state == TransferState::InFlight);
            let live = s
                .wallet_transfers
                .values()
                .any(|t| t.withdrawal_id == transfer.withdrawal_id && t.state != TransferState::Expired);
            if busy || live || s.wallet_transfers.contains_key(&transfer.msg_hash) {
                return Err(RepoError::Duplicate(Constraint::OneTransferInFlightPerWallet));
            }
            s.wallet_transfers.insert(transfer.msg_hash.clone(), transfer.clone());
            Ok(())
        })
        .await
    }

    async fn settle<'a>(
        &self,
        msg_hash: &str,
        state: TransferState,
        tx_hash: Option<&'a str>,
    ) -> Result<(), RepoError> {
        self.write("settle_wallet_transfer", |s| {
            if let Some(t) = s.wallet_transfers.get_mut(msg_hash) {
                if t.state == TransferState::InFlight {
                    t.state = state;
                    t.tx_hash = tx_hash.map(String::from);
                }
            }
        })
        .await;
        Ok(())
    }
}
