//! CreatePartner (seed 001): a client and its binding to an active manager, atomically.

use domain::ports::{ClientRepo, ManagerBindRepo, ManagerRepo, StaffActionRepo};
use domain::*;

use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "create_partner";

crate::define_uow!(
    /// What CreatePartner touches: clients, the manager it binds to (read under a share lock so
    /// it cannot be deactivated meanwhile), bindings, and the audit trail.
    CreatePartnerUow {
        clients: ClientRepo,
        managers: ManagerRepo,
        manager_binds: ManagerBindRepo,
        staff_actions: StaffActionRepo,
    }
);

#[derive(Clone, Debug)]
pub struct CreatePartnerCommand {
    /// Who creates it (the staff token's audit label).
    pub actor: String,
    pub manager_id: ManagerId,
    pub priority: i32,
    pub client: ClientProfile,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    pub client: Client,
    pub bind: ManagerBind,
}

pub struct CreatePartner {
    uows: Uows<dyn CreatePartnerUow>,
    services: Services,
}

impl CreatePartner {
    pub fn new(uows: Uows<dyn CreatePartnerUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates the client, then binds it to the manager. If the manager is unknown or inactive
    /// the Unit of Work is dropped and the client is not left behind. Recorded as a staff action
    /// by `actor` in the same Unit of Work.
    #[tracing::instrument(level = "debug", name = "create_partner", skip_all, fields(manager = %cmd.manager_id))]
    pub async fn execute(&self, cmd: CreatePartnerCommand) -> Result<Partner, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CreatePartnerCommand) -> Result<Partner, Error> {
        let fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let p = &cmd.client;
            let client = Client {
                id: self.services.new_id(),
                fio: p.fio.clone(),
                age: p.age,
                description: p.description.clone(),
                mobile: p.mobile.clone(),
                email: p.email.clone(),
                created_at: fx.now,
            };
            match uow.clients().insert(&client).await {
                Err(RepoError::Duplicate(_)) => {
                    return Err(
                        RuleViolation::Duplicate { what: format!("a client with e-mail {}", client.email) }.into()
                    )
                }
                other => other?,
            }
            let manager = uow.managers().get_for_share(cmd.manager_id).await?.ok_or(Error::NotFound("manager"))?;
            manager.ensure_active()?;
            let bind = ManagerBind {
                client_id: client.id,
                manager_id: manager.id,
                priority: cmd.priority,
                created_at: fx.now,
            };
            match uow.manager_binds().insert(&bind).await {
                Err(RepoError::MissingReference(_)) => return Err(Error::NotFound("manager")),
                other => other?,
            }
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: client.id.to_string(),
                detail: format!("bound to manager {} at priority {}", manager.id, cmd.priority),
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            Ok(Partner { client, bind })
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

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
            actor: "staff:ab12".into(),
            manager_id: manager(true).id,
            priority: 2,
            client: ClientProfile::parse("Ivan Petrov", 30, "", "+79991234567", "ivan@example.com").unwrap(),
        }
    }

    async fn run(tx: FakeTx) -> (Result<Partner, Error>, bool) {
        let (store, committed) = store(tx);
        let r = CreatePartner::new(store, services()).execute(cmd()).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn creates_the_client_and_the_binding_in_one_commit() {
        let mut tx = FakeTx::default();
        tx.clients.expect_insert().times(1).returning(|_| Ok(()));
        tx.managers.expect_get_for_share().returning(|_| Ok(Some(manager(true))));
        tx.manager_binds
            .expect_insert()
            .withf(|b| b.priority == 2 && b.manager_id == manager(true).id)
            .times(1)
            .returning(|_| Ok(()));
        tx.staff_actions
            .expect_record()
            .withf(|a| {
                a.actor == "staff:ab12"
                    && a.action == "create_partner"
                    && a.detail == format!("bound to manager {} at priority 2", manager(true).id)
            })
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = run(tx).await;
        let partner = r.unwrap();
        assert!(committed);
        assert_eq!(partner.bind.client_id, partner.client.id);
    }

    #[tokio::test]
    async fn an_unknown_manager_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.clients.expect_insert().returning(|_| Ok(()));
        tx.managers.expect_get_for_share().returning(|_| Ok(None));
        let (r, committed) = run(tx).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("manager"), false));
    }

    #[tokio::test]
    async fn an_inactive_manager_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.clients.expect_insert().returning(|_| Ok(()));
        tx.managers.expect_get_for_share().returning(|_| Ok(Some(manager(false))));
        let (r, committed) = run(tx).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::ManagerInactive.into(), false));
    }

    #[tokio::test]
    async fn a_manager_deleted_meanwhile_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.clients.expect_insert().returning(|_| Ok(()));
        tx.managers.expect_get_for_share().returning(|_| Ok(Some(manager(true))));
        tx.manager_binds.expect_insert().returning(|_| Err(RepoError::MissingReference(Constraint::BindingManager)));
        let (r, committed) = run(tx).await;
        assert_eq!((r.unwrap_err(), committed), (Error::NotFound("manager"), false));
    }

    #[tokio::test]
    async fn a_duplicate_email_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.clients.expect_insert().returning(|_| Err(RepoError::Duplicate(Constraint::ClientEmail)));
        let (r, committed) = run(tx).await;
        assert!(matches!(r, Err(Error::Rule(RuleViolation::Duplicate { .. }))));
        assert!(!committed);
    }

    #[test]
    fn a_profile_reports_every_invalid_field() {
        let errs = ClientProfile::parse("", 17, &"x".repeat(2001), "123", "nope").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["client.fio", "client.age", "client.description", "client.mobile", "client.email"]);
    }
}
