//! The attachment pointer: everything a recipient needs to fetch, check and open an
//! attachment, and its protobuf encoding.

use std::fmt;

use prost::Message;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::chunk::{CHUNK_OVERHEAD, ChunkSize, KEY_SIZE, MAX_PLAINTEXT_SIZE};
use super::{AttachmentError, PointerError};
use crate::proto;

/// The only pointer format version.
const VERSION: u32 = 1;

/// The longest location a pointer may carry, in bytes. A pointer travels inside a message
/// packet of fixed size, so the location (a relay chunk-store capability) must stay small.
pub const MAX_LOCATION_LEN: usize = 256;

/// Where an encrypted attachment lives and how to open it: the key, the digest of the
/// ciphertext, the sizes that fix its chunk layout, and the location of the chunks.
///
/// It is made by [`encrypt`](super::encrypt) and travels inside an end-to-end encrypted
/// message, which is what authenticates it; the ciphertext itself can sit on any relay. A
/// pointer is always valid: [`AttachmentPointer::decode`] checks every field, and the fields
/// are read-only. The key is wiped from memory when the pointer is dropped, and `Debug`
/// never prints it (nor the location, a capability).
#[derive(Clone)]
pub struct AttachmentPointer {
    key: Zeroizing<[u8; KEY_SIZE]>,
    digest: [u8; 32],
    plaintext_size: u64,
    chunk_size: ChunkSize,
    chunk_count: u32,
    location: String,
}

impl AttachmentPointer {
    /// A pointer for a freshly encrypted attachment, not yet uploaded (empty location).
    pub(super) fn new(
        key: Zeroizing<[u8; KEY_SIZE]>,
        digest: [u8; 32],
        plaintext_size: u64,
        chunk_size: ChunkSize,
    ) -> Result<Self, AttachmentError> {
        let chunk_count = chunk_size
            .chunk_count(plaintext_size)
            .ok_or(AttachmentError::TooLarge)?;
        Ok(Self {
            key,
            digest,
            plaintext_size,
            chunk_size,
            chunk_count,
            location: String::new(),
        })
    }

    /// The attachment key. Crate-internal: only encryption and decryption use it.
    pub(super) fn key(&self) -> &[u8; KEY_SIZE] {
        &self.key
    }

    /// BLAKE3 of the whole ciphertext (all chunks, in order). A relay or a downloader can
    /// check a transfer against it without the key.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Length of the plaintext in bytes (the ciphertext only reveals the chunk count).
    pub fn plaintext_size(&self) -> u64 {
        self.plaintext_size
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> ChunkSize {
        self.chunk_size
    }

    /// Number of encrypted chunks, at least one.
    pub fn chunk_count(&self) -> u32 {
        self.chunk_count
    }

    /// Exact length of the ciphertext in bytes: `chunk_count * (chunk_size + 16)`. What an
    /// upload sends and a download expects, for quotas and progress.
    pub fn ciphertext_size(&self) -> u64 {
        u64::from(self.chunk_count) * (self.chunk_size.bytes() + CHUNK_OVERHEAD) as u64
    }

    /// Where the chunks are stored (a relay chunk-store capability); empty until uploaded.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Records where the chunks were uploaded, once the upload is done.
    ///
    /// # Errors
    /// [`PointerError::LocationLength`] if `location` is longer than [`MAX_LOCATION_LEN`];
    /// the pointer is then unchanged.
    pub fn set_location(&mut self, location: String) -> Result<(), AttachmentError> {
        check_location(&location)?;
        self.location = location;
        Ok(())
    }

    /// Encodes the pointer as a protobuf `AttachmentPointer` (`proto/content.proto`), for
    /// storage or for a shell to carry. The bytes contain the key: treat them as secret.
    pub fn encode(&self) -> Vec<u8> {
        let mut message = self.to_proto();
        let bytes = message.encode_to_vec();
        message.key.zeroize();
        bytes
    }

    /// Decodes and validates a protobuf `AttachmentPointer`.
    ///
    /// # Errors
    /// [`AttachmentError::InvalidPointer`] if the bytes are not a protobuf message, or if any
    /// field is wrong: version other than 1, key or digest not 32 bytes, chunk size not a
    /// valid [`ChunkSize`], plaintext size above [`MAX_PLAINTEXT_SIZE`], chunk count not the
    /// one the sizes imply, or location longer than [`MAX_LOCATION_LEN`].
    pub fn decode(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let message = proto::AttachmentPointer::decode(bytes)
            .map_err(|e| PointerError::Malformed(e.to_string()))?;
        Self::from_proto(message)
    }

    /// The protobuf form, for pointers embedded in content frames. The returned message
    /// holds a copy of the key: zeroize its `key` once encoded.
    pub(crate) fn to_proto(&self) -> proto::AttachmentPointer {
        proto::AttachmentPointer {
            version: VERSION,
            key: self.key.to_vec(),
            digest: self.digest.to_vec(),
            plaintext_size: self.plaintext_size,
            chunk_size: self.chunk_size.get(),
            chunk_count: self.chunk_count,
            location: self.location.clone(),
        }
    }

    /// Validates a protobuf pointer (from a content frame or [`AttachmentPointer::decode`]).
    /// Takes the message by value so that its copy of the key is wiped here.
    pub(crate) fn from_proto(
        mut message: proto::AttachmentPointer,
    ) -> Result<Self, AttachmentError> {
        let result = Self::validate(&message);
        message.key.zeroize();
        result
    }

    fn validate(message: &proto::AttachmentPointer) -> Result<Self, AttachmentError> {
        if message.version != VERSION {
            return Err(PointerError::UnsupportedVersion(message.version).into());
        }
        let key: [u8; KEY_SIZE] = message
            .key
            .as_slice()
            .try_into()
            .map_err(|_| PointerError::KeyLength(message.key.len()))?;
        let key = Zeroizing::new(key);
        let digest: [u8; 32] = message
            .digest
            .as_slice()
            .try_into()
            .map_err(|_| PointerError::DigestLength(message.digest.len()))?;
        let chunk_size = ChunkSize::from_wire(message.chunk_size)
            .ok_or(PointerError::ChunkSize(message.chunk_size))?;
        if message.plaintext_size > MAX_PLAINTEXT_SIZE {
            return Err(PointerError::PlaintextSize(message.plaintext_size).into());
        }
        let expected = chunk_size
            .chunk_count(message.plaintext_size)
            .ok_or(PointerError::PlaintextSize(message.plaintext_size))?;
        if message.chunk_count != expected {
            return Err(PointerError::ChunkCount {
                expected,
                found: message.chunk_count,
            }
            .into());
        }
        check_location(&message.location)?;
        Ok(Self {
            key,
            digest,
            plaintext_size: message.plaintext_size,
            chunk_size,
            chunk_count: expected,
            location: message.location.clone(),
        })
    }
}

fn check_location(location: &str) -> Result<(), PointerError> {
    if location.len() > MAX_LOCATION_LEN {
        return Err(PointerError::LocationLength(location.len()));
    }
    Ok(())
}

/// Equal when every field is equal; the key is compared in constant time, like every secret.
impl PartialEq for AttachmentPointer {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.key.ct_eq(&*other.key))
            & (self.digest == other.digest)
            & (self.plaintext_size == other.plaintext_size)
            & (self.chunk_size == other.chunk_size)
            & (self.chunk_count == other.chunk_count)
            & (self.location == other.location)
    }
}

impl Eq for AttachmentPointer {}

impl fmt::Debug for AttachmentPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex<'a>(&'a [u8]);
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
        f.debug_struct("AttachmentPointer")
            .field("key", &format_args!("<redacted>"))
            .field("digest", &Hex(&self.digest))
            .field("plaintext_size", &self.plaintext_size)
            .field("chunk_size", &self.chunk_size.bytes())
            .field("chunk_count", &self.chunk_count)
            .field(
                "location",
                &format_args!("<{} bytes redacted>", self.location.len()),
            )
            .finish()
    }
}
