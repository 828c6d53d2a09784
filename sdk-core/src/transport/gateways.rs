//! The WebSocket gateways a browser enters the relay network through
//! (`docs/PROTOCOL.md` §21).

use std::collections::HashMap;

use crate::relay::{RelayAddress, RelayKey};

/// Per relay key, the URL of the relay's WebSocket tunnel endpoint (`ws://` or `wss://`,
/// ending in `/v1/tunnel`). In the browser every connection to a relay is a tunnel
/// through one of these: to the relay itself when it has a gateway, else through another
/// relay's. Native clients connect directly and ignore them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gateways(HashMap<RelayKey, String>);

impl Gateways {
    /// No gateways.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same with `url` as the gateway of the relay whose key is `relay`.
    pub fn with(mut self, relay: RelayKey, url: impl Into<String>) -> Self {
        self.0.insert(relay, url.into());
        self
    }

    /// The gateway of `relay`, if it has one.
    pub fn of(&self, relay: &RelayAddress) -> Option<&str> {
        self.0.get(relay.key()).map(String::as_str)
    }

    /// Whether no relay has a gateway.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many relays have one.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}
