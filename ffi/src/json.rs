//! The JSON the ABI hands out for lists and event details (one shape everywhere).

use sotto_core::content::Body;

/// What a message carries: `{"type": "text", "text"}`, `{"type": "image", "mime", "width",
/// "height", "size"}`, `{"type": "file", "name", "mime", "size"}`, `{"type": "voice_clip",
/// "duration_ms", "codec", "size"}`, or `{"type": "other"}`.
pub(crate) fn body(body: &Body) -> serde_json::Value {
    match body {
        Body::Text(text) => serde_json::json!({ "type": "text", "text": text }),
        Body::Image(image) => serde_json::json!({
            "type": "image",
            "mime": image.mime,
            "width": image.width,
            "height": image.height,
            "size": image.attachment.plaintext_size(),
        }),
        Body::File(file) => serde_json::json!({
            "type": "file",
            "name": file.name,
            "mime": file.mime,
            "size": file.size,
        }),
        Body::VoiceClip(clip) => serde_json::json!({
            "type": "voice_clip",
            "duration_ms": clip.duration_ms,
            "codec": clip.codec,
            "size": clip.attachment.plaintext_size(),
        }),
        Body::Receipt(_) | Body::ContactAccept(_) => serde_json::json!({ "type": "other" }),
    }
}
