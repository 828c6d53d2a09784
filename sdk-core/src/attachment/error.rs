//! What can go wrong with an attachment, precisely enough to tell tampering from truncation
//! from a bad pointer.

/// An attachment failed to encrypt, decrypt or verify.
///
/// Every decryption failure means the plaintext written so far is not trustworthy: the
/// caller must discard it.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// The requested chunk size is outside the allowed range or not a power of two.
    #[error(
        "invalid chunk size {size}: must be a power of two from {min} to {max} bytes",
        min = super::ChunkSize::MIN.bytes(),
        max = super::ChunkSize::MAX.bytes()
    )]
    InvalidChunkSize {
        /// The refused size, in bytes.
        size: usize,
    },
    /// The plaintext is longer than [`MAX_PLAINTEXT_SIZE`](super::MAX_PLAINTEXT_SIZE).
    #[error(
        "attachment larger than the maximum of {} bytes",
        super::MAX_PLAINTEXT_SIZE
    )]
    TooLarge,
    /// A chunk failed authentication: its bytes were changed, it sits at the wrong position
    /// (dropped, reordered or duplicated chunks), it comes from another attachment, or the
    /// pointer does not belong to this ciphertext (wrong key: chunk 0 fails; wrong sizes).
    #[error(
        "attachment chunk {index} failed authentication (tampered, out of order, \
         from another attachment, or not matching the pointer)"
    )]
    ChunkAuthentication {
        /// Zero-based position of the first chunk that failed.
        index: u32,
    },
    /// The last chunk authenticated but its padding after the plaintext is not all zero: the
    /// sender's encoder does not follow the format (padding must be zero).
    #[error("attachment chunk {index} has non-zero padding")]
    NonZeroPadding {
        /// Zero-based position of the chunk (always the last one).
        index: u32,
    },
    /// The ciphertext ended before the last chunk was complete.
    #[error("attachment ciphertext truncated: expected {expected} bytes, got {received}")]
    Truncated {
        /// Ciphertext bytes the pointer describes.
        expected: u64,
        /// Ciphertext bytes actually read.
        received: u64,
    },
    /// A stream declared to hold one size held another
    /// ([`StreamEncryptor`](super::StreamEncryptor)).
    #[error("attachment declared as {declared} bytes, but {given} were given")]
    SizeMismatch {
        /// The size declared before the bytes.
        declared: u64,
        /// The bytes given (so far, when too many).
        given: u64,
    },
    /// More bytes follow the last chunk.
    #[error("attachment ciphertext continues after its last chunk")]
    TrailingData,
    /// Every chunk authenticated, but the ciphertext's BLAKE3 hash differs from the pointer's
    /// digest: the pointer is inconsistent with the ciphertext it names.
    #[error("attachment ciphertext does not match the pointer's digest")]
    DigestMismatch,
    /// The attachment pointer is malformed or inconsistent.
    #[error("invalid attachment pointer: {0}")]
    InvalidPointer(#[from] PointerError),
    /// Reading the input or writing the output failed.
    #[error("attachment I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// There is no attachment to fetch: no such message from this contact, or the message
    /// carries none.
    #[error("no attachment: {0}")]
    NotFound(&'static str),
    /// The pointer's location does not name a chunk store this version can fetch from.
    #[error("attachment location unusable: {0}")]
    Location(String),
}

/// Why an attachment pointer was refused. Pointers come from other devices, so each field is
/// checked before any of it is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// The bytes are not a protobuf `AttachmentPointer`.
    #[error("not an attachment pointer: {0}")]
    Malformed(String),
    /// The format version is not 1 (the only one that exists).
    #[error("unsupported version {0} (only version 1 exists)")]
    UnsupportedVersion(u32),
    /// The key is not 32 bytes long.
    #[error("key is {0} bytes, expected 32")]
    KeyLength(usize),
    /// The digest is not 32 bytes long.
    #[error("digest is {0} bytes, expected 32")]
    DigestLength(usize),
    /// The chunk size is out of range or not a power of two.
    #[error(
        "chunk size {0} is not a power of two from {min} to {max} bytes",
        min = super::ChunkSize::MIN.bytes(),
        max = super::ChunkSize::MAX.bytes()
    )]
    ChunkSize(u32),
    /// The plaintext size exceeds [`MAX_PLAINTEXT_SIZE`](super::MAX_PLAINTEXT_SIZE).
    #[error("plaintext size {0} exceeds the maximum of {max} bytes", max = super::MAX_PLAINTEXT_SIZE)]
    PlaintextSize(u64),
    /// The chunk count is not the one implied by the plaintext and chunk sizes.
    #[error("chunk count {found} differs from the {expected} chunks the sizes imply")]
    ChunkCount {
        /// The count implied by `plaintext_size` and `chunk_size`.
        expected: u32,
        /// The count the pointer states.
        found: u32,
    },
    /// The location is longer than [`MAX_LOCATION_LEN`](super::MAX_LOCATION_LEN).
    #[error("location is {0} bytes, more than the {max} allowed", max = super::MAX_LOCATION_LEN)]
    LocationLength(usize),
}
