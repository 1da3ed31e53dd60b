//! Create a partner desk manager.

use std::sync::Arc;

use domain::ports::ManagerRepo;
use domain::*;

use crate::services::Services;
use crate::uow::UseCaseError;

crate::define_uow!(CreateManagerUow, CreateManagerUowFactory { managers: ManagerRepo });

#[derive(Clone, Debug)]
pub struct CreateManagerCommand {
    pub name: String,
    pub telegram_username: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateManagerError {
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl UseCaseError for CreateManagerError {
    fn is_transient(&self) -> bool {
        matches!(self, CreateManagerError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        "storage"
    }
}

pub struct CreateManager {
    uows: Arc<dyn CreateManagerUowFactory>,
    services: Services,
}

impl CreateManager {
    pub fn new(uows: Arc<dyn CreateManagerUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates an active manager.
    pub async fn execute(&self, cmd: CreateManagerCommand) -> Result<Manager, CreateManagerError> {
        self.services
            .run("create_manager", || async {
                let mut uow = self.uows.begin().await?;
                let manager = Manager {
                    id: self.services.new_id(),
                    name: cmd.name.clone(),
                    telegram_username: cmd.telegram_username.clone(),
                    active: true,
                    created_at: self.services.now(),
                };
                uow.managers().insert(&manager).await?;
                uow.commit().await?;
                Ok(manager)
            })
            .await
    }
}
