//! The one error type of the core, with stable codes for every boundary.
//!
//! Each module owns a precise error enum (`ContentError`, `PaddingError`, ...); [`Error`]
//! gathers them so that shells map errors once. [`ErrorCode`] values are part of the public
//! ABI: never renumber one, only add.

use crate::attachment::AttachmentError;
use crate::content::ContentError;
use crate::identity::IdentityError;
use crate::invitation::InvitationError;
use crate::padding::PaddingError;
use crate::qr::QrError;
use crate::safety::SafetyError;
use crate::store::{KeyError, StoreError};
#[cfg(feature = "transport")]
use crate::transport::TransportError;

/// Every failure the core reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A content frame could not be encoded or decoded.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A packet's padding is malformed, or content does not fit one packet.
    #[error(transparent)]
    Padding(#[from] PaddingError),
    /// An attachment failed to encrypt, decrypt or verify.
    #[error(transparent)]
    Attachment(#[from] AttachmentError),
    /// A safety number could not be computed or compared.
    #[error(transparent)]
    Safety(#[from] SafetyError),
    /// A QR code could not be rendered.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// An identity could not be parsed, generated or loaded.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The store failed to read or write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An invitation is malformed, altered or already used.
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    /// A profile's database key could not be made, sealed or unsealed, or its key header is
    /// malformed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A relay connection was refused: the relay's key is not the one in its address, or
    /// TLS failed (feature `transport`).
    #[cfg(feature = "transport")]
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A sealed message's sender certificate is forged, expired or inconsistent: it proves
    /// nothing about who sent it, so the message was not decrypted.
    #[error("untrusted sealed sender: {0}")]
    UntrustedSender(String),
    /// A valid sealed message arrived from an identity key other than the one trusted for
    /// this contact: a stranger holding the queue's send capability, or the contact's key
    /// changed. Nothing was decrypted; the user must accept the new key first.
    #[error("the sender's identity key is not the key trusted for this contact")]
    IdentityKeyChanged {
        /// The key the contact is trusted with.
        trusted: Box<libsignal_protocol::IdentityKey>,
        /// The key the message's certificate presents.
        presented: Box<libsignal_protocol::IdentityKey>,
    },
    /// This ciphertext was already decrypted once (a replay or a duplicate delivery).
    #[error("message already received (duplicate or replay)")]
    Duplicate,
    /// There is no session with this contact yet.
    #[error("no session with this contact")]
    NoSession,
    /// A session start was refused: the bundle lacks the post-quantum (Kyber) prekey, or a
    /// signature on it is wrong.
    #[error("invalid prekey bundle: {0}")]
    InvalidBundle(String),
    /// The ciphertext is malformed or failed authentication.
    #[error("invalid ciphertext: {0}")]
    InvalidCiphertext(String),
    /// No contact with this id.
    #[error("no contact with id {0}")]
    UnknownContact(String),
    /// The contact presented a new identity key that the user has not accepted yet.
    #[error("contact {0} has a new identity key pending: accept it first")]
    IdentityKeyPending(String),
    /// There is no new identity key to accept for this contact.
    #[error("contact {0} has no new identity key pending")]
    NoIdentityKeyPending(String),
    /// The queue is not one of this profile's, or not of the kind the call needs.
    #[error("not a queue for this: {0}")]
    UnknownQueue(String),
    /// Any other failure inside libsignal, with its message.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No message with this id in the conversation.
    #[error("no message {0} in this conversation")]
    UnknownMessage(String),
    /// The handle was shut down (or its background thread is gone): nothing more can be
    /// done with it; open the profile again.
    #[error("the messenger is shut down")]
    ShutDown,
    /// A bug in Sotto stopped this call (a panic, caught at the handle). The profile on
    /// disk is intact: every change is applied atomically or not at all.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Stable numeric codes, one per class of [`Error`], shared by every boundary (C, UniFFI,
/// wasm). Codes never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorCode {
    /// Malformed or unsupported content frame.
    Content = 10,
    /// Malformed padding, or content too large for one packet.
    Padding = 11,
    /// Attachment failure (including tampering or truncation).
    Attachment = 12,
    /// Safety number failure.
    Safety = 13,
    /// QR rendering failure.
    Qr = 14,
    /// Identity parse or load failure.
    Identity = 15,
    /// Store failure.
    Store = 16,
    /// Database key failure: malformed key header, keychain unavailable or missing its
    /// entry, passphrase required or empty.
    Key = 17,
    /// Relay connection failure: TLS failed, or a relay key is malformed.
    Transport = 18,
    /// The relay presented another key than the one in its address (or no Ed25519 key).
    RelayKeyMismatch = 19,
    /// Untrusted sealed-sender certificate.
    UntrustedSender = 20,
    /// Identity key differs from the trusted one.
    IdentityKeyChanged = 21,
    /// Duplicate or replayed message.
    Duplicate = 22,
    /// No session with this contact.
    NoSession = 23,
    /// Invalid prekey bundle.
    InvalidBundle = 24,
    /// Invalid ciphertext.
    InvalidCiphertext = 25,
    /// Other protocol failure.
    Protocol = 26,
    /// Unknown contact id.
    UnknownContact = 30,
    /// A new identity key is pending for the contact.
    IdentityKeyPending = 31,
    /// No new identity key is pending for the contact.
    NoIdentityKeyPending = 32,
    /// Unknown queue, or a queue of the wrong kind.
    UnknownQueue = 33,
    /// Malformed, altered or used invitation.
    Invitation = 40,
    /// [`Error::UnknownMessage`].
    UnknownMessage = 34,
    /// [`Error::ShutDown`].
    ShutDown = 50,
    /// [`Error::Internal`].
    Internal = 51,
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Content(_) => ErrorCode::Content,
            Error::Padding(_) => ErrorCode::Padding,
            Error::Attachment(_) => ErrorCode::Attachment,
            Error::Safety(_) => ErrorCode::Safety,
            Error::Qr(_) => ErrorCode::Qr,
            Error::Identity(_) => ErrorCode::Identity,
            Error::Store(_) => ErrorCode::Store,
            Error::Key(_) => ErrorCode::Key,
            Error::Invitation(_) => ErrorCode::Invitation,
            #[cfg(feature = "transport")]
            Error::Transport(
                TransportError::KeyMismatch { .. }
                | TransportError::HopKeyMismatch { .. }
                | TransportError::NotEd25519 { .. },
            ) => ErrorCode::RelayKeyMismatch,
            #[cfg(feature = "transport")]
            Error::Transport(_) => ErrorCode::Transport,
            Error::UntrustedSender(_) => ErrorCode::UntrustedSender,
            Error::IdentityKeyChanged { .. } => ErrorCode::IdentityKeyChanged,
            Error::Duplicate => ErrorCode::Duplicate,
            Error::NoSession => ErrorCode::NoSession,
            Error::InvalidBundle(_) => ErrorCode::InvalidBundle,
            Error::InvalidCiphertext(_) => ErrorCode::InvalidCiphertext,
            Error::Protocol(_) => ErrorCode::Protocol,
            Error::UnknownContact(_) => ErrorCode::UnknownContact,
            Error::IdentityKeyPending(_) => ErrorCode::IdentityKeyPending,
            Error::NoIdentityKeyPending(_) => ErrorCode::NoIdentityKeyPending,
            Error::UnknownQueue(_) => ErrorCode::UnknownQueue,
            Error::UnknownMessage(_) => ErrorCode::UnknownMessage,
            Error::ShutDown => ErrorCode::ShutDown,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<libsignal_protocol::SignalProtocolError> for Error {
    /// Maps libsignal's errors to the classes callers act on; the message keeps the detail.
    fn from(e: libsignal_protocol::SignalProtocolError) -> Self {
        use libsignal_protocol::SignalProtocolError as E;
        match e {
            E::DuplicatedMessage(..) => Error::Duplicate,
            E::SessionNotFound(_) => Error::NoSession,
            E::SignatureValidationFailed => {
                Error::InvalidBundle("a prekey signature does not verify".into())
            }
            E::ApplicationCallbackError(_, source) => {
                let source: &(dyn std::error::Error + 'static) = &*source;
                match source.downcast_ref::<crate::store::StoreError>() {
                    Some(store_error) => Error::Store(store_error.clone()),
                    None => Error::Protocol(source.to_string()),
                }
            }
            E::InvalidProtobufEncoding
            | E::CiphertextMessageTooShort(_)
            | E::LegacyCiphertextVersion(_)
            | E::UnrecognizedCiphertextVersion(_)
            | E::UnrecognizedMessageVersion(_)
            | E::NoKeyTypeIdentifier
            | E::BadKeyType(_)
            | E::BadKeyLength(..)
            | E::InvalidPreKeyId
            | E::InvalidSignedPreKeyId
            | E::InvalidKyberPreKeyId
            | E::InvalidMacKeyLength(_)
            | E::InvalidMessage(..)
            | E::InvalidSealedSenderMessage(_)
            | E::UnknownSealedSenderVersion(_)
            | E::UnknownSealedSenderServerCertificateId(_)
            | E::BadKEMKeyType(_)
            | E::WrongKEMKeyType(..)
            | E::BadKEMKeyLength(..)
            | E::BadKEMCiphertextLength(..) => Error::InvalidCiphertext(e.to_string()),
            other => Error::Protocol(other.to_string()),
        }
    }
}
