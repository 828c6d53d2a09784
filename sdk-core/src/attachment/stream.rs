//! The format's chunk sealing without any I/O: bytes are pushed in, bytes come out. The
//! reader/writer functions ([`encrypt`](super::encrypt), [`decrypt`](super::decrypt)) run on
//! these, and so do transfers whose bytes arrive asynchronously (a browser `Blob` read slice
//! by slice, a download part by part), which cannot lend a blocking reader.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::chunk::{ASSOCIATED_DATA, CHUNK_OVERHEAD, KEY_SIZE, MAX_PLAINTEXT_SIZE};
use super::{AttachmentError, AttachmentPointer, ChunkSize, chunk};

/// Seals one attachment's chunks in order under one key, hashing the ciphertext as it goes.
pub(super) struct Sealer {
    key: Zeroizing<[u8; KEY_SIZE]>,
    encryptor: EncryptorBE32<ChaCha20Poly1305>,
    hasher: blake3::Hasher,
    chunk_size: ChunkSize,
}

impl Sealer {
    /// A sealer under `key` (fresh and random, except in the format tests).
    pub(super) fn new(key: Zeroizing<[u8; KEY_SIZE]>, chunk_size: ChunkSize) -> Self {
        Self {
            encryptor: chunk::encryptor(&key),
            key,
            hasher: blake3::Hasher::new(),
            chunk_size,
        }
    }

    /// Seals a chunk that is not the last: `buffer` holds exactly one chunk of plaintext
    /// and afterwards its ciphertext (`CHUNK_OVERHEAD` bytes longer).
    pub(super) fn seal_next(&mut self, buffer: &mut Vec<u8>) -> Result<(), AttachmentError> {
        debug_assert_eq!(buffer.len(), self.chunk_size.bytes());
        // Fails only when the 32-bit chunk counter is exhausted, which MAX_PLAINTEXT_SIZE
        // rules out; reported as too large all the same.
        self.encryptor
            .encrypt_next_in_place(ASSOCIATED_DATA, buffer)
            .map_err(|_| AttachmentError::TooLarge)?;
        self.hasher.update(buffer);
        Ok(())
    }

    /// Seals the last chunk: `buffer` holds its plaintext (at most one chunk), is padded
    /// with zeros and sealed with the attachment's plaintext size `total` as associated
    /// data. Returns the pointer (with an empty location).
    pub(super) fn seal_last(
        self,
        buffer: &mut Vec<u8>,
        total: u64,
    ) -> Result<AttachmentPointer, AttachmentError> {
        if total > MAX_PLAINTEXT_SIZE {
            return Err(AttachmentError::TooLarge);
        }
        buffer.resize(self.chunk_size.bytes(), 0);
        let Self {
            key,
            encryptor,
            mut hasher,
            chunk_size,
        } = self;
        encryptor
            .encrypt_last_in_place(&chunk::last_associated_data(total), buffer)
            .map_err(|_| AttachmentError::TooLarge)?;
        hasher.update(buffer);
        AttachmentPointer::new(key, hasher.finalize().into(), total, chunk_size)
    }
}

/// Encrypts an attachment whose size is known before its bytes (a `Blob`, a file whose
/// length was asked): push the plaintext in pieces of any size, take the ciphertext as
/// whole chunks, and get the pointer from [`StreamEncryptor::finish`].
///
/// It produces the same format as [`encrypt`](super::encrypt), under a fresh random key,
/// and holds at most one chunk of plaintext.
pub struct StreamEncryptor {
    sealer: Sealer,
    size: u64,
    pushed: u64,
    pending: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEncryptor")
            .field("size", &self.size)
            .field("pushed", &self.pushed)
            .finish_non_exhaustive()
    }
}

impl StreamEncryptor {
    /// An encryptor for exactly `plaintext_size` bytes.
    ///
    /// # Errors
    /// [`AttachmentError::TooLarge`] beyond [`MAX_PLAINTEXT_SIZE`].
    pub fn new(plaintext_size: u64, chunk_size: ChunkSize) -> Result<Self, AttachmentError> {
        if plaintext_size > MAX_PLAINTEXT_SIZE {
            return Err(AttachmentError::TooLarge);
        }
        let mut key = Zeroizing::new([0u8; KEY_SIZE]);
        rand::rng().fill_bytes(key.as_mut_slice());
        Ok(Self {
            sealer: Sealer::new(key, chunk_size),
            size: plaintext_size,
            pushed: 0,
            pending: Zeroizing::new(Vec::with_capacity(chunk_size.bytes() + CHUNK_OVERHEAD)),
        })
    }

    /// The ciphertext's size: every chunk sealed, padding included.
    pub fn ciphertext_size(&self) -> u64 {
        let chunk_size = self.sealer.chunk_size;
        // `new` checked the size, so the count exists.
        let chunks = chunk_size.chunk_count(self.size).unwrap_or(u32::MAX);
        u64::from(chunks) * (chunk_size.bytes() + CHUNK_OVERHEAD) as u64
    }

    /// The plaintext size declared at the start.
    pub fn plaintext_size(&self) -> u64 {
        self.size
    }

    /// Plaintext bytes pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Encrypts `plaintext` (the next bytes of the attachment), appending every chunk it
    /// completes to `ciphertext`. The chunk holding the last byte waits for
    /// [`StreamEncryptor::finish`].
    ///
    /// # Errors
    /// [`AttachmentError::SizeMismatch`] if the bytes pushed exceed the declared size
    /// (nothing of this call is taken then).
    pub fn push(
        &mut self,
        plaintext: &[u8],
        ciphertext: &mut Vec<u8>,
    ) -> Result<(), AttachmentError> {
        let after = self.pushed + plaintext.len() as u64;
        if after > self.size {
            return Err(AttachmentError::SizeMismatch {
                declared: self.size,
                given: after,
            });
        }
        let chunk = self.sealer.chunk_size.bytes();
        let mut rest = plaintext;
        while !rest.is_empty() {
            let take = rest.len().min(chunk - self.pending.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            self.pushed += take as u64;
            // A full chunk is sealed once a byte is known to follow it; the chunk ending at
            // the declared size is the last one and waits for `finish`.
            if self.pending.len() == chunk && self.pushed < self.size {
                self.sealer.seal_next(&mut self.pending)?;
                ciphertext.extend_from_slice(&self.pending);
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Seals the last chunk into `ciphertext` and returns the pointer (with an empty
    /// location).
    ///
    /// # Errors
    /// [`AttachmentError::SizeMismatch`] if fewer bytes were pushed than declared.
    pub fn finish(
        mut self,
        ciphertext: &mut Vec<u8>,
    ) -> Result<AttachmentPointer, AttachmentError> {
        if self.pushed != self.size {
            return Err(AttachmentError::SizeMismatch {
                declared: self.size,
                given: self.pushed,
            });
        }
        let pointer = self.sealer.seal_last(&mut self.pending, self.size)?;
        ciphertext.extend_from_slice(&self.pending);
        Ok(pointer)
    }
}

/// Decrypts the attachment a pointer describes from ciphertext pushed in pieces of any
/// size, handing out the plaintext of each chunk once it authenticated.
///
/// The checks are those of [`decrypt`](super::decrypt): every chunk is authenticated at its
/// position, and the last chunk's plaintext is released only by
/// [`StreamDecryptor::finish`], after its padding, the total length and the digest of the
/// whole ciphertext have been checked. **Plaintext handed out before an error belongs to
/// an incomplete or inconsistent attachment and must be discarded.**
pub struct StreamDecryptor {
    decryptor: DecryptorBE32<ChaCha20Poly1305>,
    hasher: blake3::Hasher,
    pointer: AttachmentPointer,
    /// Ciphertext of the chunk being filled.
    pending: Zeroizing<Vec<u8>>,
    /// Chunks opened so far.
    opened: u32,
    received: u64,
}

impl std::fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecryptor")
            .field("opened", &self.opened)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl StreamDecryptor {
    /// A decryptor for the attachment `pointer` describes.
    pub fn new(pointer: &AttachmentPointer) -> Self {
        Self {
            decryptor: chunk::decryptor(pointer.key()),
            hasher: blake3::Hasher::new(),
            pointer: pointer.clone(),
            pending: Zeroizing::new(Vec::with_capacity(sealed_size(pointer))),
            opened: 0,
            received: 0,
        }
    }

    /// Ciphertext bytes pushed so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes the next `ciphertext` bytes, appending the plaintext of every chunk before the
    /// last that they complete to `plaintext`.
    ///
    /// # Errors
    /// [`AttachmentError::ChunkAuthentication`] for a chunk that fails;
    /// [`AttachmentError::TrailingData`] for bytes beyond the pointer's ciphertext size.
    pub fn push(
        &mut self,
        ciphertext: &[u8],
        plaintext: &mut Vec<u8>,
    ) -> Result<(), AttachmentError> {
        if self.received + ciphertext.len() as u64 > self.pointer.ciphertext_size() {
            return Err(AttachmentError::TrailingData);
        }
        let sealed = sealed_size(&self.pointer);
        let last_index = self.pointer.chunk_count() - 1;
        let mut rest = ciphertext;
        while !rest.is_empty() {
            let take = rest.len().min(sealed - self.pending.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            self.received += take as u64;
            if self.pending.len() == sealed && self.opened < last_index {
                self.hasher.update(&self.pending);
                let index = self.opened;
                self.decryptor
                    .decrypt_next_in_place(ASSOCIATED_DATA, &mut *self.pending)
                    .map_err(|_| AttachmentError::ChunkAuthentication { index })?;
                plaintext.extend_from_slice(&self.pending);
                self.pending.clear();
                self.opened += 1;
            }
        }
        Ok(())
    }

    /// Opens the last chunk, checks its padding and the digest, appends its plaintext to
    /// `plaintext` and returns the attachment's plaintext size.
    ///
    /// # Errors
    /// [`AttachmentError::Truncated`] if the ciphertext is not complete;
    /// [`AttachmentError::ChunkAuthentication`], [`AttachmentError::NonZeroPadding`],
    /// [`AttachmentError::DigestMismatch`] as [`decrypt`](super::decrypt) reports them.
    pub fn finish(self, plaintext: &mut Vec<u8>) -> Result<u64, AttachmentError> {
        let Self {
            decryptor,
            mut hasher,
            pointer,
            mut pending,
            received,
            ..
        } = self;
        if received != pointer.ciphertext_size() {
            return Err(AttachmentError::Truncated {
                expected: pointer.ciphertext_size(),
                received,
            });
        }
        let last_index = pointer.chunk_count() - 1;
        let total = pointer.plaintext_size();
        hasher.update(&pending);
        decryptor
            .decrypt_last_in_place(&chunk::last_associated_data(total), &mut *pending)
            .map_err(|_| AttachmentError::ChunkAuthentication { index: last_index })?;
        // The pointer is valid, so the plaintext ends within the last chunk.
        let chunk = pointer.chunk_size().bytes() as u64;
        let last_len = usize::try_from(total - u64::from(last_index) * chunk).unwrap_or(usize::MAX);
        let last_len = last_len.min(pending.len());
        // The padding is authenticated already; requiring zeros as well keeps the format
        // strict (no hidden bytes after the plaintext) at the cost of one pass over a chunk.
        if pending[last_len..].iter().any(|&b| b != 0) {
            return Err(AttachmentError::NonZeroPadding { index: last_index });
        }
        let digest: [u8; 32] = *hasher.finalize().as_bytes();
        if !bool::from(digest.ct_eq(pointer.digest())) {
            return Err(AttachmentError::DigestMismatch);
        }
        plaintext.extend_from_slice(&pending[..last_len]);
        Ok(total)
    }
}

fn sealed_size(pointer: &AttachmentPointer) -> usize {
    pointer.chunk_size().bytes() + CHUNK_OVERHEAD
}
