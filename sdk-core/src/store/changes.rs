//! A batch of writes that a [`Store`](super::Store) applies atomically.

use std::collections::{BTreeMap, BTreeSet};

use super::IdentityRecord;
use super::records::{
    AttachmentRecord, ContactRecord, MessageDirection, MessageRecord, OutboxRecord,
    ReceiveQueueRecord, SendQueueRecord,
};

/// One use of a Kyber prekey by a PQXDH initiator, remembered so that a replayed first
/// message (same base key) is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KyberBaseKeyUse {
    /// Kyber prekey id.
    pub kyber_pre_key_id: u32,
    /// Signed EC prekey id used alongside it.
    pub signed_pre_key_id: u32,
    /// The initiator's serialized base (ephemeral) key.
    pub base_key: Vec<u8>,
}

/// Writes gathered during one logical step (a session start, a received message, a key
/// rotation). `Some(bytes)` stores a record, `None` deletes it.
#[derive(Debug, Default, Clone)]
pub struct ChangeSet {
    /// New local identity (profile creation or display-name change).
    pub identity: Option<IdentityRecord>,
    /// Trusted remote identity keys by address.
    pub remote_identities: BTreeMap<String, Vec<u8>>,
    /// Sessions by address.
    pub sessions: BTreeMap<String, Vec<u8>>,
    /// One-time EC prekeys.
    pub pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    /// Signed EC prekeys.
    pub signed_pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    /// Kyber prekeys.
    pub kyber_pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    /// Kyber base-key uses to remember.
    pub kyber_base_keys: Vec<KyberBaseKeyUse>,
    /// Contacts to insert or replace, by id.
    pub contacts: BTreeMap<String, ContactRecord>,
    /// Messages to insert or replace, by (contact, direction, id).
    pub messages: BTreeMap<MessageKey, MessageRecord>,
    /// Outbox entries to insert or replace (`Some`) or remove (`None`), by (contact, id).
    pub outbox: BTreeMap<(String, [u8; 16]), Option<OutboxRecord>>,
    /// Attachment metadata to insert or replace, by (contact, message id).
    pub attachments: BTreeMap<(String, [u8; 16]), AttachmentRecord>,
    /// Queues this profile reads, to insert or replace (`Some`) or forget (`None`), by
    /// recipient id.
    pub receive_queues: BTreeMap<[u8; 16], Option<ReceiveQueueRecord>>,
    /// Contacts' queues this profile writes to, to insert or replace (`Some`) or forget
    /// (`None`), by contact.
    pub send_queues: BTreeMap<String, Option<SendQueueRecord>>,
    /// Settings kept with the profile, to store (`Some`) or remove (`None`), by name.
    pub settings: BTreeMap<String, Option<Vec<u8>>>,
    /// Contacts to delete together with everything stored for them: their messages,
    /// outbox entries, attachment metadata, the queues they are read from and written
    /// to. Applied after every other write of the set.
    pub forgotten_contacts: BTreeSet<String>,
}

/// The identity of a message in a change set: contact, direction, message id.
pub type MessageKey = (String, MessageDirection, [u8; 16]);

impl ChangeSet {
    /// Stages a message, keyed by its contact, direction and id.
    pub fn put_message(&mut self, message: MessageRecord) {
        let key = (message.contact.clone(), message.direction, message.id);
        self.messages.insert(key, message);
    }
}

impl ChangeSet {
    /// Whether applying this set would change nothing.
    pub fn is_empty(&self) -> bool {
        self.identity.is_none()
            && self.remote_identities.is_empty()
            && self.sessions.is_empty()
            && self.pre_keys.is_empty()
            && self.signed_pre_keys.is_empty()
            && self.kyber_pre_keys.is_empty()
            && self.kyber_base_keys.is_empty()
            && self.contacts.is_empty()
            && self.messages.is_empty()
            && self.outbox.is_empty()
            && self.attachments.is_empty()
            && self.receive_queues.is_empty()
            && self.send_queues.is_empty()
            && self.settings.is_empty()
            && self.forgotten_contacts.is_empty()
    }
}
