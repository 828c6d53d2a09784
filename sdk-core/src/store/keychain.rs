//! Keychain mode: a random database key sealed in the OS keychain.
//!
//! The key of a new profile is 32 random bytes stored as the secret of one keychain entry,
//! service [`KEYCHAIN_SERVICE`], account the profile id; the key header names the keychain
//! and the entry. The keychains are reached through `keyring-core` and its platform store
//! crates, one store object per [`Keychain`] (keyring-core's process-wide default store is
//! never set, so Sotto cannot disturb a host application that uses it too).
//!
//! | keychain | where the key lives | survives |
//! | --- | --- | --- |
//! | `secret-service` (Linux default) | the user's login collection on disk, encrypted | reboot; readable while the collection is unlocked |
//! | `keyutils` (Linux, explicit) | kernel memory | process exit, logout; **not 3 days unused, not a reboot** |
//! | `apple` | the login keychain (macOS), the data protection keychain (iOS) | reboot |
//! | `windows` | Credential Manager, per user | reboot |
//!
//! **keyutils keeps keys in kernel memory only**, as a cache. The store crate
//! (`linux-keyutils-keyring-store`) adds a key to the calling thread's *session* keyring and
//! links it into the user's *persistent* keyring (`_persistent.<uid>`); every entry it
//! builds links the persistent keyring into the session keyring again, which restarts the
//! persistent keyring's expiry timer (`/proc/sys/kernel/keys/persistent_keyring_expiry`,
//! 3 days by default).
//! - In a desktop login with a session keyring of its own (made by `pam_keyinit`), the key
//!   is in that session keyring until logout, and in the persistent keyring, where the next
//!   login finds it, until 3 days pass without any keyutils entry being used.
//! - In a process without a session keyring (a service, a container, CI, a desktop without
//!   `pam_keyinit`), each thread that uses an entry gets a new session keyring that dies
//!   with the thread, so the key lives in the persistent keyring alone: it is gone after 3
//!   days in which no process of the user used keyutils.
//! - A reboot erases every key.
//!
//! (Kernels without persistent keyrings keep the key in the session keyring only: until
//! logout, or until reboot in the user's shared session keyring.) A keyutils profile whose
//! key is gone cannot be opened again ([`KeyError::KeychainEntryMissing`]). Use keyutils for
//! sessions that end before the machine does, and Secret Service or passphrase mode for
//! profiles that must last; [`Keychain::survives_reboot`] tells which kind a keychain is.
//!
//! Sotto never falls back to a key on disk: when no keychain can be used, the error
//! ([`KeyError::KeychainUnavailable`]) says to choose passphrase mode explicitly.

use std::sync::Arc;

use keyring_core::api::CredentialPersistence;
use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use super::database_key::{DATABASE_KEY_LEN, DatabaseKey};
use super::key_info::{KEYCHAIN_SERVICE, KeyError, KeyInfo, KeyMode, KeychainEntry, KeychainStore};

/// One OS keychain, opened: creates, reads and deletes the database keys of profiles.
pub struct Keychain {
    kind: KeychainStore,
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("kind", &self.kind)
            .finish()
    }
}

impl Keychain {
    /// This platform's default keychain, always one that keeps keys across a reboot: the
    /// Secret Service on Linux, the Apple Keychain on macOS and iOS, the Credential Manager
    /// on Windows. Where it cannot be reached (a Linux machine without a Secret Service on
    /// the session bus: a server, a container, CI) or on other systems this is
    /// [`KeyError::KeychainUnavailable`]; the application then chooses, explicitly,
    /// passphrase mode or (for profiles that may die with the session) keyutils. Sotto never
    /// picks keyutils by itself, because a profile whose key vanishes at the next reboot is
    /// lost.
    pub fn platform() -> Result<Self, KeyError> {
        Self::open(platform_default())
    }

    /// Opens a chosen keychain, e.g. [`KeychainStore::SecretService`] on a Linux desktop.
    ///
    /// Fails with [`KeyError::KeychainUnavailable`] when the keychain does not exist on this
    /// platform or cannot be reached (for Secret Service, this connects to the D-Bus
    /// session bus).
    pub fn open(kind: KeychainStore) -> Result<Self, KeyError> {
        let store = connect(kind).map_err(|e| KeyError::KeychainUnavailable {
            store: kind,
            reason: e.to_string(),
        })?;
        Ok(Self { kind, store })
    }

    /// Which keychain this is.
    pub fn kind(&self) -> KeychainStore {
        self.kind
    }

    /// Whether keys stored here outlive a reboot: false for keyutils, which keeps them in
    /// kernel memory. An application can warn before making a profile that a restart would
    /// make unreadable.
    pub fn survives_reboot(&self) -> bool {
        matches!(self.store.persistence(), CredentialPersistence::UntilDelete)
    }

    /// Makes the key of a new profile: a random [`DatabaseKey`], stored in this keychain
    /// under service [`KEYCHAIN_SERVICE`] and account `profile_id`, returned with the
    /// header that finds it again.
    ///
    /// An existing entry is never overwritten ([`KeyError::KeychainEntryExists`]): it may
    /// hold the only key of another database. The key is read back before it is returned,
    /// so a keychain that does not keep what it was given (or alters binary secrets) fails
    /// here, before any database is encrypted with the key.
    pub fn create(&self, profile_id: &str) -> Result<(DatabaseKey, KeyInfo), KeyError> {
        self.create_in_service(KEYCHAIN_SERVICE, profile_id)
    }

    /// [`Keychain::create`] under another service name: for applications that keep
    /// several independent sets of Sotto profiles, and for tests.
    pub fn create_in_service(
        &self,
        service: &str,
        profile_id: &str,
    ) -> Result<(DatabaseKey, KeyInfo), KeyError> {
        let entry = KeychainEntry::new(self.kind, service, profile_id)?;
        match self.read(&entry) {
            Ok(_) => {
                return Err(KeyError::KeychainEntryExists {
                    store: self.kind,
                    service: entry.service().to_owned(),
                    account: entry.account().to_owned(),
                });
            }
            Err(KeyError::KeychainEntryMissing { .. }) => {}
            Err(other) => return Err(other),
        }

        let key = DatabaseKey::generate();
        self.entry(&entry)?
            .set_secret(key.as_bytes())
            .map_err(|e| self.error(e, &entry))?;

        let stored = self.read(&entry);
        if !matches!(&stored, Ok(secret) if secret.as_slice() == key.as_bytes()) {
            // Best effort: the entry is useless, and the caller learns why below.
            let _ = self.delete(&entry);
            return Err(match stored {
                Err(e) => e,
                Ok(_) => KeyError::KeychainFailed {
                    store: self.kind,
                    reason: "the key read back differs from the key stored".to_owned(),
                },
            });
        }
        Ok((key, KeyInfo::new(KeyMode::Keychain(entry))))
    }

    /// Reads a profile's key back. A deleted entry is [`KeyError::KeychainEntryMissing`];
    /// an entry that does not hold exactly 32 bytes is [`KeyError::KeychainEntryMalformed`].
    pub fn unseal(&self, entry: &KeychainEntry) -> Result<DatabaseKey, KeyError> {
        self.check_kind(entry)?;
        let secret = self.read(entry)?;
        let bytes: [u8; DATABASE_KEY_LEN] =
            secret
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::KeychainEntryMalformed {
                    store: self.kind,
                    len: secret.len(),
                })?;
        Ok(DatabaseKey::from_bytes(bytes))
    }

    /// Deletes a profile's key, when the profile is deleted. An entry that is already gone
    /// is not an error, so an interrupted deletion can simply be repeated.
    pub fn delete(&self, entry: &KeychainEntry) -> Result<(), KeyError> {
        self.check_kind(entry)?;
        match self.entry(entry)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error(e, entry)),
        }
    }

    fn check_kind(&self, entry: &KeychainEntry) -> Result<(), KeyError> {
        if entry.store() == self.kind {
            Ok(())
        } else {
            Err(KeyError::WrongKeychain {
                entry: entry.store(),
                keychain: self.kind,
            })
        }
    }

    fn entry(&self, entry: &KeychainEntry) -> Result<Entry, KeyError> {
        if self.kind == KeychainStore::Keyutils {
            // On a thread without its own session keyring, building a keyutils entry first
            // records the user's shared session keyring as the place to search, and only
            // then (fetching the persistent keyring) moves the thread to a new session
            // keyring that links the persistent one. That first entry would search the
            // wrong keyring and miss keys made by any other thread or process. Building one
            // beforehand leaves the thread where every later entry searches the persistent
            // keyring (tested across threads and processes).
            let _ = Entry::new_in_store(&self.store, entry.service(), entry.account());
        }
        Entry::new_in_store(&self.store, entry.service(), entry.account()).map_err(|e| match e {
            // Building an entry touches the platform only to find where keys live (the
            // session keyring); failing there means the keychain cannot be used at all.
            keyring_core::Error::NoStorageAccess(_) | keyring_core::Error::PlatformFailure(_) => {
                KeyError::KeychainUnavailable {
                    store: self.kind,
                    reason: e.to_string(),
                }
            }
            other => self.error(other, entry),
        })
    }

    fn read(&self, entry: &KeychainEntry) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.entry(entry)?
            .get_secret()
            .map(Zeroizing::new)
            .map_err(|e| self.error(e, entry))
    }

    fn error(&self, error: keyring_core::Error, entry: &KeychainEntry) -> KeyError {
        let store = self.kind;
        match error {
            keyring_core::Error::NoEntry => KeyError::KeychainEntryMissing {
                store,
                service: entry.service().to_owned(),
                account: entry.account().to_owned(),
            },
            keyring_core::Error::NoStorageAccess(e) => KeyError::KeychainAccessDenied {
                store,
                reason: e.to_string(),
            },
            keyring_core::Error::BadDataFormat(data, _) => KeyError::KeychainEntryMalformed {
                store,
                len: Zeroizing::new(data).len(),
            },
            keyring_core::Error::Ambiguous(entries) => KeyError::KeychainFailed {
                store,
                reason: format!("{} keychain items match this entry", entries.len()),
            },
            other => KeyError::KeychainFailed {
                store,
                reason: other.to_string(),
            },
        }
    }
}

/// The keychain [`Keychain::platform`] opens.
fn platform_default() -> KeychainStore {
    if cfg!(any(target_os = "macos", target_os = "ios")) {
        KeychainStore::Apple
    } else if cfg!(windows) {
        KeychainStore::Windows
    } else {
        // Linux; on other systems opening it reports that no keychain exists there.
        KeychainStore::SecretService
    }
}

/// Makes the keyring-core store object of one keychain.
fn connect(kind: KeychainStore) -> keyring_core::Result<Arc<CredentialStore>> {
    // keyutils and Windows join service and account into one name with a divider;
    // `service_no_divider` makes that join unambiguous (service names never hold it, see
    // `KeychainEntry::new`).
    #[cfg(any(target_os = "linux", windows))]
    let unambiguous = std::collections::HashMap::from([("service_no_divider", "true")]);
    let store: Arc<CredentialStore> = match kind {
        #[cfg(target_os = "linux")]
        KeychainStore::Keyutils => {
            linux_keyutils_keyring_store::Store::new_with_configuration(&unambiguous)?
        }
        #[cfg(target_os = "linux")]
        KeychainStore::SecretService => zbus_secret_service_keyring_store::Store::new()?,
        #[cfg(target_os = "macos")]
        KeychainStore::Apple => apple_native_keyring_store::keychain::Store::new()?,
        #[cfg(target_os = "ios")]
        KeychainStore::Apple => apple_native_keyring_store::protected::Store::new()?,
        #[cfg(windows)]
        KeychainStore::Windows => {
            windows_native_keyring_store::Store::new_with_configuration(&unambiguous)?
        }
        #[allow(unreachable_patterns)]
        other => {
            return Err(keyring_core::Error::NotSupportedByStore(format!(
                "there is no {other} keychain on this platform"
            )));
        }
    };
    Ok(store)
}
