//! The one JSON shape of messages that every shell hands out (the C ABI's lists and
//! events, the command-line client's `--json`), so scripts and apps read the same fields
//! whichever shell they drive.

use std::time::UNIX_EPOCH;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{HistoryMessage, HistoryStatus};
use crate::content::Body;
use crate::store::MessageDirection;

/// What a message carries: `{"type": "text", "text"}`, `{"type": "image", "mime", "width",
/// "height", "size", "thumbnail"}` (the preview in standard base64, `""` for none),
/// `{"type": "file", "name", "mime", "size"}`, `{"type": "voice_clip", "duration_ms",
/// "codec", "size", "waveform"}` (samples 0 to 255), or `{"type": "other"}`.
pub fn body_json(body: &Body) -> Value {
    match body {
        Body::Text(text) => json!({ "type": "text", "text": text }),
        Body::Image(image) => json!({
            "type": "image",
            "mime": image.mime,
            "width": image.width,
            "height": image.height,
            "size": image.attachment.plaintext_size(),
            "thumbnail": STANDARD.encode(&image.thumbnail),
        }),
        Body::File(file) => json!({
            "type": "file",
            "name": file.name,
            "mime": file.mime,
            "size": file.size,
        }),
        Body::VoiceClip(clip) => json!({
            "type": "voice_clip",
            "duration_ms": clip.duration_ms,
            "codec": clip.codec,
            "size": clip.attachment.plaintext_size(),
            "waveform": clip.waveform,
        }),
        Body::Receipt(_) | Body::ContactAccept(_) => json!({ "type": "other" }),
    }
}

/// A status's name in JSON: `sending`, `sent`, `delivered`, `read` or `received`.
pub fn status_name(status: HistoryStatus) -> &'static str {
    match status {
        HistoryStatus::Sending => "sending",
        HistoryStatus::Sent => "sent",
        HistoryStatus::Delivered => "delivered",
        HistoryStatus::Read => "read",
        HistoryStatus::Received => "received",
    }
}

/// A message of a conversation: `{"message_id", "direction": "incoming"|"outgoing",
/// "status" (see [`status_name`]), "at_ms", "body"}` (see [`body_json`]).
pub fn history_json(message: &HistoryMessage) -> Value {
    json!({
        "message_id": message.content.id.to_string(),
        "direction": match message.direction {
            MessageDirection::Incoming => "incoming",
            MessageDirection::Outgoing => "outgoing",
        },
        "status": status_name(message.shown_status()),
        "at_ms": message.at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        "body": body_json(&message.content.body),
    })
}
