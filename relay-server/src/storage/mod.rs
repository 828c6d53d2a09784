//! What the relay keeps, behind one trait: mailbox queues, their messages and the nonces of
//! requests already served. Attachment chunks are behind a second trait of their own,
//! [`ChunkStore`] (see [`chunks`]).
//!
//! [`RelayStore`] is the only way the protocol code ([`crate::app`]) touches storage, so a
//! second backend (a PostgreSQL-compatible distributed database for operators who outgrow
//! one machine) comes without touching the protocol code. [`sqlite::SqliteStore`] is the
//! default backend: one SQLite file in the data directory.
//!
//! # What is stored, and nothing more
//! - A queue: its recipient id, its sender id, the two public keys and one expiry *day*.
//! - A message: its queue, its position in the queue, a random message id, the opaque body
//!   (ciphertext) and one expiry *day*.
//! - A request nonce: the 16 nonce bytes and a coarse expiry bucket (ten minutes).
//!
//! No addresses, no times finer than a day, no counters per queue.
//!
//! # Time: days and nonce buckets
//! The store never reads a clock: callers pass [`Day`]s and [`NonceBucket`]s, so tests move
//! time freely. A message stored on day `d` expires after day `d + expiry_days`; a queue
//! expires after day `u + expiry_days`, where `u` is the last day it was used (created,
//! written to, read or acknowledged). Expired rows are invisible at once and deleted by
//! [`RelayStore::sweep`].
//!
//! # Durability contract
//! Every method that changes the store returns `Ok` only once the change is durable: it
//! survives a crash or power loss of the relay's machine from that moment on. The relay
//! answers a write with success only after that `Ok`.
//!
//! # Blocking
//! The methods block on I/O; async callers run them on `tokio::task::spawn_blocking`.

pub mod chunk_files;
pub mod chunks;
pub mod key_cache;
pub mod sqlite;

use sotto_core::relay::auth::NONCE_LEN;
use sotto_core::relay::{QueuePublicKey, RecipientId, RelayMessageId, SenderId};

pub use chunk_files::FileChunkStore;
pub use chunks::{ChunkCounts, ChunkPolicy, ChunkReader, ChunkStore, ChunkUpload, Hour};
pub use key_cache::KeyCache;
pub use sqlite::SqliteStore;

/// Seconds in a day.
pub const SECONDS_PER_DAY: u64 = 86_400;
/// Length of a nonce bucket, in seconds: the coarse time a request nonce is kept until.
pub const NONCE_BUCKET_SECONDS: u64 = 600;

/// A day number: whole days since the Unix epoch (UTC). The only time kept for queues and
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub u64);

impl Day {
    /// The day `unix_seconds` falls in.
    pub fn from_unix_seconds(unix_seconds: u64) -> Self {
        Self(unix_seconds / SECONDS_PER_DAY)
    }

    /// The day `days` days later (saturating).
    pub fn plus(self, days: u64) -> Self {
        Self(self.0.saturating_add(days))
    }
}

/// A ten-minute bucket number (seconds since the Unix epoch / [`NONCE_BUCKET_SECONDS`]):
/// how long a request nonce is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonceBucket(pub u64);

impl NonceBucket {
    /// The bucket `unix_seconds` falls in.
    pub fn from_unix_seconds(unix_seconds: u64) -> Self {
        Self(unix_seconds / NONCE_BUCKET_SECONDS)
    }
}

/// The rules a store applies to every queue, fixed when it is opened (from the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Most messages in one queue.
    pub max_queue_messages: u64,
    /// Most message bytes (bodies) in one queue.
    pub max_queue_bytes: u64,
    /// Days a message is kept after the day it was stored, and a queue after the last day
    /// it was used.
    pub expiry_days: u64,
    /// Most queues the store holds (a creation beyond is [`StoreError::TooManyQueues`]).
    pub max_queues: u64,
}

/// A queue's two public keys, as registered when it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueKeys {
    /// Signs reads, acknowledgements and deletion.
    pub recipient_key: QueuePublicKey,
    /// Signs writes.
    pub sender_key: QueuePublicKey,
}

/// The two ids of a new queue (random and unrelated to each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewQueue {
    /// The recipient's id.
    pub recipient_id: RecipientId,
    /// The sender's id.
    pub sender_id: SenderId,
}

/// A message just written: its id and the queue it went into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The id the recipient will acknowledge it by.
    pub id: RelayMessageId,
    /// The queue's recipient id.
    pub queue: RecipientId,
}

/// One message as read from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The id the recipient acknowledges it by.
    pub id: RelayMessageId,
    /// The opaque body, as written.
    pub body: Vec<u8>,
}

/// What a sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired messages deleted (including those of expired queues).
    pub messages: u64,
    /// Expired queues deleted.
    pub queues: u64,
    /// Expired request nonces deleted.
    pub nonces: u64,
}

/// How much the store holds, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Queues.
    pub queues: u64,
    /// Messages in all queues.
    pub messages: u64,
    /// Bytes of message bodies in all queues.
    pub message_bytes: u64,
}

/// Why a storage call failed. The refusals ([`StoreError::is_refusal`]: queue, replay and
/// chunk refusals) are the client's business (the relay answers them with a 4xx); the
/// others are the relay's own failures. No variant holds an id, a key
/// or a message body.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such queue (never created, deleted, or expired).
    #[error("no such queue")]
    UnknownQueue,
    /// No such message in the queue.
    #[error("no such message in the queue")]
    UnknownMessage,
    /// The queue holds as many messages or bytes as its quota allows.
    #[error("the queue is full")]
    QuotaExceeded,
    /// No such chunk (never stored, deleted, or expired).
    #[error("no such chunk")]
    UnknownChunk,
    /// A chunk with this id is already stored.
    #[error("a chunk with this id is already stored")]
    ChunkExists,
    /// The chunk store holds as many bytes as its quota allows.
    #[error("the chunk store is full")]
    ChunkStoreFull,
    /// The store holds as many queues as its policy allows.
    #[error("the store holds as many queues as it may")]
    TooManyQueues,
    /// The delete secret is not the chunk's.
    #[error("the delete secret is not this chunk's")]
    BadCapability,
    /// The request's nonce is already recorded: the request is a replay.
    #[error("the request was served before")]
    Replayed,
    /// Another relay process uses the data directory.
    #[error("the data directory is in use by another relay process")]
    InUse,
    /// The data file belongs to another application or to a newer relay.
    #[error("the data file cannot be used: {0}")]
    Incompatible(String),
    /// The backend failed (I/O, corruption, a full disk): what was being done, and why.
    #[error("storage failed while {0}")]
    Backend(String),
}

/// The nonce of a signed request and the bucket until whose end it is kept: what lets a
/// store refuse the same request twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestNonce {
    /// The request's random nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The last bucket in which the request could still be fresh.
    pub expires: NonceBucket,
}

impl StoreError {
    /// Whether the client's request is refused (a 4xx), as opposed to the store failing.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::UnknownQueue
                | StoreError::UnknownMessage
                | StoreError::QuotaExceeded
                | StoreError::Replayed
                | StoreError::UnknownChunk
                | StoreError::ChunkExists
                | StoreError::ChunkStoreFull
                | StoreError::TooManyQueues
                | StoreError::BadCapability
        )
    }
}

/// The relay's storage. Every implementation keeps the rules in the module documentation:
/// nothing stored but what is listed there, expired rows invisible, and `Ok` from a change
/// only once it is durable.
///
/// # Signed requests
/// The operations a signed request asks for (`create_queue`, `write_message`,
/// `next_message`, `ack_message`, `delete_queue`) take the request's [`RequestNonce`] and
/// record it in the same transaction as the operation, so a request costs one durable
/// commit, not two. For each of them:
/// - a nonce already recorded is [`StoreError::Replayed`], and nothing changes;
/// - an operation refused for the client's reason ([`StoreError::UnknownQueue`],
///   [`StoreError::UnknownMessage`], [`StoreError::QuotaExceeded`]) changes nothing but
///   still records the nonce, durably, before the refusal is returned;
/// - a failure of the store itself ([`StoreError::Backend`]) records nothing, so the
///   same signed request may be sent again.
pub trait RelayStore: Send + Sync {
    /// Registers a queue with fresh random ids (from a cryptographic RNG), used on `today`,
    /// for the request with `nonce` (see [Signed requests](RelayStore#signed-requests)).
    /// Durable when it returns `Ok`.
    fn create_queue(
        &self,
        keys: &QueueKeys,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<NewQueue, StoreError>;

    /// The sender key of the queue with this sender id, if it exists and has not expired.
    fn sender_key(
        &self,
        sender: &SenderId,
        today: Day,
    ) -> Result<Option<QueuePublicKey>, StoreError>;

    /// The sender key of this sender id if it is at hand without the store (in memory), so
    /// that the lookup need not leave the async thread; `None` says nothing (ask
    /// [`RelayStore::sender_key`]). A key given here may belong to a queue deleted or expired
    /// since: the operation itself still refuses such a queue.
    fn sender_key_at_hand(&self, _sender: &SenderId) -> Option<QueuePublicKey> {
        None
    }

    /// [`RelayStore::sender_key_at_hand`] for a recipient id.
    fn recipient_key_at_hand(&self, _recipient: &RecipientId) -> Option<QueuePublicKey> {
        None
    }

    /// The recipient key of the queue with this recipient id, if it exists and has not
    /// expired.
    fn recipient_key(
        &self,
        recipient: &RecipientId,
        today: Day,
    ) -> Result<Option<QueuePublicKey>, StoreError>;

    /// Appends a message to the queue with this sender id under a fresh random message id,
    /// if the [`Policy`] quota leaves room for it ([`StoreError::QuotaExceeded`] otherwise).
    /// Marks the queue used on `today`. Records `nonce` (see
    /// [Signed requests](RelayStore#signed-requests)). Durable when it returns `Ok`, which
    /// names the message and the queue it went into (so that waiting reads can be woken).
    fn write_message(
        &self,
        sender: &SenderId,
        body: &[u8],
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<Written, StoreError>;

    /// The oldest unexpired message of the queue, or `None` when it holds none. Marks the
    /// queue used on `today`. Records `nonce` (see
    /// [Signed requests](RelayStore#signed-requests)); durable when it returns `Ok`.
    fn next_message(
        &self,
        recipient: &RecipientId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<Option<StoredMessage>, StoreError>;

    /// Deletes `ack` from the queue if it is still there, then reads as
    /// [`RelayStore::next_message`] does, in one transaction: a read that acknowledges the
    /// message read before it. Returns whether `ack` was deleted (a message already gone is
    /// no error: acknowledging it again changes nothing) and the message now oldest. Marks
    /// the queue used on `today`. Records `nonce` (see
    /// [Signed requests](RelayStore#signed-requests)); durable when it returns `Ok`.
    fn ack_then_next(
        &self,
        recipient: &RecipientId,
        ack: &RelayMessageId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<(bool, Option<StoredMessage>), StoreError>;

    /// [`RelayStore::next_message`] again at the end of a waiting read, whose signed request
    /// (and its nonce) the first look recorded: the same read, no nonce. Durable when it
    /// returns `Ok`.
    fn next_message_after_wait(
        &self,
        recipient: &RecipientId,
        today: Day,
    ) -> Result<Option<StoredMessage>, StoreError>;

    /// Deletes one message of the queue ([`StoreError::UnknownMessage`] if it holds no
    /// unexpired message with this id). Marks the queue used on `today`. Records `nonce`
    /// (see [Signed requests](RelayStore#signed-requests)). Durable when it returns `Ok`.
    fn ack_message(
        &self,
        recipient: &RecipientId,
        message: &RelayMessageId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<(), StoreError>;

    /// Deletes the queue and all its messages. Records `nonce` (see
    /// [Signed requests](RelayStore#signed-requests)). Durable when it returns `Ok`.
    fn delete_queue(&self, recipient: &RecipientId, nonce: &RequestNonce)
    -> Result<(), StoreError>;

    /// Records a request nonce on its own, for a signed request whose work is not one of
    /// the operations above (those record theirs themselves). Returns `false` (and changes
    /// nothing) if the nonce is already recorded: the request is a replay. Durable when it
    /// returns `Ok(true)`.
    fn remember_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        expires: NonceBucket,
    ) -> Result<bool, StoreError>;

    /// Deletes messages and queues that expired before `today`, and nonces whose bucket
    /// ended before `now`.
    fn sweep(&self, today: Day, now: NonceBucket) -> Result<SweepReport, StoreError>;

    /// How many queues and messages the store holds (expired ones not yet swept included).
    /// Kept as the store changes, not counted on demand: `/metrics` may call it on every
    /// poll, and it must not hold up signed writes (the SQLite store reads one row).
    fn counts(&self) -> Result<StoreCounts, StoreError>;
}
