//! The partner desk: clients, their managers and the bindings between them.

use chrono::{DateTime, Utc};

use crate::contact::{Email, Mobile};
use crate::error::RuleViolation;
use crate::ids::*;

/// A partner desk client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub fio: String,
    pub age: u8,
    pub description: String,
    pub mobile: Mobile,
    pub email: Email,
    pub created_at: DateTime<Utc>,
}

/// A personal manager of partner clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manager {
    pub id: ManagerId,
    pub name: String,
    pub telegram_username: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl Manager {
    /// A manager can take clients only while active.
    pub fn ensure_active(&self) -> Result<(), RuleViolation> {
        if self.active {
            Ok(())
        } else {
            Err(RuleViolation::ManagerInactive)
        }
    }
}

/// The binding of a client to a manager; lower `priority` comes first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerBind {
    pub client_id: ClientId,
    pub manager_id: ManagerId,
    pub priority: i32,
    pub created_at: DateTime<Utc>,
}

/// A client's validated profile, before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientProfile {
    pub fio: String,
    pub age: u8,
    pub description: String,
    pub mobile: Mobile,
    pub email: Email,
}

impl ClientProfile {
    /// Checks every field and reports all that are invalid at once.
    pub fn parse(
        fio: &str,
        age: i64,
        description: &str,
        mobile: &str,
        email: &str,
    ) -> Result<Self, Vec<crate::FieldError>> {
        use crate::FieldError;
        let mut errors = Vec::new();
        let fio =
            crate::text::line(fio, 200).map_err(|e| errors.push(FieldError::new("client.fio", e))).unwrap_or_default();
        if !(18..=130).contains(&age) {
            errors.push(FieldError::new("client.age", "must be between 18 and 130"));
        }
        let description = crate::text::paragraph(description, 2000)
            .map_err(|e| errors.push(FieldError::new("client.description", e)))
            .unwrap_or_default()
            .unwrap_or_default();
        let mobile = Mobile::parse(mobile).map_err(|e| errors.push(FieldError::new("client.mobile", e.to_string())));
        let email = Email::parse(email).map_err(|e| errors.push(FieldError::new("client.email", e.to_string())));
        match (mobile, email) {
            (Ok(mobile), Ok(email)) if errors.is_empty() => {
                Ok(Self { fio, age: age as u8, description, mobile, email })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(active: bool) -> Manager {
        Manager {
            id: ManagerId(uuid::Uuid::nil()),
            name: "M".into(),
            telegram_username: None,
            active,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn only_an_active_manager_takes_clients() {
        assert_eq!(manager(true).ensure_active(), Ok(()));
        assert_eq!(manager(false).ensure_active(), Err(RuleViolation::ManagerInactive));
    }

    fn parse(fio: &str, age: i64) -> Result<ClientProfile, Vec<String>> {
        ClientProfile::parse(fio, age, "  likes gifts ", "+79991234567", "a@b.example")
            .map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn a_valid_profile_is_kept_trimmed() {
        let p = parse(" Ivan Petrov ", 30).unwrap();
        assert_eq!(p.fio, "Ivan Petrov");
        assert_eq!(p.age, 30);
        assert_eq!(p.description, "likes gifts");
        assert_eq!(p.mobile.as_str(), "+79991234567");
        assert_eq!(p.email, Email::parse("a@b.example").unwrap());
    }

    #[test]
    fn a_client_is_between_18_and_130_years_old() {
        assert_eq!(parse("Ivan", 18).map(|p| p.age), Ok(18));
        assert_eq!(parse("Ivan", 130).map(|p| p.age), Ok(130));
        assert_eq!(parse("Ivan", 17), Err(vec!["client.age".to_string()]));
        assert_eq!(parse("Ivan", 131), Err(vec!["client.age".to_string()]));
        assert_eq!(parse("Ivan", 256 + 30), Err(vec!["client.age".to_string()]), "no wrap-around into u8");
    }

    #[test]
    fn an_invalid_name_alone_refuses_the_profile() {
        assert_eq!(parse("  ", 30), Err(vec!["client.fio".to_string()]));
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let fields: Vec<String> =
            ClientProfile::parse("", 5, "bad\u{0}", "123", "no-at").unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["client.fio", "client.age", "client.description", "client.mobile", "client.email"]);
    }
}
