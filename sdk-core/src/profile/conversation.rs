//! The profile's conversation methods: contacts, verification, sending, the outbox and
//! receiving (what [`crate::contacts`] describes).

use std::time::SystemTime;

use rand::{CryptoRng, Rng};

use super::Profile;
use crate::contacts::{
    Contact, ContactId, DuePacket, Event, Outgoing, identity_of, millis, retry_delay,
    send_queue_record,
};
use crate::content::{Body, Content, MessageId, ReceiptKind};
use crate::error::{Error, Result};
use crate::identity::PublicIdentity;
use crate::safety::{Comparison, SafetyNumber};
use crate::store::{
    ChangeSet, ContactRecord, MessageDirection, MessageRecord, MessageStatus, OutboxRecord, Store,
};

impl<S: Store> Profile<S> {
    async fn contact_record(&self, id: &ContactId) -> Result<ContactRecord> {
        self.store()
            .load_contact(id.as_str())
            .await?
            .ok_or_else(|| Error::UnknownContact(id.to_string()))
    }

    /// Adds a contact trusted with `identity` (after a session start, or before the first
    /// message from them arrives). Returns its new local id.
    pub async fn add_contact(
        &self,
        identity: &PublicIdentity,
        display_name: Option<String>,
    ) -> Result<ContactId> {
        let id = ContactId::new(MessageId::random().to_string());
        let mut changes = ChangeSet::default();
        changes.contacts.insert(
            id.as_str().to_owned(),
            ContactRecord {
                id: id.as_str().to_owned(),
                identity_key: identity.to_bytes(),
                display_name,
                verified: false,
                pending_identity_key: None,
                last_sent_sequence: 0,
                shown_through: 0,
                awaiting_reply: false,
            },
        );
        self.store().apply(changes).await?;
        Ok(id)
    }

    /// One contact.
    pub async fn contact(&self, id: &ContactId) -> Result<Contact> {
        contact_view(&self.contact_record(id).await?)
    }

    /// Every contact, ordered by id.
    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        self.store()
            .contacts()
            .await?
            .iter()
            .map(contact_view)
            .collect()
    }

    /// The safety number between this profile and the contact's trusted key.
    pub async fn safety_number(&self, id: &ContactId) -> Result<SafetyNumber> {
        let contact = self.contact(id).await?;
        Ok(SafetyNumber::new(
            self.identity().key_pair().identity_key(),
            contact.identity.key(),
        )?)
    }

    /// Compares a code scanned from the contact's screen with our safety number.
    pub async fn compare_safety_code(&self, id: &ContactId, scanned: &[u8]) -> Result<Comparison> {
        Ok(self.safety_number(id).await?.compare_scanned(scanned)?)
    }

    /// Marks the contact's trusted key as verified (after a match). Refused while a new
    /// key is pending: accept or reject that first.
    pub async fn mark_verified(&self, id: &ContactId) -> Result<()> {
        let mut record = self.contact_record(id).await?;
        if record.pending_identity_key.is_some() {
            return Err(Error::IdentityKeyPending(id.to_string()));
        }
        record.verified = true;
        let mut changes = ChangeSet::default();
        changes.contacts.insert(record.id.clone(), record);
        Ok(self.store().apply(changes).await?)
    }

    /// Gives the contact a name of the user's choosing (local only, never sent); `None`
    /// removes it.
    pub async fn rename_contact(&self, id: &ContactId, name: Option<String>) -> Result<()> {
        let mut record = self.contact_record(id).await?;
        record.display_name = name.filter(|name| !name.trim().is_empty());
        let mut changes = ChangeSet::default();
        changes.contacts.insert(record.id.clone(), record);
        Ok(self.store().apply(changes).await?)
    }

    /// Accepts the new identity key a contact presented: it becomes the trusted key (not
    /// verified), the conversation's sequence numbers restart (a new device starts from 1),
    /// and held messages are queued to be sent by [`Profile::due_packets`] once a session
    /// with the new key exists (after the contact's first message is received again).
    pub async fn accept_identity_key(&self, id: &ContactId) -> Result<()> {
        let mut record = self.contact_record(id).await?;
        let Some(new_key) = record.pending_identity_key.take() else {
            return Err(Error::NoIdentityKeyPending(id.to_string()));
        };
        record.identity_key = new_key;
        record.verified = false;
        record.shown_through = 0;
        let mut changes = ChangeSet::default();
        if !record.awaiting_reply {
            self.release_held(&record.id, &mut changes).await?;
        }
        changes.contacts.insert(record.id.clone(), record);
        Ok(self.store().apply(changes).await?)
    }

    /// Stages the release of a contact's held messages: they become queued and due at once
    /// ([`Profile::due_packets`] seals them).
    pub(crate) async fn release_held(&self, contact: &str, changes: &mut ChangeSet) -> Result<()> {
        for entry in self.store().outbox().await? {
            if entry.contact != contact {
                continue;
            }
            if let Some(mut message) = self
                .store()
                .load_message(contact, MessageDirection::Outgoing, &entry.message_id)
                .await?
                && message.status == MessageStatus::Held
            {
                message.status = MessageStatus::Queued;
                changes.put_message(message);
                changes.outbox.insert(
                    (contact.to_owned(), entry.message_id),
                    Some(OutboxRecord {
                        next_attempt_ms: 0,
                        ..entry
                    }),
                );
            }
        }
        Ok(())
    }

    /// Deletes a contact with everything stored for it: its messages, outbox entries,
    /// attachment metadata and queue records, in one atomic change. The client deletes the
    /// contact's queues on their relays first ([`Client::forget_contact`]).
    ///
    /// [`Client::forget_contact`]: crate::Client::forget_contact
    pub async fn forget_contact(&self, id: &ContactId) -> Result<()> {
        self.contact_record(id).await?;
        let mut changes = ChangeSet::default();
        changes.forgotten_contacts.insert(id.as_str().to_owned());
        Ok(self.store().apply(changes).await?)
    }

    /// Sends `body` to a contact: stores the message and its outbox entry and, unless
    /// sending is held, seals it at once — all in one atomic change. Returns the packet to
    /// transmit (or `None` when held).
    pub async fn send<R: Rng + CryptoRng>(
        &mut self,
        id: &ContactId,
        body: Body,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Outgoing> {
        self.send_as(id, MessageId::random(), body, now, rng).await
    }

    /// [`Profile::send`] with the message id chosen by the caller (a fresh random one: the
    /// client names an attachment's upload by the id of the message that will carry it).
    pub(crate) async fn send_as<R: Rng + CryptoRng>(
        &mut self,
        id: &ContactId,
        message_id: MessageId,
        body: Body,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Outgoing> {
        let mut record = self.contact_record(id).await?;
        // Receipts are sent once: acknowledging an acknowledgement would never end. A lost
        // receipt is made good when the outbox re-sends the message it acknowledged. So a
        // receipt takes no sequence number (0), is not kept, and leaves no gap.
        let acknowledged = !matches!(body, Body::Receipt(_));
        let sequence = if acknowledged {
            record.last_sent_sequence += 1;
            record.last_sent_sequence
        } else {
            0
        };
        let content = Content {
            id: message_id,
            sequence,
            timestamp_ms: millis(now),
            body,
        };
        content.validate()?;
        let held = record.pending_identity_key.is_some() || record.awaiting_reply;
        let peer = identity_of(&record.identity_key)?;
        let certificate = self.certificate_for(now, rng)?;
        let view = self.view();
        let packet = if held {
            None
        } else {
            Some(
                self.seal_staged(&view, &certificate, &peer, &content, now, rng)
                    .await?,
            )
        };
        let attempts = u32::from(packet.is_some());
        view.stage(|changes| {
            // A receipt is kept only while held (it goes out once the contact is ready).
            if acknowledged || held {
                changes.put_message(MessageRecord {
                    contact: record.id.clone(),
                    direction: MessageDirection::Outgoing,
                    id: content.id.to_bytes(),
                    sequence: content.sequence,
                    at_ms: millis(now),
                    frame: content.encode(),
                    status: if held {
                        MessageStatus::Held
                    } else {
                        MessageStatus::Queued
                    },
                    deleted: false,
                });
                changes.outbox.insert(
                    (record.id.clone(), content.id.to_bytes()),
                    Some(OutboxRecord {
                        contact: record.id.clone(),
                        message_id: content.id.to_bytes(),
                        attempts,
                        next_attempt_ms: millis(now + retry_delay(attempts.max(1))),
                    }),
                );
            }
            changes.contacts.insert(record.id.clone(), record);
        });
        self.store().apply(view.take_changes()).await?;
        Ok(Outgoing {
            id: content.id,
            packet,
        })
    }

    /// Re-seals every queued message whose retry time has come (never held ones, never
    /// for a contact without a session yet) and schedules the next attempt. Packets come
    /// in sending order per contact (by sequence number), so a recipient receiving them in
    /// that order shows each at once instead of holding early arrivals.
    pub async fn due_packets<R: Rng + CryptoRng>(
        &mut self,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Vec<DuePacket>> {
        let now_ms = millis(now);
        let mut waiting = Vec::new();
        for entry in self.store().outbox().await? {
            if entry.next_attempt_ms > now_ms {
                continue;
            }
            let contact = ContactId::new(entry.contact.clone());
            let record = self.contact_record(&contact).await?;
            let Some(message) = self
                .store()
                .load_message(
                    &entry.contact,
                    MessageDirection::Outgoing,
                    &entry.message_id,
                )
                .await?
            else {
                continue;
            };
            if message.status != MessageStatus::Queued || record.pending_identity_key.is_some() {
                continue;
            }
            // While the inviter has not answered, only our acceptance goes out (to the
            // invitation's queue); everything else waits for the answer.
            if record.awaiting_reply
                && !matches!(
                    Content::decode(&message.frame).map(|c| c.body),
                    Ok(Body::ContactAccept(_))
                )
            {
                continue;
            }
            waiting.push((contact, record, entry, message));
        }
        waiting.sort_by_key(|(contact, _, _, message)| (contact.clone(), message.sequence));

        let mut due = Vec::new();
        for (contact, record, entry, message) in waiting {
            let content = Content::decode(&message.frame)?;
            let peer = identity_of(&record.identity_key)?;
            let certificate = self.certificate_for(now, rng)?;
            let view = self.view();
            let packet = match self
                .seal_staged(&view, &certificate, &peer, &content, now, rng)
                .await
            {
                Ok(packet) => packet,
                // No session with the (new) key yet: try again later.
                Err(Error::NoSession) => continue,
                Err(other) => return Err(other),
            };
            let attempts = entry.attempts.saturating_add(1);
            let is_receipt = matches!(content.body, Body::Receipt(_));
            view.stage(|changes| {
                if is_receipt {
                    // A receipt held during a key change: sent once, then done.
                    changes
                        .outbox
                        .insert((entry.contact.clone(), entry.message_id), None);
                    changes.put_message(MessageRecord {
                        status: MessageStatus::Sent,
                        ..message
                    });
                } else {
                    changes.outbox.insert(
                        (entry.contact.clone(), entry.message_id),
                        Some(OutboxRecord {
                            attempts,
                            next_attempt_ms: millis(now + retry_delay(attempts)),
                            ..entry
                        }),
                    );
                }
            });
            self.store().apply(view.take_changes()).await?;
            due.push(DuePacket {
                contact,
                message_id: content.id,
                packet,
            });
        }
        Ok(due)
    }

    /// Receives a packet from a contact's queue. Returns what to show: messages (in order,
    /// once each), receipts, or a key change. Everything the packet changes — ratchet,
    /// message rows, ordering, outbox — lands in one atomic change; an error changes
    /// nothing.
    pub async fn receive<R: Rng + CryptoRng>(
        &self,
        id: &ContactId,
        packet: &[u8],
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Vec<Event>> {
        let mut record = self.contact_record(id).await?;
        let trusted = identity_of(&record.identity_key)?;
        let view = self.view();
        let content = match self.open_staged(&view, &trusted, packet, now, rng).await {
            Ok(content) => content,
            Err(Error::IdentityKeyChanged { presented, .. }) => {
                let new_identity = PublicIdentity::new(*presented);
                record.pending_identity_key = Some(new_identity.to_bytes());
                let mut changes = ChangeSet::default();
                changes.contacts.insert(record.id.clone(), record);
                self.store().apply(changes).await?;
                return Ok(vec![Event::IdentityKeyChanged {
                    contact: id.clone(),
                    new_identity,
                }]);
            }
            // The ratchet saw this very ciphertext before: nothing new.
            Err(Error::Duplicate) => return Ok(Vec::new()),
            Err(other) => return Err(other),
        };

        if let Body::Receipt(receipt) = &content.body {
            // Outside the order (sequence 0): never early, never a gap, not kept. Acting on
            // the same receipt twice changes nothing.
            self.stage_receipt(&view, &record.id, receipt.kind, &receipt.message_ids)
                .await?;
            let event = Event::Receipt {
                kind: receipt.kind,
                message_ids: receipt.message_ids.clone(),
            };
            view.stage(|changes| {
                changes.contacts.insert(record.id.clone(), record);
            });
            // The ratchet step is kept, as for every message.
            self.store().apply(view.take_changes()).await?;
            return Ok(vec![event]);
        }
        let already = content.sequence <= record.shown_through
            || self
                .store()
                .load_message(
                    &record.id,
                    MessageDirection::Incoming,
                    &content.id.to_bytes(),
                )
                .await?
                .is_some();
        let mut events = Vec::new();
        if already {
            events.push(Event::Duplicate(content.id));
        } else {
            if let Body::ContactAccept(accept) = &content.body {
                // Where to write to the contact from now on (the inviter's answer, or a
                // later move to another queue).
                let queue = send_queue_record(&record.id, &accept.reply_queue);
                view.stage(|changes| {
                    changes.send_queues.insert(record.id.clone(), Some(queue));
                });
                if record.awaiting_reply {
                    record.awaiting_reply = false;
                    // The answer acknowledges our acceptance: the outbox stops re-sending it.
                    self.stage_accept_answered(&view, &record.id).await?;
                    let mut released = ChangeSet::default();
                    if record.pending_identity_key.is_none() {
                        self.release_held(&record.id, &mut released).await?;
                    }
                    view.stage(|changes| {
                        changes.messages.extend(released.messages);
                        changes.outbox.extend(released.outbox);
                    });
                }
                events.push(Event::Accepted(id.clone()));
            }
            let in_order = content.sequence == record.shown_through + 1;
            let stored = MessageRecord {
                contact: record.id.clone(),
                direction: MessageDirection::Incoming,
                id: content.id.to_bytes(),
                sequence: content.sequence,
                at_ms: millis(now),
                frame: content.encode(),
                status: if in_order {
                    MessageStatus::Shown
                } else {
                    MessageStatus::Early
                },
                deleted: false,
            };
            view.stage(|changes| changes.put_message(stored));
            if !in_order {
                events.push(Event::Early(content.id));
            } else {
                record.shown_through = content.sequence;
                events.push(Event::Message(content));
                // Early arrivals this one unblocks.
                while let Some(mut early) = self
                    .store()
                    .incoming_by_sequence(&record.id, record.shown_through + 1)
                    .await?
                {
                    if early.status != MessageStatus::Early {
                        break;
                    }
                    early.status = MessageStatus::Shown;
                    // A conversation is ordered by time: an early arrival takes its place
                    // when it is shown, after the message that unblocked it.
                    early.at_ms = millis(now);
                    record.shown_through = early.sequence;
                    events.push(Event::Message(Content::decode(&early.frame)?));
                    view.stage(|changes| changes.put_message(early));
                }
            }
        }
        view.stage(|changes| {
            changes.contacts.insert(record.id.clone(), record);
        });
        // The ratchet step is kept even for a duplicate (a re-sent copy), so that the
        // session stays in step with the sender.
        self.store().apply(view.take_changes()).await?;
        Ok(events)
    }

    /// Stages the acknowledgement of our acceptance (a contact-accept frame in the outbox)
    /// by the inviter's answer: it leaves the outbox, delivered.
    async fn stage_accept_answered(
        &self,
        view: &crate::store::SignalStore<'_, S>,
        contact: &str,
    ) -> Result<()> {
        let mut accepts = Vec::new();
        for entry in self.store().outbox().await? {
            if entry.contact != contact {
                continue;
            }
            if let Some(message) = self
                .store()
                .load_message(contact, MessageDirection::Outgoing, &entry.message_id)
                .await?
                && matches!(
                    Content::decode(&message.frame).map(|c| c.body),
                    Ok(Body::ContactAccept(_))
                )
            {
                accepts.push(MessageId::from(entry.message_id));
            }
        }
        self.stage_receipt(view, contact, ReceiptKind::Delivered, &accepts)
            .await
    }

    /// Stages the effect of a receipt: acknowledged outgoing messages leave the outbox and
    /// take the receipt's status.
    async fn stage_receipt(
        &self,
        view: &crate::store::SignalStore<'_, S>,
        contact: &str,
        kind: ReceiptKind,
        ids: &[MessageId],
    ) -> Result<()> {
        for id in ids {
            let Some(mut message) = self
                .store()
                .load_message(contact, MessageDirection::Outgoing, &id.to_bytes())
                .await?
            else {
                continue;
            };
            message.status = match (kind, message.status) {
                (_, MessageStatus::Read) | (ReceiptKind::Read, _) => MessageStatus::Read,
                (ReceiptKind::Delivered, _) => MessageStatus::Delivered,
            };
            if message.deleted {
                // Deleted while it was still being sent: now that it left the outbox, its
                // content can go too.
                message.frame.clear();
            }
            view.stage(|changes| {
                changes
                    .outbox
                    .insert((contact.to_string(), id.to_bytes()), None);
                changes.put_message(message);
            });
        }
        Ok(())
    }

    /// Deletes one message of a conversation (ours or theirs) on this device: it leaves
    /// history, search and unread counts at once, and its content is wiped from the store
    /// (SQLCipher's `secure_delete` overwrites the freed bytes). Nothing is sent: the
    /// contact keeps their copy. The row stays as a tombstone, so a re-sent copy is not
    /// shown again and a late receipt does not bring it back. One of ours still in the
    /// outbox keeps its content until a receipt takes it out: the contact's device shows
    /// messages in order and waits for every sequence number. Deleting a deleted message
    /// does nothing.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::UnknownMessage`] when no shown message of this
    /// conversation has this id; store errors.
    pub async fn delete_message(&self, contact: &ContactId, id: &MessageId) -> Result<()> {
        self.contact_record(contact).await?;
        let mut found = None;
        for direction in [MessageDirection::Incoming, MessageDirection::Outgoing] {
            if let Some(message) = self
                .store()
                .load_message(contact.as_str(), direction, &id.to_bytes())
                .await?
            {
                found = Some(message);
                break;
            }
        }
        let mut message = match found {
            Some(message) if message.status != MessageStatus::Early => message,
            _ => return Err(Error::UnknownMessage(id.to_string())),
        };
        if message.deleted {
            return Ok(());
        }
        let in_outbox = self
            .store()
            .outbox()
            .await?
            .iter()
            .any(|entry| entry.contact == contact.as_str() && entry.message_id == message.id);
        message.deleted = true;
        if !in_outbox {
            message.frame.clear();
        }
        let mut changes = ChangeSet::default();
        changes.put_message(message);
        Ok(self.store().apply(changes).await?)
    }

    /// The newest `limit` messages of a conversation, newest first, with direction and
    /// status. Early arrivals (not shown yet) are left out.
    pub async fn history(
        &self,
        id: &ContactId,
        limit: usize,
    ) -> Result<Vec<(MessageDirection, MessageStatus, Content)>> {
        let mut out = Vec::new();
        for message in self.store().recent_messages(id.as_str(), limit).await? {
            if message.status == MessageStatus::Early || message.deleted {
                continue;
            }
            out.push((
                message.direction,
                message.status,
                Content::decode(&message.frame)?,
            ));
        }
        Ok(out)
    }
}

fn contact_view(record: &ContactRecord) -> Result<Contact> {
    Ok(Contact {
        id: ContactId::new(record.id.clone()),
        identity: identity_of(&record.identity_key)?,
        display_name: record.display_name.clone(),
        verified: record.verified,
        pending_identity: record
            .pending_identity_key
            .as_deref()
            .map(identity_of)
            .transpose()?,
    })
}
