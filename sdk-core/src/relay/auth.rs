//! Signed relay requests: who may write to a queue (the sender key) and who may read,
//! acknowledge and delete it (the recipient key).
//!
//! Queue keys are Curve25519 key pairs signing with XEdDSA, through libsignal (the same
//! primitive libsignal uses for signed prekeys). A request carries one header,
//!
//! ```text
//! Sotto-Auth: <timestamp>.<nonce>.<signature>
//! ```
//!
//! with the time in whole seconds since the Unix epoch (decimal, at most 20 digits), a
//! 16-byte random nonce and the 64-byte signature, both unpadded base64url. The signature
//! covers [`signed_bytes`]: a domain label, the relay's key (a request signed for one relay
//! means nothing to another), the time, the nonce, the method, the path and the BLAKE3
//! hash of the body. A relay accepts a request only within [`MAX_CLOCK_SKEW`] of its own
//! clock and only once per nonce, so a captured request cannot be replayed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libsignal_protocol::{KeyPair, PrivateKey, PublicKey};
use rand::{CryptoRng, Rng};

use super::address::RelayKey;

/// Name of the HTTP header that carries a request's signature.
pub const AUTH_HEADER: &str = "Sotto-Auth";
/// Length of a request nonce, in bytes.
pub const NONCE_LEN: usize = 16;
/// Length of an XEdDSA signature, in bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a serialized queue public key (type byte + 32 bytes).
pub const QUEUE_KEY_LEN: usize = 33;
/// How far a request's time may be from the relay's clock, in seconds, either way.
pub const MAX_CLOCK_SKEW: u64 = 300;
/// Longest accepted `Sotto-Auth` header value, in bytes.
pub const MAX_AUTH_HEADER_LEN: usize = 160;

/// Domain label at the start of every signed request.
const DOMAIN: &[u8] = b"sotto relay request v1\0";

/// Why a request's authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The `Sotto-Auth` header is absent.
    #[error("the request lacks its Sotto-Auth header")]
    Missing,
    /// The header is not `<timestamp>.<nonce>.<signature>` with the right encodings and
    /// lengths.
    #[error("the Sotto-Auth header is malformed: {0}")]
    Malformed(&'static str),
    /// A queue key is not 33 bytes of a valid Curve25519 public key.
    #[error("not a valid queue key")]
    InvalidKey,
    /// The signature does not verify with the queue's key.
    #[error("the request signature does not verify")]
    BadSignature,
    /// The request's time is more than [`MAX_CLOCK_SKEW`] seconds from the relay's clock.
    #[error(
        "the request time is {skew} s away from the relay's clock (at most {MAX_CLOCK_SKEW} s allowed)"
    )]
    Stale {
        /// Distance from the relay's clock, in seconds.
        skew: u64,
    },
    /// This nonce was used before: a replayed request.
    #[error("the request was already received (replay)")]
    Replayed,
    /// libsignal could not sign (not expected for a valid key).
    #[error("signing the request failed: {0}")]
    SigningFailed(String),
}

/// A queue's signing key pair (recipient or sender key). The private half never leaves the
/// device, except a sender key handed to a contact inside an invitation.
#[derive(Clone)]
pub struct QueueKeyPair(KeyPair);

impl std::fmt::Debug for QueueKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("QueueKeyPair").field(&self.public()).finish()
    }
}

/// Two key pairs are equal when their public halves are (the public key follows from the
/// private one).
impl PartialEq for QueueKeyPair {
    fn eq(&self, other: &Self) -> bool {
        self.public() == other.public()
    }
}

impl Eq for QueueKeyPair {}

impl QueueKeyPair {
    /// A fresh key pair.
    pub fn generate<R: Rng + CryptoRng>(rng: &mut R) -> Self {
        Self(KeyPair::generate(rng))
    }

    /// The public half.
    pub fn public(&self) -> QueuePublicKey {
        QueuePublicKey(self.0.public_key)
    }

    /// The private key's 32 bytes (to store, or to hand over in an invitation), wiped
    /// when dropped.
    pub fn private_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.0.private_key.serialize())
    }

    /// Rebuilds a key pair from its private key bytes.
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        let private = PrivateKey::deserialize(bytes).map_err(|_| AuthError::InvalidKey)?;
        let public = private.public_key().map_err(|_| AuthError::InvalidKey)?;
        Ok(Self(KeyPair::new(public, private)))
    }

    /// Signs one request for `relay` and returns its `Sotto-Auth` header.
    pub fn sign<R: Rng + CryptoRng>(
        &self,
        relay: &RelayKey,
        unix_seconds: u64,
        method: &str,
        path: &str,
        body: &[u8],
        rng: &mut R,
    ) -> Result<AuthHeader, AuthError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let message = signed_bytes(relay, unix_seconds, &nonce, method, path, body);
        let signature = self
            .0
            .private_key
            .calculate_signature(&message, rng)
            .map_err(|e| AuthError::SigningFailed(e.to_string()))?;
        let signature = <[u8; SIGNATURE_LEN]>::try_from(&signature[..])
            .map_err(|_| AuthError::SigningFailed("the signature is not 64 bytes".into()))?;
        Ok(AuthHeader {
            unix_seconds,
            nonce,
            signature,
        })
    }
}

/// A queue's public key, as the relay stores it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueuePublicKey(PublicKey);

impl std::fmt::Debug for QueuePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "QueuePublicKey({})",
            URL_SAFE_NO_PAD.encode(self.to_bytes())
        )
    }
}

impl QueuePublicKey {
    /// The 33 serialized bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.serialize().to_vec()
    }

    /// Parses exactly 33 bytes of a Curve25519 public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        if bytes.len() != QUEUE_KEY_LEN {
            return Err(AuthError::InvalidKey);
        }
        PublicKey::deserialize(bytes)
            .map(Self)
            .map_err(|_| AuthError::InvalidKey)
    }

    /// Checks a request's signature against this key (time and replay are the relay's
    /// business: [`AuthHeader::check_time`]).
    pub fn verify(
        &self,
        header: &AuthHeader,
        relay: &RelayKey,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(), AuthError> {
        let message = signed_bytes(
            relay,
            header.unix_seconds,
            &header.nonce,
            method,
            path,
            body,
        );
        if self.0.verify_signature(&message, &header.signature) {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }
}

/// A parsed `Sotto-Auth` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// When the request was signed, in seconds since the Unix epoch.
    pub unix_seconds: u64,
    /// The request's random nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The XEdDSA signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl AuthHeader {
    /// The header value: `<timestamp>.<nonce>.<signature>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.unix_seconds,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    /// Parses a header value strictly.
    pub fn parse(value: &[u8]) -> Result<Self, AuthError> {
        if value.len() > MAX_AUTH_HEADER_LEN {
            return Err(AuthError::Malformed("too long"));
        }
        let value = std::str::from_utf8(value).map_err(|_| AuthError::Malformed("not ASCII"))?;
        let mut parts = value.split('.');
        let (Some(time), Some(nonce), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed(
                "expected <timestamp>.<nonce>.<signature>",
            ));
        };
        if time.is_empty() || time.len() > 20 || !time.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::Malformed(
                "the timestamp is not a decimal number",
            ));
        }
        let unix_seconds = time
            .parse()
            .map_err(|_| AuthError::Malformed("the timestamp is out of range"))?;
        let nonce = decode_exact::<NONCE_LEN>(nonce).ok_or(AuthError::Malformed(
            "the nonce is not 16 bytes of base64url",
        ))?;
        let signature = decode_exact::<SIGNATURE_LEN>(signature).ok_or(AuthError::Malformed(
            "the signature is not 64 bytes of base64url",
        ))?;
        Ok(Self {
            unix_seconds,
            nonce,
            signature,
        })
    }

    /// Refuses a request signed more than [`MAX_CLOCK_SKEW`] seconds from `now_seconds`.
    pub fn check_time(&self, now_seconds: u64) -> Result<(), AuthError> {
        let skew = self.unix_seconds.abs_diff(now_seconds);
        if skew > MAX_CLOCK_SKEW {
            Err(AuthError::Stale { skew })
        } else {
            Ok(())
        }
    }
}

fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()
}

/// The bytes a request signature covers:
///
/// ```text
/// "sotto relay request v1\0" || relay key (32) || time (u64 big-endian) || nonce (16)
///   || len(method) (u16 BE) || method || len(path) (u16 BE) || path || BLAKE3(body) (32)
/// ```
///
/// Method and path longer than 65535 bytes are cut at that length (a relay refuses such
/// requests long before).
pub fn signed_bytes(
    relay: &RelayKey,
    unix_seconds: u64,
    nonce: &[u8; NONCE_LEN],
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 32 + 8 + NONCE_LEN + 4 + path.len() + 40);
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(relay.as_bytes());
    out.extend_from_slice(&unix_seconds.to_be_bytes());
    out.extend_from_slice(nonce);
    for field in [method.as_bytes(), path.as_bytes()] {
        let field = &field[..field.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(field.len() as u16).to_be_bytes());
        out.extend_from_slice(field);
    }
    out.extend_from_slice(blake3::hash(body).as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> RelayKey {
        RelayKey::from_bytes([7; 32])
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let mut rng = rand::rng();
        let key = QueueKeyPair::generate(&mut rng);
        let header = key
            .sign(
                &relay(),
                1_800_000_000,
                "POST",
                "/v1/send/abc",
                b"body",
                &mut rng,
            )
            .unwrap();
        let parsed = AuthHeader::parse(header.encode().as_bytes()).unwrap();
        assert_eq!(parsed, header);
        let public = key.public();
        assert_eq!(
            public.verify(&parsed, &relay(), "POST", "/v1/send/abc", b"body"),
            Ok(())
        );
        let other_relay = RelayKey::from_bytes([8; 32]);
        let other_key = QueueKeyPair::generate(&mut rng).public();
        let mut later = parsed.clone();
        later.unix_seconds += 1;
        for (what, result) in [
            (
                "relay",
                public.verify(&parsed, &other_relay, "POST", "/v1/send/abc", b"body"),
            ),
            (
                "method",
                public.verify(&parsed, &relay(), "GET", "/v1/send/abc", b"body"),
            ),
            (
                "path",
                public.verify(&parsed, &relay(), "POST", "/v1/send/abd", b"body"),
            ),
            (
                "body",
                public.verify(&parsed, &relay(), "POST", "/v1/send/abc", b"bodz"),
            ),
            (
                "key",
                other_key.verify(&parsed, &relay(), "POST", "/v1/send/abc", b"body"),
            ),
            (
                "time",
                public.verify(&later, &relay(), "POST", "/v1/send/abc", b"body"),
            ),
        ] {
            assert_eq!(result, Err(AuthError::BadSignature), "changed {what}");
        }
        let restored = QueueKeyPair::from_private_bytes(&key.private_bytes()).unwrap();
        assert_eq!(restored.public(), public);
    }

    #[test]
    fn malformed_headers_and_stale_times_are_refused() {
        let good = AuthHeader {
            unix_seconds: 1000,
            nonce: [1; 16],
            signature: [2; 64],
        }
        .encode();
        let (time, rest) = good.split_once('.').unwrap();
        let (nonce, signature) = rest.split_once('.').unwrap();
        for bad in [
            String::new(),
            "1000".into(),
            format!("{time}.{nonce}"),
            format!("{good}.x"),
            format!("+1.{nonce}.{signature}"),
            format!("99999999999999999999.{nonce}.{signature}"),
            format!("{time}.{nonce}A.{signature}"),
            format!("{time}.{nonce}.{}", &signature[1..]),
            format!("{time}.!!.{signature}"),
            "x".repeat(200),
        ] {
            assert!(
                matches!(
                    AuthHeader::parse(bad.as_bytes()),
                    Err(AuthError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        assert!(AuthHeader::parse(&[0xff, b'.', b'.']).is_err());
        let header = AuthHeader::parse(good.as_bytes()).unwrap();
        assert_eq!(header.check_time(1000 + MAX_CLOCK_SKEW), Ok(()));
        assert_eq!(header.check_time(1000 - MAX_CLOCK_SKEW), Ok(()));
        assert_eq!(
            header.check_time(1001 + MAX_CLOCK_SKEW),
            Err(AuthError::Stale { skew: 301 })
        );
        assert!(QueuePublicKey::from_bytes(&[5; 32]).is_err());
        assert!(QueuePublicKey::from_bytes(&[0; 33]).is_err());
    }
}
