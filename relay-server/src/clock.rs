//! The relay's clock, as a trait: request times are checked against it and expiry days and
//! nonce buckets are read from it, so tests can move time (past a message's expiry, past a
//! request's validity) without waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the relay reads the time.
pub trait Clock: Send + Sync {
    /// Whole seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        // A clock before 1970 is a broken clock; reading it as the epoch makes every
        // request stale rather than the relay panic.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that moves only when told: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `unix_seconds`.
    pub fn new(unix_seconds: u64) -> Self {
        Self(AtomicU64::new(unix_seconds))
    }

    /// Sets the time.
    pub fn set(&self, unix_seconds: u64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the time forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn unix_seconds(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The system's clock, read a fixed number of seconds ahead: what the tests' observed relay
/// processes run on when a test moves its clients' clock by days (a relay checks request
/// times against its own clock). `sotto-relay` itself always runs on [`SystemClock`].
#[derive(Debug, Clone, Copy)]
pub struct AheadClock(pub u64);

impl Clock for AheadClock {
    fn unix_seconds(&self) -> u64 {
        SystemClock.unix_seconds().saturating_add(self.0)
    }
}
