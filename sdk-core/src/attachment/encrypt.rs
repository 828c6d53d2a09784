//! Encryption: plaintext stream in, fixed-size encrypted chunks out, pointer returned.

use std::io::{Read, Write};

use rand::RngCore;
use zeroize::Zeroizing;

use super::chunk::{CHUNK_OVERHEAD, KEY_SIZE, MAX_PLAINTEXT_SIZE, read_full};
use super::stream::Sealer;
use super::{AttachmentError, AttachmentPointer, ChunkSize, Progress};

/// Encrypts an attachment from `reader` to `writer` under a fresh random key and returns the
/// pointer that opens it (with an empty location, to be set once uploaded).
///
/// The plaintext is read to its end in chunks of `chunk_size` ([`ChunkSize::STANDARD`]
/// unless there is a reason otherwise); every chunk written is exactly
/// `chunk_size + CHUNK_OVERHEAD` bytes, the last one zero-padded, so the ciphertext reveals
/// only the number of chunks. One chunk buffer is held at a time, so memory does not grow
/// with the attachment. Short reads are retried until a chunk is full or the input ends.
/// `progress` is called after each chunk with the plaintext bytes done; the final call also
/// carries the total.
///
/// # Errors
/// [`AttachmentError::Io`] if reading or writing fails, [`AttachmentError::TooLarge`] if
/// the input exceeds [`MAX_PLAINTEXT_SIZE`]. Output written before an error is unusable and
/// must be discarded.
pub fn encrypt<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    chunk_size: ChunkSize,
    progress: &mut dyn FnMut(Progress),
) -> Result<AttachmentPointer, AttachmentError> {
    let mut key = Zeroizing::new([0u8; KEY_SIZE]);
    rand::rng().fill_bytes(key.as_mut_slice());
    encrypt_with_key(key, &mut reader, &mut writer, chunk_size, progress)
}

/// [`encrypt`] under a given key. Kept private to the module (and its format tests): a key
/// must never encrypt two attachments, which only a fresh random key guarantees.
pub(super) fn encrypt_with_key(
    key: Zeroizing<[u8; KEY_SIZE]>,
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    chunk_size: ChunkSize,
    progress: &mut dyn FnMut(Progress),
) -> Result<AttachmentPointer, AttachmentError> {
    let size = chunk_size.bytes();
    let mut sealer = Sealer::new(key, chunk_size);
    // One buffer for the whole attachment: `size` plaintext bytes, then room for the tag.
    // Each read asks for one byte more than a chunk: getting it proves the current chunk is
    // not the last (STREAM must know), and the byte starts the next chunk.
    let mut buffer = Zeroizing::new(vec![0u8; size + CHUNK_OVERHEAD]);
    let mut carried: Option<u8> = None;
    let mut done: u64 = 0;
    loop {
        buffer.resize(size + CHUNK_OVERHEAD, 0);
        let mut filled = 0;
        if let Some(byte) = carried.take() {
            buffer[0] = byte;
            filled = 1;
        }
        filled += read_full(reader, &mut buffer[filled..=size])?;
        let is_last = filled <= size;
        let plaintext_len = filled.min(size);
        done += plaintext_len as u64;
        if done > MAX_PLAINTEXT_SIZE {
            return Err(AttachmentError::TooLarge);
        }
        if is_last {
            buffer.truncate(plaintext_len);
            // Consumes the sealer: nothing can follow the last chunk.
            let pointer = sealer.seal_last(&mut buffer, done)?;
            writer.write_all(&buffer)?;
            writer.flush()?;
            progress(Progress {
                done,
                total: Some(done),
            });
            return Ok(pointer);
        }
        carried = Some(buffer[size]);
        buffer.truncate(size);
        sealer.seal_next(&mut buffer)?;
        writer.write_all(&buffer)?;
        progress(Progress { done, total: None });
    }
}
