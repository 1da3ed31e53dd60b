//! Bot API 9.3+ gift shapes, only the fields atomarket reads (`Update`, `Message`,
//! `UniqueGiftInfo`, `UniqueGift`, `OwnedGifts`, `OwnedGiftUnique`), and how they become a
//! [`ReceivedGift`]. Lenient where it does not matter — unknown fields are ignored (Telegram adds
//! fields often), unknown gift kinds skipped — and strict where it does: a gift that lacks what a
//! return needs, or carries an impossible attribute, is refused as a whole (the webhook then
//! acknowledges it and the reconciler keeps it for staff; nothing is half-registered).

use chrono::DateTime;
use domain::{Attribute, GiftTraits, ReceivedGift, TelegramGift, UserId};
use serde::Deserialize;
use serde_json::Value;

/// A webhook `Update`: its id, and the business message if it is one (read in a second step,
/// so a message this code cannot read never makes the update unreadable).
#[derive(Debug, Deserialize)]
pub struct Update {
    pub update_id: i64,
    pub business_message: Option<Value>,
    pub business_connection: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct BusinessConnection {
    id: String,
    is_enabled: bool,
    #[serde(default)]
    rights: BusinessBotRights,
}

#[derive(Debug, Default, Deserialize)]
struct BusinessBotRights {
    #[serde(default)]
    can_view_gifts_and_stars: bool,
    #[serde(default)]
    can_transfer_and_upgrade_gifts: bool,
    #[serde(default)]
    can_transfer_stars: bool,
}

/// What a `business_connection` update says about our connection.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Enabled with every right the gift rail needs.
    Ready,
    /// Disabled, or missing rights (named): gifts cannot be seen or returned.
    Impaired(String),
    /// Another connection's update.
    NotOurs,
}

/// Reads a `business_connection` update for `connection`: enabled, and with the rights the rail
/// needs (`can_view_gifts_and_stars`, `can_transfer_and_upgrade_gifts`, `can_transfer_stars`).
///
/// # Errors
/// A connection update that cannot be read: why.
pub fn connection_state(update: Value, connection: &str) -> Result<ConnectionState, String> {
    let c: BusinessConnection = serde_json::from_value(update).map_err(|e| format!("business connection: {e}"))?;
    if c.id != connection {
        return Ok(ConnectionState::NotOurs);
    }
    if !c.is_enabled {
        return Ok(ConnectionState::Impaired("the business account disconnected the bot".into()));
    }
    let r = &c.rights;
    let missing: Vec<&str> = [
        (r.can_view_gifts_and_stars, "can_view_gifts_and_stars"),
        (r.can_transfer_and_upgrade_gifts, "can_transfer_and_upgrade_gifts"),
        (r.can_transfer_stars, "can_transfer_stars"),
    ]
    .into_iter()
    .filter(|(has, _)| !has)
    .map(|(_, name)| name)
    .collect();
    if missing.is_empty() {
        Ok(ConnectionState::Ready)
    } else {
        Ok(ConnectionState::Impaired(format!("the bot lacks the rights {}", missing.join(", "))))
    }
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub from: Option<User>,
    pub chat: Chat,
    pub business_connection_id: Option<String>,
    pub unique_gift: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
}

#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Deserialize)]
struct UniqueGiftInfo {
    gift: UniqueGift,
    owned_gift_id: Option<String>,
    transfer_star_count: Option<i64>,
    next_transfer_date: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct UniqueGift {
    base_name: String,
    name: String,
    number: i64,
    model: AttributeShape,
    symbol: AttributeShape,
    backdrop: AttributeShape,
    #[serde(default)]
    is_from_blockchain: bool,
}

#[derive(Debug, Deserialize)]
struct AttributeShape {
    name: String,
    rarity_per_mille: i64,
}

#[derive(Debug, Deserialize)]
struct OwnedGiftUnique {
    gift: UniqueGift,
    owned_gift_id: Option<String>,
    sender_user: Option<User>,
    transfer_star_count: Option<i64>,
    next_transfer_date: Option<i64>,
}

/// One page of `getBusinessAccountGifts`, gifts kept raw until each is read on its own.
#[derive(Debug, Deserialize)]
pub struct OwnedGifts {
    pub gifts: Vec<Value>,
    pub next_offset: Option<String>,
}

/// What a business message carrying a unique gift says: who sent it and the gift (read once per
/// update and handed on: its size does not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub enum GiftMessage {
    /// Sent to the business account by `sender`.
    Received { sender: UserId, gift: ReceivedGift },
    /// Not a gift received by our account: another connection, an outgoing message (the account
    /// giving a gift away), a bot, no gift at all.
    NotOurs,
}

/// Reads a business message. `connection` is our business connection: messages of any other are
/// not ours. A message is incoming when its sender is the private chat's other party
/// (`from.id == chat.id`); the account's own outgoing messages (a return, `transferGift`) have the
/// account as `from` and the recipient as `chat`.
///
/// # Errors
/// A message of ours with a unique gift that cannot be read: why.
pub fn gift_message(message: Value, connection: &str) -> Result<GiftMessage, String> {
    let message: Message = serde_json::from_value(message).map_err(|e| format!("business message: {e}"))?;
    let Some(info) = message.unique_gift else { return Ok(GiftMessage::NotOurs) };
    if message.business_connection_id.as_deref() != Some(connection) {
        return Ok(GiftMessage::NotOurs);
    }
    let Some(from) = message.from.filter(|f| !f.is_bot && f.id == message.chat.id && f.id > 0) else {
        return Ok(GiftMessage::NotOurs);
    };
    let info: UniqueGiftInfo = serde_json::from_value(info).map_err(|e| format!("unique_gift: {e}"))?;
    let gift = received(info.gift, info.owned_gift_id, info.transfer_star_count, info.next_transfer_date)?;
    Ok(GiftMessage::Received { sender: UserId(from.id), gift })
}

/// Reads one entry of `OwnedGifts.gifts`: `Ok(None)` for a kind other than a unique gift.
///
/// # Errors
/// A unique gift that cannot be read: why.
pub fn owned_gift(entry: Value) -> Result<Option<(Option<UserId>, ReceivedGift)>, String> {
    if entry.get("type").and_then(Value::as_str) != Some("unique") {
        return Ok(None);
    }
    let owned: OwnedGiftUnique = serde_json::from_value(entry).map_err(|e| format!("owned gift: {e}"))?;
    let sender = owned.sender_user.filter(|u| !u.is_bot && u.id > 0).map(|u| UserId(u.id));
    let gift = received(owned.gift, owned.owned_gift_id, owned.transfer_star_count, owned.next_transfer_date)?;
    Ok(Some((sender, gift)))
}

fn received(
    gift: UniqueGift,
    owned_gift_id: Option<String>,
    transfer_star_count: Option<i64>,
    next_transfer_date: Option<i64>,
) -> Result<ReceivedGift, String> {
    let slug = gift.name.trim();
    if slug.is_empty() || slug.len() > 200 || slug.chars().any(char::is_control) {
        return Err(format!("unique gift name {:?} is not a gift slug", gift.name));
    }
    let collection = gift.base_name.trim();
    if collection.is_empty() || collection.chars().count() > 200 || collection.chars().any(char::is_control) {
        return Err(format!("unique gift {slug}: base_name {:?} is not a collection", gift.base_name));
    }
    let number = u32::try_from(gift.number).ok().filter(|n| *n > 0);
    let number = number.ok_or_else(|| format!("unique gift {slug}: number {} is out of range", gift.number))?;
    let attribute = |what: &str, a: AttributeShape| {
        Attribute::new(&a.name, a.rarity_per_mille).map_err(|e| format!("unique gift {slug}: {what} {e}"))
    };
    let owned_gift_id = owned_gift_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| format!("unique gift {slug}: no owned_gift_id (not received by a business account)"))?;
    let transfer_star_count = match transfer_star_count {
        None => None,
        Some(n) => Some(u32::try_from(n).map_err(|_| format!("unique gift {slug}: transfer_star_count {n}"))?),
    };
    let can_transfer_at = match next_transfer_date {
        None | Some(0) => None,
        Some(t) => Some(DateTime::from_timestamp(t, 0).ok_or_else(|| format!("unique gift {slug}: date {t}"))?),
    };
    Ok(ReceivedGift {
        gift_id: slug.to_string(),
        collection: collection.to_string(),
        traits: GiftTraits {
            number: Some(number),
            model: Some(attribute("model", gift.model)?),
            backdrop: Some(attribute("backdrop", gift.backdrop)?),
            symbol: Some(attribute("symbol", gift.symbol)?),
        },
        telegram: TelegramGift { owned_gift_id, transfer_star_count },
        can_transfer_at,
        from_blockchain: gift.is_from_blockchain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A unique gift as the Bot API documents it (stickers and colours included: ignored).
    fn unique_gift() -> Value {
        json!({
            "gift_id": "5170145012310081615", "base_name": "Plush Pepe", "name": "PlushPepe-1234", "number": 1234,
            "model": {"name": "Cozy Galaxy", "rarity_per_mille": 15,
                "sticker": {"file_id": "x", "file_unique_id": "y", "type": "custom_emoji", "width": 512, "height": 512,
                            "is_animated": true, "is_video": false}},
            "symbol": {"name": "Star", "rarity_per_mille": 4, "rarity": "rare"},
            "backdrop": {"name": "Midnight Blue", "rarity_per_mille": 20,
                "colors": {"center_color": 1, "edge_color": 2, "symbol_color": 3, "text_color": 4}},
            "is_premium": true, "a_field_from_bot_api_12": {"x": 1}
        })
    }

    fn message(from: i64, chat: i64, connection: &str) -> Value {
        json!({
            "message_id": 5123, "date": 1767225600, "business_connection_id": connection,
            "from": {"id": from, "is_bot": false, "first_name": "Alice"},
            "chat": {"id": chat, "type": "private", "first_name": "Alice"},
            "unique_gift": {"gift": unique_gift(), "origin": "transfer", "owned_gift_id": "5123",
                            "transfer_star_count": 25, "next_transfer_date": 1767830400, "origin_v12": "craft"}
        })
    }

    #[test]
    fn a_gift_sent_to_our_account_is_read_with_everything_a_return_needs() {
        let GiftMessage::Received { sender, gift } = gift_message(message(601, 601, "conn"), "conn").unwrap() else {
            panic!("not read")
        };
        assert_eq!(sender, UserId(601));
        assert_eq!(gift.gift_id, "PlushPepe-1234");
        assert_eq!(gift.collection, "Plush Pepe");
        assert_eq!(gift.traits.number, Some(1234));
        assert_eq!(gift.traits.model, Some(Attribute::new("Cozy Galaxy", 15).unwrap()));
        assert_eq!(gift.traits.backdrop, Some(Attribute::new("Midnight Blue", 20).unwrap()));
        assert_eq!(gift.traits.symbol, Some(Attribute::new("Star", 4).unwrap()));
        assert_eq!(gift.telegram, TelegramGift { owned_gift_id: "5123".into(), transfer_star_count: Some(25) });
        assert_eq!(gift.can_transfer_at, DateTime::from_timestamp(1767830400, 0));
        assert!(!gift.from_blockchain);
    }

    #[test]
    fn messages_that_are_not_a_gift_received_by_our_account_are_not_ours() {
        assert_eq!(
            gift_message(message(601, 601, "other"), "conn").unwrap(),
            GiftMessage::NotOurs,
            "another connection"
        );
        assert_eq!(gift_message(message(900, 601, "conn"), "conn").unwrap(), GiftMessage::NotOurs, "outgoing");
        let mut bot = message(601, 601, "conn");
        bot["from"]["is_bot"] = json!(true);
        assert_eq!(gift_message(bot, "conn").unwrap(), GiftMessage::NotOurs, "a bot");
        let text = json!({"message_id": 1, "date": 1, "business_connection_id": "conn", "text": "hi",
                          "from": {"id": 601, "is_bot": false, "first_name": "A"}, "chat": {"id": 601, "type": "private"}});
        assert_eq!(gift_message(text, "conn").unwrap(), GiftMessage::NotOurs, "no gift");
    }

    #[test]
    fn a_gift_missing_what_matters_is_refused_whole() {
        for (path, value) in [
            ("/unique_gift/owned_gift_id", Value::Null),
            ("/unique_gift/gift/name", json!(" ")),
            ("/unique_gift/gift/number", json!(0)),
            ("/unique_gift/gift/model/rarity_per_mille", json!(1001)),
            ("/unique_gift/gift/backdrop/name", json!("")),
            ("/unique_gift/transfer_star_count", json!(-1)),
        ] {
            let mut m = message(601, 601, "conn");
            *m.pointer_mut(path).unwrap() = value;
            assert!(gift_message(m, "conn").is_err(), "{path}");
        }
        let mut m = message(601, 601, "conn");
        m["unique_gift"]["gift"].as_object_mut().unwrap().remove("symbol");
        assert!(gift_message(m, "conn").is_err(), "no symbol");
    }

    #[test]
    fn a_connection_update_says_whether_the_rail_can_work() {
        let c = |enabled: bool, rights: Value| {
            json!({"id": "conn", "user": {"id": 1, "is_bot": false, "first_name": "Shop"}, "user_chat_id": 1,
                   "date": 1, "is_enabled": enabled, "rights": rights, "can_reply": true})
        };
        let all = json!({"can_view_gifts_and_stars": true, "can_transfer_and_upgrade_gifts": true,
                         "can_transfer_stars": true, "can_reply": true});
        assert_eq!(connection_state(c(true, all.clone()), "conn").unwrap(), ConnectionState::Ready);
        assert!(matches!(connection_state(c(false, all.clone()), "conn").unwrap(), ConnectionState::Impaired(_)));
        let ConnectionState::Impaired(why) =
            connection_state(c(true, json!({"can_view_gifts_and_stars": true})), "conn").unwrap()
        else {
            panic!("rights missing")
        };
        assert_eq!(why, "the bot lacks the rights can_transfer_and_upgrade_gifts, can_transfer_stars");
        assert_eq!(connection_state(c(true, all), "other").unwrap(), ConnectionState::NotOurs);
        assert!(connection_state(json!({"id": 5}), "conn").is_err());
    }

    #[test]
    fn owned_gifts_are_read_one_by_one_and_other_kinds_skipped() {
        let entry = json!({"type": "unique", "gift": unique_gift(), "owned_gift_id": "77", "send_date": 1,
                           "sender_user": {"id": 602, "is_bot": false, "first_name": "B"}, "can_be_transferred": true});
        let (sender, gift) = owned_gift(entry).unwrap().unwrap();
        assert_eq!(sender, Some(UserId(602)));
        assert_eq!(gift.telegram, TelegramGift { owned_gift_id: "77".into(), transfer_star_count: None });
        assert_eq!(gift.can_transfer_at, None);

        let mut anonymous = json!({"type": "unique", "gift": unique_gift(), "owned_gift_id": "78", "send_date": 1});
        anonymous["gift"]["is_from_blockchain"] = json!(true);
        let (sender, gift) = owned_gift(anonymous).unwrap().unwrap();
        assert_eq!(sender, None);
        assert!(gift.from_blockchain);

        assert_eq!(owned_gift(json!({"type": "regular", "gift": {"id": "1"}, "send_date": 1})).unwrap(), None);
        assert!(owned_gift(json!({"type": "unique", "send_date": 1})).is_err());
    }
}
