//! The relay's Sphinx keys, one per key epoch, in `<data dir>/sphinx/`.
//!
//! Epoch `e` covers `[e × epoch_seconds, (e + 1) × epoch_seconds)` of Unix time. The relay
//! keeps the keys of the current and the next epoch (so a client whose clock runs a little
//! ahead, or a packet built just before the turn, finds its key) and the previous one for
//! `grace_seconds` after its epoch ended (packets in flight). After that the key file is
//! deleted: a packet recorded on the wire cannot be opened later by anyone, the relay
//! included. Each key is a fresh random X25519 key (never derived from the identity key),
//! written as 32 raw bytes, mode 0600, through a temporary file, synced, and renamed.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use sotto_core::onion::{SphinxKeyAnnouncement, SphinxSecret, WireAnnouncement};
use tracing::info;

use super::MixError;
use crate::config::MixSettings;
use crate::identity::RelayIdentity;

/// One epoch's key and its signed announcement.
struct EpochKey {
    secret: Arc<SphinxSecret>,
    announcement: WireAnnouncement,
}

/// The Sphinx keys of the live epochs.
pub struct SphinxKeyring {
    dir: PathBuf,
    settings: MixSettings,
    identity: Arc<RelayIdentity>,
    keys: Mutex<BTreeMap<u64, EpochKey>>,
}

impl SphinxKeyring {
    /// Opens (or creates) the key folder and loads the keys in it; [`Self::refresh`] then
    /// makes the missing ones and deletes the expired ones.
    pub fn open(
        dir: &Path,
        settings: MixSettings,
        identity: Arc<RelayIdentity>,
    ) -> Result<Self, MixError> {
        fs::create_dir_all(dir).map_err(MixError::io(dir))?;
        set_mode(dir, 0o700)?;
        let keyring = Self {
            dir: dir.to_path_buf(),
            settings,
            identity,
            keys: Mutex::new(BTreeMap::new()),
        };
        for entry in fs::read_dir(dir).map_err(MixError::io(dir))? {
            let path = entry.map_err(MixError::io(dir))?.path();
            let Some(epoch) = super::epoch_of_file(&path, ".key") else {
                continue;
            };
            let bytes = fs::read(&path).map_err(MixError::io(&path))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| MixError::MalformedKey(path.clone()))?;
            let secret = SphinxSecret::from_bytes(bytes);
            let announcement = keyring.announce(epoch, &secret)?;
            keyring.lock().insert(
                epoch,
                EpochKey {
                    secret: Arc::new(secret),
                    announcement,
                },
            );
        }
        Ok(keyring)
    }

    /// The epoch `now` falls in.
    pub fn epoch_at(&self, now: u64) -> u64 {
        now / self.settings.epoch_seconds
    }

    /// Makes the current and next epochs' keys if missing and deletes the keys (and files)
    /// whose epoch ended more than the grace period ago.
    pub fn refresh(&self, now: u64) -> Result<(), MixError> {
        let current = self.epoch_at(now);
        for epoch in [current, current + 1] {
            if self.lock().contains_key(&epoch) {
                continue;
            }
            let secret = SphinxSecret::generate(&mut rand::rng());
            self.write_key(epoch, &secret)?;
            let announcement = self.announce(epoch, &secret)?;
            self.lock().insert(
                epoch,
                EpochKey {
                    secret: Arc::new(secret),
                    announcement,
                },
            );
            info!(epoch, "made a Sphinx key");
        }
        let expired: Vec<u64> = self
            .lock()
            .keys()
            .copied()
            .filter(|epoch| !self.is_live(*epoch, now))
            .collect();
        for epoch in &expired {
            let path = self.key_path(*epoch);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MixError::io(&path)(e)),
            }
            self.lock().remove(epoch);
            info!(epoch, "deleted an expired Sphinx key");
        }
        Ok(())
    }

    /// The epochs whose keys are held.
    pub fn epochs(&self) -> Vec<u64> {
        self.lock().keys().copied().collect()
    }

    /// The keys that open packets at `now`, each with its epoch: the current epoch first,
    /// then the next, then the previous one while its grace period lasts.
    pub fn live(&self, now: u64) -> Vec<(u64, Arc<SphinxSecret>)> {
        let current = self.epoch_at(now);
        let keys = self.lock();
        [current, current + 1, current.wrapping_sub(1)]
            .into_iter()
            .filter(|epoch| self.is_live(*epoch, now))
            .filter_map(|epoch| keys.get(&epoch).map(|key| (epoch, Arc::clone(&key.secret))))
            .collect()
    }

    /// The signed announcements of the current and next epochs, for `/v1/info`.
    pub fn announcements(&self, now: u64) -> Vec<WireAnnouncement> {
        let current = self.epoch_at(now);
        let keys = self.lock();
        [current, current + 1]
            .into_iter()
            .filter_map(|epoch| keys.get(&epoch).map(|key| key.announcement.clone()))
            .collect()
    }

    /// Whether the next epoch's key is still to be made (an epoch has begun since the last
    /// refresh).
    pub fn lacks_next(&self, now: u64) -> bool {
        !self.lock().contains_key(&(self.epoch_at(now) + 1))
    }

    /// Whether `epoch`'s key may still open packets at `now`.
    fn is_live(&self, epoch: u64, now: u64) -> bool {
        let current = self.epoch_at(now);
        let end = epoch
            .saturating_add(1)
            .saturating_mul(self.settings.epoch_seconds);
        epoch <= current + 1 && now < end.saturating_add(self.settings.grace_seconds)
    }

    fn announce(&self, epoch: u64, secret: &SphinxSecret) -> Result<WireAnnouncement, MixError> {
        let relay = self.identity.public_key();
        let not_before = epoch.saturating_mul(self.settings.epoch_seconds);
        let not_after = not_before.saturating_add(self.settings.epoch_seconds);
        let key = secret.public();
        let message =
            SphinxKeyAnnouncement::signed_bytes(&relay, epoch, not_before, not_after, &key);
        let signature = self.identity.sign(&message).map_err(MixError::Sign)?;
        let announcement =
            SphinxKeyAnnouncement::verify(&relay, epoch, not_before, not_after, key, signature)
                .map_err(|e| {
                    MixError::Sign(crate::IdentityError::MalformedKey {
                        path: self.dir.clone(),
                        reason: e.to_string(),
                    })
                })?;
        Ok(announcement.to_wire())
    }

    fn key_path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("{epoch}.key"))
    }

    fn write_key(&self, epoch: u64, secret: &SphinxSecret) -> Result<(), MixError> {
        let path = self.key_path(epoch);
        let temporary = self.dir.join(format!("{epoch}.key.tmp"));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(MixError::io(&temporary))?;
        file.write_all(&secret.to_bytes())
            .and_then(|()| file.sync_all())
            .map_err(MixError::io(&temporary))?;
        fs::rename(&temporary, &path).map_err(MixError::io(&path))?;
        fs::File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(MixError::io(&self.dir))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, EpochKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), MixError> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(MixError::io(path))
}
