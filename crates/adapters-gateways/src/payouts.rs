//! The TON payout gateway over HTTP (contract in `docs/PAYOUT_GATEWAY.md`).

use async_trait::async_trait;
use domain::ports::{GatewayUnavailable, PayoutGateway, PayoutRequest, PayoutStatus};
use domain::WithdrawalId;
use serde::Deserialize;
use serde_json::json;

use crate::HttpTimeouts;

pub struct HttpPayoutGateway {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
}

#[derive(Deserialize)]
struct Payout {
    status: String,
    tx_hash: Option<String>,
    reason: Option<String>,
}

/// Refusals that are final: the gateway looked at the payout and said no.
const DEFINITE: [u16; 6] = [400, 402, 403, 409, 410, 422];

impl HttpPayoutGateway {
    pub fn new(base_url: &str, api_key: &str, timeouts: HttpTimeouts) -> Self {
        Self {
            client: crate::client(timeouts),
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        }
    }

    async fn read(
        &self,
        res: Result<reqwest::Response, reqwest::Error>,
        lookup: bool,
    ) -> Result<PayoutStatus, GatewayUnavailable> {
        let res = res.map_err(|e| GatewayUnavailable {
            retry_after: None,
            reason: if e.is_timeout() {
                "payout gateway timed out".into()
            } else {
                format!("payout gateway unreachable: {e}")
            },
        })?;
        let status = res.status().as_u16();
        let wait = crate::retry_after(res.headers());
        if lookup && status == 404 {
            return Ok(PayoutStatus::NotFound);
        }
        let body: Option<Payout> = res.json().await.ok();
        match (status, body) {
            (200..=299, Some(p)) => match (p.status.as_str(), p.tx_hash) {
                ("sent", Some(tx_hash)) => Ok(PayoutStatus::Sent { tx_hash }),
                ("rejected", _) => Ok(PayoutStatus::Rejected(p.reason.unwrap_or_else(|| "rejected".into()))),
                ("pending", _) => Ok(PayoutStatus::Pending),
                (other, _) => {
                    Err(GatewayUnavailable { retry_after: None, reason: format!("unexpected payout status {other}") })
                }
            },
            (s, body) if DEFINITE.contains(&s) => Ok(PayoutStatus::Rejected(
                body.and_then(|b| b.reason).unwrap_or_else(|| format!("refused with HTTP {s}")),
            )),
            (s, _) => {
                Err(GatewayUnavailable { retry_after: wait, reason: format!("payout gateway answered HTTP {s}") })
            }
        }
    }
}

#[async_trait]
impl PayoutGateway for HttpPayoutGateway {
    async fn send(&self, p: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable> {
        let res = self
            .client
            .post(format!("{}/payouts", self.base_url))
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", p.withdrawal_id.to_string())
            .json(&json!({ "id": p.withdrawal_id, "address": p.address, "amount": p.amount.to_string() }))
            .send()
            .await;
        self.read(res, false).await
    }

    async fn lookup(&self, id: WithdrawalId) -> Result<PayoutStatus, GatewayUnavailable> {
        let res = self.client.get(format!("{}/payouts/{id}", self.base_url)).bearer_auth(&self.api_key).send().await;
        self.read(res, true).await
    }
}
