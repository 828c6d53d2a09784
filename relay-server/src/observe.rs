//! A record of what this relay saw, for the tests that check the metadata a relay learns.
//!
//! Off unless a program calls [`install`], which `sotto-relay` never does: only the tests'
//! observed relay (`examples/sotto-relay-observed.rs`, built by `cargo test`, never by a
//! release build or a package) installs a file named by `SOTTO_RELAY_OBSERVATIONS`. No
//! flag, setting or environment variable of `sotto-relay` turns it on. Installed, it gets
//! one JSON line per thing seen:
//!
//! - `{"seen":"request","from":PEER,"path":PATH}`: any request but `CONNECT`;
//! - `{"seen":"batch","from":PEER,"packets":N,"bytes":B}`: a batch of onion packets;
//! - `{"seen":"forward","from":PEER,"to":NEXT}`: a packet sent on to the next hop `NEXT`;
//! - `{"seen":"deliver","from":PEER,"queue":SENDER_ID}`: a packet written into a queue;
//! - `{"seen":"tunnel","from":PEER,"to":TARGET}`: a `CONNECT` tunnel opened.
//!
//! `PEER` is the TCP peer's address (`ip:port`), as the relay sees it; it is `null` when
//! the request came without one (a router driven without a socket).

use std::io::Write as _;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use sotto_core::relay::SenderId;

/// Where the record goes, once installed.
static SINK: std::sync::OnceLock<std::sync::Mutex<Box<dyn std::io::Write + Send>>> =
    std::sync::OnceLock::new();

/// Records from now on into `sink`, one JSON line per thing seen; a second call changes
/// nothing. For the tests' observed relay only.
pub fn install(sink: Box<dyn std::io::Write + Send>) {
    let _ = SINK.set(std::sync::Mutex::new(sink));
}

/// The TCP peer of a request, from the extension the server puts on it.
fn peer(extensions: &Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}

/// A request (not a `CONNECT`) for `path`.
pub fn request(extensions: &Extensions, path: &str) {
    record(|| {
        serde_json::json!({
            "seen": "request", "from": peer(extensions), "path": path,
        })
    });
}

/// A batch of `packets` onion packets, `bytes` in all.
pub fn batch(extensions: &Extensions, packets: usize, bytes: usize) {
    record(|| {
        serde_json::json!({
            "seen": "batch", "from": peer(extensions), "packets": packets, "bytes": bytes,
        })
    });
}

/// An onion packet sent on to `next`.
pub fn forward(extensions: &Extensions, next: SocketAddr) {
    record(|| {
        serde_json::json!({
            "seen": "forward", "from": peer(extensions), "to": next,
        })
    });
}

/// An onion packet written into the queue of `sender_id`.
pub fn deliver(extensions: &Extensions, sender_id: &SenderId) {
    record(|| {
        serde_json::json!({
            "seen": "deliver", "from": peer(extensions), "queue": sender_id.to_text(),
        })
    });
}

/// A `CONNECT` tunnel to `target`.
pub fn tunnel(extensions: &Extensions, target: SocketAddr) {
    record(|| {
        serde_json::json!({
            "seen": "tunnel", "from": peer(extensions), "to": target,
        })
    });
}

/// Writes the line `line` makes, if a record is installed (and only then makes it).
fn record(line: impl FnOnce() -> serde_json::Value) {
    if let Some(sink) = SINK.get() {
        let line = line();
        let mut sink = sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
    }
}
