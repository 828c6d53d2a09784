//! What `send-file` learns from a file before sending it: an image's size and preview, a
//! voice clip's length. Reading a file the user chose to send; nothing here touches what
//! arrives from the network.

use std::io::Cursor;
use std::path::Path;

use image::ImageFormat;
use sotto_core::client::AttachmentKind;
use sotto_core::content::MAX_THUMBNAIL_BYTES;
use sotto_core::voice;

use crate::output::{Class, Failure};

/// An image's kind: MIME type, size in pixels and a JPEG preview of at most
/// [`MAX_THUMBNAIL_BYTES`].
pub fn image_kind(path: &Path) -> Result<AttachmentKind, Failure> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Failure::new(
            Class::Invalid,
            format!("{}: not an image this client reads ({e})", path.display()),
        )
    };
    let reader = image::ImageReader::open(path)
        .map_err(|e| Failure::new(Class::NotFound, format!("{}: {e}", path.display())))?
        .with_guessed_format()
        .map_err(|e| unreadable(&e))?;
    let format = reader
        .format()
        .ok_or_else(|| unreadable(&"unknown format"))?;
    let picture = reader.decode().map_err(|e| unreadable(&e))?;
    // Smaller until the preview fits the message (a blurred hint, shown until the image
    // itself is downloaded).
    let mut thumbnail = Vec::new();
    for side in [48, 40, 32, 24, 16] {
        let mut encoded = Vec::new();
        let small = picture.thumbnail(side, side).to_rgb8();
        image::DynamicImage::ImageRgb8(small)
            .write_to(&mut Cursor::new(&mut encoded), ImageFormat::Jpeg)
            .map_err(|e| unreadable(&e))?;
        if encoded.len() <= MAX_THUMBNAIL_BYTES {
            thumbnail = encoded;
            break;
        }
    }
    Ok(AttachmentKind::Image {
        mime: format.to_mime_type().to_owned(),
        width: picture.width(),
        height: picture.height(),
        thumbnail,
    })
}

/// A voice clip's kind: its length read from the Ogg Opus container by the core
/// (`sotto_core::voice::inspect`); no waveform (that comes with recording).
pub fn voice_kind(path: &Path) -> Result<AttachmentKind, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(Class::NotFound, format!("{}: {e}", path.display())))?;
    let info = voice::inspect(&bytes)
        .map_err(|e| Failure::new(Class::Invalid, format!("{}: {e}", path.display())))?;
    Ok(AttachmentKind::VoiceClip {
        duration_ms: info.duration_ms,
        codec: voice::CODEC.to_owned(),
        waveform: Vec::new(),
    })
}

/// A file's kind: its name (without the path) and a MIME type guessed from the extension.
pub fn file_kind(path: &Path) -> Result<AttachmentKind, Failure> {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| Failure::new(Class::Invalid, format!("{}: no file name", path.display())))?;
    let mime = ImageFormat::from_path(path)
        .map(|format| format.to_mime_type())
        .unwrap_or(match path.extension().and_then(|e| e.to_str()) {
            Some("txt") => "text/plain",
            Some("pdf") => "application/pdf",
            Some("ogg" | "opus") => "audio/ogg",
            _ => "application/octet-stream",
        });
    Ok(AttachmentKind::File {
        name: name.to_owned(),
        mime: mime.to_owned(),
    })
}
