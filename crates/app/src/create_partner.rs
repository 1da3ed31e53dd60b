//! CreatePartner (seed 001): a client and its binding to an active manager, atomically.

use std::sync::Arc;

use domain::ports::{ClientRepo, ManagerBindRepo, ManagerRepo};
use domain::*;

use crate::services::Services;
use crate::uow::UseCaseError;

crate::define_uow!(
    /// What CreatePartner touches: clients, the manager it binds to (read under a share lock so
    /// it cannot be deactivated meanwhile), and bindings.
    CreatePartnerUow, CreatePartnerUowFactory {
        clients: ClientRepo,
        managers: ManagerRepo,
        manager_binds: ManagerBindRepo,
    }
);

#[derive(Clone, Debug)]
pub struct CreatePartnerCommand {
    pub manager_id: ManagerId,
    pub priority: i32,
    pub client: ClientProfile,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    pub client: Client,
    pub bind: ManagerBind,
}

#[derive(Debug, thiserror::Error)]
pub enum CreatePartnerError {
    #[error("manager {0} not found")]
    ManagerNotFound(ManagerId),
    #[error("manager {0} is not active")]
    ManagerInactive(ManagerId),
    #[error("a client with e-mail {0} already exists")]
    DuplicateEmail(String),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl UseCaseError for CreatePartnerError {
    fn is_transient(&self) -> bool {
        matches!(self, CreatePartnerError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            CreatePartnerError::ManagerNotFound(_) => "not_found",
            CreatePartnerError::ManagerInactive(_) => "manager_inactive",
            CreatePartnerError::DuplicateEmail(_) => "duplicate",
            CreatePartnerError::Storage(_) => "storage",
        }
    }
}

pub struct CreatePartner {
    uows: Arc<dyn CreatePartnerUowFactory>,
    services: Services,
}

impl CreatePartner {
    pub fn new(uows: Arc<dyn CreatePartnerUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates the client, then binds it to the manager. If the manager is unknown or inactive
    /// the Unit of Work is dropped and the client is not left behind.
    #[tracing::instrument(name = "create_partner", skip_all, fields(manager = %cmd.manager_id))]
    pub async fn execute(&self, cmd: CreatePartnerCommand) -> Result<Partner, CreatePartnerError> {
        self.services.run("create_partner", || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CreatePartnerCommand) -> Result<Partner, CreatePartnerError> {
        let now = self.services.now();
        let mut uow = self.uows.begin().await?;
        let p = &cmd.client;
        let client = Client {
            id: self.services.new_id(),
            fio: p.fio.clone(),
            age: p.age,
            description: p.description.clone(),
            mobile: p.mobile.clone(),
            email: p.email.clone(),
            created_at: now,
        };
        match uow.clients().insert(&client).await {
            Err(RepoError::Duplicate(_)) => return Err(CreatePartnerError::DuplicateEmail(client.email.to_string())),
            other => other?,
        }
        let manager = uow
            .managers()
            .get_for_share(cmd.manager_id)
            .await?
            .ok_or(CreatePartnerError::ManagerNotFound(cmd.manager_id))?;
        manager.ensure_active().map_err(|_| CreatePartnerError::ManagerInactive(manager.id))?;
        let bind =
            ManagerBind { client_id: client.id, manager_id: manager.id, priority: cmd.priority, created_at: now };
        match uow.manager_binds().insert(&bind).await {
            Err(RepoError::MissingReference(_)) => return Err(CreatePartnerError::ManagerNotFound(cmd.manager_id)),
            other => other?,
        }
        uow.commit().await?;
        Ok(Partner { client, bind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{now, services};
    use domain::ports::*;

    crate::fake_uow!(FakeUow: CreatePartnerUow, FakeFactory: CreatePartnerUowFactory {
        clients: MockClientRepo => ClientRepo,
        managers: MockManagerRepo => ManagerRepo,
        manager_binds: MockManagerBindRepo => ManagerBindRepo,
    });

    fn manager(active: bool) -> Manager {
        Manager {
            id: ManagerId(uuid::Uuid::from_u128(3)),
            name: "Anna".into(),
            telegram_username: None,
            active,
            created_at: now(),
        }
    }

    fn cmd() -> CreatePartnerCommand {
        CreatePartnerCommand {
            manager_id: manager(true).id,
            priority: 2,
            client: ClientProfile::parse("Ivan Petrov", 30, "", "+79991234567", "ivan@example.com").unwrap(),
        }
    }

    async fn run(uow: FakeUow) -> (Result<Partner, CreatePartnerError>, bool) {
        let (factory, committed) = FakeFactory::new(uow);
        let r = CreatePartner::new(factory, services()).execute(cmd()).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn creates_the_client_and_the_binding_in_one_commit() {
        let mut uow = FakeUow::default();
        uow.clients.expect_insert().times(1).returning(|_| Ok(()));
        uow.managers.expect_get_for_share().returning(|_| Ok(Some(manager(true))));
        uow.manager_binds
            .expect_insert()
            .withf(|b| b.priority == 2 && b.manager_id == manager(true).id)
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = run(uow).await;
        let partner = r.unwrap();
        assert!(committed);
        assert_eq!(partner.bind.client_id, partner.client.id);
    }

    #[tokio::test]
    async fn an_unknown_manager_commits_nothing() {
        let mut uow = FakeUow::default();
        uow.clients.expect_insert().returning(|_| Ok(()));
        uow.managers.expect_get_for_share().returning(|_| Ok(None));
        let (r, committed) = run(uow).await;
        assert!(matches!(r, Err(CreatePartnerError::ManagerNotFound(_))));
        assert!(!committed);
    }

    #[tokio::test]
    async fn an_inactive_manager_commits_nothing() {
        let mut uow = FakeUow::default();
        uow.clients.expect_insert().returning(|_| Ok(()));
        uow.managers.expect_get_for_share().returning(|_| Ok(Some(manager(false))));
        let (r, committed) = run(uow).await;
        assert!(matches!(r, Err(CreatePartnerError::ManagerInactive(_))));
        assert!(!committed);
    }

    #[tokio::test]
    async fn a_manager_deleted_meanwhile_commits_nothing() {
        let mut uow = FakeUow::default();
        uow.clients.expect_insert().returning(|_| Ok(()));
        uow.managers.expect_get_for_share().returning(|_| Ok(Some(manager(true))));
        uow.manager_binds
            .expect_insert()
            .returning(|_| Err(RepoError::MissingReference("manager_binds_manager_id_fkey".into())));
        let (r, committed) = run(uow).await;
        assert!(matches!(r, Err(CreatePartnerError::ManagerNotFound(_))));
        assert!(!committed);
    }

    #[tokio::test]
    async fn a_duplicate_email_commits_nothing() {
        let mut uow = FakeUow::default();
        uow.clients.expect_insert().returning(|_| Err(RepoError::Duplicate("clients_email_key".into())));
        let (r, committed) = run(uow).await;
        assert!(matches!(r, Err(CreatePartnerError::DuplicateEmail(_))));
        assert!(!committed);
    }

    #[test]
    fn a_profile_reports_every_invalid_field() {
        let errs = ClientProfile::parse("", 17, &"x".repeat(2001), "123", "nope").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["client.fio", "client.age", "client.description", "client.mobile", "client.email"]);
    }
}
