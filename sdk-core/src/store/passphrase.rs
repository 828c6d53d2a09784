//! Passphrase mode: the database key derived from a passphrase with Argon2id.
//!
//! Used where no OS keychain exists (a server, CI without one, the browser) and the user
//! chose a passphrase instead. The key is `Argon2id(passphrase, salt, params)`, 32 bytes,
//! Argon2 version 0x13 (RustCrypto `argon2`); the salt and parameters are stored in the
//! profile's key header ([`KeyInfo`]), the passphrase and the key nowhere.
//!
//! A wrong passphrase is not detected here: it simply derives a different key, and the
//! encrypted database refuses that key when it is opened (the store's wrong-key error).
//! A check value stored beside the salt would only give an attacker a second, cheaper way to
//! test guesses, so there is none.
//!
//! This module builds on every target, wasm32 included: the browser store uses it.

use argon2::{Algorithm, Argon2, Block, Version};
use rand::RngCore;
use zeroize::Zeroizing;

use super::database_key::{DATABASE_KEY_LEN, DatabaseKey};
use super::key_info::{Argon2Params, KeyError, KeyInfo, KeyMode, PassphraseKdf, SALT_LEN};

/// Makes the key of a new passphrase-protected profile: draws a random salt, derives the key
/// with Argon2id and returns it with the header to store beside the database.
///
/// An empty passphrase is refused ([`KeyError::EmptyPassphrase`]): it would protect nothing
/// while looking as if it did. Choosing how long a passphrase must be is the application's
/// policy. The passphrase is used as its UTF-8 bytes, without Unicode normalization: the
/// same characters typed in another normalization form derive another key.
pub fn create_with_passphrase(
    passphrase: &str,
    params: Argon2Params,
) -> Result<(DatabaseKey, KeyInfo), KeyError> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let kdf = PassphraseKdf::new(params, salt);
    let key = unseal_with_passphrase(&kdf, passphrase)?;
    Ok((key, KeyInfo::new(KeyMode::Passphrase(kdf))))
}

/// Derives a profile's key again from its passphrase and the header's salt and parameters.
///
/// A wrong passphrase is not an error here: it yields a different key, which the database
/// refuses when it is opened. An empty passphrase is refused
/// ([`KeyError::EmptyPassphrase`]); the memory Argon2 needs is reserved fallibly, so a
/// device without it gets [`KeyError::KdfOutOfMemory`] instead of an abort. Argon2's working
/// memory and the derived bytes are wiped before returning.
pub fn unseal_with_passphrase(
    kdf: &PassphraseKdf,
    passphrase: &str,
) -> Result<DatabaseKey, KeyError> {
    if passphrase.is_empty() {
        return Err(KeyError::EmptyPassphrase);
    }
    let params = argon2::Params::new(
        kdf.params().memory_kib(),
        kdf.params().iterations(),
        kdf.params().parallelism(),
        Some(DATABASE_KEY_LEN),
    )
    .map_err(|e| KeyError::KdfFailed {
        reason: e.to_string(),
    })?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);

    // Argon2's own allocation is infallible and is freed without being wiped; this one is
    // both fallible and wiped on drop (it holds everything needed to recompute the key).
    let block_count = argon2.params().block_count();
    let mut memory: Zeroizing<Vec<Block>> = Zeroizing::new(Vec::new());
    memory
        .try_reserve_exact(block_count)
        .map_err(|_| KeyError::KdfOutOfMemory {
            memory_kib: kdf.params().memory_kib(),
        })?;
    memory.resize(block_count, Block::default());

    let mut key = Zeroizing::new([0u8; DATABASE_KEY_LEN]);
    argon2
        .hash_password_into_with_memory(
            passphrase.as_bytes(),
            kdf.salt(),
            key.as_mut_slice(),
            memory.as_mut_slice(),
        )
        .map_err(|e| KeyError::KdfFailed {
            reason: e.to_string(),
        })?;
    Ok(DatabaseKey::from_bytes(*key))
}
