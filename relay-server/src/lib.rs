//! `sotto-relay`, the standalone relay. So far it holds the relay's identity: the Ed25519
//! key pair that names the relay in its address and the TLS certificate bound to that key.

pub mod identity;

pub use identity::{IdentityError, RelayIdentity};
