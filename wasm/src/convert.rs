//! Values between Rust and JavaScript: errors as `Error` objects with a stable `name` and
//! numeric `code`, events as plain objects, options read from plain objects.

use std::time::UNIX_EPOCH;

use js_sys::{Array, Object, Reflect, Uint8Array};
use sotto_core::client::{HistoryMessage, HistoryStatus, TransferDirection};
use sotto_core::contacts::{Contact, ContactId};
use sotto_core::content::{Body, BodyKind};
use sotto_core::safety::SafetyNumber;
use sotto_core::store::MessageDirection;
use sotto_core::{DeliveryStatus, Event};
use wasm_bindgen::{JsCast, JsValue};

/// A JavaScript `Error` for a core error: `name` is the code's name with `Error` appended
/// (`TransportError`, `UnknownContactError`, …), `code` the core's stable number.
pub(crate) fn error(error: &sotto_core::Error) -> JsValue {
    let code = error.code();
    coded_error(&format!("{code:?}Error"), code as u32, &error.to_string())
}

/// The code of an argument the package refuses before the core sees it (the same number
/// as the C ABI's `SOTTO_ERROR_INVALID_ARGUMENT` and the UniFFI bindings').
pub const INVALID_ARGUMENT: u32 = 104;

/// A JavaScript `Error` named `name`, with the numeric `code` and `message`.
fn coded_error(name: &str, code: u32, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name(name);
    set(&error, "code", &JsValue::from(code));
    error.into()
}

/// An invalid argument from JavaScript (a missing option, a malformed id).
pub(crate) fn invalid(message: &str) -> JsValue {
    coded_error("InvalidArgumentError", INVALID_ARGUMENT, message)
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A plain object with `type` and the given fields.
fn object(kind: &str, fields: &[(&str, JsValue)]) -> JsValue {
    let object: JsValue = Object::new().into();
    set(&object, "type", &JsValue::from_str(kind));
    for (key, value) in fields {
        set(&object, key, value);
    }
    object
}

fn text(value: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&value.to_string())
}

fn texts<T: std::fmt::Display>(values: &[T]) -> JsValue {
    values
        .iter()
        .map(|value| JsValue::from_str(&value.to_string()))
        .collect::<Array>()
        .into()
}

/// The status names apps see.
fn status(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Sending => "sending",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Read => "read",
        DeliveryStatus::Failed => "failed",
    }
}

/// An event as a plain object: `{ type: "messageReceived", contact, messageId, kind, text? }`
/// and so on (the package's `.d.ts` names every shape).
pub(crate) fn event(event: Event) -> JsValue {
    match event {
        Event::MessageReceived { contact, content } => {
            let mut fields = vec![
                ("contact", text(&contact)),
                ("messageId", text(content.id)),
                ("sentAt", JsValue::from_f64(content.timestamp_ms as f64)),
                ("kind", JsValue::from_str(kind(&content.body))),
            ];
            body_fields(&content.body, &mut fields);
            object("messageReceived", &fields)
        }
        Event::StatusChanged {
            contact,
            message_ids,
            status: new,
        } => object(
            "statusChanged",
            &[
                ("contact", text(&contact)),
                ("messageIds", texts(&message_ids)),
                ("status", JsValue::from_str(status(new))),
            ],
        ),
        Event::TransferProgress {
            message_id,
            direction,
            done,
            total,
        } => object(
            "transferProgress",
            &[
                ("messageId", text(message_id)),
                (
                    "direction",
                    JsValue::from_str(match direction {
                        TransferDirection::Upload => "upload",
                        TransferDirection::Download => "download",
                    }),
                ),
                ("done", JsValue::from_f64(done as f64)),
                ("total", JsValue::from_f64(total as f64)),
            ],
        ),
        Event::ContactAdded {
            contact,
            display_name,
        } => object(
            "contactAdded",
            &[
                ("contact", text(&contact)),
                ("displayName", JsValue::from_str(&display_name)),
            ],
        ),
        Event::ContactReady { contact } => object("contactReady", &[("contact", text(&contact))]),
        Event::IdentityKeyChanged { contact, .. } => {
            object("identityKeyChanged", &[("contact", text(&contact))])
        }
        Event::PacketRejected {
            contact,
            code,
            reason,
        } => object(
            "packetRejected",
            &[
                ("contact", contact.map_or(JsValue::NULL, |c| text(&c))),
                ("code", JsValue::from(code as u32)),
                ("reason", JsValue::from_str(&reason)),
            ],
        ),
        Event::QueueGone { contact } => object("queueGone", &[("contact", text(&contact))]),
        Event::NetworkChanged {
            relay,
            reachable,
            code,
            reason,
        } => object(
            "networkChanged",
            &[
                ("relay", text(&relay)),
                ("reachable", JsValue::from_bool(reachable)),
                (
                    "code",
                    code.map_or(JsValue::NULL, |c| JsValue::from(c as u32)),
                ),
                (
                    "reason",
                    reason.map_or(JsValue::NULL, |r| JsValue::from_str(&r)),
                ),
            ],
        ),
        Event::CoverProblem { loops_lost } => object(
            "coverProblem",
            &[("loopsLost", JsValue::from_f64(loops_lost as f64))],
        ),
        Event::BackgroundProblem { code, reason } => object(
            "backgroundProblem",
            &[
                ("code", JsValue::from(code as u32)),
                ("reason", JsValue::from_str(&reason)),
            ],
        ),
        Event::Missed { count } => object("missed", &[("count", JsValue::from_f64(count as f64))]),
    }
}

/// The property `key` of `options`, unless it is absent, `undefined` or `null`.
pub(crate) fn property(options: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    let value = Reflect::get(options, &JsValue::from_str(key))
        .map_err(|_| invalid(&format!("options.{key} cannot be read")))?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

/// The property `key` of `options` as a string, if present.
pub(crate) fn string(options: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    let Some(value) = property(options, key)? else {
        return Ok(None);
    };
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| invalid(&format!("options.{key} must be a string")))
}

/// The property `key` of `options` as an array (empty when absent).
pub(crate) fn array(options: &JsValue, key: &str) -> Result<Vec<JsValue>, JsValue> {
    let Some(value) = property(options, key)? else {
        return Ok(Vec::new());
    };
    if !Array::is_array(&value) {
        return Err(invalid(&format!("options.{key} must be an array")));
    }
    Ok(Array::from(&value).iter().collect())
}

/// A plain object with the given fields (no `type`).
pub(crate) fn record(fields: &[(&str, JsValue)]) -> JsValue {
    let object: JsValue = Object::new().into();
    for (key, value) in fields {
        set(&object, key, value);
    }
    object
}

/// A contact: `{ contact, displayName, verified, keyChangePending }`.
pub(crate) fn contact(contact: &Contact) -> JsValue {
    record(&[
        ("contact", text(&contact.id)),
        (
            "displayName",
            contact
                .display_name
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
        ),
        ("verified", JsValue::from_bool(contact.verified)),
        (
            "keyChangePending",
            JsValue::from_bool(contact.pending_identity.is_some()),
        ),
    ])
}

/// A message of a conversation: `{ messageId, direction, status, at, sentAt, kind, text? }`.
pub(crate) fn history_message(message: &HistoryMessage) -> JsValue {
    let at = message
        .at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64);
    let mut fields = vec![
        ("messageId", text(message.content.id)),
        (
            "direction",
            JsValue::from_str(match message.direction {
                MessageDirection::Incoming => "incoming",
                MessageDirection::Outgoing => "outgoing",
            }),
        ),
        (
            "status",
            JsValue::from_str(match message.shown_status() {
                HistoryStatus::Sending => "sending",
                HistoryStatus::Sent => "sent",
                HistoryStatus::Delivered => "delivered",
                HistoryStatus::Read => "read",
                HistoryStatus::Received => "received",
            }),
        ),
        ("at", JsValue::from_f64(at)),
        (
            "sentAt",
            JsValue::from_f64(message.content.timestamp_ms as f64),
        ),
        ("kind", JsValue::from_str(kind(&message.content.body))),
    ];
    body_fields(&message.content.body, &mut fields);
    record(&fields)
}

/// A message's kind as JavaScript names it (the names `AttachmentKind` takes).
fn kind(body: &Body) -> &'static str {
    match body.kind() {
        BodyKind::Text => "text",
        BodyKind::Image => "image",
        BodyKind::File => "file",
        BodyKind::VoiceClip => "voiceClip",
        BodyKind::Receipt => "receipt",
        BodyKind::ContactAccept => "contactAccept",
    }
}

/// What a message shows besides its kind: `text` for a text, `attachment` for an image, a
/// file or a voice clip (`{ size, mime?, name?, width?, height?, thumbnail?, durationMs?,
/// codec?, waveform? }`).
fn body_fields(body: &Body, fields: &mut Vec<(&'static str, JsValue)>) {
    let number = |n: u64| JsValue::from_f64(n as f64);
    let bytes = |b: &[u8]| JsValue::from(Uint8Array::from(b));
    let attachment = match body {
        Body::Text(text) => {
            fields.push(("text", JsValue::from_str(text)));
            return;
        }
        Body::Image(image) => record(&[
            ("size", number(image.attachment.plaintext_size())),
            ("mime", JsValue::from_str(&image.mime)),
            ("width", number(image.width.into())),
            ("height", number(image.height.into())),
            ("thumbnail", bytes(&image.thumbnail)),
        ]),
        Body::File(file) => record(&[
            ("size", number(file.attachment.plaintext_size())),
            ("mime", JsValue::from_str(&file.mime)),
            ("name", JsValue::from_str(&file.name)),
        ]),
        Body::VoiceClip(clip) => record(&[
            ("size", number(clip.attachment.plaintext_size())),
            ("durationMs", number(clip.duration_ms.into())),
            ("codec", JsValue::from_str(&clip.codec)),
            ("waveform", bytes(&clip.waveform)),
        ]),
        _ => return,
    };
    fields.push(("attachment", attachment));
}

/// The property `key` of `options` as a number, if present.
pub(crate) fn number(options: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    let Some(value) = property(options, key)? else {
        return Ok(None);
    };
    value
        .as_f64()
        .map(Some)
        .ok_or_else(|| invalid(&format!("options.{key} must be a number")))
}

/// The property `key` of `options` as a whole number from 0 to `u32::MAX`, if present.
pub(crate) fn whole(options: &JsValue, key: &str) -> Result<Option<u32>, JsValue> {
    let Some(value) = property(options, key)? else {
        return Ok(None);
    };
    value
        .as_f64()
        .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
        .map(|n| Some(n as u32))
        .ok_or_else(|| invalid(&format!("{key} must be a whole number from 0 to 2^32 - 1")))
}

/// The property `key` of `options` as bytes (a `Uint8Array`), if present.
pub(crate) fn bytes(options: &JsValue, key: &str) -> Result<Option<Vec<u8>>, JsValue> {
    let Some(value) = property(options, key)? else {
        return Ok(None);
    };
    value
        .dyn_ref::<Uint8Array>()
        .map(|array| Some(array.to_vec()))
        .ok_or_else(|| invalid(&format!("{key} must be a Uint8Array")))
}

/// One contact's unread messages: `{ contact, count }`.
pub(crate) fn unread(contact: &ContactId, count: usize) -> JsValue {
    record(&[
        ("contact", text(contact)),
        ("count", JsValue::from_f64(count as f64)),
    ])
}

/// A safety number: `{ digits, groups, scannable, qrSvg }`.
pub(crate) fn safety_number(number: &SafetyNumber) -> Result<JsValue, JsValue> {
    let svg = number
        .qr_svg()
        .map_err(|e| coded_error("InternalError", 51, &e.to_string()))?;
    Ok(record(&[
        ("digits", JsValue::from_str(number.digits())),
        (
            "groups",
            number
                .digit_groups()
                .iter()
                .map(|group| JsValue::from_str(group))
                .collect::<Array>()
                .into(),
        ),
        ("scannable", Uint8Array::from(number.scannable()).into()),
        ("qrSvg", JsValue::from_str(&svg)),
    ]))
}
