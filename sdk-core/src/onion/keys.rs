//! Relays' Sphinx keys: one X25519 key pair per key epoch, announced signed.
//!
//! A relay makes a fresh Sphinx key for every epoch (its length is the relay's setting,
//! one hour by default) and deletes it once the epoch and a grace period after it are
//! over, so a recorded packet cannot be opened later. `/v1/info` publishes the current
//! and the next epoch's public keys as [`WireAnnouncement`]s, each signed by the relay's
//! Ed25519 identity key over
//!
//! ```text
//! "sotto sphinx key v1\0" ‖ relay key (32) ‖ epoch (u64 BE) ‖ not before (u64 BE)
//!   ‖ not after (u64 BE) ‖ Sphinx public key (32)
//! ```
//!
//! (times in Unix seconds; the key is for packets sent in `[not before, not after)`).
//! A client checks the signature against the key in the relay's address before it builds
//! a packet for the relay.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{CryptoRng, Rng};
use zeroize::Zeroize as _;

use crate::relay::RelayKey;
pub use crate::relay::api::WireAnnouncement;

const DOMAIN: &[u8] = b"sotto sphinx key v1\0";

/// Why an announced Sphinx key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnouncementError {
    /// A field is not the right length of unpadded base64url.
    #[error("the Sphinx key announcement is malformed: {0}")]
    Malformed(&'static str),
    /// The validity window is empty or reversed.
    #[error("the Sphinx key announcement's validity window is empty")]
    EmptyWindow,
    /// The signature does not verify with the relay's identity key.
    #[error("the Sphinx key announcement is not signed by the relay")]
    BadSignature,
}

/// A relay's Sphinx public key (X25519).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SphinxPublicKey(pub [u8; 32]);

impl SphinxPublicKey {
    pub(crate) fn to_sphinx(self) -> sphinx_packet::crypto::PublicKey {
        sphinx_packet::crypto::PublicKey::from(self.0)
    }
}

/// A relay's Sphinx private key for one epoch (X25519), wiped when dropped.
pub struct SphinxSecret(sphinx_packet::crypto::PrivateKey);

impl std::fmt::Debug for SphinxSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SphinxSecret").field(&self.public()).finish()
    }
}

impl SphinxSecret {
    /// A fresh key.
    pub fn generate<R: Rng + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let secret = Self::from_bytes(bytes);
        bytes.zeroize();
        secret
    }

    /// A key from its 32 bytes (as stored by the relay).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(sphinx_packet::crypto::PrivateKey::from(bytes))
    }

    /// The key's 32 bytes (for the relay's key file).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> SphinxPublicKey {
        SphinxPublicKey(sphinx_packet::crypto::PublicKey::from(&self.0).to_bytes())
    }

    pub(crate) fn as_sphinx(&self) -> &sphinx_packet::crypto::PrivateKey {
        &self.0
    }
}

/// A relay's Sphinx public key for one epoch, with the relay's signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SphinxKeyAnnouncement {
    /// The relay that signed it.
    pub relay: RelayKey,
    /// The epoch number.
    pub epoch: u64,
    /// First second (Unix) packets may be built with the key.
    pub not_before: u64,
    /// First second (Unix) packets may no longer be built with it.
    pub not_after: u64,
    /// The Sphinx public key.
    pub key: SphinxPublicKey,
    /// The relay's Ed25519 signature over [`SphinxKeyAnnouncement::signed_bytes`].
    pub signature: [u8; 64],
}

impl SphinxKeyAnnouncement {
    /// The bytes the relay signs.
    pub fn signed_bytes(
        relay: &RelayKey,
        epoch: u64,
        not_before: u64,
        not_after: u64,
        key: &SphinxPublicKey,
    ) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(DOMAIN.len() + 32 + 24 + 32);
        bytes.extend_from_slice(DOMAIN);
        bytes.extend_from_slice(relay.as_bytes());
        bytes.extend_from_slice(&epoch.to_be_bytes());
        bytes.extend_from_slice(&not_before.to_be_bytes());
        bytes.extend_from_slice(&not_after.to_be_bytes());
        bytes.extend_from_slice(&key.0);
        bytes
    }

    /// Checks a signed announcement of `relay`.
    pub fn verify(
        relay: &RelayKey,
        epoch: u64,
        not_before: u64,
        not_after: u64,
        key: SphinxPublicKey,
        signature: [u8; 64],
    ) -> Result<Self, AnnouncementError> {
        if not_after <= not_before {
            return Err(AnnouncementError::EmptyWindow);
        }
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(relay.as_bytes())
            .map_err(|_| AnnouncementError::BadSignature)?;
        let message = Self::signed_bytes(relay, epoch, not_before, not_after, &key);
        verifying
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .map_err(|_| AnnouncementError::BadSignature)?;
        Ok(Self {
            relay: *relay,
            epoch,
            not_before,
            not_after,
            key,
            signature,
        })
    }

    /// Parses and checks the JSON form published by `relay`.
    pub fn from_wire(relay: &RelayKey, wire: &WireAnnouncement) -> Result<Self, AnnouncementError> {
        let key = decode::<32>(&wire.key, "the key is 32 bytes of unpadded base64url")?;
        let signature = decode::<64>(
            &wire.signature,
            "the signature is 64 bytes of unpadded base64url",
        )?;
        Self::verify(
            relay,
            wire.epoch,
            wire.not_before,
            wire.not_after,
            SphinxPublicKey(key),
            signature,
        )
    }

    /// The JSON form.
    pub fn to_wire(&self) -> WireAnnouncement {
        WireAnnouncement {
            epoch: self.epoch,
            not_before: self.not_before,
            not_after: self.not_after,
            key: URL_SAFE_NO_PAD.encode(self.key.0),
            signature: URL_SAFE_NO_PAD.encode(self.signature),
        }
    }

    /// Whether a packet built at `unix_seconds` may use the key.
    pub fn covers(&self, unix_seconds: u64) -> bool {
        (self.not_before..self.not_after).contains(&unix_seconds)
    }
}

/// Fuzzing entry point: parses arbitrary bytes as a relay's JSON announcement and checks it
/// against a fixed relay key; never panics.
#[cfg(feature = "fuzzing")]
pub fn fuzz_parse_announcement(bytes: &[u8]) {
    if let Ok(wire) = serde_json::from_slice::<WireAnnouncement>(bytes) {
        let relay = RelayKey::from_bytes([9; 32]);
        let _ = SphinxKeyAnnouncement::from_wire(&relay, &wire);
    }
}

fn decode<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], AnnouncementError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or(AnnouncementError::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;

    fn signed(signing: &ed25519_dalek::SigningKey, epoch: u64) -> (RelayKey, WireAnnouncement) {
        let relay = RelayKey::from_bytes(signing.verifying_key().to_bytes());
        let key = SphinxSecret::generate(&mut rand::rng()).public();
        let message = SphinxKeyAnnouncement::signed_bytes(&relay, epoch, 100, 200, &key);
        let signature = signing.sign(&message).to_bytes();
        let wire = WireAnnouncement {
            epoch,
            not_before: 100,
            not_after: 200,
            key: URL_SAFE_NO_PAD.encode(key.0),
            signature: URL_SAFE_NO_PAD.encode(signature),
        };
        (relay, wire)
    }

    #[test]
    fn a_signed_announcement_verifies_and_round_trips() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let (relay, wire) = signed(&signing, 7);
        let announcement = SphinxKeyAnnouncement::from_wire(&relay, &wire).unwrap();
        assert_eq!(announcement.to_wire(), wire);
        assert!(announcement.covers(100) && announcement.covers(199));
        assert!(!announcement.covers(200) && !announcement.covers(99));
    }

    #[test]
    fn any_change_or_another_relay_is_refused() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let (relay, wire) = signed(&signing, 7);
        let mut later = wire.clone();
        later.not_after = 300;
        let mut other_epoch = wire.clone();
        other_epoch.epoch = 8;
        for changed in [later, other_epoch] {
            assert_eq!(
                SphinxKeyAnnouncement::from_wire(&relay, &changed),
                Err(AnnouncementError::BadSignature)
            );
        }
        let other = RelayKey::from_bytes(
            ed25519_dalek::SigningKey::from_bytes(&[4u8; 32])
                .verifying_key()
                .to_bytes(),
        );
        assert_eq!(
            SphinxKeyAnnouncement::from_wire(&other, &wire),
            Err(AnnouncementError::BadSignature)
        );
        let mut short = wire.clone();
        short.key.pop();
        assert!(matches!(
            SphinxKeyAnnouncement::from_wire(&relay, &short),
            Err(AnnouncementError::Malformed(_))
        ));
        let mut empty = wire;
        empty.not_after = empty.not_before;
        assert_eq!(
            SphinxKeyAnnouncement::from_wire(&relay, &empty),
            Err(AnnouncementError::EmptyWindow)
        );
    }
}
