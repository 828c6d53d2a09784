//! The chunk store for attachments (`docs/PROTOCOL.md` §17), behind its own trait: parts of
//! encrypted attachments, each under a public id, with the hash of its delete secret, its
//! size and an expiry hour.
//!
//! [`ChunkStore`] is the only way the protocol code touches chunks, like
//! [`RelayStore`](super::RelayStore) for queues; [`FileChunkStore`](super::FileChunkStore)
//! is the default backend (files, indexed in SQLite). The id is checked against the read
//! secret by the protocol code before the store is called; the store checks the delete
//! secret's hash itself, because only it holds the stored hash.
//!
//! # What is stored, and nothing more
//! Per chunk: the 32-byte id, BLAKE3 of the delete secret, the bytes (opaque ciphertext),
//! their count and one expiry *hour*. No addresses, no finer times, no link between the
//! parts of one attachment.
//!
//! # Time
//! The store never reads a clock: callers pass [`Hour`]s. A chunk stored in hour `h` is
//! served through hour `h + expiry_hours` and gone after it (so it lives at least
//! `expiry_hours` hours). Expired chunks are invisible at once and deleted by
//! [`ChunkStore::sweep`].
//!
//! # Durability and memory
//! [`ChunkUpload::commit`] returns `Ok` only once the bytes and the index entry are durable.
//! Bytes are written and read in pieces: neither side ever holds a whole chunk.

use std::io::Read;

use sotto_core::relay::ChunkId;

use super::StoreError;

/// Seconds in an hour.
pub const SECONDS_PER_HOUR: u64 = 3600;

/// An hour number: whole hours since the Unix epoch (UTC). The only time kept for chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(pub u64);

impl Hour {
    /// The hour `unix_seconds` falls in.
    pub fn from_unix_seconds(unix_seconds: u64) -> Self {
        Self(unix_seconds / SECONDS_PER_HOUR)
    }

    /// The hour `hours` hours later (saturating).
    pub fn plus(self, hours: u64) -> Self {
        Self(self.0.saturating_add(hours))
    }
}

/// The rules a chunk store applies, fixed when it is opened (from the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// Most bytes of unexpired chunks the whole store holds.
    pub max_store_bytes: u64,
    /// Hours a chunk is kept after the hour it was stored.
    pub expiry_hours: u64,
}

/// How much the chunk store holds, for metrics (expired chunks not yet swept included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    /// Chunks.
    pub chunks: u64,
    /// Bytes of all chunks.
    pub bytes: u64,
}

/// A stored chunk opened for reading, positioned at the requested offset.
pub struct ChunkReader {
    /// The chunk's whole size, in bytes.
    pub size: u64,
    /// The bytes from the requested offset to the end.
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for ChunkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// An upload in progress: bytes go to temporary storage until [`ChunkUpload::commit`].
/// Dropping it without committing discards them.
pub trait ChunkUpload: Send {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError>;

    /// Makes the chunk durable and visible under `id` with the delete secret's hash
    /// `delete_hash`, stored in hour `now`. Refuses ([`StoreError::ChunkExists`]) if an
    /// unexpired chunk holds the id by now, and ([`StoreError::ChunkStoreFull`]) if the
    /// chunk does not fit in the quota; the store is then unchanged.
    fn commit(self: Box<Self>, delete_hash: [u8; 32], now: Hour) -> Result<(), StoreError>;
}

/// The relay's chunk storage. Every implementation keeps the rules in the module
/// documentation.
pub trait ChunkStore: Send + Sync {
    /// Starts an upload of at most `max_len` bytes under `id`, refusing at once if an
    /// unexpired chunk holds the id ([`StoreError::ChunkExists`]) or if `max_len` more
    /// bytes would not fit in the quota ([`StoreError::ChunkStoreFull`]). The commit checks
    /// both again with the actual size.
    fn begin_upload(
        &self,
        id: &ChunkId,
        max_len: u64,
        now: Hour,
    ) -> Result<Box<dyn ChunkUpload>, StoreError>;

    /// Opens the unexpired chunk `id` for reading from byte `offset` (`None` if there is no
    /// such chunk). An `offset` past the end gives a reader at the end.
    fn open(&self, id: &ChunkId, offset: u64, now: Hour)
    -> Result<Option<ChunkReader>, StoreError>;

    /// Deletes the unexpired chunk `id` if `delete_hash` is its delete secret's hash
    /// ([`StoreError::UnknownChunk`], [`StoreError::BadCapability`] otherwise). Durable when
    /// it returns `Ok`.
    fn delete(&self, id: &ChunkId, delete_hash: &[u8; 32], now: Hour) -> Result<(), StoreError>;

    /// Deletes the chunks that expired before hour `now`; returns how many.
    fn sweep(&self, now: Hour) -> Result<u64, StoreError>;

    /// How many chunks and bytes the store holds. Kept as the store changes, not counted
    /// on demand (`/metrics` may call it on every poll).
    fn counts(&self) -> Result<ChunkCounts, StoreError>;
}
