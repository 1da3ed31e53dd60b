//! Repository ports over the Unit of Work's copy of the state. Constraints of the Postgres
//! schema (unique keys, references) are enforced the same way and reported with the same names.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;

use crate::MemoryUow;

#[async_trait]
impl AccountRepo for MemoryUow {
    async fn get(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.state.users.get(&id.0).cloned())
    }

    async fn lock(&mut self, ids: &[UserId]) -> Result<Vec<User>, RepoError> {
        let mut ids: Vec<_> = ids.to_vec();
        ids.sort();
        ids.dedup();
        Ok(ids.iter().filter_map(|id| self.state.users.get(&id.0).cloned()).collect())
    }

    async fn ensure_locked(&mut self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        let user = self.state.users.entry(id.0).or_insert_with(|| User::new(id, None));
        if username.is_some() {
            user.username = username;
        }
        Ok(user.clone())
    }

    async fn save(&mut self, user: &User) -> Result<(), RepoError> {
        if !self.state.users.contains_key(&user.id.0) {
            return Err(RepoError::Other(format!("user {} does not exist", user.id)));
        }
        self.state.users.insert(user.id.0, user.clone());
        Ok(())
    }
}

#[async_trait]
impl NftRepo for MemoryUow {
    async fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        Ok(self.state.nfts.get(&id.0).cloned())
    }

    async fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        Ok(self.state.nfts.get(&id.0).cloned())
    }

    async fn insert(&mut self, nft: &Nft) -> Result<(), RepoError> {
        if self.state.gift_ids.contains(&nft.gift_id) || self.state.nfts.contains_key(&nft.id.0) {
            return Err(RepoError::Duplicate("nfts_gift_id_key".into()));
        }
        if !self.state.users.contains_key(&nft.owner_id.0) {
            return Err(RepoError::MissingReference("nfts_owner_id_fkey".into()));
        }
        self.state.gift_ids.insert(nft.gift_id.clone());
        self.state.nfts.insert(nft.id.0, nft.clone());
        Ok(())
    }

    async fn update(&mut self, nft: &Nft) -> Result<(), RepoError> {
        if !self.state.users.contains_key(&nft.owner_id.0) {
            return Err(RepoError::MissingReference("nfts_owner_id_fkey".into()));
        }
        match self.state.nfts.get_mut(&nft.id.0) {
            Some(row) => *row = nft.clone(),
            None => return Err(RepoError::Other(format!("NFT {} does not exist", nft.id))),
        }
        Ok(())
    }
}

#[async_trait]
impl OfferRepo for MemoryUow {
    async fn get(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        Ok(self.state.offers.get(&id.0).cloned())
    }

    async fn lock(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        Ok(self.state.offers.get(&id.0).cloned())
    }

    async fn lock_open_by(&mut self, nft: NftId, offerer: UserId) -> Result<Option<Offer>, RepoError> {
        Ok(self
            .state
            .offers
            .values()
            .find(|o| o.nft_id == nft && o.offerer_id == offerer && o.status == OfferStatus::Open)
            .cloned())
    }

    async fn lock_open_for_nft(&mut self, nft: NftId) -> Result<Vec<Offer>, RepoError> {
        Ok(self.state.offers.values().filter(|o| o.nft_id == nft && o.status == OfferStatus::Open).cloned().collect())
    }

    async fn insert(&mut self, offer: &Offer) -> Result<(), RepoError> {
        if offer.status == OfferStatus::Open && self.lock_open_by(offer.nft_id, offer.offerer_id).await?.is_some() {
            return Err(RepoError::Duplicate("offers_one_open_per_user_nft".into()));
        }
        self.state.offers.insert(offer.id.0, offer.clone());
        Ok(())
    }

    async fn update(&mut self, offer: &Offer) -> Result<(), RepoError> {
        match self.state.offers.get_mut(&offer.id.0) {
            Some(row) => *row = offer.clone(),
            None => return Err(RepoError::Other(format!("offer {} does not exist", offer.id))),
        }
        Ok(())
    }
}

#[async_trait]
impl LedgerRepo for MemoryUow {
    async fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError> {
        for e in entries {
            if let Some(user) = e.user_id {
                self.state.ledger_by_user.insert((user.0, e.id.0), ());
            }
            self.state.ledger.insert(e.id.0, e.clone());
        }
        Ok(())
    }
}

#[async_trait]
impl OutboxRepo for MemoryUow {
    async fn enqueue(&mut self, message: &OutboxMessage) -> Result<(), RepoError> {
        let row = crate::OutboxRow {
            message: message.clone(),
            attempts: 0,
            next_attempt_at: message.created_at,
            locked_until: None,
            done: false,
        };
        self.state.outbox.insert(message.id.0, row);
        Ok(())
    }
}

#[async_trait]
impl DepositRepo for MemoryUow {
    async fn find_by_tx_hash(&mut self, tx_hash: &str) -> Result<Option<Deposit>, RepoError> {
        Ok(self.state.deposits.get(tx_hash).cloned())
    }

    async fn insert(&mut self, deposit: &Deposit) -> Result<(), RepoError> {
        if self.state.deposits.contains_key(&deposit.tx_hash) {
            return Err(RepoError::Duplicate("deposits_tx_hash_key".into()));
        }
        self.state.deposits.insert(deposit.tx_hash.clone(), deposit.clone());
        Ok(())
    }
}

#[async_trait]
impl ClientRepo for MemoryUow {
    async fn insert(&mut self, client: &Client) -> Result<(), RepoError> {
        if self.state.client_emails.contains(client.email.as_str()) {
            return Err(RepoError::Duplicate("clients_email_key".into()));
        }
        self.state.client_emails.insert(client.email.as_str().to_string());
        self.state.clients.insert(client.id.0, client.clone());
        Ok(())
    }
}

#[async_trait]
impl ManagerRepo for MemoryUow {
    async fn get_for_share(&mut self, id: ManagerId) -> Result<Option<Manager>, RepoError> {
        Ok(self.state.managers.get(&id.0).cloned())
    }

    async fn insert(&mut self, manager: &Manager) -> Result<(), RepoError> {
        self.state.managers.insert(manager.id.0, manager.clone());
        Ok(())
    }
}

#[async_trait]
impl ManagerBindRepo for MemoryUow {
    async fn insert(&mut self, bind: &ManagerBind) -> Result<(), RepoError> {
        if !self.state.clients.contains_key(&bind.client_id.0) {
            return Err(RepoError::MissingReference("manager_binds_client_id_fkey".into()));
        }
        if !self.state.managers.contains_key(&bind.manager_id.0) {
            return Err(RepoError::MissingReference("manager_binds_manager_id_fkey".into()));
        }
        let key = (bind.client_id.0, bind.manager_id.0);
        if self.state.binds.contains_key(&key) {
            return Err(RepoError::Duplicate("manager_binds_pkey".into()));
        }
        self.state.binds.insert(key, bind.clone());
        Ok(())
    }
}
