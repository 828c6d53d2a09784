//! Building and opening Sphinx packets of one fixed size.
//!
//! A packet is `sphinx-packet`'s header ([`sphinx_packet::header::HEADER_SIZE`] bytes)
//! followed by its payload of [`SPHINX_PAYLOAD_BYTES`]: [`PACKET_BYTES`] in all, on every
//! link, whatever it carries and however many hops it has left. The route is up to
//! [`MAX_HOPS`](super::MAX_HOPS) [`Hop`]s; each hop's routing information names the next
//! [`HopAddress`] and the delay the sender chose for it; the last hop's payload is a
//! [`Delivery`]. Batches (`POST /v1/packets`) are packets back to back.

use std::time::Duration;

use rand::{CryptoRng, Rng};
use sphinx_packet::header::SphinxHeader;
use sphinx_packet::header::delays::Delay;
use sphinx_packet::payload::PAYLOAD_OVERHEAD_SIZE;
use sphinx_packet::route::{Destination, DestinationAddressBytes, Node, NodeAddressBytes};
use sphinx_packet::{ProcessedPacketData, SphinxPacket, SphinxPacketBuilder};
use zeroize::Zeroize as _;

use super::delivery::{Delivery, DeliveryError};
use super::hop::{HopAddress, HopAddressError};
use super::keys::{SphinxPublicKey, SphinxSecret};

/// Payload bytes of every packet (Sphinx's payload, its own overhead included).
pub const SPHINX_PAYLOAD_BYTES: usize = 4352;
/// Bytes of every packet on every link.
pub const PACKET_BYTES: usize = sphinx_packet::header::HEADER_SIZE + SPHINX_PAYLOAD_BYTES;
/// The most packets one `POST /v1/packets` carries.
pub const MAX_BATCH_PACKETS: usize = 64;
/// The largest plaintext (an encoded [`Delivery`]) a packet carries.
pub(crate) const MAX_PLAINTEXT: usize = SPHINX_PAYLOAD_BYTES - PAYLOAD_OVERHEAD_SIZE;

/// The tag a relay remembers, per key epoch, to drop a packet it has processed before.
pub type ReplayTag = [u8; sphinx_packet::constants::REPLAY_TAG_SIZE];

/// Why a packet could not be built or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnionError {
    /// A path must have 1 to 5 hops, and one delay per hop.
    #[error(
        "an onion path has 1 to 5 hops and one delay per hop (got {hops} hops, {delays} delays)"
    )]
    PathLength {
        /// Hops given.
        hops: usize,
        /// Delays given.
        delays: usize,
    },
    /// A packet (or a batch) is not the fixed size.
    #[error(
        "an onion packet is {PACKET_BYTES} bytes (a batch 1 to {MAX_BATCH_PACKETS} of them); got {0} bytes"
    )]
    WrongSize(usize),
    /// None of the relay's live keys opens the packet: built for an expired epoch, for
    /// another relay, or tampered with.
    #[error("no live Sphinx key of this relay opens the packet")]
    NoKey,
    /// `sphinx-packet` refused the packet.
    #[error("Sphinx refused the packet: {0}")]
    Sphinx(String),
    /// The next hop's address is malformed.
    #[error("bad next hop: {0}")]
    Hop(#[from] HopAddressError),
    /// The last hop's payload is not a delivery.
    #[error("bad delivery: {0}")]
    Delivery(#[from] DeliveryError),
}

fn sphinx_error(error: sphinx_packet::Error) -> OnionError {
    OnionError::Sphinx(error.to_string())
}

/// One hop of a path: where it is and its Sphinx key for the current epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The relay's hop address.
    pub address: HopAddress,
    /// Its Sphinx public key for the epoch the packet is sent in.
    pub key: SphinxPublicKey,
}

/// What opening a packet gave.
#[derive(Debug)]
pub enum Opened {
    /// Hold `packet` for `delay`, then send it to `next`.
    Forward {
        /// The next hop.
        next: HopAddress,
        /// How long to hold the packet first.
        delay: Duration,
        /// The packet for the next hop ([`PACKET_BYTES`] bytes).
        packet: Vec<u8>,
    },
    /// This relay is the last hop.
    Final(Delivery),
}

/// Builds a packet carrying `delivery` over `path` (the last hop is the one that delivers),
/// each hop holding it for its entry in `delays` (the last entry is unused by Sphinx's
/// last hop; give zero).
pub fn build_packet<R: Rng + CryptoRng>(
    path: &[Hop],
    delivery: &Delivery,
    delays: &[Duration],
    rng: &mut R,
) -> Result<Vec<u8>, OnionError> {
    if path.is_empty() || path.len() > super::MAX_HOPS || delays.len() != path.len() {
        return Err(OnionError::PathLength {
            hops: path.len(),
            delays: delays.len(),
        });
    }
    let route: Vec<Node> = path
        .iter()
        .map(|hop| {
            Node::new(
                NodeAddressBytes::from_bytes(hop.address.to_bytes()),
                hop.key.to_sphinx(),
            )
        })
        .collect();
    let delays: Vec<Delay> = delays
        .iter()
        .map(|delay| Delay::new_from_nanos(u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX)))
        .collect();
    let destination = Destination::new(DestinationAddressBytes::from_bytes([0u8; 32]), [0u8; 16]);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let initial = sphinx_packet::crypto::PrivateKey::from(seed);
    seed.zeroize();
    let packet = SphinxPacketBuilder::new()
        .with_payload_size(SPHINX_PAYLOAD_BYTES)
        .with_initial_secret(&initial)
        .build_packet(delivery.encode()?, &route, &destination, &delays)
        .map_err(sphinx_error)?;
    let bytes = packet.to_bytes();
    debug_assert_eq!(bytes.len(), PACKET_BYTES);
    Ok(bytes)
}

/// Opens one packet with the first of `keys` (each with its epoch) whose header MAC
/// verifies: which epoch's key opened it, the replay tag to check before acting, and what
/// to do with it.
pub fn open_packet(
    bytes: &[u8],
    keys: &[(u64, &SphinxSecret)],
) -> Result<(u64, ReplayTag, Opened), OnionError> {
    if bytes.len() != PACKET_BYTES {
        return Err(OnionError::WrongSize(bytes.len()));
    }
    let header = SphinxHeader::from_bytes(&bytes[..sphinx_packet::header::HEADER_SIZE])
        .map_err(sphinx_error)?;
    let (epoch, expanded) = keys
        .iter()
        .find_map(|(epoch, key)| {
            let expanded = header.compute_expanded_shared_secret(key.as_sphinx());
            header
                .ensure_header_integrity(&expanded)
                .ok()
                .map(|()| (*epoch, expanded))
        })
        .ok_or(OnionError::NoKey)?;
    let tag = *expanded.replay_tag();
    let processed = SphinxPacket::from_bytes(bytes)
        .and_then(|packet| packet.process_with_expanded_secret(&expanded))
        .map_err(sphinx_error)?;
    let opened = match processed.data {
        ProcessedPacketData::ForwardHop {
            next_hop_packet,
            next_hop_address,
            delay,
        } => Opened::Forward {
            next: HopAddress::from_bytes(next_hop_address.as_bytes())?,
            delay: delay.to_duration(),
            packet: next_hop_packet.to_bytes(),
        },
        ProcessedPacketData::FinalHop { payload, .. } => {
            let plaintext = payload.recover_plaintext().map_err(sphinx_error)?;
            Opened::Final(Delivery::parse(&plaintext)?)
        }
    };
    Ok((epoch, tag, opened))
}

/// Splits a batch body into its packets: 1 to [`MAX_BATCH_PACKETS`] of [`PACKET_BYTES`].
pub fn split_batch(body: &[u8]) -> Result<std::slice::Chunks<'_, u8>, OnionError> {
    if body.is_empty()
        || !body.len().is_multiple_of(PACKET_BYTES)
        || body.len() / PACKET_BYTES > MAX_BATCH_PACKETS
    {
        return Err(OnionError::WrongSize(body.len()));
    }
    Ok(body.chunks(PACKET_BYTES))
}

/// Fuzzing entry point: opens arbitrary bytes as a packet with a fixed key; never panics.
#[cfg(feature = "fuzzing")]
pub fn fuzz_open(bytes: &[u8]) {
    let key = SphinxSecret::from_bytes([7u8; 32]);
    let _ = open_packet(bytes, &[(0, &key)]);
    let _ = split_batch(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::api::ID_LEN;
    use crate::relay::auth::{NONCE_LEN, SIGNATURE_LEN};
    use crate::relay::{AuthHeader, RelayAddress, RelayKey, SenderId};

    struct TestRelay {
        secret: SphinxSecret,
        address: HopAddress,
    }

    fn relays(n: u8) -> Vec<TestRelay> {
        (0..n)
            .map(|i| {
                let key = RelayKey::from_bytes([i + 1; 32]);
                let address = RelayAddress::parse(&format!(
                    "sotto://{}@127.0.0.1:{}",
                    key.to_text(),
                    4000 + u16::from(i)
                ))
                .unwrap();
                TestRelay {
                    secret: SphinxSecret::generate(&mut rand::rng()),
                    address: HopAddress::of(&address).unwrap(),
                }
            })
            .collect()
    }

    fn write() -> Delivery {
        Delivery::Write {
            sender_id: SenderId::from_bytes([9u8; ID_LEN]),
            auth: AuthHeader {
                unix_seconds: 1,
                nonce: [1u8; NONCE_LEN],
                signature: [2u8; SIGNATURE_LEN],
            },
            body: vec![0xAB; 4096],
        }
    }

    fn path(relays: &[TestRelay]) -> Vec<Hop> {
        relays
            .iter()
            .map(|relay| Hop {
                address: relay.address,
                key: relay.secret.public(),
            })
            .collect()
    }

    /// Walks a packet along `relays`, checking every link's size, address and delay.
    fn walk(relays: &[TestRelay], mut packet: Vec<u8>, delays: &[Duration]) -> Delivery {
        for (i, relay) in relays.iter().enumerate() {
            assert_eq!(packet.len(), PACKET_BYTES);
            let (epoch, _, opened) = open_packet(&packet, &[(5, &relay.secret)]).unwrap();
            assert_eq!(epoch, 5);
            match opened {
                Opened::Forward {
                    next,
                    delay,
                    packet: next_packet,
                } => {
                    assert_eq!(next, relays[i + 1].address);
                    assert_eq!(delay, delays[i]);
                    packet = next_packet;
                }
                Opened::Final(delivery) => {
                    assert_eq!(i, relays.len() - 1);
                    return delivery;
                }
            }
        }
        panic!("the last hop did not deliver");
    }

    #[test]
    fn packets_of_every_length_reach_their_last_hop_at_one_size() {
        let relays = relays(5);
        for hops in 1..=5 {
            let delays: Vec<Duration> = (0..hops)
                .map(|i| Duration::from_millis(i as u64 * 7))
                .collect();
            for delivery in [write(), Delivery::Drop] {
                let packet =
                    build_packet(&path(&relays[..hops]), &delivery, &delays, &mut rand::rng())
                        .unwrap();
                assert_eq!(walk(&relays[..hops], packet, &delays), delivery);
            }
        }
    }

    #[test]
    fn the_wrong_key_a_flipped_bit_or_a_wrong_size_is_refused() {
        let relays = relays(3);
        let delays = [Duration::ZERO; 3];
        let packet = build_packet(&path(&relays), &write(), &delays, &mut rand::rng()).unwrap();
        assert!(matches!(
            open_packet(&packet, &[(1, &relays[1].secret)]),
            Err(OnionError::NoKey)
        ));
        // An epoch list tries each key: the right one among others opens it.
        let (epoch, ..) =
            open_packet(&packet, &[(1, &relays[1].secret), (2, &relays[0].secret)]).unwrap();
        assert_eq!(epoch, 2);
        for bit in [0, 40 * 8, 100 * 8 + 3] {
            let mut flipped = packet.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(open_packet(&flipped, &[(1, &relays[0].secret)]).is_err());
        }
        assert_eq!(
            open_packet(&packet[1..], &[(1, &relays[0].secret)]).err(),
            Some(OnionError::WrongSize(PACKET_BYTES - 1))
        );
        let six = [path(&relays), path(&relays)].concat();
        assert!(matches!(
            build_packet(&six, &write(), &[Duration::ZERO; 6], &mut rand::rng()),
            Err(OnionError::PathLength { hops: 6, .. })
        ));
        assert!(matches!(
            build_packet(
                &path(&relays),
                &write(),
                &[Duration::ZERO; 2],
                &mut rand::rng()
            ),
            Err(OnionError::PathLength { hops: 3, delays: 2 })
        ));
    }

    #[test]
    fn the_same_packet_gives_the_same_replay_tag_and_others_differ() {
        let relays = relays(2);
        let delays = [Duration::ZERO; 2];
        let one = build_packet(&path(&relays), &write(), &delays, &mut rand::rng()).unwrap();
        let two = build_packet(&path(&relays), &write(), &delays, &mut rand::rng()).unwrap();
        let tag = |packet: &[u8]| open_packet(packet, &[(0, &relays[0].secret)]).unwrap().1;
        assert_eq!(tag(&one), tag(&one));
        assert_ne!(tag(&one), tag(&two));
        assert_ne!(one, two, "every packet has its own ephemeral key");
    }

    #[test]
    fn batches_split_into_whole_packets_only() {
        let body = vec![0u8; PACKET_BYTES * 3];
        assert_eq!(split_batch(&body).unwrap().count(), 3);
        for bad in [
            0,
            PACKET_BYTES - 1,
            PACKET_BYTES + 1,
            PACKET_BYTES * (MAX_BATCH_PACKETS + 1),
        ] {
            assert!(split_batch(&vec![0u8; bad]).is_err(), "{bad}");
        }
        fuzz_open(&body[..PACKET_BYTES]);
        fuzz_open(&[]);
    }
}
