//! Attachments: images, files and voice clips, encrypted on the device before they leave it.
//!
//! An attachment is too big for one message packet, so it travels apart from the message:
//! [`encrypt`] turns a plaintext stream into a ciphertext stream (uploaded to a relay's chunk
//! store) and an [`AttachmentPointer`] (sent inside the end-to-end encrypted message);
//! [`decrypt`] turns the downloaded ciphertext back into plaintext, checking it against the
//! pointer. Both stream with one chunk buffer, so memory stays constant whatever the size,
//! and both report [`Progress`].
//!
//! # Format (version 1)
//!
//! - Each attachment has a fresh random 256-bit key, used for nothing else.
//! - The plaintext is cut into chunks of exactly `chunk_size` bytes ([`CHUNK_SIZE`], 64 KiB,
//!   unless chosen otherwise through [`ChunkSize`]); the last chunk is zero-padded to full
//!   size, and an empty attachment is one all-padding chunk. Every chunk therefore has the
//!   same ciphertext size, `chunk_size + 16`, and the ciphertext length reveals only the
//!   chunk count.
//! - Chunks are sealed with ChaCha20-Poly1305 in the STREAM construction (RustCrypto
//!   `aead::stream`, big-endian 32-bit counter flavour): chunk `i` uses the 12-byte nonce
//!   `7 zero bytes || i as u32 big-endian || last-chunk flag (1 or 0)`. STREAM binds each
//!   chunk to its position and marks the final one, so reordering, dropping, truncating or
//!   extending the stream fails authentication. The fixed all-zero nonce prefix is safe only
//!   because a key never encrypts more than one attachment.
//! - Associated data is empty, except for the last chunk, which authenticates the plaintext
//!   size (8 bytes, big-endian): every field of the pointer is thereby tied to the
//!   ciphertext, and a successful [`decrypt`] yields exactly the plaintext that was encrypted.
//! - The BLAKE3 hash of the whole ciphertext is the pointer's digest. It lets anyone holding the
//!   pointer check a download before decrypting, and is checked again by [`decrypt`].
//!
//! The exact wire layout is written down in `docs/PROTOCOL.md`.
//!
//! # Example
//!
//! ```
//! use sotto_core::attachment::{AttachmentPointer, ChunkSize, decrypt, encrypt};
//!
//! let photo = vec![42u8; 200_000];
//! let mut upload = Vec::new();
//! let mut pointer = encrypt(&photo[..], &mut upload, ChunkSize::STANDARD, &mut |_| {})?;
//! assert_eq!(upload.len() as u64, pointer.ciphertext_size()); // 4 chunks of 64 KiB + 16
//! pointer.set_location("sotto://relay@example.org:443/chunk/1".into())?;
//!
//! // The pointer travels in an encrypted message; the ciphertext via the relay.
//! let received = AttachmentPointer::decode(&pointer.encode())?;
//! let mut opened = Vec::new();
//! decrypt(&upload[..], &mut opened, &received, &mut |progress| {
//!     println!("{} of {:?} bytes", progress.done, progress.total);
//! })?;
//! assert_eq!(opened, photo);
//! # Ok::<(), sotto_core::attachment::AttachmentError>(())
//! ```

mod chunk;
mod decrypt;
mod encrypt;
mod error;
mod pointer;
mod stream;

#[cfg(test)]
mod format_tests;

pub use chunk::{CHUNK_OVERHEAD, CHUNK_SIZE, ChunkSize, MAX_PLAINTEXT_SIZE};
pub use decrypt::decrypt;
pub use encrypt::encrypt;
pub use error::{AttachmentError, PointerError};
pub use pointer::{AttachmentPointer, MAX_LOCATION_LEN};
pub use stream::{StreamDecryptor, StreamEncryptor};

/// How far an [`encrypt`] or [`decrypt`] has come, reported after each chunk so that a user
/// interface can show a progress bar for large files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Plaintext bytes processed so far.
    pub done: u64,
    /// Plaintext bytes in all, when known. Decryption always knows it (from the pointer);
    /// encryption reads a stream of unknown length, so it reports `None` until the final
    /// call, which carries `Some(done)`.
    pub total: Option<u64>,
}
