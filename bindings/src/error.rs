//! The one error type of the bindings: the core's stable code and the reason for people.
//! In Python it is the exception `SottoError.Failed` (catch `SottoError`), in Kotlin
//! `SottoException.Failed`, in Swift `SottoError.failed`; each has `code` and `reason`
//! (not `message`, which Kotlin's `Throwable` already has; the exception's own message
//! carries both).

/// Why a call failed: the core's stable error codes (the same numbers as the C ABI's
/// `SOTTO_ERROR_*`), plus [`ErrorCode::InvalidArgument`] for arguments the bindings
/// themselves refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
#[repr(u32)]
pub enum ErrorCode {
    /// A content frame is malformed or invalid (a text too long, a field out of range).
    Content = 10,
    /// A packet's padding is malformed.
    Padding = 11,
    /// An attachment could not be read, written, encrypted or checked.
    Attachment = 12,
    /// A safety-number operation failed.
    Safety = 13,
    /// A QR code could not be made or read.
    Qr = 14,
    /// An identity (text or bytes) is malformed.
    Identity = 15,
    /// The store failed (I/O, a damaged file, a profile that is not there or already there).
    Store = 16,
    /// The database key: a wrong or missing passphrase, a missing keychain entry.
    Key = 17,
    /// The network: a relay could not be reached or refused.
    Transport = 18,
    /// A relay presented another key than its address names.
    RelayKeyMismatch = 19,
    /// A packet's sender could not be trusted.
    UntrustedSender = 20,
    /// A contact presented a new identity key.
    IdentityKeyChanged = 21,
    /// A packet was seen before.
    Duplicate = 22,
    /// No session with the contact yet.
    NoSession = 23,
    /// A prekey bundle is invalid.
    InvalidBundle = 24,
    /// A ciphertext could not be opened.
    InvalidCiphertext = 25,
    /// The protocol failed in another way.
    Protocol = 26,
    /// No contact with this id.
    UnknownContact = 30,
    /// The contact's new identity key waits for the user's decision.
    IdentityKeyPending = 31,
    /// The contact has no new identity key to accept.
    NoIdentityKeyPending = 32,
    /// The queue is not one of this profile's.
    UnknownQueue = 33,
    /// No message with this id in the conversation.
    UnknownMessage = 34,
    /// An invitation is malformed, altered, of another version, or already used.
    Invitation = 40,
    /// The messenger was shut down; open the profile again.
    ShutDown = 50,
    /// A bug stopped the call inside the library (the profile is intact).
    Internal = 51,
    /// An argument is outside what the call accepts (a message id, a relay address, a
    /// count).
    InvalidArgument = 104,
}

impl From<sotto_core::ErrorCode> for ErrorCode {
    fn from(code: sotto_core::ErrorCode) -> Self {
        use sotto_core::ErrorCode as Core;
        match code {
            Core::Content => Self::Content,
            Core::Padding => Self::Padding,
            Core::Attachment => Self::Attachment,
            Core::Safety => Self::Safety,
            Core::Qr => Self::Qr,
            Core::Identity => Self::Identity,
            Core::Store => Self::Store,
            Core::Key => Self::Key,
            Core::Transport => Self::Transport,
            Core::RelayKeyMismatch => Self::RelayKeyMismatch,
            Core::UntrustedSender => Self::UntrustedSender,
            Core::IdentityKeyChanged => Self::IdentityKeyChanged,
            Core::Duplicate => Self::Duplicate,
            Core::NoSession => Self::NoSession,
            Core::InvalidBundle => Self::InvalidBundle,
            Core::InvalidCiphertext => Self::InvalidCiphertext,
            Core::Protocol => Self::Protocol,
            Core::UnknownContact => Self::UnknownContact,
            Core::IdentityKeyPending => Self::IdentityKeyPending,
            Core::NoIdentityKeyPending => Self::NoIdentityKeyPending,
            Core::UnknownQueue => Self::UnknownQueue,
            Core::UnknownMessage => Self::UnknownMessage,
            Core::Invitation => Self::Invitation,
            Core::ShutDown => Self::ShutDown,
            Core::Internal => Self::Internal,
        }
    }
}

/// A failed call: its stable code and why, in English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SottoError {
    /// The call did nothing (or, for a send, nothing that is not in the outbox).
    #[error("{reason} (code {code:?})")]
    Failed {
        /// What went wrong, to branch on.
        code: ErrorCode,
        /// Why, for people and logs.
        reason: String,
    },
}

impl SottoError {
    /// An argument the bindings refuse before calling the core.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Failed {
            code: ErrorCode::InvalidArgument,
            reason: message.into(),
        }
    }

    /// A bug (a panic on the runtime, a runtime that cannot start).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Failed {
            code: ErrorCode::Internal,
            reason: message.into(),
        }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Failed { code, .. } => *code,
        }
    }
}

impl From<sotto_core::Error> for SottoError {
    fn from(error: sotto_core::Error) -> Self {
        Self::Failed {
            code: error.code().into(),
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_keeps_the_core_number() {
        use sotto_core::ErrorCode as Core;
        let all = [
            Core::Content,
            Core::Padding,
            Core::Attachment,
            Core::Safety,
            Core::Qr,
            Core::Identity,
            Core::Store,
            Core::Key,
            Core::Transport,
            Core::RelayKeyMismatch,
            Core::UntrustedSender,
            Core::IdentityKeyChanged,
            Core::Duplicate,
            Core::NoSession,
            Core::InvalidBundle,
            Core::InvalidCiphertext,
            Core::Protocol,
            Core::UnknownContact,
            Core::IdentityKeyPending,
            Core::NoIdentityKeyPending,
            Core::UnknownQueue,
            Core::UnknownMessage,
            Core::Invitation,
            Core::ShutDown,
            Core::Internal,
        ];
        for code in all {
            assert_eq!(ErrorCode::from(code) as u32, code as u32, "{code:?}");
        }
    }
}
