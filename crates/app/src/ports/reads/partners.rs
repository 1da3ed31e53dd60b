//! Reads of the partner desk.

use async_trait::async_trait;

use domain::*;

/// A client with the managers bound to it, by priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    pub client: Client,
    pub managers: Vec<(ManagerBind, Manager)>,
}

#[async_trait]
pub trait PartnerReads: Send + Sync {
    /// A client with its managers by priority; `None` when it does not exist.
    async fn client(&self, id: ClientId) -> Result<Option<ClientView>, RepoError>;
    /// The manager's clients by priority (then by binding time); `None` if no such manager.
    async fn manager_clients(&self, id: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError>;
}
