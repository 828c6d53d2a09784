//! Onion routing on the relay: Sphinx hop processing (`docs/PROTOCOL.md` §19).
//!
//! `POST /v1/packets` hands a batch to [`Mix::open_batch`], which, for each packet, finds
//! the live key that opens it ([`keyring`]), drops it if its replay tag was seen in that
//! key's epoch ([`replay`]), and says what to do: forward it after its delay
//! ([`forward`]), write its delivery into a queue (the app does that, with the same checks
//! as a direct send), or discard a drop packet. Nothing about a packet is logged or kept
//! but its replay tag.

pub mod forward;
pub mod keyring;
pub mod replay;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sotto_core::onion::{
    Delivery, HopAddress, OnionError, Opened, SphinxSecret, WireAnnouncement, open_packet,
    split_batch,
};
use sotto_core::relay::{AuthHeader, SenderId};

use crate::config::MixSettings;
use crate::identity::{IdentityError, RelayIdentity};
use crate::known_relays::KnownRelays;
use crate::metrics::{Event, Metrics};
pub use forward::Forwarder;
pub use keyring::SphinxKeyring;
pub use replay::{ReplayFilter, Sighting};

/// The folder of Sphinx keys and replay tags inside the data directory.
pub const SPHINX_DIR: &str = "sphinx";

/// Why onion routing could not start or keep its keys.
#[derive(Debug, thiserror::Error)]
pub enum MixError {
    /// A key or tag file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A key file is not 32 bytes.
    #[error("{0}: not a Sphinx key file")]
    MalformedKey(PathBuf),
    /// The identity could not sign a key announcement.
    #[error("cannot sign a Sphinx key: {0}")]
    Sign(IdentityError),
}

impl MixError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MixError + '_ {
        move |source| MixError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The epoch a file in the key folder belongs to: `<epoch><suffix>`, digits only.
fn epoch_of_file(path: &Path, suffix: &str) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_suffix(suffix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What to do with one opened packet.
#[derive(Debug)]
pub enum Outcome {
    /// Send it on after `delay`.
    Forward {
        /// The next hop.
        next: HopAddress,
        /// The sender's chosen delay at this hop.
        delay: Duration,
        /// The packet for the next hop.
        packet: Vec<u8>,
    },
    /// This relay is the last hop: write into a queue, as `POST /v1/send/{sender id}`.
    Deliver {
        /// The queue's sender id.
        sender_id: SenderId,
        /// The sender key's signature.
        auth: AuthHeader,
        /// The message.
        body: Vec<u8>,
    },
}

/// The relay's onion routing: its keys, its replay tags and its links to next hops.
pub struct Mix {
    keyring: SphinxKeyring,
    replay: ReplayFilter,
    forwarder: Arc<Forwarder>,
    metrics: Arc<Metrics>,
}

impl Mix {
    /// Opens the keys and tags in `<data dir>/sphinx/` for `now` (Unix seconds). Packets
    /// are forwarded from `local_ip` when given (the relay's listening address).
    pub fn open(
        data_dir: &Path,
        settings: MixSettings,
        identity: Arc<RelayIdentity>,
        metrics: Arc<Metrics>,
        now: u64,
        relays: Arc<KnownRelays>,
        local_ip: Option<IpAddr>,
    ) -> Result<Self, MixError> {
        let dir = data_dir.join(SPHINX_DIR);
        let keyring = SphinxKeyring::open(&dir, settings, identity)?;
        let replay = ReplayFilter::open(&dir, settings.max_replay_tags)?;
        let mix = Self {
            keyring,
            replay,
            forwarder: Forwarder::new(
                settings.allow_private_hops,
                local_ip,
                relays,
                Arc::clone(&metrics),
            ),
            metrics,
        };
        mix.refresh(now)?;
        Ok(mix)
    }

    /// Makes the keys `now` needs and deletes expired ones with their replay tags (and any
    /// tags left without a key).
    pub fn refresh(&self, now: u64) -> Result<(), MixError> {
        self.keyring.refresh(now)?;
        self.replay.retain_only(&self.keyring.epochs())
    }

    /// Makes the keys of a new epoch once one has begun (the sweeper deletes old ones).
    /// A failure leaves the keys in use as they are; the next call tries again.
    fn refresh_if_needed(&self, now: u64) {
        if self.keyring.lacks_next(now) {
            let _ = self.refresh(now);
        }
    }

    /// The signed Sphinx keys for `/v1/info`.
    pub fn announcements(&self, now: u64) -> Vec<WireAnnouncement> {
        self.refresh_if_needed(now);
        self.keyring.announcements(now)
    }

    /// Opens every packet of a batch (CPU-bound: call on the blocking pool). Packets that
    /// no live key opens, that were seen before, or that are drop packets are counted and
    /// left out; a failure to record replay tags drops the whole batch (nothing is acted on
    /// without its tag kept).
    pub fn open_batch(&self, body: &[u8], now: u64) -> Result<Vec<Outcome>, OnionError> {
        let packets = split_batch(body)?;
        self.refresh_if_needed(now);
        let live = self.keyring.live(now);
        let keys: Vec<(u64, &SphinxSecret)> = live
            .iter()
            .map(|(epoch, key)| (*epoch, key.as_ref()))
            .collect();
        let mut opened = Vec::new();
        for packet in packets {
            match open_packet(packet, &keys) {
                Ok((epoch, tag, what)) => opened.push(((epoch, tag), what)),
                Err(_) => self.metrics.record(Event::PacketRefused),
            }
        }
        let tags: Vec<_> = opened.iter().map(|(tag, _)| *tag).collect();
        let Ok(sightings) = self.replay.sightings(&tags) else {
            for _ in &opened {
                self.metrics.record(Event::PacketRefused);
            }
            return Ok(Vec::new());
        };
        let mut outcomes = Vec::with_capacity(opened.len());
        for ((_, what), sighting) in opened.into_iter().zip(sightings) {
            match sighting {
                Sighting::First => {}
                Sighting::Again => {
                    self.metrics.record(Event::PacketReplayed);
                    continue;
                }
                Sighting::NoRoom => {
                    self.metrics.record(Event::ReplayTagsFull);
                    continue;
                }
            }
            match what {
                Opened::Forward {
                    next,
                    delay,
                    packet,
                } => outcomes.push(Outcome::Forward {
                    next,
                    delay,
                    packet,
                }),
                Opened::Final(Delivery::Write {
                    sender_id,
                    auth,
                    body,
                }) => outcomes.push(Outcome::Deliver {
                    sender_id,
                    auth,
                    body,
                }),
                Opened::Final(Delivery::Drop) => self.metrics.record(Event::DropReceived),
            }
        }
        Ok(outcomes)
    }

    /// Sends a packet on after its delay.
    pub fn forward(&self, next: HopAddress, delay: Duration, packet: Vec<u8>) {
        self.forwarder.forward(next, delay, packet);
    }
}

#[cfg(test)]
mod tests {
    use sotto_core::onion::{Hop, SphinxKeyAnnouncement, SphinxPublicKey, build_packet};
    use sotto_core::relay::{Host, RelayAddress};

    use super::*;

    const EPOCH: u64 = 3600;
    const START: u64 = 10 * EPOCH + 5;

    fn open(dir: &Path, now: u64) -> (Mix, Arc<Metrics>, RelayAddress) {
        open_with_tags(dir, now, 1_000_000)
    }

    fn open_with_tags(
        dir: &Path,
        now: u64,
        max_replay_tags: u64,
    ) -> (Mix, Arc<Metrics>, RelayAddress) {
        let identity = Arc::new(RelayIdentity::load_or_create(dir).unwrap());
        let address =
            RelayAddress::new(identity.public_key(), Host::V4([192, 0, 2, 1].into()), 443).unwrap();
        let metrics = Arc::new(Metrics::new());
        let settings = MixSettings {
            epoch_seconds: EPOCH,
            grace_seconds: 600,
            allow_private_hops: false,
            max_replay_tags,
        };
        let relays = KnownRelays::new(
            None,
            crate::throttle::Throttle::new(
                crate::throttle::SourceLimits::unlimited(),
                Arc::clone(&metrics),
            ),
        );
        let mix = Mix::open(
            dir,
            settings,
            identity,
            Arc::clone(&metrics),
            now,
            relays,
            None,
        )
        .unwrap();
        (mix, metrics, address)
    }

    /// A one-hop drop packet for `relay` with `key`.
    fn drop_packet(relay: &RelayAddress, key: SphinxPublicKey) -> Vec<u8> {
        let hop = Hop {
            address: HopAddress::of(relay).unwrap(),
            key,
        };
        build_packet(&[hop], &Delivery::Drop, &[Duration::ZERO], &mut rand::rng()).unwrap()
    }

    #[test]
    fn keys_are_announced_signed_for_the_current_and_next_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let (mix, _, relay) = open(dir.path(), START);
        let announced = mix.announcements(START);
        let epochs: Vec<u64> = announced
            .iter()
            .map(|wire| {
                let checked = SphinxKeyAnnouncement::from_wire(relay.key(), wire).unwrap();
                assert_eq!(checked.not_after - checked.not_before, EPOCH);
                checked.epoch
            })
            .collect();
        assert_eq!(epochs, [10, 11]);
        assert!(dir.path().join("sphinx/10.key").exists());
        assert!(dir.path().join("sphinx/11.key").exists());
    }

    #[test]
    fn a_replay_is_dropped_even_after_a_restart_and_an_expired_epoch_opens_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mix, metrics, relay) = open(dir.path(), START);
        let wire = &mix.announcements(START)[0];
        let key = SphinxKeyAnnouncement::from_wire(relay.key(), wire)
            .unwrap()
            .key;

        let packet = drop_packet(&relay, key);
        assert!(mix.open_batch(&packet, START).unwrap().is_empty());
        assert_eq!(metrics.count(Event::DropReceived), 1);
        mix.open_batch(&packet, START).unwrap();
        assert_eq!(metrics.count(Event::PacketReplayed), 1);

        // The tags outlive the process.
        drop(mix);
        let (mix, metrics, _) = open(dir.path(), START);
        mix.open_batch(&packet, START).unwrap();
        assert_eq!(
            metrics.count(Event::PacketReplayed),
            1,
            "replayed after a restart"
        );

        // Epoch 10's key still opens packets during the grace period after it ends...
        let late = 11 * EPOCH + 599;
        mix.open_batch(&drop_packet(&relay, key), late).unwrap();
        assert_eq!(metrics.count(Event::DropReceived), 1);
        // ...and nothing afterwards; the rotation deletes its key and its tags.
        let expired = 11 * EPOCH + 600;
        mix.open_batch(&drop_packet(&relay, key), expired).unwrap();
        assert_eq!(metrics.count(Event::PacketRefused), 1);
        mix.refresh(expired).unwrap();
        assert!(!dir.path().join("sphinx/10.key").exists());
        assert!(!dir.path().join("sphinx/10.tags").exists());
        assert!(
            dir.path().join("sphinx/12.key").exists(),
            "the next epoch's key is made"
        );
    }

    #[test]
    fn an_epoch_full_of_tags_drops_new_packets_unopened_and_still_knows_replays() {
        let dir = tempfile::tempdir().unwrap();
        let (mix, metrics, relay) = open_with_tags(dir.path(), START, 2);
        let wire = &mix.announcements(START)[0];
        let key = SphinxKeyAnnouncement::from_wire(relay.key(), wire)
            .unwrap()
            .key;
        let first = drop_packet(&relay, key);
        mix.open_batch(&first, START).unwrap();
        mix.open_batch(&drop_packet(&relay, key), START).unwrap();
        assert_eq!(metrics.count(Event::DropReceived), 2);
        // The epoch holds two tags: a third packet is dropped unopened, counted.
        mix.open_batch(&drop_packet(&relay, key), START).unwrap();
        assert_eq!(metrics.count(Event::DropReceived), 2);
        assert_eq!(metrics.count(Event::ReplayTagsFull), 1);
        // A replay of a kept tag is still a replay.
        mix.open_batch(&first, START).unwrap();
        assert_eq!(metrics.count(Event::PacketReplayed), 1);
        // The next epoch's key starts a set of its own.
        let next_key = SphinxKeyAnnouncement::from_wire(relay.key(), &mix.announcements(START)[1])
            .unwrap()
            .key;
        let next_epoch = 11 * EPOCH + 5;
        mix.open_batch(&drop_packet(&relay, next_key), next_epoch)
            .unwrap();
        assert_eq!(metrics.count(Event::DropReceived), 3);
    }

    #[test]
    fn a_batch_of_the_wrong_size_is_an_error_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mix, metrics, _) = open(dir.path(), START);
        assert!(mix.open_batch(&[0u8; 10], START).is_err());
        let garbage = vec![0x5Au8; sotto_core::onion::PACKET_BYTES * 2];
        assert!(mix.open_batch(&garbage, START).unwrap().is_empty());
        assert_eq!(metrics.count(Event::PacketRefused), 2);
    }
}
