//! Validated contact details of a partner client.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidContact(pub &'static str);

/// A syntactically valid e-mail address, stored lower-cased (uniqueness is case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidContact> {
        let s = raw;
        if s.len() > 254 {
            return Err(InvalidContact("must be at most 254 characters"));
        }
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidContact("must contain @"))?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if !local_ok || !domain_ok {
            return Err(InvalidContact("is not a valid e-mail address"));
        }
        Ok(Email(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(raw: &str) -> Result<Self, InvalidContact> {
        let s = raw;
        let digits = s.strip_prefix('+').ok_or(InvalidContact("must be in E.164 form, e.g. +79991234567"))?;
        let ok =
            (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0');
        if !ok {
            return Err(InvalidContact("must be in E.164 form, e.g. +79991234567"));
        }
        Ok(Mobile(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_ordinary_addresses_and_lowercases_them() {
        assert_eq!(Email::parse("Ivan.Petrov@Example.com").unwrap().as_str(), "ivan.petrov@example.com");
        for bad in ["", "a", "a@b", "@b.com", "a@.com", "a..b@c.com", "a@b.c", "a b@c.com", "a@b_c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn mobile_must_be_e164() {
        assert!(Mobile::parse("+79991234567").is_ok());
        for bad in ["79991234567", "+0999123456", "+7999", "+7999123456789012", "+7999abc4567"] {
            assert!(Mobile::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
