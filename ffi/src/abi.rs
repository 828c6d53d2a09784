//! The ABI's own conventions: its version, the status every fallible call returns, the
//! thread-local last error message, and the guard every entry point runs in (no panic
//! crosses into C; every blocking call has a time limit).

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Duration;

use sotto_core::Error;

/// The ABI's major version: a host built against another major version must not load this
/// library (it is also the soname's number, `libsotto.so.0`).
pub const SOTTO_ABI_VERSION_MAJOR: u32 = 0;
/// The ABI's minor version: grows when functions are added (nothing removed or changed).
pub const SOTTO_ABI_VERSION_MINOR: u32 = 1;
/// The ABI's patch version: fixes that change no signature.
pub const SOTTO_ABI_VERSION_PATCH: u32 = 0;

/// How long a blocking call waits for the messenger, unless the settings say otherwise
/// (`sotto_settings_set_call_timeout`), before it answers `SOTTO_ERROR_TIMEOUT` (the work
/// itself then finishes on the messenger's thread).
pub const SOTTO_CALL_TIMEOUT_SECONDS: u32 = 120;

/// What a fallible call did: `SOTTO_OK`, or why not. The numbers from 10 to 99 are
/// `sotto_core::ErrorCode`s (stable across versions); from 100 on they are the ABI's own.
/// The message of the last failure on this thread is `sotto_last_error_message()`.
pub type SottoStatus = i32;

/// Success: the outputs were written.
pub const SOTTO_OK: SottoStatus = 0;
/// A content frame is malformed or invalid (a text too long, a field out of range).
pub const SOTTO_ERROR_CONTENT: SottoStatus = 10;
/// A packet's padding is malformed.
pub const SOTTO_ERROR_PADDING: SottoStatus = 11;
/// An attachment could not be read, written, encrypted or checked.
pub const SOTTO_ERROR_ATTACHMENT: SottoStatus = 12;
/// A safety-number operation failed.
pub const SOTTO_ERROR_SAFETY: SottoStatus = 13;
/// A QR code could not be made or read.
pub const SOTTO_ERROR_QR: SottoStatus = 14;
/// An identity (text or bytes) is malformed.
pub const SOTTO_ERROR_IDENTITY: SottoStatus = 15;
/// The store failed (I/O, a damaged file, a profile that is not there or already there).
pub const SOTTO_ERROR_STORE: SottoStatus = 16;
/// The database key: a wrong or missing passphrase, a missing keychain entry.
pub const SOTTO_ERROR_KEY: SottoStatus = 17;
/// The network: a relay could not be reached or refused.
pub const SOTTO_ERROR_TRANSPORT: SottoStatus = 18;
/// A relay presented another key than its address names.
pub const SOTTO_ERROR_RELAY_KEY_MISMATCH: SottoStatus = 19;
/// A packet's sender could not be trusted.
pub const SOTTO_ERROR_UNTRUSTED_SENDER: SottoStatus = 20;
/// A contact presented a new identity key.
pub const SOTTO_ERROR_IDENTITY_KEY_CHANGED: SottoStatus = 21;
/// A packet was seen before.
pub const SOTTO_ERROR_DUPLICATE: SottoStatus = 22;
/// No session with the contact yet.
pub const SOTTO_ERROR_NO_SESSION: SottoStatus = 23;
/// A prekey bundle is invalid.
pub const SOTTO_ERROR_INVALID_BUNDLE: SottoStatus = 24;
/// A ciphertext could not be opened.
pub const SOTTO_ERROR_INVALID_CIPHERTEXT: SottoStatus = 25;
/// The protocol failed in another way.
pub const SOTTO_ERROR_PROTOCOL: SottoStatus = 26;
/// No contact with this id.
pub const SOTTO_ERROR_UNKNOWN_CONTACT: SottoStatus = 30;
/// The contact's new identity key waits for the user's decision.
pub const SOTTO_ERROR_IDENTITY_KEY_PENDING: SottoStatus = 31;
/// The contact has no new identity key to accept.
pub const SOTTO_ERROR_NO_IDENTITY_KEY_PENDING: SottoStatus = 32;
/// The queue is not one of this profile's.
pub const SOTTO_ERROR_UNKNOWN_QUEUE: SottoStatus = 33;
/// No message with this id in the conversation.
pub const SOTTO_ERROR_UNKNOWN_MESSAGE: SottoStatus = 34;
/// An invitation is malformed, altered, of another version, or already used.
pub const SOTTO_ERROR_INVITATION: SottoStatus = 40;
/// The messenger was shut down; open the profile again.
pub const SOTTO_ERROR_SHUT_DOWN: SottoStatus = 50;
/// A bug stopped the call inside the messenger (the profile is intact).
pub const SOTTO_ERROR_INTERNAL: SottoStatus = 51;
/// A pointer argument that must not be NULL was NULL.
pub const SOTTO_ERROR_NULL_ARGUMENT: SottoStatus = 100;
/// A string argument is not valid UTF-8.
pub const SOTTO_ERROR_INVALID_UTF8: SottoStatus = 101;
/// A bug in the library panicked; the call did nothing more (the handle stays usable).
pub const SOTTO_ERROR_PANIC: SottoStatus = 102;
/// The messenger did not answer within the call time limit (`SOTTO_CALL_TIMEOUT_SECONDS`
/// unless the settings changed it).
pub const SOTTO_ERROR_TIMEOUT: SottoStatus = 103;
/// An argument is outside what the call accepts (a relay address, a message id, a count).
pub const SOTTO_ERROR_INVALID_ARGUMENT: SottoStatus = 104;
/// Not an error: `sotto_subscription_next` found no event waiting.
pub const SOTTO_NO_EVENT: SottoStatus = 105;
/// A buffer the caller passed is too small; the call said how large it must be.
pub const SOTTO_ERROR_BUFFER_TOO_SMALL: SottoStatus = 106;

/// A failure on its way to C: the status and the message for `sotto_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: SottoStatus,
    pub message: String,
}

impl Failure {
    pub fn new(status: SottoStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn null(argument: &str) -> Self {
        Self::new(SOTTO_ERROR_NULL_ARGUMENT, format!("`{argument}` is NULL"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(SOTTO_ERROR_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::new(error.code() as SottoStatus, error.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: Option<&str>) {
    let message = message.map(|m| {
        // A message never holds NUL in practice; if one did, cut it there.
        let clean: String = m.chars().take_while(|c| *c != '\0').collect();
        CString::new(clean).unwrap_or_default()
    });
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
}

/// Runs one entry point's body: a panic becomes `SOTTO_ERROR_PANIC`, a failure its status;
/// either way the thread's last error message says why. Success clears it.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> SottoStatus {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Err(Failure::new(
            SOTTO_ERROR_PANIC,
            format!("a bug in the library: {why}"),
        ))
    });
    match outcome {
        Ok(()) => {
            set_last_error(None);
            SOTTO_OK
        }
        Err(failure) => {
            set_last_error(Some(&failure.message));
            failure.status
        }
    }
}

/// Runs a void entry point's body with panics caught (they leave a last error message).
pub(crate) fn guard_void(body: impl FnOnce()) {
    guard(|| {
        body();
        Ok(())
    });
}

/// The runtime that drives calls from C threads to the messenger (and their time limits).
fn runtime() -> Result<&'static tokio::runtime::Runtime, Failure> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("sotto-ffi")
                .enable_time()
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| Failure::new(SOTTO_ERROR_INTERNAL, "cannot start the library's runtime"))
}

/// Waits for a messenger call on the calling thread, at most `limit`.
pub(crate) fn block<T>(
    limit: Duration,
    call: impl Future<Output = sotto_core::Result<T>>,
) -> Result<T, Failure> {
    // The timer is made inside the runtime (it needs its time driver).
    match runtime()?.block_on(async { tokio::time::timeout(limit, call).await }) {
        Ok(result) => result.map_err(Failure::from),
        Err(_) => Err(Failure::new(
            SOTTO_ERROR_TIMEOUT,
            format!("the messenger did not answer within {} s", limit.as_secs()),
        )),
    }
}

/// The ABI version: `major << 16 | minor << 8 | patch` (compare it with the header's
/// `SOTTO_ABI_VERSION_*` macros).
#[unsafe(no_mangle)]
pub extern "C" fn sotto_abi_version() -> u32 {
    (SOTTO_ABI_VERSION_MAJOR << 16) | (SOTTO_ABI_VERSION_MINOR << 8) | SOTTO_ABI_VERSION_PATCH
}

/// Why the last call on this thread failed, in English, or NULL after a success. Owned by
/// the library: valid until the next `sotto_*` call on this thread; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn sotto_last_error_message() -> *const c_char {
    LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .map_or(std::ptr::null(), |message| message.as_ptr())
    })
}

/// Copies why the last call on this thread failed into `buffer` (`capacity` bytes, with
/// the terminating NUL), for hosts that keep strings in their own memory; `*out_len` is the
/// message's length without the NUL. Answers `SOTTO_ERROR_BUFFER_TOO_SMALL` when it does not
/// fit (then nothing is written but `*out_len`: call again with `*out_len + 1` bytes), and
/// writes an empty string after a success. Unlike every other call, it keeps the last
/// error as it was.
///
/// # Safety
/// `buffer` is NULL with `capacity` 0, or points to `capacity` writable bytes; `out_len` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_last_error_copy(
    buffer: *mut c_char,
    capacity: usize,
    out_len: *mut usize,
) -> SottoStatus {
    let copy = || {
        LAST_ERROR.with(|last| {
            let last = last.borrow();
            let message = last.as_ref().map_or(&[][..], |m| m.as_bytes());
            if !out_len.is_null() {
                // SAFETY: not NULL; the caller promises it is writable.
                unsafe { *out_len = message.len() };
            }
            if buffer.is_null() || capacity <= message.len() {
                return SOTTO_ERROR_BUFFER_TOO_SMALL;
            }
            // SAFETY: `buffer` holds `capacity` > `message.len()` writable bytes, and a
            // thread-local message cannot overlap the caller's buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(message.as_ptr(), buffer.cast::<u8>(), message.len());
                *buffer.add(message.len()) = 0;
            }
            SOTTO_OK
        })
    };
    catch_unwind(copy).unwrap_or(SOTTO_ERROR_PANIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_core::ErrorCode;

    #[test]
    fn the_core_error_codes_keep_their_numbers() {
        let pairs = [
            (SOTTO_ERROR_CONTENT, ErrorCode::Content),
            (SOTTO_ERROR_PADDING, ErrorCode::Padding),
            (SOTTO_ERROR_ATTACHMENT, ErrorCode::Attachment),
            (SOTTO_ERROR_SAFETY, ErrorCode::Safety),
            (SOTTO_ERROR_QR, ErrorCode::Qr),
            (SOTTO_ERROR_IDENTITY, ErrorCode::Identity),
            (SOTTO_ERROR_STORE, ErrorCode::Store),
            (SOTTO_ERROR_KEY, ErrorCode::Key),
            (SOTTO_ERROR_TRANSPORT, ErrorCode::Transport),
            (SOTTO_ERROR_RELAY_KEY_MISMATCH, ErrorCode::RelayKeyMismatch),
            (SOTTO_ERROR_UNTRUSTED_SENDER, ErrorCode::UntrustedSender),
            (
                SOTTO_ERROR_IDENTITY_KEY_CHANGED,
                ErrorCode::IdentityKeyChanged,
            ),
            (SOTTO_ERROR_DUPLICATE, ErrorCode::Duplicate),
            (SOTTO_ERROR_NO_SESSION, ErrorCode::NoSession),
            (SOTTO_ERROR_INVALID_BUNDLE, ErrorCode::InvalidBundle),
            (SOTTO_ERROR_INVALID_CIPHERTEXT, ErrorCode::InvalidCiphertext),
            (SOTTO_ERROR_PROTOCOL, ErrorCode::Protocol),
            (SOTTO_ERROR_UNKNOWN_CONTACT, ErrorCode::UnknownContact),
            (
                SOTTO_ERROR_IDENTITY_KEY_PENDING,
                ErrorCode::IdentityKeyPending,
            ),
            (
                SOTTO_ERROR_NO_IDENTITY_KEY_PENDING,
                ErrorCode::NoIdentityKeyPending,
            ),
            (SOTTO_ERROR_UNKNOWN_QUEUE, ErrorCode::UnknownQueue),
            (SOTTO_ERROR_UNKNOWN_MESSAGE, ErrorCode::UnknownMessage),
            (SOTTO_ERROR_INVITATION, ErrorCode::Invitation),
            (SOTTO_ERROR_SHUT_DOWN, ErrorCode::ShutDown),
            (SOTTO_ERROR_INTERNAL, ErrorCode::Internal),
        ];
        for (status, code) in pairs {
            assert_eq!(status, code as SottoStatus, "{code:?}");
        }
    }

    #[test]
    fn the_version_packs_major_minor_and_patch() {
        assert_eq!(
            sotto_abi_version(),
            (SOTTO_ABI_VERSION_MAJOR << 16)
                | (SOTTO_ABI_VERSION_MINOR << 8)
                | SOTTO_ABI_VERSION_PATCH
        );
    }
}
