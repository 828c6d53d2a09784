//! What the relay knows of other relays it connects to: which addresses were checked to be
//! relays (and with which key), which failed lately, and the allowance for checking new
//! ones.
//!
//! Both ways the relay connects out on someone else's word go through here: the read
//! path's proxy (a client names the target) and the forwarding of onion packets (a packet
//! names the next hop). Before the first connection to an address, the relay checks that a
//! Sotto relay answers there ([`sotto_core::transport::probe_relay`]: the certificate's
//! Ed25519 key signs the handshake and `/v1/info` names it). So:
//! - a relay is trusted as one for [`RELAY_CHECK_TTL`], then checked again;
//! - an address that failed the check is refused for [`FAILURE_TTL`] without any new
//!   connection: one connection attempt per such address per that time, whatever the
//!   number of packets or tunnels naming it. A relay that passed and is down later (a
//!   restart) stays known: the forwarder tries it again at most once a second
//!   ([`crate::mix::forward::RETRY_AFTER`]), the proxy at its clients' tunnel rate, so it is
//!   used again the moment it is back;
//! - checks of addresses not known yet are bounded per source and for the whole relay
//!   ([`Throttle::allow_new_target`]), so nobody can use the relay to probe many addresses;
//! - at most [`MAX_REMEMBERED_TARGETS`] addresses are remembered; beyond, expired then
//!   oldest entries are forgotten.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sotto_core::relay::RelayKey;
use tracing::debug;

use crate::throttle::Throttle;

/// How long an address checked to be a relay stays trusted as one.
pub const RELAY_CHECK_TTL: Duration = Duration::from_secs(3600);
/// How long an address that failed the check stays refused.
pub const FAILURE_TTL: Duration = Duration::from_secs(60);
/// Most addresses remembered (checked or failed); beyond, the oldest are forgotten.
pub const MAX_REMEMBERED_TARGETS: usize = 4096;

/// What the relay knows of one address.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// The relay's key, or `None` for an address that failed.
    key: Option<RelayKey>,
    until: Instant,
}

/// Why an address is not connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotUsable {
    /// Not a relay, or not reachable when checked (lately).
    NotARelay,
    /// Not known yet, and no check is allowed now.
    Limited,
}

/// The relays this relay knows, shared by its proxy and its forwarder.
pub struct KnownRelays {
    /// Where outgoing checks leave from (the relay's listening address when it has one).
    local_ip: Option<IpAddr>,
    known: Mutex<HashMap<SocketAddr, Known>>,
    throttle: Arc<Throttle>,
}

impl KnownRelays {
    /// No relay known yet; checks leave from `local_ip` when given and are allowed by
    /// `throttle`.
    pub fn new(local_ip: Option<IpAddr>, throttle: Arc<Throttle>) -> Arc<Self> {
        Arc::new(Self {
            local_ip,
            known: Mutex::new(HashMap::new()),
            throttle,
        })
    }

    /// The key of the relay at `target`, from memory or by checking it now (when `source`,
    /// or nobody in particular for `None`, may have a new address checked).
    pub async fn relay_key(
        &self,
        target: SocketAddr,
        source: Option<IpAddr>,
    ) -> Result<RelayKey, NotUsable> {
        if let Some(known) = self.remembered(target) {
            return known.ok_or(NotUsable::NotARelay);
        }
        if !self.throttle.allow_new_target(source) {
            return Err(NotUsable::Limited);
        }
        let key = match sotto_core::transport::probe_relay(target, self.local_ip).await {
            Ok(key) => Some(key),
            Err(e) => {
                // The kind only: the error's details name the target.
                debug!(error = e.kind(), "an address is not a reachable relay");
                None
            }
        };
        let ttl = if key.is_some() {
            RELAY_CHECK_TTL
        } else {
            FAILURE_TTL
        };
        self.remember(target, key, ttl);
        key.ok_or(NotUsable::NotARelay)
    }

    /// What is remembered of `target` and still valid: `Some(Some(key))` a relay,
    /// `Some(None)` an address that failed lately, `None` nothing.
    pub fn remembered(&self, target: SocketAddr) -> Option<Option<RelayKey>> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(&target)
            .filter(|k| k.until > Instant::now())
            .map(|k| k.key)
    }

    fn remember(&self, target: SocketAddr, key: Option<RelayKey>, ttl: Duration) {
        let now = Instant::now();
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= MAX_REMEMBERED_TARGETS && !known.contains_key(&target) {
            known.retain(|_, k| k.until > now);
            if known.len() >= MAX_REMEMBERED_TARGETS
                && let Some(oldest) = known.iter().min_by_key(|(_, k)| k.until).map(|(t, _)| *t)
            {
                known.remove(&oldest);
            }
        }
        known.insert(
            target,
            Known {
                key,
                until: now + ttl,
            },
        );
    }
}
