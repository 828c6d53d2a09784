//! Replay tags, per key epoch: a packet a relay has processed once is dropped the next time.
//!
//! Tags live in memory and are appended to `<data dir>/sphinx/<epoch>.tags` (32 bytes each)
//! before the packets they belong to are acted on, so a restarted relay still knows them.
//! The file is not synced per packet (that would bound the hop rate by the disk): a relay
//! process that is killed keeps every tag in the page cache; a machine that loses power may
//! forget the last few seconds of tags. The tags of an epoch are deleted with its key:
//! a packet for that epoch no longer opens, so it can no longer be replayed either.
//!
//! An epoch keeps at most `max_replay_tags` tags (`--max-replay-tags`): the set grows with
//! every packet anyone sends, opened or not by a queue's checks. Once it is full, packets
//! of that epoch are dropped unopened ([`Sighting::NoRoom`]) until the next epoch: a packet
//! whose tag cannot be kept could be replayed, and dropping is what cover traffic and the
//! senders' outboxes already survive.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use sotto_core::onion::ReplayTag;

use super::MixError;

/// What the filter says of one packet's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// Never seen in its epoch: recorded now.
    First,
    /// Seen before: the packet is a replay.
    Again,
    /// Not seen, but its epoch holds as many tags as it may: not recorded.
    NoRoom,
}

struct EpochTags {
    seen: HashSet<ReplayTag>,
    file: File,
}

/// The replay tags of the live epochs.
pub struct ReplayFilter {
    dir: PathBuf,
    max_tags: u64,
    epochs: Mutex<HashMap<u64, EpochTags>>,
}

impl ReplayFilter {
    /// Loads the tag files in `dir` (the key folder); each epoch keeps at most `max_tags`
    /// new tags from now on.
    pub fn open(dir: &Path, max_tags: u64) -> Result<Self, MixError> {
        let filter = Self {
            dir: dir.to_path_buf(),
            max_tags,
            epochs: Mutex::new(HashMap::new()),
        };
        for entry in fs::read_dir(dir).map_err(MixError::io(dir))? {
            let path = entry.map_err(MixError::io(dir))?.path();
            if let Some(epoch) = super::epoch_of_file(&path, ".tags") {
                let bytes = fs::read(&path).map_err(MixError::io(&path))?;
                let mut epochs = filter.lock();
                let tags = filter.epoch_entry(&mut epochs, epoch)?;
                // A torn last tag (a crash mid-write) is ignored.
                for tag in bytes.chunks_exact(32) {
                    let mut array = [0u8; 32];
                    array.copy_from_slice(tag);
                    tags.seen.insert(array);
                }
            }
        }
        Ok(filter)
    }

    /// Records the tags of a batch; returns what each one is. The new ones are appended to
    /// their epochs' files before this returns.
    pub fn sightings(&self, tags: &[(u64, ReplayTag)]) -> Result<Vec<Sighting>, MixError> {
        let mut epochs = self.lock();
        let mut sightings = Vec::with_capacity(tags.len());
        let mut appended: HashMap<u64, Vec<u8>> = HashMap::new();
        for (epoch, tag) in tags {
            let entry = self.epoch_entry(&mut epochs, *epoch)?;
            let sighting = if entry.seen.contains(tag) {
                Sighting::Again
            } else if entry.seen.len() as u64 >= self.max_tags {
                Sighting::NoRoom
            } else {
                entry.seen.insert(*tag);
                appended.entry(*epoch).or_default().extend_from_slice(tag);
                Sighting::First
            };
            sightings.push(sighting);
        }
        for (epoch, bytes) in appended {
            if let Some(entry) = epochs.get_mut(&epoch) {
                entry
                    .file
                    .write_all(&bytes)
                    .map_err(MixError::io(&self.tag_path(epoch)))?;
            }
        }
        Ok(sightings)
    }

    /// Forgets the tags of every epoch but `kept` (the epochs whose keys are held) and
    /// deletes their files: a packet no key opens cannot be replayed either.
    pub fn retain_only(&self, kept: &[u64]) -> Result<(), MixError> {
        let mut epochs = self.lock();
        let gone: Vec<u64> = epochs
            .keys()
            .copied()
            .filter(|e| !kept.contains(e))
            .collect();
        for epoch in gone {
            epochs.remove(&epoch);
            let path = self.tag_path(epoch);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MixError::io(&path)(e)),
            }
        }
        Ok(())
    }

    fn epoch_entry<'a>(
        &self,
        epochs: &'a mut HashMap<u64, EpochTags>,
        epoch: u64,
    ) -> Result<&'a mut EpochTags, MixError> {
        match epochs.entry(epoch) {
            std::collections::hash_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let path = self.tag_path(epoch);
                let file = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .map_err(MixError::io(&path))?;
                Ok(entry.insert(EpochTags {
                    seen: HashSet::new(),
                    file,
                }))
            }
        }
    }

    fn tag_path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("{epoch}.tags"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, EpochTags>> {
        self.epochs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
