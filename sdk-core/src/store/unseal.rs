//! Getting at the key a header describes ([`KeyInfo::unseal`]) and deleting it
//! ([`KeyInfo::delete_key`]): the one place that knows both ways a key is kept, the OS
//! keychain ([`super::keychain`]) and the passphrase ([`super::passphrase`]). The header
//! itself ([`super::key_info`]) only describes.

use super::DatabaseKey;
#[cfg(feature = "sqlcipher")]
use super::StoreError;
#[cfg(not(all(feature = "keychain", not(target_arch = "wasm32"))))]
use super::key_info::KeychainStore;
use super::key_info::{KeyError, KeyInfo, KeyMode, KeychainEntry};
#[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
use super::keychain::Keychain;
use super::passphrase::unseal_with_passphrase;

impl KeyInfo {
    /// Obtains the database key this header describes: from the OS keychain (the
    /// passphrase, if given, is ignored) or by deriving it from `passphrase`
    /// ([`KeyError::PassphraseRequired`] when there is none).
    ///
    /// In passphrase mode a wrong passphrase is not an error here: it yields a different key
    /// and the database refuses it when opened. Builds without keychain support (wasm32, or
    /// the `keychain` feature off) answer keychain headers with
    /// [`KeyError::KeychainUnavailable`].
    pub fn unseal(&self, passphrase: Option<&str>) -> Result<DatabaseKey, KeyError> {
        match self.mode() {
            KeyMode::Passphrase(kdf) => match passphrase {
                Some(passphrase) => unseal_with_passphrase(kdf, passphrase),
                None => Err(KeyError::PassphraseRequired),
            },
            KeyMode::Keychain(entry) => unseal_from_keychain(entry),
        }
    }

    /// The error for a database that refused the key this header gave: in passphrase mode
    /// the passphrase was wrong ([`KeyError::WrongPassphrase`]); any other store error as
    /// it is.
    #[cfg(feature = "sqlcipher")]
    pub(crate) fn refused(&self, error: StoreError) -> crate::Error {
        match (error, self.mode()) {
            (StoreError::WrongKey, KeyMode::Passphrase(_)) => KeyError::WrongPassphrase.into(),
            (other, _) => other.into(),
        }
    }

    /// Deletes the key this header points to, when the profile is deleted: the keychain
    /// entry in keychain mode (succeeding if it is already gone, so a half-done deletion
    /// can be repeated); nothing in passphrase mode, where the key exists only while it is
    /// derived (deleting the header and database is what destroys the profile there).
    pub fn delete_key(&self) -> Result<(), KeyError> {
        match self.mode() {
            KeyMode::Passphrase(_) => Ok(()),
            KeyMode::Keychain(entry) => delete_from_keychain(entry),
        }
    }
}

#[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
fn unseal_from_keychain(entry: &KeychainEntry) -> Result<DatabaseKey, KeyError> {
    Keychain::open(entry.store())?.unseal(entry)
}

#[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
fn delete_from_keychain(entry: &KeychainEntry) -> Result<(), KeyError> {
    Keychain::open(entry.store())?.delete(entry)
}

#[cfg(not(all(feature = "keychain", not(target_arch = "wasm32"))))]
fn unseal_from_keychain(entry: &KeychainEntry) -> Result<DatabaseKey, KeyError> {
    Err(no_keychain_in_this_build(entry.store()))
}

#[cfg(not(all(feature = "keychain", not(target_arch = "wasm32"))))]
fn delete_from_keychain(entry: &KeychainEntry) -> Result<(), KeyError> {
    Err(no_keychain_in_this_build(entry.store()))
}

#[cfg(not(all(feature = "keychain", not(target_arch = "wasm32"))))]
fn no_keychain_in_this_build(store: KeychainStore) -> KeyError {
    KeyError::KeychainUnavailable {
        store,
        reason: "this build of Sotto has no OS keychain support".to_owned(),
    }
}
