//! Decryption: encrypted chunks in, plaintext out, every chunk and the whole checked against
//! the pointer.

use std::io::{Read, Write};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::chunk::{ASSOCIATED_DATA, CHUNK_OVERHEAD, read_full};
use super::{AttachmentError, AttachmentPointer, Progress, chunk};

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
    let sealed_size = size + CHUNK_OVERHEAD;
    let total = pointer.plaintext_size();
    let last_index = pointer.chunk_count() - 1;
    let mut decryptor = chunk::decryptor(pointer.key());
    let mut hasher = blake3::Hasher::new();
    let mut buffer = Zeroizing::new(vec![0u8; sealed_size]);
    let mut received: u64 = 0;
    let mut done: u64 = 0;

    let mut read_chunk = |buffer: &mut Vec<u8>, received: &mut u64| {
        buffer.resize(sealed_size, 0);
        let n = read_full(reader, buffer)?;
        *received += n as u64;
        if n < sealed_size {
            return Err(AttachmentError::Truncated {
                expected: pointer.ciphertext_size(),
                received: *received,
            });
        }
        hasher.update(buffer.as_slice());
        Ok(())
    };

    for index in 0..last_index {
        read_chunk(&mut buffer, &mut received)?;
        decryptor
            .decrypt_next_in_place(ASSOCIATED_DATA, &mut *buffer)
            .map_err(|_| AttachmentError::ChunkAuthentication { index })?;
        writer.write_all(&buffer)?;
        done += size as u64;
        progress(Progress {
            done,
            total: Some(total),
        });
    }

    read_chunk(&mut buffer, &mut received)?;
    decryptor
        .decrypt_last_in_place(&chunk::last_associated_data(total), &mut *buffer)
        .map_err(|_| AttachmentError::ChunkAuthentication { index: last_index })?;
    // The pointer is valid, so `total` is within the last chunk: 0 < last_len <= size,
    // or 0 for an empty attachment.
    let last_len = usize::try_from(total - done)
        .unwrap_or(usize::MAX)
        .min(size);
    // The padding is authenticated already; requiring zeros as well keeps the format strict
    // (no hidden bytes after the plaintext) at the cost of one pass over one chunk.
    if buffer[last_len..].iter().any(|&b| b != 0) {
        return Err(AttachmentError::NonZeroPadding { index: last_index });
    }
    if read_full(reader, &mut [0u8; 1])? != 0 {
        return Err(AttachmentError::TrailingData);
    }
    let digest: [u8; 32] = *hasher.finalize().as_bytes();
    if !bool::from(digest.ct_eq(pointer.digest())) {
        return Err(AttachmentError::DigestMismatch);
    }
    writer.write_all(&buffer[..last_len])?;
    writer.flush()?;
    done += last_len as u64;
    progress(Progress {
        done,
        total: Some(total),
    });
    Ok(done)
}
