//! Everything both ends of the relay protocol must agree on: relay addresses, signed
//! requests on mailbox queues, the chunk store's capabilities and locations, and the HTTP
//! API's paths, bodies and error codes. The relay (`sotto-relay`) parses with these types;
//! the client builds with them. See `docs/PROTOCOL.md` §14–15 and §17.

pub mod address;
pub mod api;
pub mod auth;
pub mod chunks;
pub mod error;

pub use address::{AddressError, Host, RelayAddress, RelayKey};
pub use api::{
    ApiError, CreateQueue, Endpoint, ErrorKind, QueueCreated, ReadAfterAck, RecipientId, RelayInfo,
    RelayMessageId, SenderId,
};
pub use auth::{AUTH_HEADER, AuthError, AuthHeader, QueueKeyPair, QueuePublicKey};
pub use chunks::{
    AttachmentLocation, ChunkId, ChunkSecret, ChunkSeed, LocationError, PART_BYTES, PartSecrets,
};

/// The capability to write into one queue: where it is, its sender id and the sender key.
/// Handed to a contact inside an invitation or a contact-accept frame, and nowhere else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendCapability {
    /// The relay holding the queue.
    pub relay: RelayAddress,
    /// The queue's sender id.
    pub sender_id: SenderId,
    /// The key that signs writes.
    pub sender_key: QueueKeyPair,
}

/// A queue this profile made on a relay (the client made it with `POST /v1/queues`): both
/// ids and both key pairs.
#[derive(Clone, Debug)]
pub struct OwnQueue {
    /// The relay holding it.
    pub relay: RelayAddress,
    /// Reads, acknowledges and deletes it.
    pub recipient_id: RecipientId,
    /// Signs reads, acknowledgements and deletion.
    pub recipient_key: QueueKeyPair,
    /// What a contact writes to.
    pub sender_id: SenderId,
    /// Signs writes; handed to the contact.
    pub sender_key: QueueKeyPair,
}

impl OwnQueue {
    /// The capability a contact needs to write into this queue.
    pub fn capability(&self) -> SendCapability {
        SendCapability {
            relay: self.relay.clone(),
            sender_id: self.sender_id,
            sender_key: self.sender_key.clone(),
        }
    }
}
