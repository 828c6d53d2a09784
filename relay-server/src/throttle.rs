//! Limits per source address: open connections, tunnels, onion packets, queue creations and
//! first checks of unknown relays (the relay README, "Limits").
//!
//! A source is an IPv4 address, or an IPv6 /64 (one host usually holds a whole /64, so a
//! limit per IPv6 address would be no limit). Rates are token buckets: a source may spend
//! a whole window's allowance at once, and earns it back evenly over the window. A limit of
//! 0 is no limit. Addresses in `limit_exempt_sources` (a TLS-terminating proxy in front of
//! the WebSocket listener, say) are never limited.
//!
//! The table of sources is bounded ([`MAX_TRACKED_SOURCES`]): idle sources (no connection,
//! nothing spent within the longest window) are forgotten first; when every tracked source
//! is busy, new ones share one overflow entry, so that an attack from very many addresses
//! costs bounded memory (and limits those addresses together).
//!
//! Each refusal is counted in `/metrics`; nothing here is logged (a log line would name an
//! address).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::metrics::{Event, Metrics};

/// Most sources tracked at once; beyond, idle ones are forgotten, then an overflow entry is
/// shared.
pub const MAX_TRACKED_SOURCES: usize = 65_536;

/// A rate: at most `count` per `window`, all of it usable at once. `count == 0` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many.
    pub count: u64,
    /// Per how long.
    pub window: Duration,
}

impl Rate {
    /// `count` per second.
    pub const fn per_second(count: u64) -> Self {
        Self {
            count,
            window: Duration::from_secs(1),
        }
    }

    /// `count` per minute.
    pub const fn per_minute(count: u64) -> Self {
        Self {
            count,
            window: Duration::from_secs(60),
        }
    }

    /// `count` per hour.
    pub const fn per_hour(count: u64) -> Self {
        Self {
            count,
            window: Duration::from_secs(3600),
        }
    }

    fn is_unlimited(self) -> bool {
        self.count == 0
    }
}

/// The per-source limits a relay enforces (each one a setting, [`crate::config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLimits {
    /// Connections one source may hold open at once on the public port (0: no limit).
    pub max_connections: u64,
    /// `CONNECT` and WebSocket tunnels one source may open.
    pub tunnels: Rate,
    /// Onion packets one source may post.
    pub packets: Rate,
    /// Queues one source may create.
    pub queues: Rate,
    /// Relays the proxy has not checked yet that one source may ask for (a check is a
    /// connection to an address the source chose: this bounds how fast anyone can use the
    /// relay to probe addresses).
    pub new_targets: Rate,
    /// Relays not checked yet that the relay checks, for all sources together (the proxy
    /// and the forwarding of packets).
    pub new_targets_total: Rate,
    /// Addresses never limited.
    pub exempt: Vec<IpAddr>,
}

impl SourceLimits {
    /// Limits that never refuse anything (a relay in a test that is not about limits).
    pub fn unlimited() -> Self {
        Self {
            max_connections: 0,
            tunnels: Rate::per_second(0),
            packets: Rate::per_second(0),
            queues: Rate::per_second(0),
            new_targets: Rate::per_second(0),
            new_targets_total: Rate::per_second(0),
            exempt: Vec::new(),
        }
    }
}

/// What a source spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Opening a tunnel.
    Tunnel,
    /// Posting onion packets.
    Packets,
    /// Creating a queue.
    Queue,
    /// Asking for a relay the proxy has not checked yet.
    NewTarget,
}

/// A source as limits see it: an IPv4 address, an IPv6 /64, or the shared overflow entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SourceKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
    Overflow,
}

impl SourceKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(ip) => SourceKey::V4(ip.octets()),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(ip) => SourceKey::V4(ip.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&ip.octets()[..8]);
                    SourceKey::V6Prefix(prefix)
                }
            },
        }
    }
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.count as f64,
            updated: now,
        }
    }

    /// Takes `n` tokens if there are that many after refilling at `rate` up to `now`.
    fn take(&mut self, rate: Rate, n: u64, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.updated).as_secs_f64()
            / rate.window.as_secs_f64()
            * rate.count as f64;
        self.tokens = (self.tokens + earned).min(rate.count as f64);
        self.updated = now;
        if self.tokens >= n as f64 {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }
}

/// What the relay tracks of one source.
#[derive(Debug)]
struct Source {
    connections: u64,
    tunnels: Bucket,
    packets: Bucket,
    queues: Bucket,
    new_targets: Bucket,
    last_seen: Instant,
}

/// The per-source limits of one relay, shared by its listener and its handlers.
pub struct Throttle {
    limits: SourceLimits,
    sources: Mutex<HashMap<SourceKey, Source>>,
    /// The allowance of first checks for all sources together.
    new_targets_total: Mutex<Bucket>,
    /// How long a source with no connection stays tracked after it last spent anything.
    forget_after: Duration,
    metrics: Arc<Metrics>,
}

/// One source's place among its connections; dropping it frees the place.
pub struct ConnectionPermit {
    held: Option<(Arc<Throttle>, SourceKey)>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if let Some((throttle, key)) = self.held.take() {
            let mut sources = throttle.lock();
            if let Some(source) = sources.get_mut(&key) {
                source.connections = source.connections.saturating_sub(1);
            }
        }
    }
}

impl Throttle {
    /// A throttle enforcing `limits`, counting its refusals in `metrics`.
    pub fn new(limits: SourceLimits, metrics: Arc<Metrics>) -> Arc<Self> {
        let windows = [
            limits.tunnels,
            limits.packets,
            limits.queues,
            limits.new_targets,
        ];
        let forget_after = windows
            .iter()
            .map(|rate| rate.window)
            .max()
            .unwrap_or_default();
        let new_targets_total = Mutex::new(Bucket::full(limits.new_targets_total, Instant::now()));
        Arc::new(Self {
            limits,
            sources: Mutex::new(HashMap::new()),
            new_targets_total,
            forget_after,
            metrics,
        })
    }

    /// The limits enforced.
    pub fn limits(&self) -> &SourceLimits {
        &self.limits
    }

    /// A place for a new connection from `ip`, or `None` (counted) when the source already
    /// holds `max_connections`.
    pub fn admit_connection(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionPermit> {
        if self.limits.max_connections == 0 || self.limits.exempt.contains(&ip) {
            return Some(ConnectionPermit { held: None });
        }
        let now = Instant::now();
        let mut sources = self.lock();
        let key = self.entry_key(&mut sources, ip, now);
        let source = self.source(&mut sources, key, now);
        if source.connections >= self.limits.max_connections {
            drop(sources);
            self.metrics.record(Event::ConnectionLimited);
            return None;
        }
        source.connections += 1;
        Some(ConnectionPermit {
            held: Some((Arc::clone(self), key)),
        })
    }

    /// Whether `ip` may spend `n` of `what` now; a refusal is counted.
    pub fn allow(&self, ip: IpAddr, what: Spend, n: u64) -> bool {
        let rate = self.rate(what);
        if rate.is_unlimited() || self.limits.exempt.contains(&ip) {
            return true;
        }
        let now = Instant::now();
        let allowed = {
            let mut sources = self.lock();
            let key = self.entry_key(&mut sources, ip, now);
            let source = self.source(&mut sources, key, now);
            let bucket = match what {
                Spend::Tunnel => &mut source.tunnels,
                Spend::Packets => &mut source.packets,
                Spend::Queue => &mut source.queues,
                Spend::NewTarget => &mut source.new_targets,
            };
            bucket.take(rate, n, now)
        };
        if !allowed {
            let event = match what {
                Spend::Tunnel => Event::TunnelLimited,
                Spend::Packets => Event::PacketsLimited,
                Spend::Queue => Event::QueueLimited,
                Spend::NewTarget => Event::NewTargetLimited,
            };
            self.metrics.record_many(event, n);
        }
        allowed
    }

    /// Whether a relay not checked yet may be checked now, asked for by `source` (a
    /// tunnel's client) or by nobody in particular (`None`: a packet's next hop): within
    /// the source's allowance and the relay's. A refusal is counted.
    pub fn allow_new_target(&self, source: Option<IpAddr>) -> bool {
        if let Some(ip) = source
            && !self.allow(ip, Spend::NewTarget, 1)
        {
            return false;
        }
        let rate = self.limits.new_targets_total;
        if rate.is_unlimited() {
            return true;
        }
        let allowed = self
            .new_targets_total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(rate, 1, Instant::now());
        if !allowed {
            self.metrics.record(Event::NewTargetLimited);
        }
        allowed
    }

    /// How many sources are tracked now (for tests and `/metrics`).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn rate(&self, what: Spend) -> Rate {
        match what {
            Spend::Tunnel => self.limits.tunnels,
            Spend::Packets => self.limits.packets,
            Spend::Queue => self.limits.queues,
            Spend::NewTarget => self.limits.new_targets,
        }
    }

    /// The key `ip` is tracked under: its own, or the overflow entry when the table is full
    /// of busy sources.
    fn entry_key(
        &self,
        sources: &mut HashMap<SourceKey, Source>,
        ip: IpAddr,
        now: Instant,
    ) -> SourceKey {
        let key = SourceKey::of(ip);
        if sources.contains_key(&key) || sources.len() < MAX_TRACKED_SOURCES {
            return key;
        }
        let forget_after = self.forget_after;
        sources.retain(|key, source| {
            *key == SourceKey::Overflow
                || source.connections > 0
                || now.saturating_duration_since(source.last_seen) < forget_after
        });
        if sources.len() < MAX_TRACKED_SOURCES {
            key
        } else {
            SourceKey::Overflow
        }
    }

    fn source<'a>(
        &self,
        sources: &'a mut HashMap<SourceKey, Source>,
        key: SourceKey,
        now: Instant,
    ) -> &'a mut Source {
        let limits = &self.limits;
        let source = sources.entry(key).or_insert_with(|| Source {
            connections: 0,
            tunnels: Bucket::full(limits.tunnels, now),
            packets: Bucket::full(limits.packets, now),
            queues: Bucket::full(limits.queues, now),
            new_targets: Bucket::full(limits.new_targets, now),
            last_seen: now,
        });
        source.last_seen = now;
        source
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SourceKey, Source>> {
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SourceLimits {
        SourceLimits {
            max_connections: 2,
            tunnels: Rate::per_minute(3),
            packets: Rate::per_second(100),
            queues: Rate::per_hour(1),
            new_targets: Rate::per_minute(1),
            new_targets_total: Rate::per_minute(5),
            exempt: vec!["192.0.2.9".parse().unwrap()],
        }
    }

    #[test]
    fn connections_are_limited_per_source_and_freed_when_dropped() {
        let metrics = Arc::new(Metrics::new());
        let throttle = Throttle::new(limits(), Arc::clone(&metrics));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = throttle.admit_connection(a).unwrap();
        let _second = throttle.admit_connection(a).unwrap();
        assert!(
            throttle.admit_connection(a).is_none(),
            "a third from one source"
        );
        assert!(
            throttle.admit_connection(b).is_some(),
            "another source is served"
        );
        assert_eq!(metrics.count(Event::ConnectionLimited), 1);
        drop(first);
        assert!(throttle.admit_connection(a).is_some(), "a place was freed");
    }

    #[test]
    fn rates_refuse_past_the_allowance_and_refill_over_the_window() {
        let metrics = Arc::new(Metrics::new());
        let throttle = Throttle::new(limits(), Arc::clone(&metrics));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(throttle.allow(a, Spend::Packets, 64));
        assert!(throttle.allow(a, Spend::Packets, 36));
        assert!(
            !throttle.allow(a, Spend::Packets, 64),
            "the second's allowance is spent"
        );
        assert_eq!(metrics.count(Event::PacketsLimited), 64);
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            throttle.allow(a, Spend::Packets, 10),
            "earned back over the window"
        );
        for _ in 0..3 {
            assert!(throttle.allow(a, Spend::Tunnel, 1));
        }
        assert!(!throttle.allow(a, Spend::Tunnel, 1));
        assert!(throttle.allow(a, Spend::Queue, 1));
        assert!(!throttle.allow(a, Spend::Queue, 1));
        assert!(throttle.allow_new_target(Some(a)));
        assert!(
            !throttle.allow_new_target(Some(a)),
            "the source's allowance"
        );
        for _ in 0..4 {
            assert!(throttle.allow_new_target(None));
        }
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(!throttle.allow_new_target(Some(b)), "the relay's allowance");
        assert_eq!(metrics.count(Event::TunnelLimited), 1);
        assert_eq!(metrics.count(Event::QueueLimited), 1);
        assert_eq!(metrics.count(Event::NewTargetLimited), 2);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source_and_exempt_addresses_are_never_limited() {
        let throttle = Throttle::new(limits(), Arc::new(Metrics::new()));
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(throttle.allow(one, Spend::Queue, 1));
        assert!(
            !throttle.allow(same_64, Spend::Queue, 1),
            "same /64, same source"
        );
        assert!(throttle.allow(other_64, Spend::Queue, 1));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let plain: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(throttle.allow(mapped, Spend::Queue, 1));
        assert!(
            !throttle.allow(plain, Spend::Queue, 1),
            "a mapped IPv4 is that IPv4"
        );

        let exempt: IpAddr = "192.0.2.9".parse().unwrap();
        for _ in 0..10 {
            assert!(throttle.allow(exempt, Spend::Queue, 1));
            std::mem::forget(throttle.admit_connection(exempt).unwrap());
        }
        let unlimited = Throttle::new(SourceLimits::unlimited(), Arc::new(Metrics::new()));
        for _ in 0..1000 {
            assert!(unlimited.allow(plain, Spend::Packets, 64));
        }
        assert_eq!(unlimited.tracked(), 0, "no limit tracks nobody");
    }

    #[test]
    fn the_table_of_sources_is_bounded() {
        let throttle = Throttle::new(limits(), Arc::new(Metrics::new()));
        for n in 0..(MAX_TRACKED_SOURCES as u32 + 1000) {
            let ip = IpAddr::V4((0x0A00_0000 + n).into());
            throttle.allow(ip, Spend::Packets, 1);
        }
        assert!(throttle.tracked() <= MAX_TRACKED_SOURCES + 1);
    }
}
