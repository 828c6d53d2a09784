//! A test-only record of what this relay saw, to check the metadata a relay learns.
//!
//! Compiled only with the `observation` feature, which only the crate's own tests turn on
//! (the package's dev-dependency on itself); in every other build these functions are
//! empty and the relay keeps nothing of the kind. With the feature, a relay started with
//! the environment variable `SOTTO_RELAY_OBSERVATIONS` set to a file appends one JSON line
//! per thing seen there:
//!
//! - `{"seen":"request","from":PEER,"path":PATH}`: any request but `CONNECT`;
//! - `{"seen":"batch","from":PEER,"packets":N,"bytes":B}`: a batch of onion packets;
//! - `{"seen":"forward","from":PEER,"to":NEXT}`: a packet sent on to the next hop `NEXT`;
//! - `{"seen":"deliver","from":PEER,"queue":SENDER_ID}`: a packet written into a queue;
//! - `{"seen":"tunnel","from":PEER,"to":TARGET}`: a `CONNECT` tunnel opened.
//!
//! `PEER` is the TCP peer's address (`ip:port`), as the relay sees it; it is `null` when
//! the request came without one (a router driven without a socket).

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use sotto_core::relay::SenderId;

/// Whether this build records anything.
const ENABLED: bool = cfg!(feature = "observation");

/// The TCP peer of a request, from the extension the server puts on it.
fn peer(extensions: &Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}

/// A request (not a `CONNECT`) for `path`.
pub fn request(extensions: &Extensions, path: &str) {
    if !ENABLED {
        return;
    }
    record(&serde_json::json!({
        "seen": "request", "from": peer(extensions), "path": path,
    }));
}

/// A batch of `packets` onion packets, `bytes` in all.
pub fn batch(extensions: &Extensions, packets: usize, bytes: usize) {
    if !ENABLED {
        return;
    }
    record(&serde_json::json!({
        "seen": "batch", "from": peer(extensions), "packets": packets, "bytes": bytes,
    }));
}

/// An onion packet sent on to `next`.
pub fn forward(extensions: &Extensions, next: SocketAddr) {
    if !ENABLED {
        return;
    }
    record(&serde_json::json!({
        "seen": "forward", "from": peer(extensions), "to": next,
    }));
}

/// An onion packet written into the queue of `sender_id`.
pub fn deliver(extensions: &Extensions, sender_id: &SenderId) {
    if !ENABLED {
        return;
    }
    record(&serde_json::json!({
        "seen": "deliver", "from": peer(extensions), "queue": sender_id.to_text(),
    }));
}

/// A `CONNECT` tunnel to `target`.
pub fn tunnel(extensions: &Extensions, target: SocketAddr) {
    if !ENABLED {
        return;
    }
    record(&serde_json::json!({
        "seen": "tunnel", "from": peer(extensions), "to": target,
    }));
}

#[cfg(feature = "observation")]
fn record(line: &serde_json::Value) {
    use std::io::Write as _;
    use std::sync::{Mutex, OnceLock, PoisonError};

    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("SOTTO_RELAY_OBSERVATIONS")?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(file) = file {
        let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(file, "{line}");
    }
}

#[cfg(not(feature = "observation"))]
fn record(_: &serde_json::Value) {}
