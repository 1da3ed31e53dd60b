//! The partner desk: clients, managers and their bindings.

use app::ports::reads::{ClientView, PartnerReads};
use async_trait::async_trait;
use domain::ports::{ClientRepo, ManagerBindRepo, ManagerRepo};
use domain::*;

use crate::{MemoryStore, MemoryUow};

#[async_trait]
impl ClientRepo for MemoryUow {
    async fn insert(&mut self, client: &Client) -> Result<(), RepoError> {
        if self.state.client_emails.contains(client.email.as_str()) {
            return Err(self.fail(RepoError::Duplicate(Constraint::ClientEmail)));
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
            return Err(self.fail(RepoError::MissingReference(Constraint::BindingClient)));
        }
        if !self.state.managers.contains_key(&bind.manager_id.0) {
            return Err(self.fail(RepoError::MissingReference(Constraint::BindingManager)));
        }
        let key = (bind.client_id.0, bind.manager_id.0);
        if self.state.binds.contains_key(&key) {
            return Err(self.fail(RepoError::Duplicate(Constraint::ClientManagerPair)));
        }
        self.state.binds.insert(key, bind.clone());
        Ok(())
    }
}

#[async_trait]
impl PartnerReads for MemoryStore {
    async fn client(&self, id: ClientId) -> Result<Option<ClientView>, RepoError> {
        let s = self.snapshot();
        let Some(client) = s.clients.get(&id.0).cloned() else {
            return Ok(None);
        };
        let mut managers: Vec<(ManagerBind, Manager)> = s
            .binds
            .values()
            .filter(|b| b.client_id == id)
            .filter_map(|b| s.managers.get(&b.manager_id.0).map(|m| (b.clone(), m.clone())))
            .collect();
        managers.sort_by_key(|(b, _)| (b.priority, b.created_at));
        Ok(Some(ClientView { client, managers }))
    }

    async fn manager_clients(&self, id: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError> {
        let s = self.snapshot();
        if !s.managers.contains_key(&id.0) {
            return Ok(None);
        }
        let mut clients: Vec<(ManagerBind, Client)> = s
            .binds
            .values()
            .filter(|b| b.manager_id == id)
            .filter_map(|b| s.clients.get(&b.client_id.0).map(|c| (b.clone(), c.clone())))
            .collect();
        clients.sort_by_key(|(b, _)| (b.priority, b.created_at));
        Ok(Some(clients))
    }
}
