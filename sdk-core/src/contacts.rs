//! Contacts, verification and the outbox: the profile's conversation layer.
//!
//! - A contact is a peer this profile has a session with, under a stable local id that
//!   survives a change of the peer's identity key.
//! - Verification (as Signal does it): each contact has a safety number; comparing a
//!   scanned code and marking the contact verified are explicit. When a contact presents a
//!   new identity key, nothing from it is decrypted, the contact is flagged, an event says
//!   so, and sending to it is **held** — stored, not dropped — until the user accepts the
//!   new key.
//! - Sending returns at once: the message and its outbox entry are stored together with
//!   the ratchet step that sealed it, in one atomic change. The outbox re-seals what no
//!   receipt has acknowledged, with exponential backoff ([`Profile::due_packets`]).
//! - Receiving stores each message once, restores order by sequence number (early
//!   arrivals wait, stored), and applies receipts to the outbox — again in one atomic
//!   change with the ratchet step that opened it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::content::{Content, MessageId, ReceiptKind};
use crate::error::Result;
use crate::identity::PublicIdentity;
#[cfg(doc)]
use crate::profile::Profile;
use crate::relay::SendCapability;
use crate::store::{SendQueueRecord, StoreError};

/// First retry delay of the outbox; doubles per attempt.
pub const OUTBOX_FIRST_RETRY: Duration = Duration::from_secs(30);
/// Longest delay between two outbox attempts.
pub const OUTBOX_MAX_RETRY: Duration = Duration::from_secs(3600);

/// A contact's stable local id (random, 32 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactId(String);

impl ContactId {
    /// Wraps an id read back from the app.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// An id in the form this library makes them (32 hex digits, like a message id; either
    /// case, kept lowercase), or `None`: for shells that refuse a malformed id as an invalid
    /// argument before looking it up.
    pub fn parse(text: &str) -> Option<Self> {
        crate::content::MessageId::from_hex(text).map(|id| Self(id.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContactId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A contact as the app sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Stable local id.
    pub id: ContactId,
    /// The identity key trusted for this contact.
    pub identity: PublicIdentity,
    /// The user's name for the contact.
    pub display_name: Option<String>,
    /// Whether the user verified the safety number of `identity`.
    pub verified: bool,
    /// A new identity key the contact presented; while set, sending is held.
    pub pending_identity: Option<PublicIdentity>,
}

/// Something the app should show or know after [`Profile::receive`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message is ready to show (in order; each exactly once).
    Message(Content),
    /// The contact acknowledged these messages of ours end to end.
    Receipt {
        /// Delivered or read.
        kind: ReceiptKind,
        /// The acknowledged message ids.
        message_ids: Vec<MessageId>,
    },
    /// A message arrived ahead of earlier ones: it is stored, and comes as
    /// [`Event::Message`] once the messages before it have arrived. It is delivered to this
    /// device, so acknowledge it now (otherwise the sender's outbox keeps re-sending it).
    Early(MessageId),
    /// The contact accepted (the inviter's answer to our acceptance of its invitation) or
    /// moved to another queue: messages to it flow now, held ones included.
    Accepted(ContactId),
    /// A message that was already received arrived again (the sender's outbox re-sent it,
    /// probably because our receipt was lost): acknowledge it again.
    Duplicate(MessageId),
    /// The contact presented a new identity key. Nothing was decrypted; sending is held
    /// until [`Profile::accept_identity_key`]. Keep the packet (do not acknowledge it to
    /// the relay) and pass it to [`Profile::receive`] again after accepting.
    IdentityKeyChanged {
        /// The contact.
        contact: ContactId,
        /// The key now presented.
        new_identity: PublicIdentity,
    },
}

/// What [`Profile::send`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The new message's id.
    pub id: MessageId,
    /// The packet to transmit now, or `None` when sending to this contact is held.
    pub packet: Option<Vec<u8>>,
}

/// A packet the outbox wants transmitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePacket {
    /// The recipient.
    pub contact: ContactId,
    /// The message it carries.
    pub message_id: MessageId,
    /// The packet (freshly sealed: a retry never repeats a ciphertext).
    pub packet: Vec<u8>,
}

pub(crate) fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Delay before the attempt after `attempts` attempts: 30 s, 60 s, 120 s, … at most 1 h.
pub fn retry_delay(attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    OUTBOX_FIRST_RETRY
        .saturating_mul(factor)
        .min(OUTBOX_MAX_RETRY)
}

pub(crate) fn identity_of(bytes: &[u8]) -> Result<PublicIdentity> {
    PublicIdentity::from_bytes(bytes).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

/// The stored form of a contact's queue (where this profile writes to reach it).
pub(crate) fn send_queue_record(contact: &str, queue: &SendCapability) -> SendQueueRecord {
    SendQueueRecord {
        contact: contact.to_owned(),
        relay: queue.relay.to_string(),
        sender_id: *queue.sender_id.as_bytes(),
        sender_key: queue.sender_key.private_bytes().to_vec(),
    }
}
