//! `SottoMessenger`: the core's `Messenger` behind an opaque pointer. Every call blocks the
//! calling thread until the messenger's thread answered (at most
//! `SOTTO_CALL_TIMEOUT_SECONDS`); any number of threads may call at once.

use std::ffi::c_char;
use std::time::Duration;

use sotto_core::Messenger;
use sotto_core::client::ClientSettings;
use sotto_core::contacts::ContactId;
use sotto_core::content::MessageId;
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::OwnedProtection;
use sotto_core::store::{Argon2Params, Keychain, ProfileDirectory, SqlCipherStore};

use crate::abi::{Failure, SottoStatus, block, guard, guard_void};
use crate::memory::{SottoBytes, c_string, optional_text, out, text, write_string};
use crate::settings::{SottoSettings, settings_ref};

/// One open profile (opaque): made by `sotto_messenger_create` or `sotto_messenger_open`,
/// freed by `sotto_messenger_free`. Safe to use from any number of threads at once.
pub struct SottoMessenger {
    pub(crate) inner: Messenger<SqlCipherStore>,
    call_timeout: Duration,
}

impl SottoMessenger {
    /// Waits for one of this messenger's calls, at most its settings' time limit.
    pub(crate) fn wait<T>(
        &self,
        call: impl Future<Output = sotto_core::Result<T>>,
    ) -> Result<T, Failure> {
        block(self.call_timeout, call)
    }
}

/// Reads a messenger argument.
///
/// # Safety
/// `messenger` is NULL or a live handle.
pub(crate) unsafe fn messenger_ref<'a>(
    messenger: *const SottoMessenger,
) -> Result<&'a SottoMessenger, Failure> {
    // SAFETY: the caller passes NULL or a live handle.
    unsafe { messenger.as_ref() }.ok_or_else(|| Failure::null("messenger"))
}

fn protection(passphrase: Option<&str>) -> Result<OwnedProtection, Failure> {
    Ok(match passphrase {
        Some(passphrase) => OwnedProtection::Passphrase {
            passphrase: passphrase.to_owned().into(),
            params: Argon2Params::default(),
        },
        None => OwnedProtection::Keychain(
            Keychain::platform()
                .map_err(sotto_core::Error::from)?
                .kind(),
        ),
    })
}

pub(crate) fn contact_id(contact: &str) -> Result<ContactId, Failure> {
    ContactId::parse(contact)
        .ok_or_else(|| Failure::invalid(format!("contact id {contact:?}: 32 hex digits")))
}

/// A message id from its 32 hex digits.
pub(crate) fn message_id(hex: &str) -> Result<MessageId, Failure> {
    MessageId::from_hex(hex)
        .ok_or_else(|| Failure::invalid(format!("message id {hex:?}: 32 hex digits")))
}

fn hand_out(
    messenger: Messenger<SqlCipherStore>,
    settings: &SottoSettings,
    target: *mut *mut SottoMessenger,
) {
    let handle = Box::new(SottoMessenger {
        inner: messenger,
        call_timeout: settings.call_timeout(),
    });
    // SAFETY: the callers checked `target` is not NULL; the host owns the box from here.
    unsafe { *target = Box::into_raw(handle) };
}

/// What `sotto_messenger_create` and `_open` share: reads their arguments, runs `make`'s
/// future (the core's `Messenger::create` or `::open`) within the settings' time limit and
/// hands the handle out.
///
/// # Safety
/// As `sotto_messenger_create`.
unsafe fn start_messenger<F>(
    directory: *const c_char,
    passphrase: *const c_char,
    settings: *const SottoSettings,
    out_messenger: *mut *mut SottoMessenger,
    make: impl FnOnce(ProfileDirectory, Option<&str>, ClientSettings) -> Result<F, Failure>,
) -> SottoStatus
where
    F: Future<Output = sotto_core::Result<Messenger<SqlCipherStore>>>,
{
    guard(|| {
        crate::signals::ignore_default_sigpipe();
        // SAFETY: the caller's strings and settings, valid for the call.
        let (directory, passphrase, settings) = unsafe {
            (
                text(directory, "directory")?,
                optional_text(passphrase, "passphrase")?,
                settings_ref(settings)?,
            )
        };
        out(out_messenger, "out_messenger")?;
        let call = make(
            ProfileDirectory::new(directory),
            passphrase,
            settings.client_settings(),
        )?;
        let messenger = block(settings.call_timeout(), call)?;
        hand_out(messenger, settings, out_messenger);
        Ok(())
    })
}

/// Creates a new profile (a new identity) in `directory`, which must be absent or empty,
/// and opens a messenger on it. The database key is derived from `passphrase` (Argon2id),
/// or, when `passphrase` is NULL, sealed in the platform's keychain.
///
/// # Safety
/// `directory` and `passphrase` (or NULL) are NUL-terminated strings; `settings` a live
/// settings object; `out_messenger` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_create(
    directory: *const c_char,
    passphrase: *const c_char,
    settings: *const SottoSettings,
    out_messenger: *mut *mut SottoMessenger,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        start_messenger(
            directory,
            passphrase,
            settings,
            out_messenger,
            |dir, passphrase, settings| {
                Ok(Messenger::create(dir, protection(passphrase)?, settings))
            },
        )
    }
}

/// Opens the profile in `directory` (`passphrase` for a passphrase-protected one, NULL for
/// one in the keychain). A wrong passphrase is `SOTTO_ERROR_KEY`, and nothing on disk
/// changes.
///
/// # Safety
/// As `sotto_messenger_create`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_open(
    directory: *const c_char,
    passphrase: *const c_char,
    settings: *const SottoSettings,
    out_messenger: *mut *mut SottoMessenger,
) -> SottoStatus {
    // SAFETY: forwarded from the caller.
    unsafe {
        start_messenger(
            directory,
            passphrase,
            settings,
            out_messenger,
            |dir, passphrase, settings| {
                Ok(Messenger::open(
                    dir,
                    passphrase.map(str::to_owned),
                    settings,
                ))
            },
        )
    }
}

/// Protects the profile with a new key: `new_passphrase` (Argon2id), or, when it is NULL,
/// a key sealed in the platform's keychain. Safe against a crash half way: the profile
/// then opens with whichever of the old and new protections the database accepts. On an
/// error the old protection stays in force. Argon2 and re-encrypting the database take a
/// while; the messenger's background work waits meanwhile.
///
/// # Safety
/// `messenger` is a live handle; `new_passphrase` a NUL-terminated string or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_change_passphrase(
    messenger: *const SottoMessenger,
    new_passphrase: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and a string or NULL.
        let (messenger, passphrase) = unsafe {
            (
                messenger_ref(messenger)?,
                optional_text(new_passphrase, "new_passphrase")?,
            )
        };
        messenger.wait(messenger.inner.change_protection(protection(passphrase)?))
    })
}

/// Turns the background work on: a sync, then waiting reads that deliver each message as
/// an event as soon as a relay has it, the outbox's retries, prekey rotation.
///
/// # Safety
/// `messenger` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_start(messenger: *const SottoMessenger) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        messenger.wait(messenger.inner.start())
    })
}

/// Finishes the calls already made, stops the background work and closes the store
/// (every change was durable when its call returned). Every later call on this handle
/// answers `SOTTO_ERROR_SHUT_DOWN`; free it with `sotto_messenger_free`.
///
/// # Safety
/// `messenger` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_shutdown(messenger: *const SottoMessenger) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        messenger.wait(messenger.inner.shutdown())
    })
}

/// Frees a handle (shutting the messenger down without waiting, if it was not). NULL is
/// fine. No other thread may be using the handle.
///
/// # Safety
/// `messenger` is NULL or a live handle, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_free(messenger: *mut SottoMessenger) {
    guard_void(|| {
        if !messenger.is_null() {
            // SAFETY: made by `Box::into_raw` in `hand_out`, freed once.
            drop(unsafe { Box::from_raw(messenger) });
        }
    });
}

/// This profile's public identity, as text (`sotto-id:…`). Free it with
/// `sotto_string_free`.
///
/// # Safety
/// `messenger` is a live handle; `out_identity` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_identity(
    messenger: *const SottoMessenger,
    out_identity: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        out(out_identity, "out_identity")?;
        let identity = c_string(messenger.inner.identity().to_text())?;
        // SAFETY: checked above.
        unsafe { write_string(out_identity, identity) };
        Ok(())
    })
}

/// Makes a one-time invitation and writes its short link (`sotto://invite/…`, about 120
/// characters: the full invitation waits sealed on the relay, for the relay's chunk
/// lifetime) to `*out_link`; hand it to one person (as text or a QR code). Free it with
/// `sotto_string_free`.
///
/// # Safety
/// `messenger` is a live handle; `out_link` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_create_invitation(
    messenger: *const SottoMessenger,
    out_link: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        out(out_link, "out_link")?;
        let invitation = messenger.wait(messenger.inner.create_invitation())?;
        let link = c_string(invitation.link())?;
        // SAFETY: checked above.
        unsafe { write_string(out_link, link) };
        Ok(())
    })
}

/// Accepts an invitation link, short (fetched from the inviter's relay first) or full;
/// writes the new contact's id to `*out_contact` (free it with `sotto_string_free`). The
/// contact is ready when `SOTTO_EVENT_KIND_CONTACT_READY` arrives; messages sent before
/// wait for it. A malformed, used or expired invitation is `SOTTO_ERROR_INVITATION`.
///
/// # Safety
/// `messenger` is a live handle; `link` a NUL-terminated string; `out_contact` a valid
/// pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_accept_invitation(
    messenger: *const SottoMessenger,
    link: *const c_char,
    out_contact: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and a string.
        let (messenger, link) = unsafe { (messenger_ref(messenger)?, text(link, "link")?) };
        out(out_contact, "out_contact")?;
        let invitation = InvitationLink::parse(link).map_err(sotto_core::Error::from)?;
        let contact = messenger.wait(messenger.inner.accept_link(&invitation))?;
        let contact = c_string(contact.as_str())?;
        // SAFETY: checked above.
        unsafe { write_string(out_contact, contact) };
        Ok(())
    })
}

/// Sends a text; returns at once with its message id in `*out_message_id` (32 hex digits;
/// free it with `sotto_string_free`). Its statuses arrive as events; the outbox delivers it
/// however long the contact is away.
///
/// # Safety
/// `messenger` is a live handle; `contact` and `text_utf8` NUL-terminated strings;
/// `out_message_id` NULL or a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_send_text(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    text_utf8: *const c_char,
    out_message_id: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and strings.
        let (messenger, contact, message) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                text(text_utf8, "text")?,
            )
        };
        let id = messenger.wait(messenger.inner.send_text(&contact_id(contact)?, message))?;
        if !out_message_id.is_null() {
            let id = c_string(id.to_string())?;
            // SAFETY: not NULL; the caller promises it is writable.
            unsafe { write_string(out_message_id, id) };
        }
        Ok(())
    })
}

/// Marks one of a contact's messages read: it leaves the unread count, and the contact gets
/// an end-to-end read receipt.
///
/// # Safety
/// `messenger` is a live handle; `contact` and `message_id` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_mark_read(
    messenger: *const SottoMessenger,
    contact: *const c_char,
    message_id: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle, and strings.
        let (messenger, contact, id) = unsafe {
            (
                messenger_ref(messenger)?,
                text(contact, "contact")?,
                text(message_id, "message_id")?,
            )
        };
        let id = self::message_id(id)?;
        messenger.wait(messenger.inner.mark_read(&contact_id(contact)?, vec![id]))
    })
}

/// An invitation link as a QR code, a PNG image (free it with `sotto_bytes_free`).
///
/// # Safety
/// `link` is a NUL-terminated string; `out_png` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_invitation_qr_png(
    link: *const c_char,
    out_png: *mut SottoBytes,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a NUL-terminated string.
        let link = unsafe { text(link, "link") }?;
        out(out_png, "out_png")?;
        let invitation = InvitationLink::parse(link).map_err(sotto_core::Error::from)?;
        let png = invitation.qr_png().map_err(sotto_core::Error::from)?;
        // SAFETY: checked above.
        unsafe { *out_png = SottoBytes::from_vec(png) };
        Ok(())
    })
}

/// An invitation link as a QR code, an SVG document (free it with `sotto_string_free`).
///
/// # Safety
/// `link` is a NUL-terminated string; `out_svg` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_invitation_qr_svg(
    link: *const c_char,
    out_svg: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a NUL-terminated string.
        let link = unsafe { text(link, "link") }?;
        out(out_svg, "out_svg")?;
        let invitation = InvitationLink::parse(link).map_err(sotto_core::Error::from)?;
        let svg = c_string(invitation.qr_svg().map_err(sotto_core::Error::from)?)?;
        // SAFETY: checked above.
        unsafe { write_string(out_svg, svg) };
        Ok(())
    })
}
