//! The audit trail of staff interventions.

use async_trait::async_trait;
use domain::ports::StaffActionRepo;
use domain::*;

use crate::PgUow;

#[async_trait]
impl StaffActionRepo for PgUow {
    async fn record(&mut self, a: &StaffAction) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO staff_actions (id, actor, action, subject, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id.0)
        .bind(&a.actor)
        .bind(&a.action)
        .bind(&a.subject)
        .bind(&a.detail)
        .bind(a.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }
}
