//! Telegram Bot API: `sendMessage` and `transferGift` (through a business connection).

use std::time::Duration;

use async_trait::async_trait;
use domain::gateways::{Delivery, GiftTransfer, Notifier};
use domain::{OutboxId, UserId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::HttpTimeouts;

pub struct TelegramBot {
    client: reqwest::Client,
    base_url: String,
    token: String,
    business_connection_id: Option<String>,
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
        }
    }

    async fn call(&self, method: &str, body: Value) -> Delivery {
        let url = format!("{}/bot{}/{method}", self.base_url, self.token);
        let res = match self.client.post(&url).json(&body).send().await {
            Ok(r) => r,
            Err(e) => {
                return Delivery::Retry { after: None, reason: format!("telegram {method}: {}", without_url(&e)) }
            }
        };
        let status = res.status();
        let header_wait = crate::retry_after(res.headers());
        let answer: Option<Answer> = res.json().await.ok();
        let description = answer.as_ref().and_then(|a| a.description.clone()).unwrap_or_else(|| status.to_string());
        match status.as_u16() {
            200..=299 if answer.as_ref().is_some_and(|a| a.ok) => Delivery::Delivered,
            429 => {
                let after = answer
                    .and_then(|a| a.parameters)
                    .and_then(|p| p.retry_after)
                    .map(Duration::from_secs)
                    .or(header_wait);
                Delivery::Retry { after, reason: format!("telegram {method}: rate limited ({description})") }
            }
            400..=499 => Delivery::Rejected(format!("telegram {method}: {description}")),
            _ => Delivery::Retry { after: header_wait, reason: format!("telegram {method}: {description}") },
        }
    }
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

#[async_trait]
impl GiftTransfer for TelegramBot {
    async fn transfer(&self, gift_id: &str, to: UserId, _message: OutboxId) -> Delivery {
        let Some(connection) = &self.business_connection_id else {
            return Delivery::Retry { after: None, reason: "no Telegram business connection is configured".into() };
        };
        let body = json!({ "business_connection_id": connection, "owned_gift_id": gift_id, "new_owner_chat_id": to.0 });
        self.call("transferGift", body).await
    }
}
