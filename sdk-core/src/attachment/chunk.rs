//! The chunk layout shared by encryption and decryption: sizes, counts, the STREAM cipher
//! set-up and the read loop that fills one chunk.

use std::io::{self, Read};

use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::{ChaCha20Poly1305, Key};

use super::AttachmentError;

/// The standard plaintext bytes per chunk: 64 KiB. Large enough that the per-chunk tag and
/// call overhead vanish, small enough to keep memory low and padding waste bounded.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Ciphertext bytes added to every chunk: the 16-byte Poly1305 tag. An encrypted chunk is
/// exactly `chunk_size + CHUNK_OVERHEAD` bytes.
pub const CHUNK_OVERHEAD: usize = 16;

/// The largest plaintext an attachment may hold: 64 GiB. Far above any file a messenger
/// sends, it keeps every chunk count within the 32-bit STREAM counter, even at the smallest
/// chunk size.
pub const MAX_PLAINTEXT_SIZE: u64 = 64 << 30;

/// Length of an attachment key (ChaCha20-Poly1305).
pub(super) const KEY_SIZE: usize = 32;

/// The STREAM nonce prefix (7 bytes; the STREAM counter and last-chunk flag fill the other
/// 5 of ChaCha20-Poly1305's 12). Fixed at zero: every attachment has its own fresh key that
/// encrypts nothing else, so a (key, nonce) pair can never repeat.
const STREAM_NONCE_PREFIX: [u8; 7] = [0; 7];

/// Associated data of every chunk but the last: none. STREAM already binds position and
/// finality, and the key is unique to the attachment.
pub(super) const ASSOCIATED_DATA: &[u8] = b"";

/// Associated data of the last chunk: the plaintext size, 8 bytes big-endian. It binds the
/// pointer's size to the ciphertext, so a pointer that over- or understates the size fails
/// authentication instead of yielding padding as plaintext (or dropping real bytes). Only
/// the last chunk can carry it: a streaming encryptor learns the size at the end.
pub(super) fn last_associated_data(plaintext_size: u64) -> [u8; 8] {
    plaintext_size.to_be_bytes()
}

/// A validated chunk size: the plaintext bytes carried by each chunk.
///
/// Every chunk of an attachment has this size (the last one is padded), so the chunk size
/// is the unit in which the attachment's length leaks. It must be a power of two from
/// [`ChunkSize::MIN`] to [`ChunkSize::MAX`]: few distinct sizes mean senders are not told
/// apart by their choice, and the bounds keep both tag overhead and memory reasonable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkSize(u32);

impl ChunkSize {
    /// The standard chunk size, [`CHUNK_SIZE`] (64 KiB). Use it unless there is a reason not to.
    pub const STANDARD: ChunkSize = ChunkSize(CHUNK_SIZE as u32);
    /// The smallest chunk size, 64 bytes (useful in tests; wasteful in practice).
    pub const MIN: ChunkSize = ChunkSize(64);
    /// The largest chunk size, 4 MiB: the memory one encryption or decryption holds.
    pub const MAX: ChunkSize = ChunkSize(4 << 20);

    /// Validates a chunk size in bytes.
    ///
    /// # Errors
    /// [`AttachmentError::InvalidChunkSize`] unless `bytes` is a power of two from
    /// [`ChunkSize::MIN`] to [`ChunkSize::MAX`].
    pub fn new(bytes: usize) -> Result<Self, AttachmentError> {
        u32::try_from(bytes)
            .ok()
            .and_then(Self::from_wire)
            .ok_or(AttachmentError::InvalidChunkSize { size: bytes })
    }

    /// The chunk size in bytes.
    pub const fn bytes(self) -> usize {
        self.0 as usize
    }

    /// The chunk size as stored in a pointer.
    pub(super) const fn get(self) -> u32 {
        self.0
    }

    /// Validates a chunk size read from a pointer.
    pub(super) fn from_wire(bytes: u32) -> Option<Self> {
        (bytes.is_power_of_two() && (Self::MIN.0..=Self::MAX.0).contains(&bytes))
            .then_some(ChunkSize(bytes))
    }

    /// The number of chunks holding `plaintext_size` bytes: one per started chunk, and one
    /// for an empty attachment. `None` above [`MAX_PLAINTEXT_SIZE`].
    pub(super) fn chunk_count(self, plaintext_size: u64) -> Option<u32> {
        if plaintext_size > MAX_PLAINTEXT_SIZE {
            return None;
        }
        let count = plaintext_size.div_ceil(u64::from(self.0)).max(1);
        u32::try_from(count).ok()
    }
}

impl Default for ChunkSize {
    /// [`ChunkSize::STANDARD`].
    fn default() -> Self {
        Self::STANDARD
    }
}

/// The STREAM encryptor for a fresh attachment key.
pub(super) fn encryptor(key: &[u8; KEY_SIZE]) -> EncryptorBE32<ChaCha20Poly1305> {
    EncryptorBE32::from_aead(
        ChaCha20Poly1305::new(Key::from_slice(key)),
        &STREAM_NONCE_PREFIX.into(),
    )
}

/// The STREAM decryptor for an attachment key.
pub(super) fn decryptor(key: &[u8; KEY_SIZE]) -> DecryptorBE32<ChaCha20Poly1305> {
    DecryptorBE32::from_aead(
        ChaCha20Poly1305::new(Key::from_slice(key)),
        &STREAM_NONCE_PREFIX.into(),
    )
}

/// Reads until `buf` is full or the reader is exhausted, retrying short and interrupted
/// reads (network and pipe readers return data in pieces). Returns the bytes read; fewer
/// than `buf.len()` means end of input.
pub(super) fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let remaining = buf.len() - filled;
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) if n <= remaining => filled += n,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "reader claimed more bytes than the buffer holds",
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
