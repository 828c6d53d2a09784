//! Queue keys kept in memory: a signed request's key lookup without the store.
//!
//! Every signed request looks up its queue's key before its signature is checked, and a
//! queue's keys never change, so [`KeyCache`] answers repeated lookups from memory instead
//! of a trip to the blocking pool and the store's connection (which a commit may hold while
//! it syncs). What a cached key cannot know is whether its queue still lives: a queue
//! deleted or expired since is refused by the operation itself (`unknown_queue`, with the
//! request's nonce recorded as for any refusal), so a cached key changes which check
//! refuses such a request, never whether it is refused. A deletion through the cache drops
//! the queue's recipient key at once.
//!
//! Bounded: at most [`MAX_CACHED_KEYS`] keys of each kind; a full map is emptied and fills
//! again from the store.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use sotto_core::relay::{QueuePublicKey, RecipientId, RelayMessageId, SenderId};

use super::{
    Day, NewQueue, NonceBucket, QueueKeys, RelayStore, RequestNonce, StoreCounts, StoreError,
    StoredMessage, SweepReport, Written,
};

/// Most keys of one kind (sender or recipient) kept; about 100 bytes each.
pub const MAX_CACHED_KEYS: usize = 65_536;

/// A [`RelayStore`] that answers key lookups from memory when it can and passes everything
/// else to the store it wraps.
pub struct KeyCache {
    store: Arc<dyn RelayStore>,
    senders: Mutex<HashMap<SenderId, QueuePublicKey>>,
    recipients: Mutex<HashMap<RecipientId, QueuePublicKey>>,
}

impl KeyCache {
    /// A cache over `store`, empty.
    pub fn new(store: Arc<dyn RelayStore>) -> Self {
        Self {
            store,
            senders: Mutex::new(HashMap::new()),
            recipients: Mutex::new(HashMap::new()),
        }
    }
}

fn at_hand<K: Eq + Hash>(
    map: &Mutex<HashMap<K, QueuePublicKey>>,
    id: &K,
) -> Option<QueuePublicKey> {
    map.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(id)
        .copied()
}

/// The cached key for `id`, or the store's (kept when it has one).
fn cached<K: Eq + Hash + Copy>(
    map: &Mutex<HashMap<K, QueuePublicKey>>,
    id: &K,
    lookup: impl FnOnce() -> Result<Option<QueuePublicKey>, StoreError>,
) -> Result<Option<QueuePublicKey>, StoreError> {
    if let Some(key) = map.lock().unwrap_or_else(PoisonError::into_inner).get(id) {
        return Ok(Some(*key));
    }
    let key = lookup()?;
    if let Some(key) = key {
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_CACHED_KEYS {
            map.clear();
        }
        map.insert(*id, key);
    }
    Ok(key)
}

impl RelayStore for KeyCache {
    fn create_queue(
        &self,
        keys: &QueueKeys,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<NewQueue, StoreError> {
        self.store.create_queue(keys, today, nonce)
    }

    fn sender_key(
        &self,
        sender: &SenderId,
        today: Day,
    ) -> Result<Option<QueuePublicKey>, StoreError> {
        cached(&self.senders, sender, || {
            self.store.sender_key(sender, today)
        })
    }

    fn sender_key_at_hand(&self, sender: &SenderId) -> Option<QueuePublicKey> {
        at_hand(&self.senders, sender)
    }

    fn recipient_key_at_hand(&self, recipient: &RecipientId) -> Option<QueuePublicKey> {
        at_hand(&self.recipients, recipient)
    }

    fn recipient_key(
        &self,
        recipient: &RecipientId,
        today: Day,
    ) -> Result<Option<QueuePublicKey>, StoreError> {
        cached(&self.recipients, recipient, || {
            self.store.recipient_key(recipient, today)
        })
    }

    fn write_message(
        &self,
        sender: &SenderId,
        body: &[u8],
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<Written, StoreError> {
        self.store.write_message(sender, body, today, nonce)
    }

    fn next_message(
        &self,
        recipient: &RecipientId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.store.next_message(recipient, today, nonce)
    }

    fn ack_then_next(
        &self,
        recipient: &RecipientId,
        ack: &RelayMessageId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<(bool, Option<StoredMessage>), StoreError> {
        self.store.ack_then_next(recipient, ack, today, nonce)
    }

    fn next_message_after_wait(
        &self,
        recipient: &RecipientId,
        today: Day,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.store.next_message_after_wait(recipient, today)
    }

    fn ack_message(
        &self,
        recipient: &RecipientId,
        message: &RelayMessageId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<(), StoreError> {
        self.store.ack_message(recipient, message, today, nonce)
    }

    fn delete_queue(
        &self,
        recipient: &RecipientId,
        nonce: &RequestNonce,
    ) -> Result<(), StoreError> {
        self.recipients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(recipient);
        self.store.delete_queue(recipient, nonce)
    }

    fn remember_nonce(
        &self,
        nonce: &[u8; sotto_core::relay::auth::NONCE_LEN],
        expires: NonceBucket,
    ) -> Result<bool, StoreError> {
        self.store.remember_nonce(nonce, expires)
    }

    fn sweep(&self, today: Day, now: NonceBucket) -> Result<SweepReport, StoreError> {
        self.store.sweep(today, now)
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.store.counts()
    }
}
