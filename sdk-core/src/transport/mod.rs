//! Connections to relays.
//!
//! A relay is named by its address, `sotto://<relay key>@host:port`, where the relay key is
//! the base64url of the relay's Ed25519 identity public key. Clients reach relays over TLS
//! 1.3 and pin that key: the relay's certificate must carry exactly the key of the address,
//! and the handshake must be signed by it. Names, dates and certificate chains play no part
//! (see `docs/PROTOCOL.md`, section 14).
//!
//! - [`RelayKey`] (from [`crate::relay`]): the 32-byte key and its text form.
//! - [`TransportError`]: why a connection was refused, with
//!   [`TransportError::from_error_chain`] to recover it from any error that wraps it.
//! - [`pinned_client_config`] and [`RelayKeyVerifier`]: the rustls client side (native
//!   targets only).
//! - [`RelayClient`]: the queue API of one relay (create, send, next, ack, delete, info)
//!   over that pinned connection, and the chunk store's parts (put, get, delete); natively
//!   also through an HTTP CONNECT tunnel of a proxy relay ([`RelayClient::through_proxy`],
//!   TLS end to end with the target, [`proxied_client_config`]).
//! - [`chunks`]: a whole attachment's ciphertext up to and down from a relay's chunk store,
//!   one part in memory at a time.

pub mod chunks;
mod client;
mod error;
mod gateways;
mod http;
mod pinning;
#[cfg(target_arch = "wasm32")]
mod tunnel;

pub use crate::relay::RelayKey;
pub use crate::relay::address::RELAY_KEY_LEN;
#[cfg(not(target_arch = "wasm32"))]
pub use client::probe_relay;
pub use client::{
    CONNECT_TIMEOUT, MAX_ANSWER_BYTES, READ_TIMEOUT, ReadMessage, RelayClient, is_transient,
};
pub use error::TransportError;
pub use gateways::Gateways;
pub use pinning::{
    PROXY_SERVER_NAME, RelayKeyVerifier, any_relay_client_config, certificate_relay_key,
    hop_client_config, pinned_client_config, proxied_client_config,
};
