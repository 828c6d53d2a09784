//! `sotto-relay`, the standalone relay: mailbox queues for end-to-end encrypted messages
//! and a chunk store for encrypted attachments, served over the HTTP API of
//! `docs/PROTOCOL.md` §15 and §17.
//!
//! The relay is a thin consumer of `sotto-core`: every wire format (paths, ids, bodies,
//! signed requests, error codes) is parsed by `sotto_core::relay`. This crate adds what a
//! server needs around it:
//!
//! - [`config`]: flags, the TOML settings file, defaults;
//! - [`storage`]: the [`storage::RelayStore`] trait and its SQLite backend, the
//!   [`storage::ChunkStore`] trait and its file backend;
//! - [`app`]: the HTTP application (one handler, the API's checks in a fixed order);
//! - [`metrics`]: counters for `/metrics`;
//! - [`mix`]: onion routing: Sphinx keys per epoch, hop processing, replay tags,
//!   forwarding in batches;
//! - [`proxy`]: the read path's `CONNECT` tunnels to other relays;
//! - [`observe`]: a record of what the relay saw, for the metadata tests: off unless a
//!   program installs it, which only the tests' observed relay does;
//! - [`clock`]: the time, as a trait tests can move;
//! - [`server`]: opening the store, serving until SIGTERM, sweeping expired data;
//! - [`launch`]: the process (flags, logging, listeners, exit code), which `sotto-relay` runs;
//! - [`identity`]: the relay's Ed25519 identity key and the TLS certificate bound to it;
//! - [`tls`]: serving over TLS with that certificate;
//! - [`wait`]: reads held until a message arrives (real-time delivery);
//! - [`websocket`]: WebSocket tunnels, the browsers' way in.

pub mod app;
pub mod clock;
pub mod config;
pub mod identity;
pub mod known_relays;
pub mod launch;
pub mod metrics;
pub mod mix;
pub mod observe;
pub mod proxy;
pub mod server;
pub mod storage;
pub mod throttle;
pub mod tls;
pub mod wait;
pub mod websocket;

pub use app::{RelayState, Routers, router, routers};
pub use clock::{AheadClock, Clock, ManualClock, SystemClock};
pub use config::{Args, Limits, Settings};
pub use identity::{IdentityError, RelayIdentity};
pub use metrics::Metrics;
pub use server::Relay;
pub use storage::{RelayStore, SqliteStore, StoreError};
