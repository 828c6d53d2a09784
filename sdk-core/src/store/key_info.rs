//! The key header: a small plaintext file beside a profile's database that says how to
//! obtain the database key. It holds no secret.
//!
//! A profile is opened in two steps: read the header, then unseal the key it describes
//! ([`KeyInfo::unseal`]) from the OS keychain or from the user's passphrase. The header
//! is JSON, version 1:
//!
//! ```json
//! {"version": 1, "mode": {"keychain": {"store": "keyutils", "service": "sotto", "account": "<profile id>"}}}
//! {"version": 1, "mode": {"passphrase": {"kdf": "argon2id", "memory_kib": 65536,
//!   "iterations": 3, "parallelism": 1, "salt": "<16 bytes, padded standard base64>"}}}
//! ```
//!
//! [`KeyInfo::decode`] is strict, because the file lives in a folder other programs can
//! write: a header of more than [`MAX_KEY_INFO_LEN`] bytes, a version other than 1, a
//! missing, repeated or unknown field, an unknown mode, store or KDF, an Argon2 parameter
//! outside its bound, a salt that is not 16 bytes of canonical base64, or a keychain name
//! that is empty, too long or has control characters: each is its own [`KeyError`].
//! Whitespace and field order are free. Tampering with a header can only make opening fail
//! (a different key is refused by the database); the bounds keep it from taking forever or
//! exhausting memory first.

use std::fmt;
use std::ops::RangeInclusive;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::database_key::DATABASE_KEY_LEN;

/// Largest key header accepted by [`KeyInfo::decode`], in bytes (a real one is about 200).
pub const MAX_KEY_INFO_LEN: usize = 4096;

/// The keychain service name under which Sotto stores database keys; the account is the
/// profile id.
pub const KEYCHAIN_SERVICE: &str = "sotto";

/// Longest keychain service or account name, in bytes.
pub const MAX_KEYCHAIN_NAME_LEN: usize = 128;

/// The only key derivation function of header version 1: Argon2id, version 0x13.
const KDF_ARGON2ID: &str = "argon2id";

/// Why a database key could not be made, sealed, unsealed or described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The header is larger than any header this version writes.
    #[error("key header is {len} bytes; at most {max} are accepted")]
    HeaderTooLong {
        /// Size of the header read, in bytes.
        len: usize,
        /// [`MAX_KEY_INFO_LEN`].
        max: usize,
    },
    /// The header is not one JSON value (empty, truncated, garbage, trailing bytes).
    #[error("key header is not valid JSON: {reason}")]
    HeaderNotJson {
        /// The JSON parser's message.
        reason: String,
    },
    /// A header field has the wrong JSON type.
    #[error("key header field `{field}` must be {expected}")]
    HeaderWrongType {
        /// Dotted path of the field (`(header)` for the whole document).
        field: String,
        /// What the field must be.
        expected: &'static str,
    },
    /// A required header field is absent.
    #[error("key header lacks the field `{field}`")]
    HeaderMissingField {
        /// Dotted path of the missing field.
        field: String,
    },
    /// The header has a field this version does not know.
    #[error("key header has an unknown field `{field}`")]
    HeaderUnknownField {
        /// Dotted path of the unknown field.
        field: String,
    },
    /// A header field appears twice (JSON parsers disagree on which one wins, so neither
    /// does).
    #[error("key header repeats the field `{field}`")]
    HeaderDuplicateField {
        /// Dotted path of the repeated field.
        field: String,
    },
    /// The header was written by a newer Sotto with a format this build cannot read.
    #[error("key header version {version} is not supported (this build reads version 1)")]
    UnsupportedVersion {
        /// The version the header states.
        version: u64,
    },
    /// The header names a key mode other than `keychain` and `passphrase`.
    #[error("unknown key mode `{mode}`; expected `keychain` or `passphrase`")]
    UnknownMode {
        /// The mode named (cut to 64 characters).
        mode: String,
    },
    /// The header names a keychain other than `keyutils`, `secret-service`, `apple` and
    /// `windows`.
    #[error(
        "unknown keychain store `{store}`; expected keyutils, secret-service, apple or windows"
    )]
    UnknownKeychainStore {
        /// The store named (cut to 64 characters).
        store: String,
    },
    /// The header names a key derivation function other than `argon2id`.
    #[error("unknown key derivation function `{kdf}`; expected argon2id")]
    UnknownKdf {
        /// The function named (cut to 64 characters).
        kdf: String,
    },
    /// An Argon2 parameter is outside the bounds that keep opening a profile fast enough and
    /// within memory.
    #[error("Argon2 {parameter} = {value} is outside {min}..={max}")]
    KdfParameterOutOfRange {
        /// `memory_kib`, `iterations` or `parallelism`.
        parameter: &'static str,
        /// The value given.
        value: u64,
        /// Smallest accepted value.
        min: u32,
        /// Largest accepted value.
        max: u32,
    },
    /// The salt is not canonical padded standard base64.
    #[error("passphrase salt is not canonical padded base64")]
    SaltNotBase64,
    /// The salt does not decode to [`SALT_LEN`] bytes.
    #[error("passphrase salt is {len} bytes; it must be {SALT_LEN}")]
    WrongSaltLength {
        /// Decoded length, in bytes.
        len: usize,
    },
    /// A keychain service or account name is empty, too long or not allowed.
    #[error("keychain {field} name is invalid: {reason}")]
    InvalidKeychainName {
        /// `service` or `account`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An empty passphrase was given: it would protect nothing.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The passphrase does not open the profile: the key derived from it is not the
    /// database's key (or the database is damaged beyond recognition). Nothing was changed.
    #[error("wrong passphrase: it does not open this profile")]
    WrongPassphrase,
    /// The profile is protected by a passphrase and none was given: ask the user.
    #[error("this profile is protected by a passphrase; one is required to open it")]
    PassphraseRequired,
    /// The device could not reserve the memory Argon2 needs for this header's parameters.
    #[error("not enough memory to derive the key ({memory_kib} KiB needed)")]
    KdfOutOfMemory {
        /// Memory the derivation needs, in KiB.
        memory_kib: u32,
    },
    /// Argon2 refused its inputs (not expected with checked parameters).
    #[error("key derivation failed: {reason}")]
    KdfFailed {
        /// Argon2's message.
        reason: String,
    },
    /// No usable OS keychain: this platform or build has none, or it cannot be reached
    /// (no Secret Service on the session bus, no session keyring). Sotto never falls back
    /// to a key on disk.
    #[error(
        "the {store} keychain is unavailable: {reason}; to protect this profile without \
         a keychain, choose passphrase mode explicitly"
    )]
    KeychainUnavailable {
        /// The keychain asked for.
        store: KeychainStore,
        /// Why it cannot be used.
        reason: String,
    },
    /// The keychain holds no key for this profile: it was deleted (or, with keyutils,
    /// forgotten at a reboot or after days unused). The database cannot be opened without
    /// it.
    #[error("the {store} keychain holds no key for service `{service}`, account `{account}`")]
    KeychainEntryMissing {
        /// The keychain searched.
        store: KeychainStore,
        /// Service name of the entry.
        service: String,
        /// Account name of the entry (the profile id).
        account: String,
    },
    /// A new profile's entry already exists; it is not overwritten, since it may hold the
    /// only key of another database.
    #[error(
        "the {store} keychain already holds an entry for service `{service}`, account \
         `{account}`; delete it first if it belongs to no profile"
    )]
    KeychainEntryExists {
        /// The keychain searched.
        store: KeychainStore,
        /// Service name of the entry.
        service: String,
        /// Account name of the entry.
        account: String,
    },
    /// The keychain entry does not hold a 32-byte key (changed by another program).
    #[error("the {store} keychain entry holds {len} bytes, not a {DATABASE_KEY_LEN}-byte key")]
    KeychainEntryMalformed {
        /// The keychain read.
        store: KeychainStore,
        /// Length of what the entry holds, in bytes.
        len: usize,
    },
    /// The keychain refused access (locked, or the user declined).
    #[error("the {store} keychain refused access: {reason}")]
    KeychainAccessDenied {
        /// The keychain asked.
        store: KeychainStore,
        /// The keychain's message.
        reason: String,
    },
    /// Any other keychain failure, with its message.
    #[error("the {store} keychain failed: {reason}")]
    KeychainFailed {
        /// The keychain asked.
        store: KeychainStore,
        /// The keychain's message.
        reason: String,
    },
    /// An entry of one keychain was handed to another.
    #[error("this entry lives in the {entry} keychain, not in {keychain}")]
    WrongKeychain {
        /// The keychain the entry names.
        entry: KeychainStore,
        /// The keychain it was handed to.
        keychain: KeychainStore,
    },
}

/// The OS keychains a database key can be sealed in. The header names one, so a header is
/// read the same everywhere; whether that keychain can be reached is known only when it is
/// opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeychainStore {
    /// The Linux kernel key retention service (keyutils), an explicit choice: always
    /// present, but a cache: it forgets every key at reboot, and after 3 days unused
    /// outside a login session (see `Keychain`).
    Keyutils,
    /// The freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC) on the D-Bus
    /// session bus, the Linux default; its keys live on disk, encrypted under the login
    /// password.
    SecretService,
    /// The Apple Keychain: the login keychain on macOS, the data protection keychain on iOS.
    Apple,
    /// The Windows Credential Manager.
    Windows,
}

impl KeychainStore {
    /// Every store, in header-name order.
    pub const ALL: [KeychainStore; 4] = [
        KeychainStore::Keyutils,
        KeychainStore::SecretService,
        KeychainStore::Apple,
        KeychainStore::Windows,
    ];

    /// The name used in the header: `keyutils`, `secret-service`, `apple` or `windows`.
    pub fn name(self) -> &'static str {
        match self {
            KeychainStore::Keyutils => "keyutils",
            KeychainStore::SecretService => "secret-service",
            KeychainStore::Apple => "apple",
            KeychainStore::Windows => "windows",
        }
    }

    /// The store a header name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|store| store.name() == name)
    }
}

impl fmt::Display for KeychainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a keychain-mode key lives: a keychain and the entry's service and account names.
///
/// Names are checked when made, so every entry can be written and read back: the service
/// is 1 to [`MAX_KEYCHAIN_NAME_LEN`] bytes of ASCII letters, digits, `-` and `_` (no `@` or
/// `.`, which keyutils and Windows use to join service and account into one name, so two
/// entries can never share a name); the account (the profile id) is 1 to
/// [`MAX_KEYCHAIN_NAME_LEN`] bytes without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeychainEntry {
    store: KeychainStore,
    service: String,
    account: String,
}

impl KeychainEntry {
    /// A checked entry name ([`KeyError::InvalidKeychainName`] otherwise).
    pub fn new(store: KeychainStore, service: &str, account: &str) -> Result<Self, KeyError> {
        check_name("service", service)?;
        if !service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(KeyError::InvalidKeychainName {
                field: "service",
                reason: "only ASCII letters, digits, '-' and '_' are allowed",
            });
        }
        check_name("account", account)?;
        if account.chars().any(char::is_control) {
            return Err(KeyError::InvalidKeychainName {
                field: "account",
                reason: "control characters are not allowed",
            });
        }
        Ok(Self {
            store,
            service: service.to_owned(),
            account: account.to_owned(),
        })
    }

    /// The entry of a profile's key: service [`KEYCHAIN_SERVICE`], account the profile id.
    pub fn for_profile(store: KeychainStore, profile_id: &str) -> Result<Self, KeyError> {
        Self::new(store, KEYCHAIN_SERVICE, profile_id)
    }

    /// The keychain holding the key.
    pub fn store(&self) -> KeychainStore {
        self.store
    }

    /// The entry's service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The entry's account name (the profile id).
    pub fn account(&self) -> &str {
        &self.account
    }
}

fn check_name(field: &'static str, name: &str) -> Result<(), KeyError> {
    if name.is_empty() {
        return Err(KeyError::InvalidKeychainName {
            field,
            reason: "it is empty",
        });
    }
    if name.len() > MAX_KEYCHAIN_NAME_LEN {
        return Err(KeyError::InvalidKeychainName {
            field,
            reason: "it is longer than 128 bytes",
        });
    }
    Ok(())
}

/// How a profile's key is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyMode {
    /// A random key sealed in an OS keychain entry.
    Keychain(KeychainEntry),
    /// A key derived from the user's passphrase with Argon2id.
    Passphrase(PassphraseKdf),
}

/// A profile's key header (see the module documentation for the format).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyInfo {
    mode: KeyMode,
}

impl KeyInfo {
    /// The header version this build writes and reads.
    pub const VERSION: u64 = 1;

    /// A header for a key obtained in `mode`. New profiles get theirs from
    /// `Keychain::create` or [`create_with_passphrase`](super::create_with_passphrase).
    pub fn new(mode: KeyMode) -> Self {
        Self { mode }
    }

    /// How the key is obtained.
    pub fn mode(&self) -> &KeyMode {
        &self.mode
    }

    /// Whether opening needs the user's passphrase: lets a UI ask before calling
    /// [`KeyInfo::unseal`].
    pub fn needs_passphrase(&self) -> bool {
        matches!(self.mode, KeyMode::Passphrase(_))
    }

    /// The header file's bytes: pretty-printed JSON with a final newline, fields in a fixed
    /// order, so the same header always encodes the same way and a person can read it.
    pub fn encode(&self) -> Vec<u8> {
        let mode = match &self.mode {
            KeyMode::Keychain(entry) => WireMode::Keychain {
                store: entry.store.name(),
                service: &entry.service,
                account: &entry.account,
            },
            KeyMode::Passphrase(kdf) => WireMode::Passphrase {
                kdf: KDF_ARGON2ID,
                memory_kib: kdf.params().memory_kib(),
                iterations: kdf.params().iterations(),
                parallelism: kdf.params().parallelism(),
                salt: STANDARD.encode(kdf.salt()),
            },
        };
        let wire = WireHeader {
            version: Self::VERSION,
            mode,
        };
        let mut bytes =
            serde_json::to_vec_pretty(&wire).expect("strings and integers always serialize");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a header strictly (see the module documentation); never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() > MAX_KEY_INFO_LEN {
            return Err(KeyError::HeaderTooLong {
                len: bytes.len(),
                max: MAX_KEY_INFO_LEN,
            });
        }
        let tree: Json = serde_json::from_slice(bytes).map_err(|e| KeyError::HeaderNotJson {
            reason: e.to_string(),
        })?;

        let mut header = Fields::of(tree, "")?;
        let version = unsigned(header.take("version")?, "version")?;
        if version != Self::VERSION {
            return Err(KeyError::UnsupportedVersion { version });
        }
        let mode = header.take("mode")?;
        header.finish()?;

        let Json::Object(mut modes) = mode else {
            return Err(wrong_type("mode", "an object"));
        };
        if modes.len() != 1 {
            return Err(wrong_type(
                "mode",
                "an object with one field: keychain or passphrase",
            ));
        }
        let (name, body) = modes.remove(0);
        let mode = match name.as_str() {
            "keychain" => KeyMode::Keychain(decode_keychain(body)?),
            "passphrase" => KeyMode::Passphrase(decode_passphrase(body)?),
            other => {
                return Err(KeyError::UnknownMode {
                    mode: excerpt(other),
                });
            }
        };
        Ok(Self { mode })
    }
}

fn decode_keychain(body: Json) -> Result<KeychainEntry, KeyError> {
    let mut fields = Fields::of(body, "mode.keychain")?;
    let store = string(fields.take("store")?, "mode.keychain.store")?;
    let service = string(fields.take("service")?, "mode.keychain.service")?;
    let account = string(fields.take("account")?, "mode.keychain.account")?;
    fields.finish()?;
    let store = KeychainStore::from_name(&store).ok_or_else(|| KeyError::UnknownKeychainStore {
        store: excerpt(&store),
    })?;
    KeychainEntry::new(store, &service, &account)
}

fn decode_passphrase(body: Json) -> Result<PassphraseKdf, KeyError> {
    let mut fields = Fields::of(body, "mode.passphrase")?;
    let kdf = string(fields.take("kdf")?, "mode.passphrase.kdf")?;
    let memory_kib = unsigned(fields.take("memory_kib")?, "mode.passphrase.memory_kib")?;
    let iterations = unsigned(fields.take("iterations")?, "mode.passphrase.iterations")?;
    let parallelism = unsigned(fields.take("parallelism")?, "mode.passphrase.parallelism")?;
    let salt = string(fields.take("salt")?, "mode.passphrase.salt")?;
    fields.finish()?;

    if kdf != KDF_ARGON2ID {
        return Err(KeyError::UnknownKdf { kdf: excerpt(&kdf) });
    }
    let params = Argon2Params::new(
        bounded("memory_kib", memory_kib, Argon2Params::MEMORY_KIB)?,
        bounded("iterations", iterations, Argon2Params::ITERATIONS)?,
        bounded("parallelism", parallelism, Argon2Params::PARALLELISM)?,
    )?;
    let salt = STANDARD
        .decode(salt.as_bytes())
        .map_err(|_| KeyError::SaltNotBase64)?;
    let salt: [u8; SALT_LEN] = salt
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::WrongSaltLength { len: salt.len() })?;
    Ok(PassphraseKdf::new(params, salt))
}

/// The header as written (fields in this order).
#[derive(Serialize)]
struct WireHeader<'a> {
    version: u64,
    mode: WireMode<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum WireMode<'a> {
    Keychain {
        store: &'static str,
        service: &'a str,
        account: &'a str,
    },
    Passphrase {
        kdf: &'static str,
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        salt: String,
    },
}

/// A JSON document as read, keeping what `serde_json::Value` drops: an object's repeated
/// keys (so they can be refused) and their order. Only what the header checks is kept.
enum Json {
    Null,
    Bool,
    /// A number that is a non-negative integer fitting in `u64`.
    Unsigned(u64),
    /// Any other number (negative, fractional, too large).
    OtherNumber,
    String(String),
    Array,
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Bool)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(u64::try_from(v).map_or(Json::OtherNumber, Json::Unsigned))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json, E> {
        Ok(Json::OtherNumber)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        // No header field is an array: its elements are read (and checked for syntax by the
        // parser) but not kept.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Json::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
}

/// The fields of one JSON object, taken one by one; whatever is left is unknown.
struct Fields {
    path: &'static str,
    entries: Vec<(String, Json)>,
}

impl Fields {
    /// The object at `path` (`""` for the whole header), refusing repeated keys.
    fn of(value: Json, path: &'static str) -> Result<Self, KeyError> {
        let Json::Object(entries) = value else {
            let field = if path.is_empty() { "(header)" } else { path };
            return Err(wrong_type(field, "an object"));
        };
        let fields = Self { path, entries };
        for (i, (key, _)) in fields.entries.iter().enumerate() {
            if fields.entries[..i]
                .iter()
                .any(|(earlier, _)| earlier == key)
            {
                return Err(KeyError::HeaderDuplicateField {
                    field: fields.field(key),
                });
            }
        }
        Ok(fields)
    }

    fn take(&mut self, name: &str) -> Result<Json, KeyError> {
        match self.entries.iter().position(|(key, _)| key == name) {
            Some(i) => Ok(self.entries.remove(i).1),
            None => Err(KeyError::HeaderMissingField {
                field: self.field(name),
            }),
        }
    }

    fn finish(self) -> Result<(), KeyError> {
        match self.entries.first() {
            Some((key, _)) => Err(KeyError::HeaderUnknownField {
                field: self.field(key),
            }),
            None => Ok(()),
        }
    }

    fn field(&self, name: &str) -> String {
        let name = excerpt(name);
        if self.path.is_empty() {
            name
        } else {
            format!("{}.{name}", self.path)
        }
    }
}

fn string(value: Json, field: &str) -> Result<String, KeyError> {
    match value {
        Json::String(s) => Ok(s),
        _ => Err(wrong_type(field, "a string")),
    }
}

fn unsigned(value: Json, field: &str) -> Result<u64, KeyError> {
    match value {
        Json::Unsigned(n) => Ok(n),
        _ => Err(wrong_type(field, "a non-negative integer")),
    }
}

fn wrong_type(field: &str, expected: &'static str) -> KeyError {
    KeyError::HeaderWrongType {
        field: field.to_owned(),
        expected,
    }
}

/// Text from a header echoed in an error, cut to 64 characters.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

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
    /// get a random salt from [`create_with_passphrase`](super::create_with_passphrase).
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
