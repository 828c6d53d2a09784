//! Padding of sealed messages to the one fixed packet size.
//!
//! Every sealed message travels as the payload of one Sphinx packet, and every payload has
//! the same size, [`PACKET_PAYLOAD_SIZE`], so that a relay or an observer learns nothing from
//! a message's length. The layout of a payload is:
//!
//! ```text
//! offset 0      4                4 + L                PACKET_PAYLOAD_SIZE
//!        +------+----------------+--------------------+
//!        |  L   | sealed message |   zero bytes       |
//!        +------+----------------+--------------------+
//!        L: u32, big-endian, 0 <= L <= MAX_SEALED_SIZE
//! ```
//!
//! The encoding is canonical: [`unpad`] refuses any payload that [`pad`] could not have
//! produced (wrong total size, a length beyond the capacity, a nonzero fill byte). Content
//! that does not fit goes as an attachment instead.

#![warn(missing_docs)]

/// Size in bytes of every packet payload. Provisional: it will be tuned once the size of the
/// first (PQXDH) sealed message has been measured.
pub const PACKET_PAYLOAD_SIZE: usize = 4096;

/// Size in bytes of the big-endian length prefix at the start of every payload.
pub const LENGTH_PREFIX_SIZE: usize = 4;

/// Largest sealed message, in bytes, that one packet payload carries.
pub const MAX_SEALED_SIZE: usize = PACKET_PAYLOAD_SIZE - LENGTH_PREFIX_SIZE;

// The prefix must be able to state every length that fits.
const _: () = assert!(PACKET_PAYLOAD_SIZE > LENGTH_PREFIX_SIZE);
const _: () = assert!(MAX_SEALED_SIZE <= u32::MAX as usize);

/// Why a sealed message could not be padded, or a packet payload could not be unpadded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaddingError {
    /// The sealed message is bigger than one packet carries.
    #[error(
        "sealed message of {size} bytes does not fit in one packet (at most {max} bytes); \
         send the content as an attachment instead"
    )]
    TooLarge {
        /// Size of the sealed message, in bytes.
        size: usize,
        /// The most one packet carries ([`MAX_SEALED_SIZE`]).
        max: usize,
    },
    /// The payload is not exactly [`PACKET_PAYLOAD_SIZE`] bytes long.
    #[error("packet payload is {size} bytes; every packet payload is exactly {expected} bytes")]
    WrongPacketSize {
        /// Size of the payload received, in bytes.
        size: usize,
        /// The one valid size ([`PACKET_PAYLOAD_SIZE`]).
        expected: usize,
    },
    /// The length prefix claims more bytes than a payload can carry.
    #[error("packet payload declares a {length}-byte sealed message, but carries at most {max}")]
    LengthOutOfRange {
        /// The length stated by the prefix.
        length: u32,
        /// The most one packet carries ([`MAX_SEALED_SIZE`]).
        max: usize,
    },
    /// A fill byte after the sealed message is not zero: the payload is not canonical.
    #[error("packet padding is not canonical: fill byte at offset {offset} is not zero")]
    NonZeroPadding {
        /// Offset of the first nonzero fill byte, from the start of the payload.
        offset: usize,
    },
}

/// Pads a sealed message into one packet payload of exactly [`PACKET_PAYLOAD_SIZE`] bytes.
///
/// Fails with [`PaddingError::TooLarge`] when the message exceeds [`MAX_SEALED_SIZE`]; such
/// content must be sent as an attachment.
pub fn pad(sealed: &[u8]) -> Result<Vec<u8>, PaddingError> {
    if sealed.len() > MAX_SEALED_SIZE {
        return Err(PaddingError::TooLarge {
            size: sealed.len(),
            max: MAX_SEALED_SIZE,
        });
    }
    // Cannot truncate: MAX_SEALED_SIZE fits in a u32 (checked at compile time above).
    let length = sealed.len() as u32;
    let mut packet = vec![0u8; PACKET_PAYLOAD_SIZE];
    packet[..LENGTH_PREFIX_SIZE].copy_from_slice(&length.to_be_bytes());
    packet[LENGTH_PREFIX_SIZE..LENGTH_PREFIX_SIZE + sealed.len()].copy_from_slice(sealed);
    Ok(packet)
}

/// Returns the sealed message inside a packet payload made by [`pad`].
///
/// Refuses, each with its own error, a payload of the wrong size, a length prefix beyond
/// [`MAX_SEALED_SIZE`] and any nonzero fill byte, so that exactly one payload encodes each
/// sealed message.
pub fn unpad(packet: &[u8]) -> Result<&[u8], PaddingError> {
    if packet.len() != PACKET_PAYLOAD_SIZE {
        return Err(PaddingError::WrongPacketSize {
            size: packet.len(),
            expected: PACKET_PAYLOAD_SIZE,
        });
    }
    let (prefix, rest) = packet.split_at(LENGTH_PREFIX_SIZE);
    let mut length_bytes = [0u8; LENGTH_PREFIX_SIZE];
    length_bytes.copy_from_slice(prefix);
    let length = u32::from_be_bytes(length_bytes);
    let end = usize::try_from(length)
        .ok()
        .filter(|&len| len <= MAX_SEALED_SIZE)
        .ok_or(PaddingError::LengthOutOfRange {
            length,
            max: MAX_SEALED_SIZE,
        })?;
    let (sealed, fill) = rest.split_at(end);
    if let Some(position) = fill.iter().position(|&byte| byte != 0) {
        return Err(PaddingError::NonZeroPadding {
            offset: LENGTH_PREFIX_SIZE + end + position,
        });
    }
    Ok(sealed)
}
