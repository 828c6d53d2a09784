//! Persistence behind one small trait, so every backend (memory, SQLCipher, IndexedDB)
//! behaves the same.
//!
//! Design:
//! - Records are opaque bytes: libsignal serializes its own state, so a backend stores blobs
//!   by key and never parses protocol structures.
//! - Reads are individual calls; writes are gathered into one [`ChangeSet`] and applied by
//!   [`Store::apply`] atomically. A received message (ratchet state, one-time prekey
//!   removal, ...) therefore lands entirely or not at all, and a failed decryption writes
//!   nothing. SQLCipher maps `apply` to one transaction, IndexedDB to one IDB transaction.
//! - Every method takes `&self`: backends use interior mutability, which lets the libsignal
//!   adapter ([`SignalStore`]) hand the same store to libsignal as several trait objects.
//! - Methods are `async` (without `Send`) for IndexedDB in the browser; synchronous
//!   backends simply return ready futures.
//!
//! The key that opens a profile's encrypted database is a [`DatabaseKey`], described by the
//! profile's plaintext key header ([`KeyInfo`]): sealed in the OS keychain (`Keychain`,
//! native builds with the `keychain` feature) or derived from a passphrase
//! ([`create_with_passphrase`]), never stored on disk in clear. A profile on disk is a
//! `ProfileDirectory` (native builds with the `sqlcipher` feature): the key header, the
//! database and the attachment files in one folder.

mod changes;
mod database_key;
#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
mod directory;
mod key_info;
#[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
mod keychain;
mod memory;
mod passphrase;
mod records;
mod signal;
#[cfg(feature = "sqlcipher")]
mod sqlcipher;
mod unseal;

pub use changes::{ChangeSet, KyberBaseKeyUse, MessageKey};
pub use database_key::{DATABASE_KEY_LEN, DatabaseKey};
#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
pub use directory::{
    ATTACHMENTS_DIR, DATABASE_FILE, KEY_HEADER_FILE, ProfileDirectory, Protection,
};
pub use key_info::{Argon2Params, PassphraseKdf, SALT_LEN};
pub use key_info::{
    KEYCHAIN_SERVICE, KeyError, KeyInfo, KeyMode, KeychainEntry, KeychainStore, MAX_KEY_INFO_LEN,
    MAX_KEYCHAIN_NAME_LEN,
};
#[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
pub use keychain::Keychain;
pub use memory::MemoryStore;
pub use passphrase::{create_with_passphrase, unseal_with_passphrase};
pub use records::{
    AttachmentRecord, ContactRecord, ConversationPlace, MessageDirection, MessageRecord,
    MessageStatus, OutboxRecord, ReceiveQueueRecord, SendQueueRecord, Towards,
};
pub use signal::SignalStore;
#[cfg(feature = "sqlcipher")]
pub use sqlcipher::SqlCipherStore;
#[cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]
pub use sqlcipher::{MAX_PROFILE_NAME_LEN, VfsProfiles};

use async_trait::async_trait;

/// A failure of the storage backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend could not read or write (I/O, database error, closed handle).
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// A stored record is unreadable: the store is damaged or was written by a newer version.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// The profile has no identity yet.
    #[error("this store holds no identity; create a profile first")]
    NoIdentity,
    /// The store already holds an identity; refusing to overwrite it.
    #[error("this store already holds an identity")]
    IdentityExists,
    /// The key does not open the database: a wrong key, or a file that is not an encrypted
    /// database at all (random bytes, a damaged first page). Nothing in the file was changed.
    #[error("the database key does not open this store (wrong key, or not an encrypted database)")]
    WrongKey,
    /// Opening a store that does not exist (opening never creates one).
    #[error("no store at {}", path.display())]
    NotFound {
        /// The path that was asked for.
        path: std::path::PathBuf,
    },
    /// Creating a store where a file already exists (creating never overwrites).
    #[error("refusing to create a store over the existing file {}", path.display())]
    AlreadyExists {
        /// The file that is in the way.
        path: std::path::PathBuf,
    },
    /// The file opens with the key but is not a Sotto store (an empty file, a directory, or
    /// a database of another application). Nothing in it was changed.
    #[error("not a Sotto store: {0}")]
    NotAStore(String),
    /// The store was written by a newer version of Sotto whose schema this build does not
    /// know. It was not touched; upgrade the application to open it.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    NewerSchema {
        /// The schema version recorded in the store.
        found: u32,
        /// The newest schema version this build can read.
        supported: u32,
    },
    /// The profile is open in another messenger (another process, or another handle in
    /// this one): a profile has one user at a time. Close it there first.
    #[error("the profile at {} is in use by another program", path.display())]
    InUse {
        /// The profile directory.
        path: std::path::PathBuf,
    },
    /// Another connection (usually another process running the same profile) holds the
    /// store's write lock and did not release it in time.
    #[error("the store is busy (in use by another process?): {0}")]
    Busy(String),
    /// The file system failed: permissions, a full disk, an I/O error.
    #[error("store I/O failed: {0}")]
    Io(String),
}

/// The local identity as stored: libsignal's serialized identity key pair, the libsignal
/// registration id and the optional display name the user chose.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    /// `IdentityKeyPair::serialize()` output (holds the private key).
    pub key_pair: Vec<u8>,
    /// libsignal registration id (random, 14 bits).
    pub registration_id: u32,
    /// Local label, never sent anywhere by the core.
    pub display_name: Option<String>,
}

impl std::fmt::Debug for IdentityRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityRecord")
            .field("key_pair", &"<secret>")
            .field("registration_id", &self.registration_id)
            .field("display_name", &self.display_name)
            .finish()
    }
}

impl Drop for IdentityRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key_pair);
    }
}

/// The storage backend of one profile. See the module documentation for the contract.
#[async_trait(?Send)]
pub trait Store {
    /// The local identity, if the profile has one.
    async fn load_identity(&self) -> Result<Option<IdentityRecord>, StoreError>;
    /// The identity key trusted for a remote address (libsignal `ProtocolAddress` string).
    async fn load_remote_identity(&self, address: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The serialized libsignal session with a remote address.
    async fn load_session(&self, address: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A one-time EC prekey record.
    async fn load_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError>;
    /// A signed EC prekey record.
    async fn load_signed_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError>;
    /// A Kyber (ML-KEM 1024) prekey record.
    async fn load_kyber_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError>;
    /// Ids of all stored one-time EC prekeys, ascending.
    async fn pre_key_ids(&self) -> Result<Vec<u32>, StoreError>;
    /// Ids of all stored signed prekeys, ascending.
    async fn signed_pre_key_ids(&self) -> Result<Vec<u32>, StoreError>;
    /// Ids of all stored Kyber prekeys, ascending.
    async fn kyber_pre_key_ids(&self) -> Result<Vec<u32>, StoreError>;
    /// Whether this base key was already used with this Kyber/signed prekey pair (a replayed
    /// first message).
    async fn kyber_base_key_seen(&self, used: &KyberBaseKeyUse) -> Result<bool, StoreError>;
    /// A contact by id.
    async fn load_contact(&self, id: &str) -> Result<Option<ContactRecord>, StoreError>;
    /// Every contact, ordered by id.
    async fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError>;
    /// One message by contact, direction and id.
    async fn load_message(
        &self,
        contact: &str,
        direction: MessageDirection,
        id: &[u8; 16],
    ) -> Result<Option<MessageRecord>, StoreError>;
    /// The incoming message of a conversation with this sequence number, if stored.
    async fn incoming_by_sequence(
        &self,
        contact: &str,
        sequence: u64,
    ) -> Result<Option<MessageRecord>, StoreError>;
    /// The newest `limit` messages of a conversation: ordered by `(at_ms, direction,
    /// sequence)` (incoming before outgoing), newest first.
    async fn recent_messages(
        &self,
        contact: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError>;
    /// Up to `limit` messages of a conversation strictly beyond `from` (from either end
    /// without it): [`Towards::Older`] newest first, [`Towards::Newer`] oldest first, in
    /// the order of [`ConversationPlace`]. What paging history reads.
    async fn messages_page(
        &self,
        contact: &str,
        from: Option<ConversationPlace>,
        towards: Towards,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError>;
    /// Every message of a conversation in one direction with one status, in conversation
    /// order (what unread counts read: incoming messages still `Shown`, not `Read`).
    async fn messages_with_status(
        &self,
        contact: &str,
        direction: MessageDirection,
        status: MessageStatus,
    ) -> Result<Vec<MessageRecord>, StoreError>;
    /// Every outbox entry, ordered by contact and message id.
    async fn outbox(&self) -> Result<Vec<OutboxRecord>, StoreError>;
    /// The earliest `next_attempt_ms` in the outbox (`None` when it is empty): what a
    /// handle's timer reads at every turn, so a backend should answer it without listing
    /// the outbox. The default lists it.
    async fn next_outbox_attempt(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .outbox()
            .await?
            .iter()
            .map(|entry| entry.next_attempt_ms)
            .min())
    }
    /// The attachment metadata of one message.
    async fn load_attachment(
        &self,
        contact: &str,
        message_id: &[u8; 16],
    ) -> Result<Option<AttachmentRecord>, StoreError>;
    /// Every queue this profile reads, ordered by recipient id.
    async fn receive_queues(&self) -> Result<Vec<ReceiveQueueRecord>, StoreError>;
    /// One queue this profile reads.
    async fn load_receive_queue(
        &self,
        recipient_id: &[u8; 16],
    ) -> Result<Option<ReceiveQueueRecord>, StoreError>;
    /// The queue this profile writes to for a contact.
    async fn load_send_queue(&self, contact: &str) -> Result<Option<SendQueueRecord>, StoreError>;
    /// A setting kept with the profile ([`ChangeSet::settings`]), by name.
    async fn load_setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies every change atomically: afterwards all of them are visible, or none is.
    async fn apply(&self, changes: ChangeSet) -> Result<(), StoreError>;
}
