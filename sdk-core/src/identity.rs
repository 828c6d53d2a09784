//! Identity as a key: a libsignal identity key pair made on the device, no phone number, no
//! e-mail, no account. The public half is the user's whole public identity.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libsignal_protocol::{DeviceId, IdentityKey, IdentityKeyPair, ProtocolAddress};
use rand::{CryptoRng, Rng};

use crate::store::{ChangeSet, IdentityRecord, Store, StoreError};

/// Prefix of the text form of a public identity.
pub const PUBLIC_IDENTITY_PREFIX: &str = "sotto-id:";

/// Longest accepted display name, in bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 128;

/// Serialized identity key length: one type byte and a 32-byte Curve25519 key.
const IDENTITY_KEY_LEN: usize = 33;

/// The only libsignal device id Sotto uses: one identity, one device.
pub(crate) fn device_id() -> DeviceId {
    DeviceId::new(1).expect("1 is a valid device id")
}

/// Why an identity could not be parsed, made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The text form does not start with `sotto-id:`.
    #[error("not a Sotto identity: it must start with \"{PUBLIC_IDENTITY_PREFIX}\"")]
    MissingPrefix,
    /// The text after the prefix is not unpadded base64url.
    #[error("identity text is not valid base64url")]
    InvalidEncoding,
    /// The key bytes have the wrong length.
    #[error("identity key must be {IDENTITY_KEY_LEN} bytes, found {0}")]
    InvalidLength(usize),
    /// The bytes are not a valid Curve25519 identity key.
    #[error("not a valid identity key: {0}")]
    InvalidKey(String),
    /// The display name is too long or contains control characters.
    #[error(
        "display name must be at most {MAX_DISPLAY_NAME_BYTES} bytes without control characters"
    )]
    InvalidDisplayName,
    /// The stored identity could not be decoded.
    #[error("stored identity is corrupt: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Someone's public identity: their identity key. Safe to share, print and scan.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicIdentity(IdentityKey);

impl PublicIdentity {
    /// Wraps a libsignal identity key.
    pub fn new(key: IdentityKey) -> Self {
        Self(key)
    }

    /// The libsignal identity key.
    pub fn key(&self) -> &IdentityKey {
        &self.0
    }

    /// The serialized key (33 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.serialize().to_vec()
    }

    /// Parses the serialized key, refusing anything but exactly one valid key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        if bytes.len() != IDENTITY_KEY_LEN {
            return Err(IdentityError::InvalidLength(bytes.len()));
        }
        IdentityKey::decode(bytes)
            .map(Self)
            .map_err(|e| IdentityError::InvalidKey(e.to_string()))
    }

    /// The text form, `sotto-id:` followed by the unpadded base64url of the key: what a user
    /// copies into a message or a QR code.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_IDENTITY_PREFIX}{}", self.fingerprint_name())
    }

    /// Parses the text form made by [`PublicIdentity::to_text`]. Surrounding whitespace is
    /// ignored; anything else wrong is a typed error.
    pub fn from_text(text: &str) -> Result<Self, IdentityError> {
        let encoded = text
            .trim()
            .strip_prefix(PUBLIC_IDENTITY_PREFIX)
            .ok_or(IdentityError::MissingPrefix)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| IdentityError::InvalidEncoding)?;
        Self::from_bytes(&bytes)
    }

    /// The unpadded base64url of the key: the name of this identity in libsignal addresses
    /// and in the store.
    pub fn fingerprint_name(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.serialize())
    }

    /// The libsignal protocol address of this identity (its one device).
    pub fn address(&self) -> ProtocolAddress {
        ProtocolAddress::new(self.fingerprint_name(), device_id())
    }
}

impl std::hash::Hash for PublicIdentity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.serialize().hash(state);
    }
}

impl std::fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicIdentity({})", self.to_text())
    }
}

impl std::fmt::Display for PublicIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// The local identity: the key pair (private half never leaves the device), the libsignal
/// registration id and an optional display name, a local label only.
#[derive(Clone)]
pub struct Identity {
    key_pair: IdentityKeyPair,
    registration_id: u32,
    display_name: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("public", &self.public())
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

fn check_display_name(name: Option<String>) -> Result<Option<String>, IdentityError> {
    match name {
        Some(n) if n.len() > MAX_DISPLAY_NAME_BYTES || n.chars().any(char::is_control) => {
            Err(IdentityError::InvalidDisplayName)
        }
        other => Ok(other),
    }
}

impl Identity {
    /// Makes a new identity with fresh keys.
    pub fn generate<R: Rng + CryptoRng>(
        display_name: Option<String>,
        rng: &mut R,
    ) -> Result<Self, IdentityError> {
        Ok(Self {
            key_pair: IdentityKeyPair::generate(rng),
            // libsignal registration ids are 14-bit and nonzero.
            registration_id: rng.random_range(1..=0x3FFF),
            display_name: check_display_name(display_name)?,
        })
    }

    /// The public identity to share.
    pub fn public(&self) -> PublicIdentity {
        PublicIdentity(*self.key_pair.identity_key())
    }

    /// The libsignal key pair.
    pub fn key_pair(&self) -> &IdentityKeyPair {
        &self.key_pair
    }

    /// The libsignal registration id.
    pub fn registration_id(&self) -> u32 {
        self.registration_id
    }

    /// The local display name, if any.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// Changes the local display name (stage the returned record to keep it).
    pub fn set_display_name(&mut self, name: Option<String>) -> Result<(), IdentityError> {
        self.display_name = check_display_name(name)?;
        Ok(())
    }

    /// The record a store keeps for this identity.
    pub fn to_record(&self) -> IdentityRecord {
        IdentityRecord {
            key_pair: self.key_pair.serialize().to_vec(),
            registration_id: self.registration_id,
            display_name: self.display_name.clone(),
        }
    }

    /// Rebuilds an identity from its stored record.
    pub fn from_record(record: &IdentityRecord) -> Result<Self, IdentityError> {
        let key_pair = IdentityKeyPair::try_from(&record.key_pair[..])
            .map_err(|e| IdentityError::Corrupt(e.to_string()))?;
        Ok(Self {
            key_pair,
            registration_id: record.registration_id,
            display_name: check_display_name(record.display_name.clone())
                .map_err(|e| IdentityError::Corrupt(e.to_string()))?,
        })
    }

    /// Saves this identity into an empty store; refuses to overwrite another identity.
    pub async fn save_new(&self, store: &(impl Store + ?Sized)) -> Result<(), IdentityError> {
        if store.load_identity().await?.is_some() {
            return Err(StoreError::IdentityExists.into());
        }
        let changes = ChangeSet {
            identity: Some(self.to_record()),
            ..ChangeSet::default()
        };
        store.apply(changes).await?;
        Ok(())
    }

    /// Loads the identity of a store.
    pub async fn load(store: &(impl Store + ?Sized)) -> Result<Self, IdentityError> {
        let record = store.load_identity().await?.ok_or(StoreError::NoIdentity)?;
        Self::from_record(&record)
    }
}
