//! Decryption: encrypted chunks in, plaintext out, every chunk and the whole checked against
//! the pointer.

use std::io::{Read, Write};

use zeroize::Zeroizing;

use super::chunk::{CHUNK_OVERHEAD, read_full};
use super::{AttachmentError, AttachmentPointer, Progress, StreamDecryptor};

/// Decrypts the attachment `pointer` describes from `reader` to `writer` and returns the
/// number of plaintext bytes written (the pointer's plaintext size).
///
/// Chunks are read, authenticated and written one at a time, so memory stays constant
/// whatever the size, and `progress` is called after each chunk with the total known from
/// the pointer. Every change to the ciphertext is detected: a modified, dropped, reordered
/// or foreign chunk fails authentication at its position, a short stream is truncated, bytes
/// after the last chunk are trailing data (so the input is read to its end), and the whole
/// must hash to the pointer's digest.
///
/// **Output written before an error must be discarded by the caller**: streaming means the
/// plaintext of earlier chunks is already written when a later chunk fails. (It is authentic
/// plaintext, but of an incomplete or inconsistent attachment.) Write to a temporary place
/// and keep the result only when this returns `Ok`. The last chunk is written only after
/// every check has passed.
///
/// # Errors
/// - [`AttachmentError::ChunkAuthentication`]: a chunk was altered, dropped, reordered,
///   taken from another attachment, or the pointer does not match the ciphertext (a wrong
///   key fails chunk 0, a wrong plaintext size the last chunk).
/// - [`AttachmentError::Truncated`]: the input ended before the last chunk was complete.
/// - [`AttachmentError::TrailingData`]: bytes follow the last chunk.
/// - [`AttachmentError::NonZeroPadding`]: the last chunk's padding is not zero (the sender
///   broke the format).
/// - [`AttachmentError::DigestMismatch`]: the ciphertext does not hash to the digest.
/// - [`AttachmentError::Io`]: reading or writing failed.
pub fn decrypt<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    pointer: &AttachmentPointer,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, AttachmentError> {
    decrypt_dyn(&mut reader, &mut writer, pointer, progress)
}

/// The body of [`decrypt`], compiled once rather than per reader and writer type.
fn decrypt_dyn(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    pointer: &AttachmentPointer,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, AttachmentError> {
    let size = pointer.chunk_size().bytes();
    let total = pointer.plaintext_size();
    let mut decryptor = StreamDecryptor::new(pointer);
    let mut sealed = Zeroizing::new(vec![0u8; size + CHUNK_OVERHEAD]);
    let mut opened = Zeroizing::new(Vec::with_capacity(size));
    let mut done: u64 = 0;
    loop {
        let n = read_full(reader, &mut sealed)?;
        if n == 0 {
            break;
        }
        decryptor.push(&sealed[..n], &mut opened)?;
        if !opened.is_empty() {
            writer.write_all(&opened)?;
            done += opened.len() as u64;
            opened.clear();
            progress(Progress {
                done,
                total: Some(total),
            });
        }
        if n < sealed.len() {
            break;
        }
    }
    decryptor.finish(&mut opened)?;
    writer.write_all(&opened)?;
    writer.flush()?;
    progress(Progress {
        done: total,
        total: Some(total),
    });
    Ok(total)
}
