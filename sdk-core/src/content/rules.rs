//! The rules every content frame satisfies, checked on the Rust types so that sending
//! ([`super::Content::validate`]) and receiving ([`super::Content::decode`]) apply the same
//! ones. Structural rules that the Rust types already guarantee (message id length, a
//! present body and attachment pointer, a known receipt kind) are checked while converting
//! from the wire, in `wire.rs`.

use super::{
    Body, ContactAccept, Content, ContentError, File, Image, MAX_MIME_BYTES, MAX_NAME_BYTES,
    MAX_RECEIPT_IDS, MAX_TEXT_BYTES, MAX_THUMBNAIL_BYTES, MAX_WAVEFORM_SAMPLES, Receipt, VoiceClip,
};

/// Checks every rule, in the order the fields appear in the frame.
pub(super) fn check(content: &Content) -> Result<(), ContentError> {
    // A receipt stands outside the order (it is never re-sent, so it must leave no gap).
    if content.sequence == 0 && !matches!(content.body, Body::Receipt(_)) {
        return Err(ContentError::ZeroSequence);
    }
    match &content.body {
        Body::Text(text) => check_text(text),
        Body::Image(image) => check_image(image),
        Body::File(file) => check_file(file),
        Body::VoiceClip(clip) => check_voice_clip(clip),
        Body::Receipt(receipt) => check_receipt(receipt),
        Body::ContactAccept(accept) => check_contact_accept(accept),
    }
}

fn check_text(text: &str) -> Result<(), ContentError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ContentError::TextTooLong {
            len: text.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    Ok(())
}

fn check_image(image: &Image) -> Result<(), ContentError> {
    let media_type = check_mime(&image.mime)?;
    if !media_type.eq_ignore_ascii_case("image") {
        return Err(ContentError::NotAnImageMime(image.mime.clone()));
    }
    if image.width == 0 || image.height == 0 {
        return Err(ContentError::ZeroImageDimension {
            width: image.width,
            height: image.height,
        });
    }
    if image.thumbnail.len() > MAX_THUMBNAIL_BYTES {
        return Err(ContentError::ThumbnailTooLarge {
            len: image.thumbnail.len(),
            max: MAX_THUMBNAIL_BYTES,
        });
    }
    Ok(())
}

fn check_file(file: &File) -> Result<(), ContentError> {
    if file.name.len() > MAX_NAME_BYTES {
        return Err(ContentError::FileNameTooLong {
            len: file.name.len(),
            max: MAX_NAME_BYTES,
        });
    }
    let unsafe_char = |c: char| c == '/' || c == '\\' || is_disguising(c);
    if file.name.is_empty()
        || file.name == "."
        || file.name == ".."
        || file.name.chars().any(unsafe_char)
    {
        return Err(ContentError::InvalidFileName(file.name.clone()));
    }
    check_mime(&file.mime)?;
    Ok(())
}

fn check_voice_clip(clip: &VoiceClip) -> Result<(), ContentError> {
    if clip.duration_ms == 0 {
        return Err(ContentError::ZeroDuration);
    }
    if clip.codec.len() > MAX_NAME_BYTES {
        return Err(ContentError::CodecTooLong {
            len: clip.codec.len(),
            max: MAX_NAME_BYTES,
        });
    }
    if clip.codec.is_empty() || clip.codec.chars().any(is_disguising) {
        return Err(ContentError::InvalidCodec(clip.codec.clone()));
    }
    if clip.waveform.len() > MAX_WAVEFORM_SAMPLES {
        return Err(ContentError::WaveformTooLong {
            len: clip.waveform.len(),
            max: MAX_WAVEFORM_SAMPLES,
        });
    }
    Ok(())
}

fn check_receipt(receipt: &Receipt) -> Result<(), ContentError> {
    if receipt.message_ids.is_empty() {
        return Err(ContentError::EmptyReceipt);
    }
    if receipt.message_ids.len() > MAX_RECEIPT_IDS {
        return Err(ContentError::TooManyReceiptIds {
            count: receipt.message_ids.len(),
            max: MAX_RECEIPT_IDS,
        });
    }
    Ok(())
}

fn check_contact_accept(accept: &ContactAccept) -> Result<(), ContentError> {
    let name = &accept.display_name;
    if name.len() > MAX_NAME_BYTES {
        return Err(ContentError::DisplayNameTooLong {
            len: name.len(),
            max: MAX_NAME_BYTES,
        });
    }
    if name.chars().any(is_disguising) {
        return Err(ContentError::InvalidDisplayName(name.clone()));
    }
    Ok(())
}

/// Checks that `mime` is `type/subtype`, both RFC 6838 restricted names, and returns the
/// type.
fn check_mime(mime: &str) -> Result<&str, ContentError> {
    if mime.len() > MAX_MIME_BYTES {
        return Err(ContentError::MimeTooLong {
            len: mime.len(),
            max: MAX_MIME_BYTES,
        });
    }
    match mime.split_once('/') {
        Some((media_type, subtype))
            if is_restricted_name(media_type) && is_restricted_name(subtype) =>
        {
            Ok(media_type)
        }
        _ => Err(ContentError::InvalidMime(mime.to_owned())),
    }
}

/// RFC 6838 section 4.2 `restricted-name`: 1 to 127 characters, an alphanumeric first, then
/// alphanumerics or `! # $ & - ^ _ . +`. This also refuses a second `/`.
fn is_restricted_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    first_ok
        && name.len() <= 127
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

/// Characters that can make a name shown to the user lie about itself: control characters
/// (line breaks, escapes) and the Unicode bidirectional-text controls, which can reverse the
/// visible order of a file name ("invoice\u{202E}fdp.exe" shows as "invoiceexe.pdf").
fn is_disguising(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}
