//! The in-memory [`Store`]: for tests, ephemeral profiles and as the reference behaviour
//! that every persistent backend must match.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AttachmentRecord, ChangeSet, ContactRecord, ConversationPlace, IdentityRecord, KyberBaseKeyUse,
    MessageDirection, MessageKey, MessageRecord, MessageStatus, OutboxRecord, ReceiveQueueRecord,
    SendQueueRecord, Store, StoreError, Towards,
};

#[derive(Default)]
struct State {
    identity: Option<IdentityRecord>,
    remote_identities: BTreeMap<String, Vec<u8>>,
    sessions: BTreeMap<String, Vec<u8>>,
    pre_keys: BTreeMap<u32, Vec<u8>>,
    signed_pre_keys: BTreeMap<u32, Vec<u8>>,
    kyber_pre_keys: BTreeMap<u32, Vec<u8>>,
    kyber_base_keys: BTreeSet<KyberBaseKeyUse>,
    contacts: BTreeMap<String, ContactRecord>,
    messages: BTreeMap<MessageKey, MessageRecord>,
    outbox: BTreeMap<(String, [u8; 16]), OutboxRecord>,
    attachments: BTreeMap<(String, [u8; 16]), AttachmentRecord>,
    receive_queues: BTreeMap<[u8; 16], ReceiveQueueRecord>,
    send_queues: BTreeMap<String, SendQueueRecord>,
    settings: BTreeMap<String, Vec<u8>>,
}

/// A store that keeps everything in process memory and forgets it on drop.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, StoreError> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        Ok(f(&mut guard))
    }
}

fn put(map: &mut BTreeMap<u32, Vec<u8>>, changes: BTreeMap<u32, Option<Vec<u8>>>) {
    for (id, record) in changes {
        match record {
            Some(bytes) => map.insert(id, bytes),
            None => map.remove(&id),
        };
    }
}

#[async_trait(?Send)]
impl Store for MemoryStore {
    async fn load_identity(&self) -> Result<Option<IdentityRecord>, StoreError> {
        self.with(|s| s.identity.clone())
    }

    async fn load_remote_identity(&self, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.remote_identities.get(address).cloned())
    }

    async fn load_session(&self, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.sessions.get(address).cloned())
    }

    async fn load_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.pre_keys.get(&id).cloned())
    }

    async fn load_signed_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.signed_pre_keys.get(&id).cloned())
    }

    async fn load_kyber_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.kyber_pre_keys.get(&id).cloned())
    }

    async fn pre_key_ids(&self) -> Result<Vec<u32>, StoreError> {
        self.with(|s| s.pre_keys.keys().copied().collect())
    }

    async fn signed_pre_key_ids(&self) -> Result<Vec<u32>, StoreError> {
        self.with(|s| s.signed_pre_keys.keys().copied().collect())
    }

    async fn kyber_pre_key_ids(&self) -> Result<Vec<u32>, StoreError> {
        self.with(|s| s.kyber_pre_keys.keys().copied().collect())
    }

    async fn kyber_base_key_seen(&self, used: &KyberBaseKeyUse) -> Result<bool, StoreError> {
        self.with(|s| s.kyber_base_keys.contains(used))
    }

    async fn load_contact(&self, id: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.with(|s| s.contacts.get(id).cloned())
    }

    async fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError> {
        self.with(|s| s.contacts.values().cloned().collect())
    }

    async fn load_message(
        &self,
        contact: &str,
        direction: MessageDirection,
        id: &[u8; 16],
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.with(|s| {
            s.messages
                .get(&(contact.to_string(), direction, *id))
                .cloned()
        })
    }

    async fn incoming_by_sequence(
        &self,
        contact: &str,
        sequence: u64,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.with(|s| {
            s.messages
                .values()
                .find(|m| {
                    m.contact == contact
                        && m.direction == MessageDirection::Incoming
                        && m.sequence == sequence
                })
                .cloned()
        })
    }

    async fn recent_messages(
        &self,
        contact: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.with(|s| {
            let mut conversation: Vec<MessageRecord> = s
                .messages
                .values()
                .filter(|m| m.contact == contact)
                .cloned()
                .collect();
            conversation.sort_by_key(|m| std::cmp::Reverse((m.at_ms, m.direction, m.sequence)));
            conversation.truncate(limit);
            conversation
        })
    }

    async fn messages_page(
        &self,
        contact: &str,
        from: Option<ConversationPlace>,
        towards: Towards,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.with(|s| {
            let mut page: Vec<MessageRecord> = s
                .messages
                .values()
                .filter(|m| m.contact == contact)
                .filter(|m| match (from, towards) {
                    (None, _) => true,
                    (Some(from), Towards::Older) => m.place() < from,
                    (Some(from), Towards::Newer) => m.place() > from,
                })
                .cloned()
                .collect();
            match towards {
                Towards::Older => page.sort_by_key(|m| std::cmp::Reverse(m.place())),
                Towards::Newer => page.sort_by_key(MessageRecord::place),
            }
            page.truncate(limit);
            page
        })
    }

    async fn messages_with_status(
        &self,
        contact: &str,
        direction: MessageDirection,
        status: MessageStatus,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.with(|s| {
            let mut found: Vec<MessageRecord> = s
                .messages
                .values()
                .filter(|m| m.contact == contact && m.direction == direction && m.status == status)
                .cloned()
                .collect();
            found.sort_by_key(MessageRecord::place);
            found
        })
    }

    async fn outbox(&self) -> Result<Vec<OutboxRecord>, StoreError> {
        self.with(|s| s.outbox.values().cloned().collect())
    }

    async fn load_attachment(
        &self,
        contact: &str,
        message_id: &[u8; 16],
    ) -> Result<Option<AttachmentRecord>, StoreError> {
        self.with(|s| {
            s.attachments
                .get(&(contact.to_string(), *message_id))
                .cloned()
        })
    }

    async fn receive_queues(&self) -> Result<Vec<ReceiveQueueRecord>, StoreError> {
        self.with(|s| s.receive_queues.values().cloned().collect())
    }

    async fn load_receive_queue(
        &self,
        recipient_id: &[u8; 16],
    ) -> Result<Option<ReceiveQueueRecord>, StoreError> {
        self.with(|s| s.receive_queues.get(recipient_id).cloned())
    }

    async fn load_send_queue(&self, contact: &str) -> Result<Option<SendQueueRecord>, StoreError> {
        self.with(|s| s.send_queues.get(contact).cloned())
    }

    async fn load_setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.settings.get(name).cloned())
    }

    async fn apply(&self, changes: ChangeSet) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some(identity) = changes.identity {
                s.identity = Some(identity);
            }
            s.remote_identities.extend(changes.remote_identities);
            s.sessions.extend(changes.sessions);
            put(&mut s.pre_keys, changes.pre_keys);
            put(&mut s.signed_pre_keys, changes.signed_pre_keys);
            put(&mut s.kyber_pre_keys, changes.kyber_pre_keys);
            s.kyber_base_keys.extend(changes.kyber_base_keys);
            s.contacts.extend(changes.contacts);
            s.messages.extend(changes.messages);
            for (key, entry) in changes.outbox {
                match entry {
                    Some(entry) => s.outbox.insert(key, entry),
                    None => s.outbox.remove(&key),
                };
            }
            s.attachments.extend(changes.attachments);
            for (id, queue) in changes.receive_queues {
                match queue {
                    Some(queue) => s.receive_queues.insert(id, queue),
                    None => s.receive_queues.remove(&id),
                };
            }
            for (contact, queue) in changes.send_queues {
                match queue {
                    Some(queue) => s.send_queues.insert(contact, queue),
                    None => s.send_queues.remove(&contact),
                };
            }
            for (name, value) in changes.settings {
                match value {
                    Some(value) => s.settings.insert(name, value),
                    None => s.settings.remove(&name),
                };
            }
            for contact in &changes.forgotten_contacts {
                s.contacts.remove(contact);
                s.messages.retain(|(c, _, _), _| c != contact);
                s.outbox.retain(|(c, _), _| c != contact);
                s.attachments.retain(|(c, _), _| c != contact);
                s.receive_queues
                    .retain(|_, q| q.contact.as_deref() != Some(contact.as_str()));
                s.send_queues.remove(contact);
            }
        })
    }
}
