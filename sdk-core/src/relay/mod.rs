//! Everything both ends of the relay protocol must agree on: relay addresses, signed
//! requests on mailbox queues, and the HTTP API's paths, bodies and error codes. The relay
//! (`sotto-relay`) parses with these types; the client builds with them. See
//! `docs/PROTOCOL.md` §14–15.

pub mod address;
pub mod api;
pub mod auth;

pub use address::{AddressError, Host, RelayAddress, RelayKey};
pub use api::{
    ApiError, CreateQueue, Endpoint, ErrorKind, QueueCreated, RecipientId, RelayInfo,
    RelayMessageId, SenderId,
};
pub use auth::{AUTH_HEADER, AuthError, AuthHeader, QueueKeyPair, QueuePublicKey};
