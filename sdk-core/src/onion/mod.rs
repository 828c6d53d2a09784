//! Onion routing: every message travels as one Sphinx packet of one fixed size over a path
//! of relays (`docs/PROTOCOL.md` §19).
//!
//! The pieces, all sans-I/O (the relay and the [`Client`](crate::Client) move the bytes):
//!
//! - [`HopAddress`]: the 32 bytes a Sphinx header names a hop with: the relay's IP
//!   address, port and a digest of its identity key, which the previous hop pins when it
//!   forwards over TLS.
//! - [`SphinxKeyAnnouncement`]: a relay's Sphinx public key for one key epoch, signed with
//!   its identity key and published in `/v1/info` (the current and the next epoch).
//! - [`Delivery`]: what the last hop receives: a signed write into one of its queues
//!   (the same signature the direct `POST /v1/send/{id}` carries), or a drop packet.
//! - [`build_packet`] and [`open_packet`]: Sphinx packets through `sphinx-packet`, of
//!   [`PACKET_BYTES`] bytes each, whatever they carry.

mod delivery;
mod hop;
mod keys;
mod packet;

pub use delivery::{DROP_KIND, Delivery, DeliveryError, MAX_DELIVERY_BODY, WRITE_KIND};
pub use hop::{HOP_ADDRESS_LEN, HopAddress, HopAddressError, KEY_DIGEST_LEN, KeyDigest};
pub use keys::{
    AnnouncementError, SphinxKeyAnnouncement, SphinxPublicKey, SphinxSecret, WireAnnouncement,
};
pub use packet::{
    Hop, MAX_BATCH_PACKETS, OnionError, Opened, PACKET_BYTES, ReplayTag, SPHINX_PAYLOAD_BYTES,
    build_packet, open_packet, split_batch,
};

/// The default number of hops of a send path (the last is the recipient's mailbox relay).
pub const DEFAULT_HOPS: usize = 3;
/// The most hops a send path may have (Sphinx's route limit).
pub const MAX_HOPS: usize = sphinx_packet::constants::MAX_PATH_LENGTH;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use delivery::fuzz_parse as fuzz_parse_delivery;
pub use hop::is_private_ip;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use keys::fuzz_parse_announcement;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use packet::fuzz_open as fuzz_open_packet;
