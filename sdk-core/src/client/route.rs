//! The send path: how a sealed packet reaches a contact's queue.
//!
//! With [`SendRoute::Onion`] (the default) every packet is one Sphinx packet over a fresh
//! path per packet: `hops − 1` distinct relays chosen at random from the client's relay
//! list (never the mailbox relay, never one that failed since the last sync began), then
//! the contact's mailbox relay, which writes it into the queue. Each hop holds the packet
//! for a delay the client draws from an exponential distribution. The first hop learns the
//! client's address and nothing else; the mailbox relay learns the queue and nothing of the
//! sender. A hop that fails (its keys cannot be fetched, or the first hop does not take the
//! packet) is reported once, left out until the next sync, and another path is tried; a
//! packet lost further along is sent again by the outbox, on a new path, until the
//! contact's receipt arrives.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use rand::seq::{IndexedRandom as _, SliceRandom as _};

use super::Client;
use crate::onion::{DEFAULT_HOPS, Delivery, Hop, HopAddress, MAX_HOPS, build_packet};
use crate::relay::{RelayAddress, SendCapability};
use crate::store::Store;
use crate::transport::TransportError;

/// The default mean of each hop's delay.
pub const DEFAULT_MEAN_DELAY: Duration = Duration::from_millis(100);
/// The longest delay one hop is asked to hold a packet (the exponential's tail is cut
/// here, so a packet stays well within the relay's clock-skew window for signed writes).
pub const MAX_HOP_DELAY: Duration = Duration::from_secs(30);
/// Paths tried for one packet before it waits for the next sync.
pub const PATH_ATTEMPTS: usize = 3;
/// How long a relay's fetched Sphinx keys are used before they are fetched again, in
/// seconds. Keys are announced an epoch ahead, so this bounds only how long a client keeps
/// using keys a relay lost (a relay whose data was wiped makes new ones).
pub const SPHINX_KEY_CACHE_SECONDS: u64 = 600;

/// A relay's Sphinx keys as fetched at `fetched` (Unix seconds).
pub(super) struct FetchedKeys {
    fetched: u64,
    keys: Vec<crate::onion::SphinxKeyAnnouncement>,
}

/// How packets travel to a contact's mailbox relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRoute {
    /// Straight to the mailbox relay, which then sees the client's address. For a
    /// one-relay setup and for tests of the queue layer.
    Direct,
    /// As Sphinx packets over `hops` relays (1 to 5, the last the mailbox relay), each hop
    /// holding a packet for an exponential delay of mean `mean_delay`.
    Onion {
        /// Hops per path, the mailbox relay included.
        hops: usize,
        /// Mean of each hop's delay (zero: forward at once).
        mean_delay: Duration,
    },
}

impl Default for SendRoute {
    fn default() -> Self {
        SendRoute::Onion {
            hops: DEFAULT_HOPS,
            mean_delay: DEFAULT_MEAN_DELAY,
        }
    }
}

impl SendRoute {
    /// Checks the route against the client's relay list: an onion path needs 1 to 5 hops
    /// and at least `hops` relays (`hops − 1` besides any one mailbox relay).
    pub fn check(&self, relays: usize) -> Result<(), TransportError> {
        match *self {
            SendRoute::Direct => Ok(()),
            SendRoute::Onion { hops, .. } if !(1..=MAX_HOPS).contains(&hops) => {
                Err(TransportError::NoOnionPath(format!(
                    "an onion path has 1 to {MAX_HOPS} hops, not {hops}"
                )))
            }
            SendRoute::Onion { hops, .. } if relays < hops => Err(TransportError::NoOnionPath(
                format!("{hops}-hop onion paths need at least {hops} relays; {relays} configured"),
            )),
            SendRoute::Onion { .. } => Ok(()),
        }
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What a packet carries to its last hop.
#[derive(Clone, Copy)]
pub(super) enum Carried<'a> {
    /// A write of these bytes into this queue (the last hop is the queue's relay).
    Write(&'a SendCapability, &'a [u8]),
    /// A drop packet (cover traffic): any relay may be the last hop.
    Drop,
}

impl<S: Store> Client<S> {
    /// Sends `packet` into `destination`'s queue over an onion path, trying up to
    /// [`PATH_ATTEMPTS`] paths.
    pub(super) async fn write_onion(
        &mut self,
        destination: &SendCapability,
        packet: &[u8],
        hops: usize,
        mean_delay: Duration,
    ) -> Result<(), TransportError> {
        self.send_onion(Carried::Write(destination, packet), hops, mean_delay)
            .await
    }

    /// Sends one packet carrying `carried` over a fresh path, trying up to
    /// [`PATH_ATTEMPTS`] paths; each failing relay is reported and left out until the next
    /// sync.
    pub(super) async fn send_onion(
        &mut self,
        carried: Carried<'_>,
        hops: usize,
        mean_delay: Duration,
    ) -> Result<(), TransportError> {
        for _ in 0..PATH_ATTEMPTS {
            let path = self.choose_path(carried, hops)?;
            match self.send_over(&path, carried, mean_delay).await {
                Ok(()) => return Ok(()),
                Err((relay, error)) => {
                    self.report_network(relay.clone(), &error);
                    self.down.insert(relay);
                }
            }
        }
        Err(TransportError::NoOnionPath(format!(
            "{PATH_ATTEMPTS} paths failed; next try at the next sync"
        )))
    }

    /// A path of `hops` distinct usable relays in random order; for a write, the last is
    /// the queue's relay and the others are any but it.
    fn choose_path(
        &mut self,
        carried: Carried<'_>,
        hops: usize,
    ) -> Result<Vec<RelayAddress>, TransportError> {
        let last = match carried {
            Carried::Write(destination, _) => Some(&destination.relay),
            Carried::Drop => None,
        };
        if last.is_some_and(|relay| self.down.contains(relay)) {
            return Err(TransportError::NoOnionPath(
                "the contact's relay was unreachable moments ago; next try at the next sync".into(),
            ));
        }
        let usable: Vec<&RelayAddress> = self
            .settings
            .relays
            .iter()
            .filter(|relay| Some(*relay) != last && !self.down.contains(*relay))
            .collect();
        let needed = hops - usize::from(last.is_some());
        if usable.len() < needed {
            return Err(TransportError::NoOnionPath(format!(
                "{} usable relays for a {hops}-hop path; next try at the next sync",
                usable.len() + usize::from(last.is_some())
            )));
        }
        let mut path: Vec<RelayAddress> = usable
            .choose_multiple(&mut self.rng, needed)
            .map(|relay| (*relay).clone())
            .collect();
        // `choose_multiple` picks at random but does not promise a random order.
        path.shuffle(&mut self.rng);
        path.extend(last.cloned());
        Ok(path)
    }

    /// Builds the packet for `path` and hands it to the first hop; a failure names the
    /// relay it came from.
    async fn send_over(
        &mut self,
        path: &[RelayAddress],
        carried: Carried<'_>,
        mean_delay: Duration,
    ) -> Result<(), (RelayAddress, TransportError)> {
        let now = self.now();
        let unix = unix_seconds(now);
        let mut hops = Vec::with_capacity(path.len());
        for relay in path {
            let hop = self
                .hop(relay, unix)
                .await
                .map_err(|e| (relay.clone(), e))?;
            hops.push(hop);
        }
        let blame_first = |error: TransportError| (path[0].clone(), error);
        let delivery = match carried {
            Carried::Write(destination, packet) => {
                Delivery::signed_write(destination, packet.to_vec(), unix, &mut self.rng).map_err(
                    |e| blame_first(TransportError::NoOnionPath(format!("signing: {e}"))),
                )?
            }
            Carried::Drop => Delivery::Drop,
        };
        let delays = self.draw_delays(path.len(), mean_delay);
        let onion = build_packet(&hops, &delivery, &delays, &mut self.rng)
            .map_err(|e| blame_first(TransportError::NoOnionPath(e.to_string())))?;
        let first = self
            .direct_relay(&path[0])
            .map_err(|e| blame_first(TransportError::Unreachable(e.to_string())))?;
        first.send_packets(onion).await.map_err(blame_first)
    }

    /// A relay as a hop: its address and its Sphinx key for `unix`, fetched from its
    /// `/v1/info` (signature checked) when no cached key covers the time.
    async fn hop(&mut self, relay: &RelayAddress, unix: u64) -> Result<Hop, TransportError> {
        let address =
            HopAddress::of(relay).map_err(|e| TransportError::NoOnionPath(e.to_string()))?;
        let cached = |keys: &[crate::onion::SphinxKeyAnnouncement]| {
            keys.iter().find(|key| key.covers(unix)).map(|key| key.key)
        };
        let fresh = self
            .sphinx_keys
            .get(relay)
            .filter(|fetched| unix.saturating_sub(fetched.fetched) < SPHINX_KEY_CACHE_SECONDS)
            .and_then(|fetched| cached(&fetched.keys));
        if let Some(key) = fresh {
            return Ok(Hop { address, key });
        }
        let client = self
            .direct_relay(relay)
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        let keys = client.sphinx_keys().await?;
        let key = cached(&keys).ok_or_else(|| {
            TransportError::InvalidAnswer(
                "the relay offers no Sphinx key for the current time".into(),
            )
        })?;
        self.sphinx_keys.insert(
            relay.clone(),
            FetchedKeys {
                fetched: unix,
                keys,
            },
        );
        Ok(Hop { address, key })
    }

    /// One delay per hop, exponential with mean `mean`, capped at [`MAX_HOP_DELAY`]; the
    /// last (the mailbox relay's, unused by Sphinx) is zero.
    fn draw_delays(&mut self, hops: usize, mean: Duration) -> Vec<Duration> {
        (0..hops)
            .map(|hop| {
                if hop + 1 == hops || mean.is_zero() {
                    return Duration::ZERO;
                }
                // 1 − U is in (0, 1], so its logarithm is finite.
                let uniform: f64 = 1.0 - self.rng.random::<f64>();
                let delay = mean.as_secs_f64() * -uniform.ln();
                Duration::from_secs_f64(delay.min(MAX_HOP_DELAY.as_secs_f64()))
            })
            .collect()
    }
}
