//! `POST /telegram/webhook` (SPEC §5b): Telegram's updates for the business account. A unique
//! gift received from a user enters custody as that user's NFT; everything else is acknowledged.

use std::sync::Arc;

use adapters_gateways::bot_gifts::{connection_state, gift_message, ConnectionState, GiftMessage, Update};
use app::gifts::receive::{ReceiveGift, ReceiveGiftCommand, Received};
use app::gifts::Custody;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The header Telegram sends the webhook's `secret_token` in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Where the webhook is on and what it checks.
#[derive(Clone, Debug)]
pub struct TelegramWebhook {
    /// `TELEGRAM_WEBHOOK_SECRET`, as given to `setWebhook` (`secret_token`).
    pub secret: String,
    /// `TELEGRAM_BUSINESS_CONNECTION_ID`: gifts of any other connection are not ours.
    pub business_connection_id: Option<String>,
}

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(webhook))
}

/// What the webhook answers Telegram (which reads only the status).
#[derive(Serialize, ToSchema)]
pub struct WebhookAck {
    pub ok: bool,
}

/// Telegram's updates for the business account (Bot API `Update`). On only when
/// `TELEGRAM_WEBHOOK_SECRET` is set (else 404); the `X-Telegram-Bot-Api-Secret-Token` header must
/// equal it (else 401, nothing read). A `business_message` of our business connection carrying a
/// `unique_gift` sent to the account registers the gift as its sender's NFT, once per gift and
/// per `update_id`; every other update is acknowledged. 503 when the store is unavailable
/// (Telegram retries).
#[utoipa::path(post, path = "/telegram/webhook", tag = "telegram",
    params(("X-Telegram-Bot-Api-Secret-Token" = String, Header, description = "The webhook's secret_token")),
    request_body(content = Object, description = "A Bot API `Update`"),
    responses((status = 200, body = WebhookAck), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 503, body = Problem)))]
pub async fn webhook(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<WebhookAck>), ApiError> {
    let Some(config) = &state.telegram_webhook else {
        return Err(ApiError::not_found("the Telegram webhook is not configured (TELEGRAM_WEBHOOK_SECRET)"));
    };
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(given.ct_eq(config.secret.as_bytes())) {
        return Err(ApiError::unauthorized("the webhook's secret token is missing or wrong"));
    }
    let update: Update =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("not a Telegram update: {e}")))?;
    let ack = (StatusCode::OK, Json(WebhookAck { ok: true }));
    let Some(connection) = config.business_connection_id.as_deref() else { return Ok(ack) };
    if let Some(changed) = update.business_connection {
        watch_connection(changed, connection);
    }
    let Some(message) = update.business_message else { return Ok(ack) };
    let (sender, gift) = match gift_message(message, connection) {
        Ok(GiftMessage::Received { sender, gift }) => (sender, gift),
        Ok(GiftMessage::NotOurs) => return Ok(ack),
        Err(why) => {
            // Retrying cannot make it readable; the reconciler keeps the gift for staff.
            metrics::counter!("telegram_updates_unreadable_total").increment(1);
            tracing::warn!(update_id = update.update_id, %why, "a gift update that cannot be read: acknowledged");
            return Ok(ack);
        }
    };
    let gift_id = gift.gift_id.clone();
    let cmd = ReceiveGiftCommand { update_id: Some(update.update_id), sender: Some(sender), gift };
    match ReceiveGift::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await? {
        Received::Custody(Custody::Registered(nft) | Custody::CameBack(nft)) => {
            tracing::info!(update_id = update.update_id, %gift_id, nft = %nft.id, %sender, "gift received into custody")
        }
        other => tracing::debug!(update_id = update.update_id, %gift_id, ?other, "gift update changed nothing"),
    }
    Ok(ack)
}

/// The business account connected, disconnected the bot or changed its rights: a gauge
/// (`telegram_business_connection_ready`) and, when the rail cannot work, an alert in the log.
fn watch_connection(update: serde_json::Value, connection: &str) {
    match connection_state(update, connection) {
        Ok(ConnectionState::Ready) => {
            metrics::gauge!("telegram_business_connection_ready").set(1.0);
            tracing::info!("the business connection is enabled with the rights the gift rail needs");
        }
        Ok(ConnectionState::Impaired(why)) => {
            metrics::gauge!("telegram_business_connection_ready").set(0.0);
            tracing::error!(%why, "ALERT: the gift rail cannot work: gifts are neither seen nor returned");
        }
        Ok(ConnectionState::NotOurs) => {}
        Err(why) => tracing::warn!(%why, "a business connection update that cannot be read"),
    }
}
