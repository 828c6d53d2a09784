//! The JSON the ABI hands out for lists and event details (one shape everywhere).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sotto_core::content::Body;

/// What a message carries: `{"type": "text", "text"}`, `{"type": "image", "mime", "width",
/// "height", "size", "thumbnail"}` (the preview in standard base64, `""` for none),
/// `{"type": "file", "name", "mime", "size"}`, `{"type": "voice_clip", "duration_ms",
/// "codec", "size", "waveform"}` (samples 0 to 255), or `{"type": "other"}`.
pub(crate) fn body(body: &Body) -> serde_json::Value {
    match body {
        Body::Text(text) => serde_json::json!({ "type": "text", "text": text }),
        Body::Image(image) => serde_json::json!({
            "type": "image",
            "mime": image.mime,
            "width": image.width,
            "height": image.height,
            "size": image.attachment.plaintext_size(),
            "thumbnail": STANDARD.encode(&image.thumbnail),
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
            "waveform": clip.waveform,
        }),
        Body::Receipt(_) | Body::ContactAccept(_) => serde_json::json!({ "type": "other" }),
    }
}
