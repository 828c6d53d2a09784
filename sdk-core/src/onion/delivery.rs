//! What the last hop of a packet receives: [`Delivery`].
//!
//! ```text
//! version (1) = 1 ‖ kind (1)
//! kind 1, a write:  sender id (16) ‖ time (u64 BE) ‖ nonce (16) ‖ signature (64) ‖ body (1..)
//! kind 2, a drop:   nothing (cover traffic: the relay counts it and discards it)
//! ```
//!
//! A write carries exactly what `POST /v1/send/{sender id}` carries, its `Sotto-Auth`
//! header in binary: the sender key's signature over the mailbox relay's key, the time,
//! the nonce, `POST`, the path and the body's hash. The mailbox relay checks it as it checks
//! a direct send, so a packet writes only into a queue its sender may write to, once.
//! Sphinx pads the plaintext to the fixed payload size; the body's length is what remains.

use crate::relay::api::ID_LEN;
use crate::relay::auth::{NONCE_LEN, SIGNATURE_LEN};
use crate::relay::{AuthError, AuthHeader, Endpoint, SendCapability, SenderId};
use rand::{CryptoRng, Rng};

const VERSION: u8 = 1;
/// The kind byte of a write into a queue.
pub const WRITE_KIND: u8 = 1;
/// The kind byte of a drop packet.
pub const DROP_KIND: u8 = 2;
const WRITE_HEADER: usize = 2 + ID_LEN + 8 + NONCE_LEN + SIGNATURE_LEN;

/// The largest message body a packet carries, in bytes.
pub const MAX_DELIVERY_BODY: usize = super::packet::MAX_PLAINTEXT - WRITE_HEADER;

// A sealed packet (4096 bytes, `docs/PROTOCOL.md` §7) fits one onion packet.
const _: () = assert!(MAX_DELIVERY_BODY >= 4096);

/// Why a delivery does not parse, or is too large to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Empty, or shorter than its kind needs.
    #[error("the delivery is truncated")]
    Truncated,
    /// An unknown version byte.
    #[error("unknown delivery version {0}")]
    UnknownVersion(u8),
    /// An unknown kind byte.
    #[error("unknown delivery kind {0}")]
    UnknownKind(u8),
    /// A drop packet with bytes after its kind.
    #[error("a drop delivery carries no bytes")]
    TrailingBytes,
    /// A write with an empty body.
    #[error("a write carries at least one byte")]
    EmptyBody,
    /// A body larger than [`MAX_DELIVERY_BODY`].
    #[error("a body of {0} bytes does not fit one packet (at most {MAX_DELIVERY_BODY})")]
    TooLarge(usize),
}

/// The last hop's instructions.
#[derive(Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Write `body` into the queue of `sender_id`, authorized by `auth`.
    Write {
        /// The queue's sender id.
        sender_id: SenderId,
        /// The sender key's signature, as on a direct send.
        auth: AuthHeader,
        /// The message.
        body: Vec<u8>,
    },
    /// Cover traffic: discard.
    Drop,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delivery::Write { body, .. } => write!(f, "Delivery::Write({} bytes)", body.len()),
            Delivery::Drop => f.write_str("Delivery::Drop"),
        }
    }
}

impl Delivery {
    /// A write of `body` into the queue `destination` names, signed with its sender key for
    /// its relay at `unix_seconds`, exactly as a direct `POST /v1/send/{sender id}` is.
    pub fn signed_write<R: Rng + CryptoRng>(
        destination: &SendCapability,
        body: Vec<u8>,
        unix_seconds: u64,
        rng: &mut R,
    ) -> Result<Self, AuthError> {
        let auth = destination.sender_key.sign(
            destination.relay.key(),
            unix_seconds,
            "POST",
            &Endpoint::Send(destination.sender_id).path(),
            &body,
            rng,
        )?;
        Ok(Delivery::Write {
            sender_id: destination.sender_id,
            auth,
            body,
        })
    }

    /// The plaintext a packet carries.
    pub fn encode(&self) -> Result<Vec<u8>, DeliveryError> {
        match self {
            Delivery::Write {
                sender_id,
                auth,
                body,
            } => {
                if body.is_empty() {
                    return Err(DeliveryError::EmptyBody);
                }
                if body.len() > MAX_DELIVERY_BODY {
                    return Err(DeliveryError::TooLarge(body.len()));
                }
                let mut bytes = Vec::with_capacity(WRITE_HEADER + body.len());
                bytes.extend_from_slice(&[VERSION, WRITE_KIND]);
                bytes.extend_from_slice(sender_id.as_bytes());
                bytes.extend_from_slice(&auth.unix_seconds.to_be_bytes());
                bytes.extend_from_slice(&auth.nonce);
                bytes.extend_from_slice(&auth.signature);
                bytes.extend_from_slice(body);
                Ok(bytes)
            }
            Delivery::Drop => Ok(vec![VERSION, DROP_KIND]),
        }
    }

    /// Parses the plaintext of a packet's last hop.
    pub fn parse(bytes: &[u8]) -> Result<Self, DeliveryError> {
        let [version, kind, rest @ ..] = bytes else {
            return Err(DeliveryError::Truncated);
        };
        if *version != VERSION {
            return Err(DeliveryError::UnknownVersion(*version));
        }
        match *kind {
            DROP_KIND if rest.is_empty() => Ok(Delivery::Drop),
            DROP_KIND => Err(DeliveryError::TrailingBytes),
            WRITE_KIND => {
                if bytes.len() < WRITE_HEADER {
                    return Err(DeliveryError::Truncated);
                }
                let (id, rest) = rest.split_at(ID_LEN);
                let (time, rest) = rest.split_at(8);
                let (nonce, rest) = rest.split_at(NONCE_LEN);
                let (signature, body) = rest.split_at(SIGNATURE_LEN);
                if body.is_empty() {
                    return Err(DeliveryError::EmptyBody);
                }
                if body.len() > MAX_DELIVERY_BODY {
                    return Err(DeliveryError::TooLarge(body.len()));
                }
                let array =
                    |slice: &[u8]| <[u8; 8]>::try_from(slice).map_err(|_| DeliveryError::Truncated);
                Ok(Delivery::Write {
                    sender_id: SenderId::from_bytes(
                        <[u8; ID_LEN]>::try_from(id).map_err(|_| DeliveryError::Truncated)?,
                    ),
                    auth: AuthHeader {
                        unix_seconds: u64::from_be_bytes(array(time)?),
                        nonce: <[u8; NONCE_LEN]>::try_from(nonce)
                            .map_err(|_| DeliveryError::Truncated)?,
                        signature: <[u8; SIGNATURE_LEN]>::try_from(signature)
                            .map_err(|_| DeliveryError::Truncated)?,
                    },
                    body: body.to_vec(),
                })
            }
            other => Err(DeliveryError::UnknownKind(other)),
        }
    }
}

/// Fuzzing entry point: parses arbitrary bytes as a delivery; a parsed one re-encodes to
/// the same bytes.
#[cfg(feature = "fuzzing")]
pub fn fuzz_parse(bytes: &[u8]) {
    if let Ok(delivery) = Delivery::parse(bytes) {
        assert_eq!(delivery.encode().ok().as_deref(), Some(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(body: Vec<u8>) -> Delivery {
        Delivery::Write {
            sender_id: SenderId::from_bytes([9u8; ID_LEN]),
            auth: AuthHeader {
                unix_seconds: 1_700_000_000,
                nonce: [1u8; NONCE_LEN],
                signature: [2u8; SIGNATURE_LEN],
            },
            body,
        }
    }

    #[test]
    fn writes_and_drops_round_trip() {
        for delivery in [write(vec![5u8; 4096]), write(vec![1]), Delivery::Drop] {
            let bytes = delivery.encode().unwrap();
            assert_eq!(Delivery::parse(&bytes).unwrap(), delivery);
            fuzz_parse(&bytes);
        }
    }

    #[test]
    fn malformed_deliveries_are_typed_errors() {
        let good = write(vec![5u8; 10]).encode().unwrap();
        assert_eq!(Delivery::parse(&[]), Err(DeliveryError::Truncated));
        assert_eq!(Delivery::parse(&[1]), Err(DeliveryError::Truncated));
        assert_eq!(
            Delivery::parse(&[2, 1]),
            Err(DeliveryError::UnknownVersion(2))
        );
        assert_eq!(Delivery::parse(&[1, 9]), Err(DeliveryError::UnknownKind(9)));
        assert_eq!(
            Delivery::parse(&[1, 2, 0]),
            Err(DeliveryError::TrailingBytes)
        );
        assert_eq!(
            Delivery::parse(&good[..WRITE_HEADER - 1]),
            Err(DeliveryError::Truncated)
        );
        assert_eq!(
            Delivery::parse(&good[..WRITE_HEADER]),
            Err(DeliveryError::EmptyBody)
        );
        let mut huge = good[..WRITE_HEADER].to_vec();
        huge.resize(WRITE_HEADER + MAX_DELIVERY_BODY + 1, 0);
        assert_eq!(
            Delivery::parse(&huge),
            Err(DeliveryError::TooLarge(MAX_DELIVERY_BODY + 1))
        );
        assert_eq!(write(vec![]).encode(), Err(DeliveryError::EmptyBody));
        assert_eq!(
            write(vec![0; MAX_DELIVERY_BODY + 1]).encode(),
            Err(DeliveryError::TooLarge(MAX_DELIVERY_BODY + 1))
        );
    }
}
