//! Why a relay connection was refused.

use std::error::Error as StdError;

use super::RelayKey;

/// Why a connection to a relay failed, or a relay key could not be read.
///
/// The pinning verifier reports its refusals as rustls certificate errors that carry a
/// `TransportError`; HTTP clients and TLS streams wrap those in their own error types.
/// [`TransportError::from_error_chain`] finds the typed error again in any of them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The relay presented a certificate for another Ed25519 key than the one in its address:
    /// it is not the relay the address names (or someone is in the middle). Nothing was
    /// sent to it.
    #[error("relay key mismatch: the address pins {expected}, the relay presented {presented}")]
    KeyMismatch {
        /// The key from the relay address.
        expected: RelayKey,
        /// The key in the certificate the relay presented.
        presented: RelayKey,
    },
    /// The next hop of an onion packet presented a key whose digest is not the one in the
    /// packet's hop address (`docs/PROTOCOL.md` §19): not the relay the sender chose.
    #[error("hop key mismatch: the relay presented {presented}, whose digest is not the hop's")]
    HopKeyMismatch {
        /// The key in the certificate the relay presented.
        presented: RelayKey,
    },
    /// The relay's certificate carries a public key of another type than Ed25519, so it
    /// cannot be the key of any relay address.
    #[error(
        "the relay's certificate carries a {algorithm} key, not an Ed25519 key; the address pins {expected}"
    )]
    NotEd25519 {
        /// The key from the relay address.
        expected: RelayKey,
        /// The OID of the presented key's algorithm, dotted.
        algorithm: String,
    },
    /// The relay answered, and refused the request: a typed error of the relay API.
    #[error(transparent)]
    Relay(#[from] crate::relay::ApiError),
    /// The relay could not be reached or the connection broke (DNS, refused, reset,
    /// timeout). Safe to retry: the outbox does.
    #[error("the relay could not be reached: {0}")]
    Unreachable(String),
    /// The relay answered something the API does not allow (a wrong status, a malformed
    /// body): a broken or hostile relay.
    #[error("the relay gave an invalid answer: {0}")]
    InvalidAnswer(String),
    /// No onion path could carry the packet: too few usable relays, a relay that cannot be
    /// a hop, or every path tried failed (each failing relay was reported). Passing: the
    /// packet is kept and sent at the next sync, when failed relays are tried again.
    #[error("no onion path: {0}")]
    NoOnionPath(String),
    /// The request was for a queue on another relay than this client's.
    #[error("this queue lives on another relay")]
    WrongRelay,
    /// Reading an upload's ciphertext or writing a download failed on this device (a
    /// local I/O error, never the relay's fault).
    #[error("local I/O failed during a transfer: {0}")]
    Io(String),
    /// The relay's certificate is not a valid DER X.509 certificate.
    #[error("the relay's certificate is malformed: {reason}")]
    MalformedCertificate {
        /// What the parser refused.
        reason: String,
    },
    /// The TLS connection failed for another reason than the relay's key: a bad handshake
    /// signature, no common protocol version or cipher suite, an alert from the relay.
    #[error("TLS with the relay failed: {0}")]
    Tls(rustls::Error),
}

impl TransportError {
    /// The kind of failure as a stable name without its details (`unreachable`,
    /// `key_mismatch`, a relay's error code, ...): what a log may say where the details
    /// could name an address (a relay's logs name none).
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::KeyMismatch { .. } => "key_mismatch",
            TransportError::HopKeyMismatch { .. } => "hop_key_mismatch",
            TransportError::NotEd25519 { .. } => "not_ed25519",
            TransportError::Relay(api) => api.kind.code(),
            TransportError::Unreachable(_) => "unreachable",
            TransportError::InvalidAnswer(_) => "invalid_answer",
            TransportError::NoOnionPath(_) => "no_onion_path",
            TransportError::WrongRelay => "wrong_relay",
            TransportError::Io(_) => "io",
            TransportError::MalformedCertificate { .. } => "malformed_certificate",
            TransportError::Tls(_) => "tls",
        }
    }

    /// Finds the transport error inside `error` or anything it wraps, following
    /// [`std::error::Error::source`] and looking inside [`std::io::Error`]s (TLS streams
    /// report handshake failures as I/O errors) and rustls errors.
    ///
    /// A refusal by the pinning verifier comes back as the `TransportError` it made; any
    /// other rustls error as [`TransportError::Tls`]. `None` means the chain holds no TLS
    /// failure at all (a refused connection, a timeout, an HTTP error): the caller keeps its
    /// own error then.
    pub fn from_error_chain(error: &(dyn StdError + 'static)) -> Option<TransportError> {
        let mut next = Some(error);
        while let Some(current) = next {
            if let Some(found) = Self::from_single(current) {
                return Some(found);
            }
            // `io::Error::source` skips the error it wraps and returns that error's source,
            // so look at the wrapped error itself first.
            if let Some(inner) = current
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                let inner: &(dyn StdError + 'static) = inner;
                if let Some(found) = Self::from_error_chain(inner) {
                    return Some(found);
                }
            }
            next = current.source();
        }
        None
    }

    /// A failed connection or request: the typed TLS refusal found in `error`'s chain
    /// ([`TransportError::from_error_chain`]), else [`TransportError::Unreachable`].
    pub fn from_failure(error: &(dyn StdError + 'static)) -> TransportError {
        Self::from_error_chain(error)
            .unwrap_or_else(|| TransportError::Unreachable(error.to_string()))
    }

    /// Recognises one error, without following its sources.
    fn from_single(error: &(dyn StdError + 'static)) -> Option<TransportError> {
        if let Some(found) = error.downcast_ref::<TransportError>() {
            return Some(found.clone());
        }
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(Self::from(tls.clone()));
        }
        None
    }
}

impl From<rustls::Error> for TransportError {
    /// Unwraps a refusal made by the pinning verifier; any other rustls error stays
    /// [`TransportError::Tls`].
    fn from(error: rustls::Error) -> Self {
        use rustls::{CertificateError, Error};
        if let Error::InvalidCertificate(CertificateError::Other(other)) = &error {
            let inner: &(dyn StdError + 'static) = other.0.as_ref();
            if let Some(found) = inner.downcast_ref::<TransportError>() {
                return found.clone();
            }
        }
        TransportError::Tls(error)
    }
}
