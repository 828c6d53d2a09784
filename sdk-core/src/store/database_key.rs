//! The 256-bit key that opens a profile's encrypted database.

use rand::RngCore;
use zeroize::Zeroizing;

/// Length of a database key in bytes.
pub const DATABASE_KEY_LEN: usize = 32;

/// A raw 256-bit database key (SQLCipher raw-key mode: no key derivation inside the
/// database). It is made at random when a profile is created and then sealed in the OS
/// keychain, or derived from a passphrase with Argon2id; it never touches disk in clear.
/// The bytes are wiped from memory on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey(Zeroizing<[u8; DATABASE_KEY_LEN]>);

impl DatabaseKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; DATABASE_KEY_LEN]);
        rand::rng().fill_bytes(bytes.as_mut_slice());
        Self(bytes)
    }

    /// Wraps key bytes obtained from a keychain or a key derivation.
    pub fn from_bytes(bytes: [u8; DATABASE_KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; DATABASE_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(<secret>)")
    }
}
