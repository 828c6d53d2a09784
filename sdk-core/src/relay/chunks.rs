//! The relay's chunk store for attachments (`docs/PROTOCOL.md` §17): how an attachment's
//! ciphertext is cut into parts, the capabilities that read and delete each part, and the
//! location text an attachment pointer carries.
//!
//! Everything derives from one random 32-byte [`ChunkSeed`] per attachment. For part `i`:
//!
//! - read secret `r_i = BLAKE3.derive_key("sotto chunk read v1", seed || u32_be(i))`;
//! - delete secret `d_i = BLAKE3.derive_key("sotto chunk delete v1", seed || u32_be(i))`;
//! - public id `id_i = BLAKE3(r_i)`, so an id (in a path, on the relay's disk) reads nothing.
//!
//! The uploader sends `r_i` and `BLAKE3(d_i)` with the part; the relay checks the id against
//! `r_i` and keeps only the id, `BLAKE3(d_i)`, the size and an expiry hour. A downloader
//! presents `r_i`, a deleter `d_i`. Both come from the seed, which travels end-to-end
//! encrypted inside the attachment pointer's location, `<relay address>#<base64url seed>`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{CryptoRng, Rng};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

use super::address::{AddressError, RelayAddress};
use super::error::{ApiError, ErrorKind};
use crate::attachment::MAX_LOCATION_LEN;

/// Bytes of ciphertext in every part of an attachment but the last (4 MiB). A protocol
/// constant: uploader and downloader cut the ciphertext at the same places.
pub const PART_BYTES: u64 = 4 * 1024 * 1024;
/// Length of a chunk seed, a part's secrets and its id, in bytes.
pub const CHUNK_KEY_LEN: usize = 32;
/// Request header carrying a part's read secret (upload and download).
pub const CHUNK_READ_HEADER: &str = "Sotto-Chunk-Read";
/// Request header carrying a part's delete secret (deletion).
pub const CHUNK_DELETE_HEADER: &str = "Sotto-Chunk-Delete";
/// Request header carrying BLAKE3 of a part's delete secret (upload).
pub const CHUNK_DELETE_HASH_HEADER: &str = "Sotto-Chunk-Delete-Hash";
/// BLAKE3 key-derivation context of read secrets.
pub const READ_CONTEXT: &str = "sotto chunk read v1";
/// BLAKE3 key-derivation context of delete secrets.
pub const DELETE_CONTEXT: &str = "sotto chunk delete v1";
/// Separates the relay address from the seed in a location's text.
pub const LOCATION_SEPARATOR: char = '#';
/// Length of a seed in the location text (unpadded base64url of 32 bytes).
const SEED_TEXT_LEN: usize = 43;
/// The longest relay address a location can carry: [`MAX_LOCATION_LEN`] less the separator
/// and the seed.
pub const MAX_LOCATION_ADDRESS_LEN: usize = MAX_LOCATION_LEN - 1 - SEED_TEXT_LEN;

/// Wipes a secret on drop and compares it in constant time.
macro_rules! secret_bytes {
    ($name:ident) => {
        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}
    };
}

/// How many parts an attachment of `ciphertext_size` bytes is stored as: `ceil(size /
/// PART_BYTES)`, and at least one (an empty ciphertext is one empty part).
pub fn part_count(ciphertext_size: u64) -> u64 {
    ciphertext_size.div_ceil(PART_BYTES).max(1)
}

/// The length of part `index` of an attachment of `ciphertext_size` bytes (`None` past the
/// last part).
pub fn part_len(ciphertext_size: u64, index: u64) -> Option<u64> {
    if index >= part_count(ciphertext_size) {
        return None;
    }
    let start = index.saturating_mul(PART_BYTES);
    Some((ciphertext_size - start).min(PART_BYTES))
}

/// The per-attachment secret every part's capabilities derive from. Random, used for one
/// attachment only; wiped on drop; `Debug` never prints it.
#[derive(Clone)]
pub struct ChunkSeed([u8; CHUNK_KEY_LEN]);

impl ChunkSeed {
    /// A fresh random seed.
    pub fn random<R: Rng + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; CHUNK_KEY_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps seed bytes (from a parsed location, or a test vector).
    pub fn from_bytes(bytes: [u8; CHUNK_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The seed bytes. Secret.
    pub fn as_bytes(&self) -> &[u8; CHUNK_KEY_LEN] {
        &self.0
    }

    /// The capabilities of part `index`.
    pub fn part(&self, index: u32) -> PartSecrets {
        let mut input = Zeroizing::new([0u8; CHUNK_KEY_LEN + 4]);
        input[..CHUNK_KEY_LEN].copy_from_slice(&self.0);
        input[CHUNK_KEY_LEN..].copy_from_slice(&index.to_be_bytes());
        let read = ChunkSecret(blake3::derive_key(READ_CONTEXT, &input[..]));
        let delete = ChunkSecret(blake3::derive_key(DELETE_CONTEXT, &input[..]));
        PartSecrets { read, delete }
    }
}

secret_bytes!(ChunkSeed);

impl fmt::Debug for ChunkSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChunkSeed(…)")
    }
}

/// A part's read or delete secret: 32 bytes, unpadded base64url in headers. Wiped on drop;
/// `Debug` never prints it.
#[derive(Clone)]
pub struct ChunkSecret([u8; CHUNK_KEY_LEN]);

impl ChunkSecret {
    /// Wraps secret bytes.
    pub fn from_bytes(bytes: [u8; CHUNK_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; CHUNK_KEY_LEN] {
        &self.0
    }

    /// BLAKE3 of the secret: a read secret's is the part's [`ChunkId`], a delete secret's
    /// is what the relay keeps to check a deletion.
    pub fn hash(&self) -> [u8; CHUNK_KEY_LEN] {
        *blake3::hash(&self.0).as_bytes()
    }

    /// The id of the part this read secret opens.
    pub fn chunk_id(&self) -> ChunkId {
        ChunkId(self.hash())
    }

    /// Unpadded base64url (43 characters), the header form; wiped when dropped.
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0))
    }

    /// Parses exactly 43 characters of unpadded base64url; anything else is
    /// [`ErrorKind::BadCapability`].
    pub fn from_text(text: &[u8]) -> Result<Self, ApiError> {
        decode_32(text).map(Self).ok_or_else(|| {
            ApiError::new(
                ErrorKind::BadCapability,
                "a chunk secret is 32 bytes of unpadded base64url",
            )
        })
    }
}

secret_bytes!(ChunkSecret);

impl fmt::Debug for ChunkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChunkSecret(…)")
    }
}

/// The read and delete capabilities of one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSecrets {
    /// Reads the part (and proves the id at upload).
    pub read: ChunkSecret,
    /// Deletes the part.
    pub delete: ChunkSecret,
}

impl PartSecrets {
    /// The part's public id, `BLAKE3(read secret)`.
    pub fn id(&self) -> ChunkId {
        self.read.chunk_id()
    }
}

/// A part's public id on the relay: BLAKE3 of its read secret, unpadded base64url (43
/// characters) in paths. `Debug` does not print it (logs must not hold ids).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkId([u8; CHUNK_KEY_LEN]);

impl ChunkId {
    /// Wraps id bytes.
    pub fn from_bytes(bytes: [u8; CHUNK_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The id bytes.
    pub fn as_bytes(&self) -> &[u8; CHUNK_KEY_LEN] {
        &self.0
    }

    /// Unpadded base64url (43 characters).
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses exactly 43 characters of unpadded base64url; anything else is
    /// [`ErrorKind::MalformedRequest`].
    pub fn from_text(text: &str) -> Result<Self, ApiError> {
        decode_32(text.as_bytes()).map(Self).ok_or_else(|| {
            ApiError::new(
                ErrorKind::MalformedRequest,
                "a chunk id is 32 bytes of unpadded base64url",
            )
        })
    }

    /// Whether `read` is this id's read secret (`BLAKE3(read) == id`, compared in constant
    /// time).
    pub fn is_opened_by(&self, read: &ChunkSecret) -> bool {
        blake3::Hash::from(self.0) == blake3::hash(read.as_bytes())
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChunkId(…)")
    }
}

/// Strict unpadded base64url of exactly 32 bytes.
fn decode_32(text: &[u8]) -> Option<[u8; CHUNK_KEY_LEN]> {
    if text.len() != SEED_TEXT_LEN {
        return None;
    }
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text).ok()?);
    <[u8; CHUNK_KEY_LEN]>::try_from(&bytes[..]).ok()
}

/// Why a location could not be made or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// The text is longer than the pointer's [`MAX_LOCATION_LEN`], or the relay address
    /// longer than [`MAX_LOCATION_ADDRESS_LEN`].
    #[error(
        "a chunk location is at most {MAX_LOCATION_LEN} bytes (relay address at most {MAX_LOCATION_ADDRESS_LEN})"
    )]
    TooLong,
    /// No `#` between the relay address and the seed.
    #[error("a chunk location is <relay address>#<seed>; the '#' is missing")]
    MissingSeed,
    /// The seed is not 32 bytes of unpadded base64url.
    #[error("the seed of a chunk location must be 32 bytes of unpadded base64url")]
    InvalidSeed,
    /// The relay address does not parse.
    #[error("the relay address of a chunk location is invalid: {0}")]
    Address(#[from] AddressError),
}

/// Where an attachment's parts are and how to reach them: the relay and the seed. Its text,
/// `<relay address>#<unpadded base64url seed>`, is the attachment pointer's `location`
/// (at most [`MAX_LOCATION_LEN`] bytes). Holds a secret: `Debug` names the relay only.
///
/// [`AttachmentLocation::new`] checks that the text fits in a pointer; a location built
/// from its fields directly is checked when its text is set on the pointer
/// ([`AttachmentPointer::set_location`](crate::attachment::AttachmentPointer::set_location)
/// refuses more than [`MAX_LOCATION_LEN`] bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentLocation {
    /// The relay whose chunk store holds every part.
    pub relay: RelayAddress,
    /// The seed of the parts' capabilities.
    pub seed: ChunkSeed,
}

impl AttachmentLocation {
    /// A location, refusing a relay address too long to fit in a pointer
    /// ([`LocationError::TooLong`]).
    pub fn new(relay: RelayAddress, seed: ChunkSeed) -> Result<Self, LocationError> {
        if relay.to_string().len() > MAX_LOCATION_ADDRESS_LEN {
            return Err(LocationError::TooLong);
        }
        Ok(Self { relay, seed })
    }

    /// Parses the text form strictly: at most [`MAX_LOCATION_LEN`] bytes, a relay address
    /// (§15), `#`, exactly 43 characters of unpadded base64url.
    pub fn parse(text: &str) -> Result<Self, LocationError> {
        if text.len() > MAX_LOCATION_LEN {
            return Err(LocationError::TooLong);
        }
        let (relay, seed) = text
            .rsplit_once(LOCATION_SEPARATOR)
            .ok_or(LocationError::MissingSeed)?;
        let seed = decode_32(seed.as_bytes()).ok_or(LocationError::InvalidSeed)?;
        let relay = RelayAddress::parse(relay)?;
        Self::new(relay, ChunkSeed(seed))
    }
}

impl fmt::Display for AttachmentLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seed = Zeroizing::new(URL_SAFE_NO_PAD.encode(self.seed.as_bytes()));
        write!(f, "{}{LOCATION_SEPARATOR}{}", self.relay, seed.as_str())
    }
}

impl fmt::Debug for AttachmentLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentLocation")
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::{Host, RelayKey};

    fn relay() -> RelayAddress {
        RelayAddress::parse(&format!(
            "sotto://{}@relay.example.org:7443",
            RelayKey::from_bytes([7; 32]).to_text()
        ))
        .unwrap()
    }

    #[test]
    fn derivation_matches_the_protocol_vector() {
        let seed = ChunkSeed::from_bytes(core::array::from_fn(|i| i as u8));
        let part = seed.part(1);
        let mut input = seed.as_bytes().to_vec();
        input.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(
            part.read.as_bytes(),
            &blake3::derive_key("sotto chunk read v1", &input)
        );
        assert_eq!(
            part.delete.as_bytes(),
            &blake3::derive_key("sotto chunk delete v1", &input)
        );
        assert_eq!(
            part.id().as_bytes(),
            blake3::hash(part.read.as_bytes()).as_bytes()
        );
        assert_ne!(part.read, part.delete);
        assert_ne!(seed.part(0).read, part.read);
        assert!(part.id().is_opened_by(&part.read));
        assert!(!part.id().is_opened_by(&part.delete));
        // Pinned in docs/PROTOCOL.md §17.
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(part.read.as_bytes()),
            "b5004687bc51dfde547be3f61ba11ab4752c35deaa1e604380f828c367e45b74"
        );
        assert_eq!(
            hex(part.delete.as_bytes()),
            "86c97666f13a879b7bc53180a05251d19c5f7017b7745037ba06aaae868a0cc5"
        );
        assert_eq!(
            part.id().to_text(),
            "j_i8w2H6ZgO3veMoib5pMPw6BhAZGzrGm1nwsxr9O5c"
        );
        assert_eq!(
            hex(&part.delete.hash()),
            "b4eae3f8ce5f4a2408915a6cc041d7f5316c3d052b8a5f762f1ed7449a215c25"
        );
        assert_eq!(ChunkId::from_text(&part.id().to_text()), Ok(part.id()));
        assert_eq!(
            AttachmentLocation::new(relay(), seed).unwrap().to_string(),
            "sotto://BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc@relay.example.org:7443\
             #AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        );
    }

    #[test]
    fn parts_cut_the_ciphertext_at_part_bytes() {
        assert_eq!(part_count(0), 1);
        assert_eq!(part_len(0, 0), Some(0));
        assert_eq!(part_count(1), 1);
        assert_eq!(part_count(PART_BYTES), 1);
        assert_eq!(part_count(PART_BYTES + 1), 2);
        assert_eq!(part_len(PART_BYTES + 1, 0), Some(PART_BYTES));
        assert_eq!(part_len(PART_BYTES + 1, 1), Some(1));
        assert_eq!(part_len(PART_BYTES + 1, 2), None);
        assert_eq!(
            part_len(u64::MAX, part_count(u64::MAX) - 1),
            Some(PART_BYTES - 1)
        );
    }

    #[test]
    fn locations_round_trip_and_malformed_ones_are_typed_errors() {
        let location =
            AttachmentLocation::new(relay(), ChunkSeed::random(&mut rand::rng())).unwrap();
        let text = location.to_string();
        assert!(text.len() <= MAX_LOCATION_LEN);
        assert_eq!(AttachmentLocation::parse(&text), Ok(location.clone()));
        assert!(!format!("{location:?}").contains(&text[text.len() - 43..]));
        let seed = &text[text.len() - 43..];
        let address = relay().to_string();
        for (bad, error) in [
            (String::new(), LocationError::MissingSeed),
            (address.clone(), LocationError::MissingSeed),
            (format!("{address}#"), LocationError::InvalidSeed),
            (
                format!("{address}#{}", &seed[..42]),
                LocationError::InvalidSeed,
            ),
            (format!("{address}#{seed}A"), LocationError::InvalidSeed),
            (format!("{address}#{seed}="), LocationError::InvalidSeed),
            (
                format!("{address}#{}+", &seed[..42]),
                LocationError::InvalidSeed,
            ),
            (
                format!("{address}#{seed}#{seed}"),
                LocationError::Address(AddressError::TrailingData),
            ),
            (
                format!("{address}/#{seed}"),
                LocationError::Address(AddressError::TrailingData),
            ),
            (
                format!("#{seed}"),
                LocationError::Address(AddressError::WrongScheme),
            ),
            ("x".repeat(MAX_LOCATION_LEN + 1), LocationError::TooLong),
        ] {
            assert_eq!(AttachmentLocation::parse(&bad), Err(error), "{bad}");
        }
        // The last character of 32 bytes in base64url carries 2 unused bits: nonzero ones
        // are refused, so every seed has one spelling.
        let zero = "A".repeat(43);
        assert!(AttachmentLocation::parse(&format!("{address}#{zero}")).is_ok());
        assert_eq!(
            AttachmentLocation::parse(&format!("{address}#{}B", &zero[..42])),
            Err(LocationError::InvalidSeed)
        );
    }

    #[test]
    fn an_address_too_long_for_a_pointer_is_refused_at_creation() {
        let label = "a".repeat(60);
        let host = Host::Name(format!("{label}.{label}.{label}.example.org"));
        let long = RelayAddress::new(RelayKey::from_bytes([7; 32]), host, 65535).unwrap();
        assert!(long.to_string().len() > MAX_LOCATION_ADDRESS_LEN);
        assert_eq!(
            AttachmentLocation::new(long, ChunkSeed::from_bytes([1; 32])),
            Err(LocationError::TooLong)
        );
    }
}
