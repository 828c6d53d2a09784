//! Attachments as JavaScript has them: a `Blob` (or `File`) read slice by slice into the
//! core's [`AttachmentWriter`](sotto_core::messenger::AttachmentWriter), and a `Blob` built
//! part by part from its [`AttachmentReader`](sotto_core::messenger::AttachmentReader). At
//! most a slice and a part are in WebAssembly memory at a time; a browser keeps a large
//! `Blob` on disk, so a 1 GiB file never sits in memory whole.

use js_sys::{Array, Promise, Uint8Array};
use sotto_core::client::AttachmentKind;
use sotto_core::messenger::{AttachmentReader, AttachmentWriter};
use sotto_core::store::Store;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use crate::convert;

/// Bytes read from a `Blob` per slice.
const SLICE: u64 = 1 << 20;

#[wasm_bindgen]
extern "C" {
    /// A `Blob` or `File` (browsers and Node 20 have both).
    #[wasm_bindgen(js_name = Blob)]
    pub(crate) type JsBlob;
    #[wasm_bindgen(constructor, js_class = "Blob")]
    fn new(parts: &Array, options: &JsValue) -> JsBlob;
    #[wasm_bindgen(method, getter, js_class = "Blob")]
    fn size(this: &JsBlob) -> f64;
    #[wasm_bindgen(method, getter, js_class = "Blob", js_name = type)]
    fn media_type(this: &JsBlob) -> String;
    #[wasm_bindgen(method, js_class = "Blob")]
    fn slice(this: &JsBlob, start: f64, end: f64) -> JsBlob;
    #[wasm_bindgen(method, js_class = "Blob", js_name = arrayBuffer)]
    fn array_buffer(this: &JsBlob) -> Promise;
}

/// `value` as a `Blob` with its size, or an `InvalidArgumentError`.
pub(crate) fn blob(value: JsValue) -> Result<(JsBlob, u64), JsValue> {
    let blob: JsBlob = value
        .dyn_into()
        .map_err(|_| convert::invalid("an attachment is given as a Blob or a File"))?;
    let size = blob.size();
    if !(size.is_finite() && size >= 0.0) {
        return Err(convert::invalid("the Blob reports no size"));
    }
    Ok((blob, size as u64))
}

/// Reads `kind` (`{ type: "image", width, height, mime?, thumbnail? }`,
/// `{ type: "file", name?, mime? }` or `{ type: "voiceClip", durationMs, codec, waveform? }`);
/// a missing `mime` is the blob's own type, and a file's missing name the `File`'s name.
pub(crate) fn kind(kind: &JsValue, blob: &JsBlob) -> Result<AttachmentKind, JsValue> {
    if !kind.is_object() {
        return Err(convert::invalid(
            "the attachment's kind is an object: { type: \"image\" | \"file\" | \"voiceClip\", … }",
        ));
    }
    let required = |key: &str| {
        convert::whole(kind, key)?
            .ok_or_else(|| convert::invalid(&format!("kind.{key} is required")))
    };
    let blob_type = blob.media_type();
    let mime = |fallback: &str| -> Result<String, JsValue> {
        Ok(convert::string(kind, "mime")?
            .or_else(|| (!blob_type.is_empty()).then(|| blob_type.clone()))
            .unwrap_or_else(|| fallback.to_owned()))
    };
    match convert::string(kind, "type")?.as_deref() {
        Some("image") => Ok(AttachmentKind::Image {
            mime: mime("")?,
            width: required("width")?,
            height: required("height")?,
            thumbnail: convert::bytes(kind, "thumbnail")?.unwrap_or_default(),
        }),
        Some("file") => {
            let name = match convert::string(kind, "name")? {
                Some(name) => name,
                None => convert::string(blob, "name")?.ok_or_else(|| {
                    convert::invalid("kind.name is required unless the attachment is a File")
                })?,
            };
            Ok(AttachmentKind::File {
                name,
                mime: mime("application/octet-stream")?,
            })
        }
        Some("voiceClip") => Ok(AttachmentKind::VoiceClip {
            duration_ms: required("durationMs")?,
            codec: convert::string(kind, "codec")?
                .ok_or_else(|| convert::invalid("kind.codec is required"))?,
            waveform: convert::bytes(kind, "waveform")?.unwrap_or_default(),
        }),
        _ => Err(convert::invalid(
            "kind.type is \"image\", \"file\" or \"voiceClip\"",
        )),
    }
}

/// Feeds `blob` to `writer` slice by slice and sends the message. A slice that cannot be
/// read, or a failed upload, drops the writer: the message is reported failed.
pub(crate) async fn upload<S: Store + 'static>(
    mut writer: AttachmentWriter<S>,
    blob: JsBlob,
    size: u64,
) {
    let mut offset = 0;
    while offset < size {
        let end = (offset + SLICE).min(size);
        let Ok(buffer) = JsFuture::from(blob.slice(offset as f64, end as f64).array_buffer()).await
        else {
            return;
        };
        let bytes = Zeroizing::new(Uint8Array::new(&buffer).to_vec());
        // A Blob whose bytes changed size meanwhile is refused by the writer.
        if writer.write(&bytes).await.is_err() {
            return;
        }
        offset = end;
    }
    let _ = writer.finish().await;
}

/// Reads all of an attachment into a `Blob` of the sender's MIME type, part by part.
pub(crate) async fn download<S: Store + 'static>(
    mut reader: AttachmentReader<S>,
) -> Result<JsValue, JsValue> {
    let options: JsValue = js_sys::Object::new().into();
    if let Some(media_type) = reader.media_type() {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str("type"), &media_type.into());
    }
    let mut blob = JsBlob::new(&Array::new(), &options);
    while let Some(piece) = reader.read().await.map_err(|e| convert::error(&e))? {
        let piece = Zeroizing::new(piece);
        // Each new Blob refers to the previous one and the new part: the parts are not
        // copied again, and what is already in the Blob leaves WebAssembly memory.
        blob = JsBlob::new(&Array::of2(&blob, &Uint8Array::from(&piece[..])), &options);
    }
    Ok(blob.into())
}
