//! `sotto-core`: every piece of Sotto that touches keys, ciphertext or wire formats.
//!
//! The shells (C ABI, UniFFI, wasm, relay, examples) are thin consumers of this crate; none
//! of them contains protocol or cryptographic logic. See `docs/ARCHITECTURE.md` for the
//! layers and `docs/PROTOCOL.md` for the exact formats.

pub mod attachment;
#[cfg(feature = "transport")]
pub mod client;
pub mod contacts;
pub mod content;
pub mod error;
pub mod handshake;
pub mod identity;
pub mod invitation;
#[cfg(feature = "transport")]
pub mod messenger;
pub mod onion;
pub mod padding;
pub mod prekeys;
pub mod profile;
mod proto;
pub mod qr;
pub mod relay;
#[cfg(feature = "transport")]
mod runtime;
pub mod safety;
pub mod sealed;
mod session;
pub mod store;
#[cfg(feature = "transport")]
pub mod transport;
#[cfg(feature = "voice")]
pub mod voice;

#[cfg(feature = "transport")]
pub use client::{Client, ClientEvent, ClientSettings};
pub use error::{Error, ErrorCode, Result};
pub use identity::{Identity, PublicIdentity};
#[cfg(feature = "transport")]
pub use messenger::{DeliveryStatus, Event, Messenger, Subscription};
pub use profile::Profile;
