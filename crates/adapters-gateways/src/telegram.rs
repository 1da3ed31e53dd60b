//! Telegram Bot API: `sendMessage`, `transferGift` (through a business connection), and the
//! channel directory (`getMe`, `getChat`, `getChatAdministrators`).

use std::time::Duration;

use async_trait::async_trait;
use domain::ports::{
    ChannelDirectory, Delivery, DirectoryError, GatewayUnavailable, GiftInventory, GiftReturn, GiftTransfer, Notifier,
    OwnedGift, OwnedGiftsPage,
};
use domain::{ChannelInfo, ChannelRef, OutboxId, UserId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::HttpTimeouts;

pub struct TelegramBot {
    client: reqwest::Client,
    base_url: String,
    token: String,
    business_connection_id: Option<String>,
    /// The bot's own user id, learned from `getMe` once.
    me: std::sync::OnceLock<i64>,
}

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

impl TelegramBot {
    /// `base_url` is `https://api.telegram.org` in production.
    pub fn new(base_url: &str, token: &str, business_connection_id: Option<String>, timeouts: HttpTimeouts) -> Self {
        Self {
            client: crate::client(timeouts),
            base_url: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            business_connection_id,
            me: std::sync::OnceLock::new(),
        }
    }

    async fn call(&self, method: &str, body: Value) -> Delivery {
        match self.send(method, &body).await {
            Ok(reply) => reply.delivery(method),
            Err(delivery) => delivery,
        }
    }

    /// Sends one Bot API call and reads Telegram's answer (`Err`: no answer — retry).
    async fn send(&self, method: &str, body: &Value) -> Result<Reply, Delivery> {
        let url = format!("{}/bot{}/{method}", self.base_url, self.token);
        let res =
            self.client.post(&url).json(body).send().await.map_err(|e| Delivery::Retry {
                after: None,
                reason: format!("telegram {method}: {}", without_url(&e)),
            })?;
        let status = res.status();
        let header_wait = crate::retry_after(res.headers());
        let answer: Option<Answer> = res.json().await.ok();
        let ok = status.is_success() && answer.as_ref().is_some_and(|a| a.ok);
        let description = answer.as_ref().and_then(|a| a.description.clone()).unwrap_or_else(|| status.to_string());
        let retry_after =
            answer.and_then(|a| a.parameters).and_then(|p| p.retry_after).map(Duration::from_secs).or(header_wait);
        Ok(Reply { status: status.as_u16(), ok, description, retry_after })
    }
}

/// Telegram's answer to one call: the Bot API error envelope (`ok`, `description`,
/// `parameters.retry_after`) with the HTTP status, read once and sorted here.
struct Reply {
    status: u16,
    ok: bool,
    description: String,
    retry_after: Option<Duration>,
}

/// How long a return waits when the business account is short of Stars before it asks again.
pub const STARS_WAIT: Duration = Duration::from_secs(600);

impl Reply {
    /// The general sorting: delivered; rate limited or Telegram failing → retry (not before
    /// `retry_after`); any other refusal → for good.
    fn delivery(self, method: &str) -> Delivery {
        let description = self.description;
        match self.status {
            200..=299 if self.ok => Delivery::Delivered,
            429 => Delivery::Retry {
                after: self.retry_after,
                reason: format!("telegram {method}: rate limited ({description})"),
            },
            400..=499 => Delivery::Rejected(format!("telegram {method}: {description}")),
            _ => Delivery::Retry { after: self.retry_after, reason: format!("telegram {method}: {description}") },
        }
    }

    /// `transferGift`'s sorting: Telegram's "too early" waits the seconds it names, and a business
    /// account short of Stars waits [`STARS_WAIT`] (an alert, not a failure); the rest as any call.
    fn gift_transfer(self) -> Delivery {
        let code = self.description.strip_prefix("Bad Request: ").unwrap_or(&self.description).trim().to_string();
        if !(200..=299).contains(&self.status) || !self.ok {
            if let Some(seconds) = code.strip_prefix("STARGIFT_TRANSFER_TOO_EARLY_").and_then(|s| s.parse::<u64>().ok())
            {
                return Delivery::NotYet {
                    after: Duration::from_secs(seconds.max(1)),
                    reason: format!("telegram transferGift: too early ({code})"),
                };
            }
            let upper = code.to_ascii_uppercase();
            if ["BALANCE_TOO_LOW", "PAYMENT_REQUIRED", "NOT ENOUGH STARS"].iter().any(|c| upper.contains(c)) {
                return short_of_stars(format!("telegram transferGift: {code}"));
            }
        }
        self.delivery("transferGift")
    }
}

/// The business account cannot pay a transfer: the return waits and an alert metric rises.
fn short_of_stars(reason: String) -> Delivery {
    metrics::counter!("gift_returns_short_of_stars_total").increment(1);
    tracing::error!(%reason, "ALERT: the business account is short of Telegram Stars; gift returns wait");
    Delivery::NotYet { after: STARS_WAIT, reason }
}

/// reqwest errors print the URL, which holds the bot token: keep it out of logs.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[async_trait]
impl Notifier for TelegramBot {
    async fn notify(&self, user: UserId, text: &str, _message: OutboxId) -> Delivery {
        self.call("sendMessage", json!({ "chat_id": user.0, "text": text })).await
    }
}

#[derive(Deserialize)]
struct StarAmount {
    amount: i64,
}

#[async_trait]
impl GiftTransfer for TelegramBot {
    /// `transferGift` through the business connection, paying `star_count` Stars when the
    /// transfer costs any — after checking the account has them (`getBusinessAccountStarBalance`).
    async fn transfer(&self, gift: &GiftReturn, _message: OutboxId) -> Delivery {
        let Some(connection) = &self.business_connection_id else {
            return Delivery::Retry { after: None, reason: "no Telegram business connection is configured".into() };
        };
        let stars = gift.star_count.unwrap_or(0);
        if stars > 0 {
            let ask = json!({ "business_connection_id": connection });
            match self.query::<StarAmount>("getBusinessAccountStarBalance", &ask).await {
                Ok(b) if b.amount < i64::from(stars) => {
                    return short_of_stars(format!(
                        "the business account has {} Stars; the transfer costs {stars}",
                        b.amount
                    ))
                }
                Ok(_) => {}
                Err(Failure::Later { after, reason }) => return Delivery::Retry { after, reason },
                // Cannot read the balance (a right missing?): the transfer itself will say.
                Err(Failure::Refused(reason)) => tracing::warn!(%reason, "cannot read the business account's Stars"),
            }
        }
        let owned_gift_id = gift.owned_gift_id.as_deref().unwrap_or(&gift.gift_id);
        let mut body = json!({ "business_connection_id": connection, "owned_gift_id": owned_gift_id, "new_owner_chat_id": gift.to.0 });
        if stars > 0 {
            body["star_count"] = json!(stars);
        }
        match self.send("transferGift", &body).await {
            Ok(reply) => reply.gift_transfer(),
            Err(delivery) => delivery,
        }
    }
}

/// A Bot API call that did not give a result.
enum Failure {
    /// Telegram answered with an error for this request (4xx other than 429).
    Refused(String),
    /// Rate limited, a server error or no answer: try again later.
    Later { after: Option<Duration>, reason: String },
}

#[derive(Deserialize)]
struct Answer2<T> {
    ok: bool,
    result: Option<T>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Me {
    id: i64,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    title: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    status: String,
    user: MemberUser,
}

#[derive(Deserialize)]
struct MemberUser {
    id: i64,
}

/// Telegram asks to wait at most this long before one more try within the same call.
const WAIT_IN_CALL: Duration = Duration::from_secs(2);

impl TelegramBot {
    /// Calls a Bot API method that returns a result; a 429 asking for a short wait is waited out
    /// once, a longer one is handed back as `Later`.
    async fn query<T: serde::de::DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, Failure> {
        let mut waited = false;
        loop {
            match self.query_once(method, body).await {
                Err(Failure::Later { after: Some(wait), .. }) if !waited && wait <= WAIT_IN_CALL => {
                    waited = true;
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn query_once<T: serde::de::DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, Failure> {
        let url = format!("{}/bot{}/{method}", self.base_url, self.token);
        let res =
            self.client.post(&url).json(body).send().await.map_err(|e| Failure::Later {
                after: None,
                reason: format!("telegram {method}: {}", without_url(&e)),
            })?;
        let status = res.status();
        let header_wait = crate::retry_after(res.headers());
        let answer: Option<Answer2<T>> = res.json().await.ok();
        let description = answer.as_ref().and_then(|a| a.description.clone()).unwrap_or_else(|| status.to_string());
        match (status.as_u16(), answer) {
            (200..=299, Some(Answer2 { ok: true, result: Some(r), .. })) => Ok(r),
            (429, answer) => {
                let after = answer
                    .and_then(|a| a.parameters)
                    .and_then(|p| p.retry_after)
                    .map(Duration::from_secs)
                    .or(header_wait);
                Err(Failure::Later { after, reason: format!("telegram {method}: rate limited ({description})") })
            }
            (400..=499, _) => Err(Failure::Refused(format!("telegram {method}: {description}"))),
            _ => Err(Failure::Later { after: header_wait, reason: format!("telegram {method}: {description}") }),
        }
    }

    /// The bot's own user id (`getMe`), asked once.
    async fn bot_id(&self) -> Result<i64, Failure> {
        if let Some(id) = self.me.get() {
            return Ok(*id);
        }
        let me: Me = self.query("getMe", &json!({})).await?;
        Ok(*self.me.get_or_init(|| me.id))
    }
}

fn unavailable(f: Failure) -> DirectoryError {
    match f {
        Failure::Refused(reason) => DirectoryError::Unavailable { retry_after: None, reason },
        Failure::Later { after, reason } => DirectoryError::Unavailable { retry_after: after, reason },
    }
}

#[async_trait]
impl ChannelDirectory for TelegramBot {
    /// `getChat` for the channel, then `getChatAdministrators`: the member with status `creator`
    /// is the owner; the bot must be among the administrators. Telegram refusing the second call
    /// (400/403: the bot is not a member) means it is not an administrator.
    async fn inspect(&self, channel: &ChannelRef, _claimed_owner: UserId) -> Result<ChannelInfo, DirectoryError> {
        let bot = self.bot_id().await.map_err(unavailable)?;
        let chat_id = match channel {
            ChannelRef::Username(u) => json!(format!("@{u}")),
            ChannelRef::Id(id) => json!(id),
        };
        let chat: Chat = match self.query("getChat", &json!({ "chat_id": chat_id })).await {
            Ok(chat) => chat,
            Err(Failure::Refused(reason)) => return Err(DirectoryError::NotFound(reason)),
            Err(later) => return Err(unavailable(later)),
        };
        if chat.kind != "channel" {
            return Err(DirectoryError::NotFound(format!("{channel} is a {}, not a channel", chat.kind)));
        }
        let (owner_id, bot_is_admin) =
            match self.query::<Vec<Member>>("getChatAdministrators", &json!({ "chat_id": chat.id })).await {
                Ok(admins) => (
                    admins.iter().find(|m| m.status == "creator").map(|m| UserId(m.user.id)),
                    admins.iter().any(|m| m.user.id == bot && matches!(m.status.as_str(), "administrator" | "creator")),
                ),
                Err(Failure::Refused(_)) => (None, false),
                Err(later) => return Err(unavailable(later)),
            };
        Ok(ChannelInfo {
            chat_id: chat.id,
            title: chat.title.unwrap_or_else(|| channel.to_string()),
            username: chat.username,
            owner_id,
            bot_is_admin,
        })
    }
}

#[async_trait]
impl GiftInventory for TelegramBot {
    /// `getBusinessAccountGifts`, unique gifts only, 100 a page; each gift read on its own (one
    /// that cannot be read is reported, the rest of the page kept).
    async fn owned_gifts(&self, offset: &str) -> Result<OwnedGiftsPage, GatewayUnavailable> {
        let Some(connection) = &self.business_connection_id else {
            return Err(GatewayUnavailable {
                retry_after: None,
                reason: "no business connection is configured".into(),
            });
        };
        let body = json!({
            "business_connection_id": connection,
            "exclude_unlimited": true,
            "exclude_limited_upgradable": true,
            "exclude_limited_non_upgradable": true,
            "offset": offset,
            "limit": 100,
        });
        let page: crate::bot_gifts::OwnedGifts =
            self.query("getBusinessAccountGifts", &body).await.map_err(|f| match f {
                Failure::Refused(reason) => GatewayUnavailable { retry_after: None, reason },
                Failure::Later { after, reason } => GatewayUnavailable { retry_after: after, reason },
            })?;
        let mut out = OwnedGiftsPage { next_offset: page.next_offset.filter(|o| !o.is_empty()), ..Default::default() };
        for entry in page.gifts {
            match crate::bot_gifts::owned_gift(entry) {
                Ok(Some((sender, gift))) => out.gifts.push(OwnedGift { sender, gift }),
                Ok(None) => {}
                Err(why) => out.unreadable.push(why),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod reply_tests {
    use super::*;

    fn reply(status: u16, description: &str, retry_after: Option<u64>) -> Reply {
        Reply {
            status,
            ok: (200..300).contains(&status),
            description: description.into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn a_transfer_too_early_waits_the_seconds_telegram_names() {
        let d = reply(400, "Bad Request: STARGIFT_TRANSFER_TOO_EARLY_519714", None).gift_transfer();
        assert!(matches!(d, Delivery::NotYet { after, .. } if after == Duration::from_secs(519_714)), "{d:?}");
    }

    #[test]
    fn a_business_account_short_of_stars_waits_and_is_not_refused() {
        for description in
            ["Bad Request: BALANCE_TOO_LOW", "Bad Request: PAYMENT_REQUIRED", "Bad Request: not enough stars"]
        {
            let d = reply(400, description, None).gift_transfer();
            assert!(matches!(d, Delivery::NotYet { after, .. } if after == STARS_WAIT), "{description}: {d:?}");
        }
    }

    #[test]
    fn other_answers_are_sorted_as_any_call() {
        assert_eq!(reply(200, "", None).gift_transfer(), Delivery::Delivered);
        for definite in ["Bad Request: STARGIFT_NOT_FOUND", "Bad Request: have no access to the new gift owner"] {
            assert!(matches!(reply(400, definite, None).gift_transfer(), Delivery::Rejected(_)), "{definite}");
        }
        let limited = reply(429, "Too Many Requests: retry after 17", Some(17)).gift_transfer();
        assert!(
            matches!(limited, Delivery::Retry { after: Some(a), .. } if a == Duration::from_secs(17)),
            "{limited:?}"
        );
        assert!(matches!(reply(502, "Bad Gateway", None).gift_transfer(), Delivery::Retry { after: None, .. }));
        let not_a_number = reply(400, "Bad Request: STARGIFT_TRANSFER_TOO_EARLY_soon", None).gift_transfer();
        assert!(matches!(not_a_number, Delivery::Rejected(_)), "{not_a_number:?}");
    }
}
