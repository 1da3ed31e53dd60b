//! Create a partner desk manager.

use domain::ports::{ManagerRepo, StaffActionRepo};
use domain::*;

use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "create_manager";

crate::define_uow!(
    /// Creating a manager touches the managers and the audit trail.
    CreateManagerUow { managers: ManagerRepo, staff_actions: StaffActionRepo }
);

#[derive(Clone, Debug)]
pub struct CreateManagerCommand {
    /// Who creates it (the staff token's audit label).
    pub actor: String,
    pub name: String,
    pub telegram_username: Option<String>,
}

pub struct CreateManager {
    uows: Uows<dyn CreateManagerUow>,
    services: Services,
}

impl CreateManager {
    pub fn new(uows: Uows<dyn CreateManagerUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates an active manager, recorded as a staff action by `actor` in the same Unit of Work.
    #[tracing::instrument(level = "debug", name = "create_manager", skip_all)]
    pub async fn execute(&self, cmd: CreateManagerCommand) -> Result<Manager, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CreateManagerCommand) -> Result<Manager, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let manager = Manager {
                id: self.services.new_id(),
                name: cmd.name.clone(),
                telegram_username: cmd.telegram_username.clone(),
                active: true,
                created_at: fx.now,
            };
            uow.managers().insert(&manager).await?;
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: manager.id.to_string(),
                detail: format!("manager {}", manager.name),
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            Ok(manager)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[tokio::test]
    async fn a_new_manager_is_active_and_committed() {
        let mut tx = FakeTx::default();
        tx.managers.expect_insert().withf(|m| m.active && m.name == "Anna").times(1).returning(|_| Ok(()));
        tx.staff_actions
            .expect_record()
            .withf(|a| a.actor == "staff:ab12" && a.action == "create_manager" && a.detail == "manager Anna")
            .times(1)
            .returning(|_| Ok(()));
        let (store, committed) = store(tx);
        let cmd = CreateManagerCommand { actor: "staff:ab12".into(), name: "Anna".into(), telegram_username: None };
        CreateManager::new(store, services()).execute(cmd).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_storage_failure_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.managers.expect_insert().returning(|_| Err(RepoError::Other("down".into())));
        let (store, committed) = store(tx);
        let cmd = CreateManagerCommand { actor: "staff:ab12".into(), name: "Anna".into(), telegram_username: None };
        let e = CreateManager::new(store, services()).execute(cmd).await.unwrap_err();
        assert_eq!((e, committed.get()), (RepoError::Other("down".into()).into(), false));
    }
}
