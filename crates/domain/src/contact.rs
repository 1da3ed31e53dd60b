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

    fn email_err(s: &str) -> String {
        Email::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn an_email_shows_as_stored() {
        let e = Email::parse("A.B+tag@Mail-Host.Example.ORG").unwrap();
        assert_eq!(e.as_str(), "a.b+tag@mail-host.example.org");
        assert_eq!(e.to_string(), "a.b+tag@mail-host.example.org");
        assert_eq!(Email::parse("!#$%&'*+/=?^_`{|}~-@x.io").unwrap().as_str(), "!#$%&'*+/=?^_`{|}~-@x.io");
    }

    #[test]
    fn an_email_may_be_254_characters_but_not_255() {
        // 64 + 1 + 63 + 1 + 63 + 1 + x + 1 + 3
        let local = "l".repeat(64);
        let domain = |x: usize| format!("{}.{}.{}.com", "a".repeat(63), "b".repeat(63), "c".repeat(x));
        let at_limit = format!("{local}@{}", domain(57));
        assert_eq!(at_limit.len(), 254);
        assert_eq!(Email::parse(&at_limit).unwrap().as_str(), at_limit);
        let over = format!("{local}@{}", domain(58));
        assert_eq!(over.len(), 255);
        assert_eq!(email_err(&over), "must be at most 254 characters");
    }

    #[test]
    fn the_local_part_may_be_64_characters_but_not_65() {
        assert!(Email::parse(&format!("{}@b.com", "a".repeat(64))).is_ok());
        assert_eq!(email_err(&format!("{}@b.com", "a".repeat(65))), "is not a valid e-mail address");
    }

    #[test]
    fn the_local_part_neither_starts_nor_ends_with_a_dot() {
        assert!(Email::parse("a.b@c.com").is_ok());
        assert_eq!(email_err(".ab@c.com"), "is not a valid e-mail address");
        assert_eq!(email_err("ab.@c.com"), "is not a valid e-mail address");
        assert_eq!(email_err("a..b@c.com"), "is not a valid e-mail address");
        assert_eq!(email_err("a\"b@c.com"), "is not a valid e-mail address");
    }

    #[test]
    fn an_email_needs_one_at_sign_before_the_domain() {
        assert_eq!(email_err("ab.c.com"), "must contain @");
        assert_eq!(email_err("a@b@c.com"), "is not a valid e-mail address", "the last @ splits");
    }

    #[test]
    fn the_domain_needs_at_least_two_labels() {
        assert_eq!(email_err("a@com"), "is not a valid e-mail address");
        assert!(Email::parse("a@b.com").is_ok());
    }

    #[test]
    fn a_domain_label_may_be_63_characters_but_not_64() {
        assert!(Email::parse(&format!("a@{}.com", "b".repeat(63))).is_ok());
        assert_eq!(email_err(&format!("a@{}.com", "b".repeat(64))), "is not a valid e-mail address");
    }

    #[test]
    fn a_domain_label_has_hyphens_only_inside() {
        assert!(Email::parse("a@my-host.com").is_ok());
        assert!(Email::parse("a@b.my-host.com").is_ok());
        assert_eq!(email_err("a@-host.com"), "is not a valid e-mail address");
        assert_eq!(email_err("a@host-.com"), "is not a valid e-mail address");
        assert_eq!(email_err("a@host..com"), "is not a valid e-mail address");
    }

    #[test]
    fn the_top_level_domain_is_two_or_more_letters() {
        assert!(Email::parse("a@b.io").is_ok());
        assert_eq!(email_err("a@b.c"), "is not a valid e-mail address");
        assert_eq!(email_err("a@b.c0m"), "is not a valid e-mail address");
        assert_eq!(email_err("a@b.12"), "is not a valid e-mail address");
        assert!(Email::parse("a@b2.com").is_ok(), "digits are fine below the top level");
    }

    #[test]
    fn mobile_must_be_e164() {
        assert!(Mobile::parse("+79991234567").is_ok());
        for bad in ["79991234567", "+0999123456", "+7999", "+7999123456789012", "+7999abc4567"] {
            assert!(Mobile::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_mobile_has_8_to_15_digits() {
        assert_eq!(Mobile::parse("+12345678").unwrap().as_str(), "+12345678");
        assert_eq!(Mobile::parse("+123456789012345").unwrap().as_str(), "+123456789012345");
        for bad in ["+1234567", "+1234567890123456", "+", "", "+7999 1234567", "++79991234567"] {
            assert_eq!(
                Mobile::parse(bad).unwrap_err().to_string(),
                "must be in E.164 form, e.g. +79991234567",
                "{bad} accepted"
            );
        }
    }
}
