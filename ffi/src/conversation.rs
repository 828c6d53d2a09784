//! A conversation from C: attachments (sent from a path, downloaded to one), history pages
//! and contacts as JSON, safety numbers and verification, and the local edits (rename,
//! delete, forget, accept a changed key).

use std::ffi::{c_char, c_int};
use std::path::Path;

use sotto_core::Messenger;
use sotto_core::client::{AttachmentKind, AttachmentSource, HistoryFrom, HistoryMessage};
use sotto_core::safety::Comparison;
use sotto_core::store::SqlCipherStore;

use crate::abi::{Failure, SottoStatus, guard};
use crate::memory::{SottoBytes, bytes, c_string, optional_text, out, text, write_string};
use crate::messenger::{SottoMessenger, contact_id, message_id, messenger_ref};

/// The most messages one history page may ask for.
pub const SOTTO_MAX_HISTORY_PAGE: u32 = 1000;
const _: () = assert!(SOTTO_MAX_HISTORY_PAGE as usize == sotto_core::client::MAX_HISTORY_PAGE);

/// The largest image preview a message may carry, in bytes.
pub const SOTTO_MAX_THUMBNAIL_BYTES: usize = 1024;
const _: () = assert!(SOTTO_MAX_THUMBNAIL_BYTES == sotto_core::content::MAX_THUMBNAIL_BYTES);

/// The most waveform samples a voice clip may carry.
pub const SOTTO_MAX_WAVEFORM_SAMPLES: usize = 256;
const _: () = assert!(SOTTO_MAX_WAVEFORM_SAMPLES == sotto_core::content::MAX_WAVEFORM_SAMPLES);

/// Sends an attachment of `kind` from `source` and hands out its message id.
///
/// # Safety
/// As the `sotto_messenger_send_*` functions that call it.
unsafe fn send_attachment(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    source: impl FnOnce() -> Result<AttachmentSource, Failure>,
    kind: impl FnOnce() -> Result<AttachmentKind, Failure>,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and a string.
        let (messenger, contact) =
            unsafe { (messenger_ref(messenger)?, text(contact, "contact")?) };
        let contact = contact_id(contact)?;
        let (source, kind) = (source()?, kind()?);
        let id = messenger.wait(messenger.inner.send_attachment(&contact, source, kind))?;
        if !out_message_id.is_null() {
            let id = c_string(id.to_string())?;
            // SAFETY: not NULL; the caller promises it is writable.
            unsafe { write_string(out_message_id, id) };
        }
        Ok(())
    })
}

/// The file at `path`, as an attachment source.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string valid for the call.
unsafe fn path_source(path: *const c_char) -> impl FnOnce() -> Result<AttachmentSource, Failure> {
    move || {
        // SAFETY: forwarded from the caller.
        let path = unsafe { text(path, "path") }?;
        Ok(AttachmentSource::File(Path::new(path).to_owned()))
    }
}

/// A copy of `len` bytes at `data`, as an attachment source (wiped once encrypted).
///
/// # Safety
/// `data` is NULL with `len` 0, or points to `len` bytes readable for the call.
unsafe fn memory_source(
    data: *const u8,
    len: usize,
) -> impl FnOnce() -> Result<AttachmentSource, Failure> {
    move || {
        // SAFETY: forwarded from the caller.
        let data = unsafe { bytes(data, len, "data") }?;
        Ok(AttachmentSource::from(data.to_vec()))
    }
}

/// The fields of a file message.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string, `mime` too; both valid for the call.
unsafe fn file_kind(
    name: *const c_char,
    mime: *const c_char,
) -> impl FnOnce() -> Result<AttachmentKind, Failure> {
    move || {
        // SAFETY: forwarded from the caller.
        let (name, mime) = unsafe { (text(name, "name")?, optional_text(mime, "mime")?) };
        Ok(AttachmentKind::File {
            name: name.to_owned(),
            mime: mime.unwrap_or("application/octet-stream").to_owned(),
        })
    }
}

/// The fields of an image message.
///
/// # Safety
/// `mime` is NULL or a NUL-terminated string; `thumbnail` NULL with length 0 or that many
/// readable bytes; all valid for the call.
unsafe fn image_kind(
    mime: *const c_char,
    width: u32,
    height: u32,
    thumbnail: *const u8,
    thumbnail_len: usize,
) -> impl FnOnce() -> Result<AttachmentKind, Failure> {
    move || {
        // SAFETY: forwarded from the caller.
        let (mime, thumbnail) = unsafe {
            (
                text(mime, "mime")?,
                bytes(thumbnail, thumbnail_len, "thumbnail")?,
            )
        };
        Ok(AttachmentKind::Image {
            mime: mime.to_owned(),
            width,
            height,
            thumbnail: thumbnail.to_vec(),
        })
    }
}

/// The fields of a voice clip message.
///
/// # Safety
/// `codec` is NULL or a NUL-terminated string; `waveform` NULL with length 0 or that many
/// readable bytes; all valid for the call.
unsafe fn voice_clip_kind(
    codec: *const c_char,
    duration_ms: u32,
    waveform: *const u8,
    waveform_len: usize,
) -> impl FnOnce() -> Result<AttachmentKind, Failure> {
    move || {
        // SAFETY: forwarded from the caller.
        let (codec, waveform) = unsafe {
            (
                text(codec, "codec")?,
                bytes(waveform, waveform_len, "waveform")?,
            )
        };
        Ok(AttachmentKind::VoiceClip {
            duration_ms,
            codec: codec.to_owned(),
            waveform: waveform.to_vec(),
        })
    }
}

/// Sends the file at `path` under `name` (what the contact sees; no folders) and `mime`
/// (NULL: `application/octet-stream`). Returns at once with its message id (NULL
/// `out_message_id` skips it); the upload runs in the background with progress events,
/// then `SOTTO_DELIVERY_STATUS_SENT`, or `_FAILED` if it could not be uploaded.
///
/// # Safety
/// `messenger` is a live handle; `contact`, `path`, `name` NUL-terminated strings; `mime`
/// one or NULL; `out_message_id` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_file(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    path: *const c_char,
    name: *const c_char,
    mime: *const c_char,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_attachment(
            messenger,
            contact,
            path_source(path),
            file_kind(name, mime),
            out_message_id,
        )
    }
}

/// Sends `data_len` bytes at `data` as a file, as `sotto_messenger_send_file` does: no
/// plaintext copy touches the disk, and the library's copy is wiped once encrypted. The
/// caller's buffer may be reused when this returns.
///
/// # Safety
/// As `sotto_messenger_send_file`, with `data` pointing to `data_len` readable bytes (NULL
/// when `data_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_file_bytes(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    data: *const u8,
    data_len: usize,
    name: *const c_char,
    mime: *const c_char,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_attachment(
            messenger,
            contact,
            memory_source(data, data_len),
            file_kind(name, mime),
            out_message_id,
        )
    }
}

/// Sends the image at `path` (`mime` such as `image/png`, its size in pixels), without a
/// preview. Returns at once, as `sotto_messenger_send_file`.
///
/// # Safety
/// As `sotto_messenger_send_file`; `mime` is not NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_image(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    path: *const c_char,
    mime: *const c_char,
    width: u32,
    height: u32,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_attachment(
            messenger,
            contact,
            path_source(path),
            image_kind(mime, width, height, std::ptr::null(), 0),
            out_message_id,
        )
    }
}

/// Sends `data_len` bytes at `data` as an image, with a small preview the contact sees
/// before downloading (`thumbnail`, NULL and 0 for none; at most `SOTTO_MAX_THUMBNAIL_BYTES`). Otherwise as
/// `sotto_messenger_send_image` and `sotto_messenger_send_file_bytes`.
///
/// # Safety
/// As `sotto_messenger_send_file_bytes`; `mime` is not NULL; `thumbnail` points to
/// `thumbnail_len` readable bytes (NULL when 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_image_bytes(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    data: *const u8,
    data_len: usize,
    mime: *const c_char,
    width: u32,
    height: u32,
    thumbnail: *const u8,
    thumbnail_len: usize,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_attachment(
            messenger,
            contact,
            memory_source(data, data_len),
            image_kind(mime, width, height, thumbnail, thumbnail_len),
            out_message_id,
        )
    }
}

/// Sends the voice clip at `path` (`codec` such as `opus`, its length), without a
/// waveform. Returns at once, as `sotto_messenger_send_file`.
///
/// # Safety
/// As `sotto_messenger_send_file`; `codec` is not NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_voice_clip(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    path: *const c_char,
    codec: *const c_char,
    duration_ms: u32,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_attachment(
            messenger,
            contact,
            path_source(path),
            voice_clip_kind(codec, duration_ms, std::ptr::null(), 0),
            out_message_id,
        )
    }
}

/// Sends `data_len` bytes at `data` as a voice clip, with amplitude samples to draw it
/// (`waveform`, one byte per sample, NULL and 0 for none; at most
/// `SOTTO_MAX_WAVEFORM_SAMPLES`). Otherwise as
/// `sotto_messenger_send_voice_clip` and `sotto_messenger_send_file_bytes`.
///
/// # Safety
/// As `sotto_messenger_send_file_bytes`; `codec` is not NULL; `waveform` points to
/// `waveform_len` readable bytes (NULL when 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_voice_clip_bytes(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    data: *const u8,
    data_len: usize,
    codec: *const c_char,
    duration_ms: u32,
    waveform: *const u8,
    waveform_len: usize,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_attachment(
            messenger,
            contact,
            memory_source(data, data_len),
            voice_clip_kind(codec, duration_ms, waveform, waveform_len),
            out_message_id,
        )
    }
}

/// Downloads the attachment of a contact's message to `destination` (written only once
/// complete and checked; an existing file is replaced) and writes its size to `*out_size`
/// (NULL skips it). Blocks until done.
///
/// # Safety
/// `messenger` is a live handle; `contact`, `message_id_hex`, `destination` NUL-terminated
/// strings; `out_size` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_download_attachment(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    message_id_hex: *const c_char,
    destination: *const c_char,
    out_size: *mut u64,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and strings.
        let (messenger, contact, id, destination) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                text(message_id_hex, "message_id")?,
                text(destination, "destination")?,
            )
        };
        let size = messenger.wait(messenger.inner.download_attachment(
            &contact_id(contact)?,
            &message_id(id)?,
            Path::new(destination),
        ))?;
        // SAFETY: NULL or writable, as the caller promises.
        if let Some(target) = unsafe { out_size.as_mut() } {
            *target = size;
        }
        Ok(())
    })
}

/// A page size the caller asked for, checked against `SOTTO_MAX_HISTORY_PAGE`.
fn page_size(limit: u32) -> Result<usize, Failure> {
    if limit > SOTTO_MAX_HISTORY_PAGE {
        return Err(Failure::invalid(format!(
            "{limit} messages: at most {SOTTO_MAX_HISTORY_PAGE} at once"
        )));
    }
    Ok(limit as usize)
}

/// Writes messages as the JSON array of `sotto_messenger_history_json` to `*out_json`.
///
/// # Safety
/// `out_json` is a valid pointer to write to (checked by `out`).
unsafe fn write_messages(
    out_json: *mut *mut c_char,
    messages: &[HistoryMessage],
) -> Result<(), Failure> {
    let json = serde_json::Value::Array(
        messages
            .iter()
            .map(sotto_core::client::json::history_json)
            .collect(),
    );
    let json = c_string(json.to_string())?;
    // SAFETY: the caller's promise.
    unsafe { write_string(out_json, json) };
    Ok(())
}

/// One page of a conversation as a JSON array, newest first: the newest `limit` messages
/// when `before_message_id` is NULL, else the `limit` before that message (scrolling back).
/// Each element: `{"message_id", "direction": "incoming"|"outgoing", "status": "sending"|
/// "sent"|"delivered"|"read"|"received", "at_ms", "body": {"type": "text", "text"} | ...}`.
/// Free it with `sotto_string_free`.
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string; `before_message_id`
/// one or NULL; `out_json` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_history_json(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    before_message_id: *const c_char,
    limit: u32,
    out_json: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and strings.
        let (messenger, contact, before) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                optional_text(before_message_id, "before_message_id")?,
            )
        };
        out(out_json, "out_json")?;
        let limit = page_size(limit)?;
        let from = match before {
            Some(id) => HistoryFrom::Before(message_id(id)?),
            None => HistoryFrom::Newest,
        };
        let page = messenger.wait(messenger.inner.history(&contact_id(contact)?, from, limit))?;
        // SAFETY: checked above.
        unsafe { write_messages(out_json, &page) }
    })
}

/// Searches one conversation for `query` in texts and file names: up to `limit` (at most
/// `SOTTO_MAX_HISTORY_PAGE`) matching messages as a JSON array, newest first, each as in
/// `sotto_messenger_history_json`. Free it with `sotto_string_free`.
///
/// # Safety
/// `messenger` is a live handle; `contact` and `query` NUL-terminated strings; `out_json`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_search_json(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    query: *const c_char,
    limit: u32,
    out_json: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and strings.
        let (messenger, contact, query) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                text(query, "query")?,
            )
        };
        out(out_json, "out_json")?;
        let limit = page_size(limit)?;
        let found = messenger.wait(messenger.inner.search(&contact_id(contact)?, query, limit))?;
        // SAFETY: checked above.
        unsafe { write_messages(out_json, &found) }
    })
}

/// Every contact as a JSON array: `{"contact", "identity", "name" (or null), "verified",
/// "key_changed", "unread"}`. Free it with `sotto_string_free`.
///
/// # Safety
/// `messenger` is a live handle; `out_json` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_contacts_json(
    messenger: *const SottoMessenger,
    out_json: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        out(out_json, "out_json")?;
        let contacts = messenger.wait(messenger.inner.contacts())?;
        let unread = messenger.wait(messenger.inner.unread_counts())?;
        let json: Vec<serde_json::Value> = contacts
            .iter()
            .map(|contact| {
                let unread = unread
                    .iter()
                    .find(|(id, _)| *id == contact.id)
                    .map_or(0, |(_, count)| *count);
                serde_json::json!({
                    "contact": contact.id.as_str(),
                    "identity": contact.identity.to_text(),
                    "name": contact.display_name,
                    "verified": contact.verified,
                    "key_changed": contact.pending_identity.is_some(),
                    "unread": unread,
                })
            })
            .collect();
        let json = c_string(serde_json::Value::Array(json).to_string())?;
        // SAFETY: checked above.
        unsafe { write_string(out_json, json) };
        Ok(())
    })
}

/// The safety number shared with a contact: 60 digits to compare aloud (free it with
/// `sotto_string_free`); when not NULL, `out_scannable` gets what the QR code holds (the
/// bytes the other device's scanner yields, for `sotto_messenger_compare_safety_code`) and
/// `out_qr_png` the QR code as a PNG image (free both with `sotto_bytes_free`).
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string; `out_digits` writable;
/// `out_scannable` and `out_qr_png` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_safety_number(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    out_digits: *mut *mut c_char,
    out_scannable: *mut SottoBytes,
    out_qr_png: *mut SottoBytes,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and a string.
        let (messenger, contact) =
            unsafe { (messenger_ref(messenger)?, text(contact, "contact")?) };
        out(out_digits, "out_digits")?;
        let number = messenger.wait(messenger.inner.safety_number(&contact_id(contact)?))?;
        let digits = c_string(number.digits())?;
        let png = if out_qr_png.is_null() {
            None
        } else {
            Some(number.qr_png().map_err(sotto_core::Error::from)?)
        };
        // SAFETY: checked above; the optional outputs only when not NULL.
        unsafe {
            write_string(out_digits, digits);
            if !out_scannable.is_null() {
                *out_scannable = SottoBytes::from_vec(number.scannable().to_vec());
            }
            if let Some(png) = png {
                *out_qr_png = SottoBytes::from_vec(png);
            }
        }
        Ok(())
    })
}

/// Compares the contents of the contact's scanned safety QR code with ours: `*out_match`
/// becomes 1 when it was made from the same two keys (then mark the contact verified), 0
/// otherwise (another conversation's code, someone in the middle, or another format).
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string; `scanned` points to
/// `scanned_len` readable bytes (or is NULL with length 0); `out_match` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_compare_safety_code(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    scanned: *const u8,
    scanned_len: usize,
    out_match: *mut c_int,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and a string.
        let (messenger, contact) =
            unsafe { (messenger_ref(messenger)?, text(contact, "contact")?) };
        out(out_match, "out_match")?;
        // SAFETY: the caller promises `scanned_len` readable bytes (or NULL with 0).
        let scanned = unsafe { bytes(scanned, scanned_len, "scanned") }?;
        let comparison = messenger.wait(
            messenger
                .inner
                .compare_safety_code(&contact_id(contact)?, scanned),
        )?;
        // SAFETY: checked above.
        unsafe { *out_match = c_int::from(matches!(comparison, Comparison::Match)) };
        Ok(())
    })
}

/// Runs a contact-level call that returns nothing.
///
/// # Safety
/// `messenger` NULL or a live handle; `contact` NULL or a NUL-terminated string.
unsafe fn on_contact<F, Fut>(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    call: F,
) -> SottoStatus
where
    F: FnOnce(Messenger<SqlCipherStore>, sotto_core::contacts::ContactId) -> Fut,
    Fut: Future<Output = sotto_core::Result<()>>,
{
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (messenger, contact) =
            unsafe { (messenger_ref(messenger)?, text(contact, "contact")?) };
        messenger.wait(call(messenger.inner.clone(), contact_id(contact)?))
    })
}

/// Marks a contact verified (after comparing safety numbers).
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_mark_verified(
    messenger: *const SottoMessenger,
    contact: *const c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        on_contact(messenger, contact, |m, c| async move {
            m.mark_verified(&c).await
        })
    }
}

/// Accepts the new identity key a contact presented: held messages flow again (the
/// contact is no longer verified).
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_accept_identity_key(
    messenger: *const SottoMessenger,
    contact: *const c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        on_contact(messenger, contact, |m, c| async move {
            m.accept_identity_key(&c).await
        })
    }
}

/// Deletes a contact: its queues on the relays, then everything stored for it.
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_forget_contact(
    messenger: *const SottoMessenger,
    contact: *const c_char,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        on_contact(messenger, contact, |m, c| async move {
            m.forget_contact(&c).await
        })
    }
}

/// Names a contact on this device (never sent); NULL or an empty name removes the name.
///
/// # Safety
/// `messenger` is a live handle; `contact` a NUL-terminated string; `name` one or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_rename_contact(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    name: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (messenger, contact, name) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                optional_text(name, "name")?,
            )
        };
        messenger.wait(
            messenger
                .inner
                .rename_contact(&contact_id(contact)?, name.map(str::to_owned)),
        )
    })
}

/// Deletes one message on this device (ours or theirs): it leaves history and unread
/// counts and its content is wiped; the contact keeps their copy.
///
/// # Safety
/// `messenger` is a live handle; `contact` and `message_id_hex` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_delete_message(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    message_id_hex: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (messenger, contact, id) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                text(message_id_hex, "message_id")?,
            )
        };
        messenger.wait(
            messenger
                .inner
                .delete_message(&contact_id(contact)?, &message_id(id)?),
        )
    })
}
