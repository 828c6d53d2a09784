//! Per-contact ordering and deduplication.
//!
//! Delivery is at least once and in any order: relays may hand a message over twice, the
//! outbox re-sends what was not acknowledged, mixing reorders packets. The sender numbers
//! its messages per contact ([`OutgoingSequence`]); the recipient shows each message once
//! and in sequence order ([`IncomingOrder`]), holding early arrivals until the gap fills.

use std::collections::BTreeMap;

use crate::content::{Content, MessageId};

/// Sequence numbers for messages to one contact, starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingSequence {
    next: u64,
}

impl Default for OutgoingSequence {
    fn default() -> Self {
        Self { next: 1 }
    }
}

impl OutgoingSequence {
    /// Resumes after `last_used` (0 when nothing was sent yet).
    pub fn after(last_used: u64) -> Self {
        Self {
            next: last_used.saturating_add(1),
        }
    }

    /// Takes the next sequence number.
    pub fn take(&mut self) -> u64 {
        let n = self.next;
        self.next = self.next.saturating_add(1);
        n
    }
}

/// What became of one arriving message.
#[derive(Debug, PartialEq)]
pub enum Arrival {
    /// Already shown or already held: nothing new.
    Duplicate,
    /// Arrived early; held until the messages before it arrive.
    Held,
    /// These messages are now ready to show, in order (the arrival and any held
    /// messages it unblocked).
    Ready(Vec<Content>),
}

/// Restores order and removes duplicates for the messages from one contact.
#[derive(Debug, Default)]
pub struct IncomingOrder {
    /// Every message up to and including this sequence number has been shown.
    shown_through: u64,
    held: BTreeMap<u64, Content>,
}

impl IncomingOrder {
    /// Resumes with everything up to `shown_through` already shown.
    pub fn after(shown_through: u64) -> Self {
        Self {
            shown_through,
            held: BTreeMap::new(),
        }
    }

    /// The highest sequence number shown so far (all before it were shown too).
    pub fn shown_through(&self) -> u64 {
        self.shown_through
    }

    /// Messages waiting for a gap to fill.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Whether the message with this id and sequence number was already seen.
    pub fn is_duplicate(&self, id: &MessageId, sequence: u64) -> bool {
        sequence <= self.shown_through || self.held.get(&sequence).is_some_and(|c| &c.id == id)
    }

    /// Takes one decrypted message.
    pub fn accept(&mut self, content: Content) -> Arrival {
        if self.is_duplicate(&content.id, content.sequence) {
            return Arrival::Duplicate;
        }
        if content.sequence != self.shown_through + 1 {
            // A different id with a held sequence number replaces nothing: the first one
            // wins, as it was authenticated by the same session.
            self.held.entry(content.sequence).or_insert(content);
            return Arrival::Held;
        }
        let mut ready = vec![content];
        self.shown_through += 1;
        while let Some(next) = self.held.remove(&(self.shown_through + 1)) {
            ready.push(next);
            self.shown_through += 1;
        }
        Arrival::Ready(ready)
    }
}
