//! The audit trail of staff interventions.

use async_trait::async_trait;
use domain::ports::StaffActionRepo;
use domain::*;

use crate::MemoryUow;

#[async_trait]
impl StaffActionRepo for MemoryUow {
    async fn record(&mut self, action: &StaffAction) -> Result<(), RepoError> {
        self.state.staff_actions.insert(action.id.0, action.clone());
        Ok(())
    }
}
