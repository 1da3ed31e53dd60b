//! Authentication: Telegram Mini App init data for users, Bearer tokens for staff.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use domain::ports::Clock;
use domain::UserId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

/// Secrets and limits of authentication.
#[derive(Clone)]
pub struct AuthConfig {
    pub bot_token: String,
    pub staff_tokens: Vec<String>,
    pub max_age: Duration,
    pub clock: Arc<dyn Clock>,
}

/// Allowed clock skew for an `auth_date` in the future.
const FUTURE_SKEW_SECS: i64 = 60;

/// The Telegram user behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramUser {
    pub id: UserId,
    pub username: Option<String>,
}

fn secret_key(bot_token: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(b"WebAppData").expect("any key length");
    mac.update(bot_token.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sign(bot_token: &str, data_check_string: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(&secret_key(bot_token)).expect("any key length");
    mac.update(data_check_string.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn data_check_string(fields: &BTreeMap<String, String>) -> String {
    fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
}

/// Validates init data as Telegram documents it and returns its user.
pub fn validate_init_data(
    raw: &str,
    bot_token: &str,
    max_age: Duration,
    now_unix: i64,
) -> Result<TelegramUser, &'static str> {
    let mut fields = BTreeMap::new();
    let mut hash = None;
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if k == "hash" {
            if hash.replace(v.into_owned()).is_some() {
                return Err("duplicate key in init data");
            }
        } else if fields.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("duplicate key in init data");
        }
    }
    let hash = hash.ok_or("init data has no hash")?;
    let given = hex::decode(hash).map_err(|_| "init data hash is not hex")?;
    let expected = sign(bot_token, &data_check_string(&fields));
    if !bool::from(given.ct_eq(&expected)) {
        return Err("init data signature does not match");
    }
    let auth_date: i64 =
        fields.get("auth_date").and_then(|d| d.parse().ok()).ok_or("init data has no valid auth_date")?;
    if now_unix - auth_date > max_age.as_secs() as i64 {
        return Err("init data is too old");
    }
    if auth_date - now_unix > FUTURE_SKEW_SECS {
        return Err("init data is from the future");
    }
    #[derive(serde::Deserialize)]
    struct U {
        id: i64,
        username: Option<String>,
    }
    let user: U = serde_json::from_str(fields.get("user").ok_or("init data has no user")?)
        .map_err(|_| "init data user is invalid")?;
    if user.id <= 0 {
        return Err("init data user is invalid");
    }
    // Telegram usernames are 5–32 letters, digits and underscores; keep nothing else.
    let username = user.username.filter(|u| u.len() <= 64 && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    Ok(TelegramUser { id: UserId(user.id), username })
}

/// Builds signed init data for `user_id` (for `atomarket init-data`, tests and curl).
pub fn init_data(bot_token: &str, user_id: i64, username: Option<&str>, auth_date: i64) -> String {
    let user = serde_json::json!({ "id": user_id, "first_name": "Test", "username": username }).to_string();
    let mut fields = BTreeMap::new();
    fields.insert("auth_date".to_string(), auth_date.to_string());
    fields.insert("query_id".to_string(), format!("AA{user_id}"));
    fields.insert("user".to_string(), user);
    let hash = hex::encode(sign(bot_token, &data_check_string(&fields)));
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        out.append_pair(k, v);
    }
    out.append_pair("hash", &hash);
    out.finish()
}

/// Who a request is from, decided once per request (by [`identify`], in the middleware) and read
/// by the extractors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    User(TelegramUser),
    /// A staff token; `actor` names who for audit trails without revealing the token (`staff:` and
    /// the first 12 hex digits of its SHA-256).
    Staff {
        actor: String,
    },
    /// Credentials that are not valid, and why.
    Invalid(&'static str),
    /// No `Authorization` header.
    Anonymous,
}

/// Reads and checks the `Authorization` header: `tma <initData>` or `Bearer <staff token>`.
pub fn identify(config: &AuthConfig, headers: &HeaderMap) -> Caller {
    let Some(header) = headers.get(AUTHORIZATION) else { return Caller::Anonymous };
    let Ok(header) = header.to_str() else { return Caller::Invalid("malformed Authorization header") };
    let Some((scheme, value)) = header.split_once(' ') else {
        return Caller::Invalid("malformed Authorization header");
    };
    match scheme.to_ascii_lowercase().as_str() {
        "tma" => {
            match validate_init_data(value.trim(), &config.bot_token, config.max_age, config.clock.now().timestamp()) {
                Ok(user) => Caller::User(user),
                Err(reason) => Caller::Invalid(reason),
            }
        }
        "bearer" => match staff_actor(config, value.trim()) {
            Some(actor) => Caller::Staff { actor },
            None => Caller::Invalid("invalid token"),
        },
        _ => Caller::Invalid("unsupported Authorization scheme"),
    }
}

/// The audit-trail label of a staff token (`staff:` and the first 12 hex digits of its SHA-256),
/// or `None` when `token` is not one of the staff tokens (compared in constant time). The API's
/// Bearer tokens and the operator console's sign-in both go through here.
pub(crate) fn staff_actor(config: &AuthConfig, token: &str) -> Option<String> {
    if !is_staff(config, token) {
        return None;
    }
    let digest = <Sha256 as sha2::Digest>::digest(token.as_bytes());
    Some(format!("staff:{}", &hex::encode(digest)[..12]))
}

fn is_staff(config: &AuthConfig, token: &str) -> bool {
    // Compare against every token so timing says nothing about which one matched.
    config.staff_tokens.iter().fold(false, |found, t| found | bool::from(t.as_bytes().ct_eq(token.as_bytes())))
}

/// The caller the middleware found, or (without it, e.g. in a bare router) found now.
fn caller(parts: &Parts, state: &AppState) -> Caller {
    parts.extensions.get::<Caller>().cloned().unwrap_or_else(|| identify(&state.auth, &parts.headers))
}

fn unauthorized(caller: &Caller) -> ApiError {
    match caller {
        Caller::Invalid(reason) => ApiError::unauthorized(*reason),
        _ => ApiError::unauthorized("missing Authorization header"),
    }
}

/// A request authenticated as a Telegram user; the user exists in the store.
pub struct CurrentUser(pub TelegramUser);

impl FromRequestParts<Arc<AppState>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let user = match caller(parts, state) {
            Caller::User(user) => user,
            Caller::Staff { .. } => return Err(ApiError::forbidden("staff tokens cannot act as a user")),
            other => return Err(unauthorized(&other)),
        };
        let key = (user.id.0, user.username.clone());
        let known = state.known_users.lock().expect("poisoned").contains(&key);
        if !known {
            state.signup.ensure_user(user.id, user.username.clone()).await?;
            let mut known = state.known_users.lock().expect("poisoned");
            if known.len() > 100_000 {
                known.clear();
            }
            known.insert(key);
        }
        Ok(CurrentUser(user))
    }
}

/// A request authenticated with a staff token.
pub struct Staff {
    /// Who, for audit trails (see [`Caller::Staff`]).
    pub actor: String,
}

impl FromRequestParts<Arc<AppState>> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        match caller(parts, state) {
            Caller::Staff { actor } => Ok(Staff { actor }),
            Caller::User(_) => Err(ApiError::forbidden("this route is for staff")),
            other => Err(unauthorized(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123:abc";
    const NOW: i64 = 1_800_000_000;
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn signed_init_data_is_accepted() {
        let raw = init_data(TOKEN, 42, Some("alice"), NOW - 10);
        let user = validate_init_data(&raw, TOKEN, DAY, NOW).unwrap();
        assert_eq!(user, TelegramUser { id: UserId(42), username: Some("alice".into()) });
    }

    #[test]
    fn another_bots_token_is_rejected() {
        let raw = init_data("999:zzz", 42, None, NOW);
        assert!(validate_init_data(&raw, TOKEN, DAY, NOW).is_err());
    }

    #[test]
    fn a_tampered_field_is_rejected() {
        let raw = init_data(TOKEN, 42, None, NOW).replace("%22id%22%3A42", "%22id%22%3A43");
        assert_eq!(validate_init_data(&raw, TOKEN, DAY, NOW), Err("init data signature does not match"));
    }

    #[test]
    fn stale_and_future_auth_dates_are_rejected() {
        let stale = init_data(TOKEN, 42, None, NOW - 86_401);
        assert_eq!(validate_init_data(&stale, TOKEN, DAY, NOW), Err("init data is too old"));
        let future = init_data(TOKEN, 42, None, NOW + 61);
        assert_eq!(validate_init_data(&future, TOKEN, DAY, NOW), Err("init data is from the future"));
        let near = init_data(TOKEN, 42, None, NOW + 59);
        assert!(validate_init_data(&near, TOKEN, DAY, NOW).is_ok());
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let raw = init_data(TOKEN, 42, None, NOW);
        assert_eq!(
            validate_init_data(&format!("{raw}&auth_date={NOW}"), TOKEN, DAY, NOW),
            Err("duplicate key in init data")
        );
        assert_eq!(validate_init_data(&format!("{raw}&hash=00"), TOKEN, DAY, NOW), Err("duplicate key in init data"));
    }

    #[test]
    fn missing_or_malformed_hash_is_rejected() {
        let raw = init_data(TOKEN, 42, None, NOW);
        let without: String = raw.split('&').filter(|p| !p.starts_with("hash=")).collect::<Vec<_>>().join("&");
        assert!(validate_init_data(&without, TOKEN, DAY, NOW).is_err());
        assert!(validate_init_data(&format!("{without}&hash=zz"), TOKEN, DAY, NOW).is_err());
    }
}
