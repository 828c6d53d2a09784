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

use std::ops::RangeInclusive;

use argon2::{Algorithm, Argon2, Block, Version};
use rand::RngCore;
use zeroize::Zeroizing;

use super::database_key::{DATABASE_KEY_LEN, DatabaseKey};
use super::key_info::{KeyError, KeyInfo, KeyMode};

/// Length of the random Argon2 salt, in bytes (the length the Argon2 RFC 9106 recommends).
pub const SALT_LEN: usize = 16;

/// Argon2id cost parameters.
///
/// Every value is bounded ([`Argon2Params::MEMORY_KIB`], [`Argon2Params::ITERATIONS`],
/// [`Argon2Params::PARALLELISM`]) because they are read back from a plaintext header that
/// anyone with access to the profile folder can edit: the bounds keep a tampered header
/// from making the opening of a profile take hours or exhaust memory. They are
/// generous enough for any sensible policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl Argon2Params {
    /// Accepted memory cost in KiB: 8 MiB to 1 GiB.
    pub const MEMORY_KIB: RangeInclusive<u32> = 8 * 1024..=1024 * 1024;
    /// Accepted number of passes over the memory.
    pub const ITERATIONS: RangeInclusive<u32> = 1..=10;
    /// Accepted number of lanes.
    pub const PARALLELISM: RangeInclusive<u32> = 1..=8;

    /// The parameters new profiles get: 64 MiB, 3 iterations, 1 lane.
    ///
    /// Why: OWASP's password storage guidance asks for Argon2id with at least 19 MiB and 2
    /// passes (or equivalents from 46 MiB/1 pass to 7 MiB/5 passes), one lane. A database
    /// key is derived once per opening of a profile, not once per login request on a busy
    /// server, so we can afford about five times that work: 64 MiB and 3 passes is also the
    /// memory and pass count of RFC 9106's second recommended setting. One lane, as in
    /// OWASP's settings, because the browser and this build compute lanes one after the
    /// other: more lanes would cost us the same time and let an attacker's parallel
    /// hardware finish each guess sooner. Measured on one core of a 2-core x86-64 cloud
    /// machine: 0.15 s in a release build (the reference C libargon2: 0.17 s); the browser
    /// (wasm, one thread) is slower. The memory fits a phone or a browser tab.
    pub const RECOMMENDED: Argon2Params = Argon2Params {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Checked parameters; a value outside its bound is
    /// [`KeyError::KdfParameterOutOfRange`].
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, KeyError> {
        Ok(Self {
            memory_kib: bounded("memory_kib", memory_kib.into(), Self::MEMORY_KIB)?,
            iterations: bounded("iterations", iterations.into(), Self::ITERATIONS)?,
            parallelism: bounded("parallelism", parallelism.into(), Self::PARALLELISM)?,
        })
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes over the memory.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes (computed one after the other in this build; part of the result).
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
}

impl Default for Argon2Params {
    /// [`Argon2Params::RECOMMENDED`].
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// Checks one Argon2 parameter read from a header or given by a caller against its bound.
pub(crate) fn bounded(
    parameter: &'static str,
    value: u64,
    range: RangeInclusive<u32>,
) -> Result<u32, KeyError> {
    match u32::try_from(value) {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(KeyError::KdfParameterOutOfRange {
            parameter,
            value,
            min: *range.start(),
            max: *range.end(),
        }),
    }
}

/// What passphrase mode stores in the key header: the Argon2id parameters and the salt of
/// one profile. Not secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PassphraseKdf {
    params: Argon2Params,
    salt: [u8; SALT_LEN],
}

impl PassphraseKdf {
    /// Parameters and salt as read from a header (or fixed by a test vector). New profiles
    /// get a random salt from [`create_with_passphrase`].
    pub fn new(params: Argon2Params, salt: [u8; SALT_LEN]) -> Self {
        Self { params, salt }
    }

    /// The Argon2id cost parameters.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// The salt: random per profile, so equal passphrases give unrelated keys and no
    /// precomputed table helps an attacker.
    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }
}

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
        kdf.params.memory_kib,
        kdf.params.iterations,
        kdf.params.parallelism,
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
            memory_kib: kdf.params.memory_kib,
        })?;
    memory.resize(block_count, Block::default());

    let mut key = Zeroizing::new([0u8; DATABASE_KEY_LEN]);
    argon2
        .hash_password_into_with_memory(
            passphrase.as_bytes(),
            &kdf.salt,
            key.as_mut_slice(),
            memory.as_mut_slice(),
        )
        .map_err(|e| KeyError::KdfFailed {
            reason: e.to_string(),
        })?;
    Ok(DatabaseKey::from_bytes(*key))
}
