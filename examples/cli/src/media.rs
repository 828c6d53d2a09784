//! What `send-file` learns from a file before sending it: an image's size and preview, a
//! voice clip's length. Reading a file the user chose to send; nothing here touches what
//! arrives from the network.

use std::io::Cursor;
use std::path::Path;

use image::ImageFormat;
use sotto_core::client::AttachmentKind;
use sotto_core::content::MAX_THUMBNAIL_BYTES;

use crate::output::{Class, Failure};

/// The codec name voice clips carry: Ogg Opus, the project's one voice format.
pub const VOICE_CODEC: &str = "opus";

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

/// A voice clip's kind: its length read from the Ogg Opus stream (the last page's
/// granule position less the pre-skip, at Opus's 48 kHz); no waveform.
pub fn voice_kind(path: &Path) -> Result<AttachmentKind, Failure> {
    let not_opus = |why: String| {
        Failure::new(
            Class::Invalid,
            format!("{}: not an Ogg Opus voice clip ({why})", path.display()),
        )
    };
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::new(Class::NotFound, format!("{}: {e}", path.display())))?;
    let mut packets = ogg::PacketReader::new(std::io::BufReader::new(file));
    let head = packets
        .read_packet()
        .map_err(|e| not_opus(e.to_string()))?
        .ok_or_else(|| not_opus("empty".into()))?;
    if head.data.len() < 19 || &head.data[..8] != b"OpusHead" {
        return Err(not_opus("no OpusHead".into()));
    }
    let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    let mut last_granule = 0;
    while let Some(packet) = packets.read_packet().map_err(|e| not_opus(e.to_string()))? {
        if packet.last_in_page() {
            last_granule = packet.absgp_page();
        }
    }
    let samples = last_granule.saturating_sub(pre_skip);
    let duration_ms = u32::try_from(samples / 48).unwrap_or(u32::MAX);
    Ok(AttachmentKind::VoiceClip {
        duration_ms,
        codec: VOICE_CODEC.to_owned(),
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
