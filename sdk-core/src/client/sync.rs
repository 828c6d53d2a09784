//! [`Client::sync`]: read every queue, open and store what arrived, send receipts,
//! acknowledge, then transmit the outbox.
//!
//! The order is what makes delivery at-least-once without loss: a packet is acknowledged
//! to its relay only after the profile stored its effect (a crash in between makes the
//! relay deliver it again, and the profile recognises the duplicate); a receipt is sent
//! before the acknowledgement, so a lost receipt is made good by the sender's outbox
//! re-sending the message, which comes back here as a duplicate and is acknowledged again.

use std::collections::BTreeMap;

use super::{Client, ClientEvent, SyncReport, is_user_content};
use crate::contacts::{ContactId, Event};
use crate::content::{Body, Content, MAX_RECEIPT_IDS, MessageId, Receipt, ReceiptKind};
use crate::error::{Error, Result};
use crate::relay::OwnQueue;
use crate::relay::{ErrorKind, RelayMessageId};
use crate::store::{MessageDirection, Store};
use crate::transport::{ReadMessage, RelayClient, TransportError};

/// Most packets [`Client::receive_read`] takes from a queue in one call.
pub const RECEIVE_BATCH: usize = 64;

/// Most packets [`Client::read_batch`] takes from a queue in one call: small, so that a
/// caller interleaving batches with other work (the messenger's first sync, between the
/// app's calls) answers those calls soon.
pub const CATCH_UP_BATCH: usize = 16;

/// Why [`Client::read_queue`] stopped reading a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEnd {
    /// The queue is empty, or its relay failed, or a packet stays for a later read.
    Done,
    /// The limit of packets was read: more may wait.
    Limit,
}

/// What became of one packet read from a queue.
enum Outcome {
    /// Its effect is stored: acknowledge it.
    Stored,
    /// Leave it (and the rest of its queue) on the relay for a later sync.
    Keep,
    /// It used up the invitation whose queue it came from: acknowledge it, then delete
    /// the queue.
    InvitationUsed,
}

impl<S: Store> Client<S> {
    /// Reads every queue of this profile, opens and stores what arrived (each message is
    /// shown once, in order), sends end-to-end receipts, acknowledges what it stored, and
    /// transmits the outbox: unsent packets, then every message whose retry time has come.
    /// Events say what happened ([`Client::take_events`]).
    ///
    /// A relay that cannot be reached is not an error: its queues wait for the next sync
    /// ([`ClientEvent::NetworkProblem`], [`SyncReport::unreachable`]).
    ///
    /// # Errors
    /// Store errors (nothing read since the last stored change is acknowledged, so nothing
    /// is lost).
    pub async fn sync(&mut self) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut receipts: BTreeMap<ContactId, Vec<MessageId>> = BTreeMap::new();
        for queue in self.queues_to_sync().await? {
            self.read_queue(&queue, None, None, &mut receipts, &mut report)
                .await?;
        }
        self.send_receipts(receipts, &mut report).await?;
        self.flush_outbox(&mut report).await?;
        report.unreachable = self.down.len();
        Ok(report)
    }

    /// The first step of a sync done in pieces: every queue of this profile, each to be
    /// read with [`Client::read_batch`] until it says it is empty, then the outbox sent
    /// with [`Client::send_due`]. Relays that failed before may be tried again.
    ///
    /// # Errors
    /// Store errors.
    pub async fn queues_to_sync(&mut self) -> Result<Vec<OwnQueue>> {
        self.down.clear();
        self.profile.own_queues().await
    }

    /// Reads at most [`CATCH_UP_BATCH`] packets from `queue` as [`Client::sync`] does
    /// (opened, stored, receipts sent, acknowledged); whether the queue may hold more.
    /// False too when its relay cannot be reached: the queue waits for a later read.
    ///
    /// # Errors
    /// As [`Client::sync`].
    pub async fn read_batch(&mut self, queue: &OwnQueue) -> Result<bool> {
        let (_, end) = self.read_some(queue, None, CATCH_UP_BATCH).await?;
        Ok(end == ReadEnd::Limit)
    }

    /// Takes a message that a waiting read returned from `queue`
    /// ([`RelayClient::next_waiting`](crate::transport::RelayClient::next_waiting)): opens
    /// and stores it as [`Client::sync`] would, reads on in the queue (at most
    /// [`RECEIVE_BATCH`] packets in all, so that one busy queue never holds the caller for
    /// long; the next waiting read returns at once with what is left), acknowledges and
    /// sends the receipts. The outbox is left for [`Client::send_due`].
    ///
    /// # Errors
    /// As [`Client::sync`].
    pub async fn receive_read(
        &mut self,
        queue: &OwnQueue,
        message: ReadMessage,
    ) -> Result<SyncReport> {
        // The relay just answered: whatever failed before does not hold it back now.
        self.down.remove(&queue.relay);
        let (mut report, _) = self.read_some(queue, Some(message), RECEIVE_BATCH).await?;
        report.unreachable = self.down.len();
        Ok(report)
    }

    /// Reads at most `limit` packets of `queue` (starting with `first`, when a waiting read
    /// returned it), then sends the receipts for them: the part of a sync that
    /// [`Client::receive_read`] and [`Client::read_batch`] share.
    async fn read_some(
        &mut self,
        queue: &OwnQueue,
        first: Option<ReadMessage>,
        limit: usize,
    ) -> Result<(SyncReport, ReadEnd)> {
        let mut report = SyncReport::default();
        let mut receipts: BTreeMap<ContactId, Vec<MessageId>> = BTreeMap::new();
        let end = self
            .read_queue(queue, first, Some(limit), &mut receipts, &mut report)
            .await?;
        self.send_receipts(receipts, &mut report).await?;
        Ok((report, end))
    }

    /// Transmits what the outbox holds and is due (unsent packets, then retries) without
    /// reading any queue: the background work's retry step, when waiting reads do the
    /// reading.
    ///
    /// # Errors
    /// Store errors.
    pub async fn send_due(&mut self) -> Result<SyncReport> {
        self.down.clear();
        let mut report = SyncReport::default();
        self.flush_outbox(&mut report).await?;
        report.unreachable = self.down.len();
        Ok(report)
    }

    /// Sends the end-to-end delivery receipts gathered while reading.
    async fn send_receipts(
        &mut self,
        receipts: BTreeMap<ContactId, Vec<MessageId>>,
        report: &mut SyncReport,
    ) -> Result<()> {
        for (contact, ids) in receipts {
            for batch in ids.chunks(MAX_RECEIPT_IDS) {
                let receipt = Receipt {
                    kind: ReceiptKind::Delivered,
                    message_ids: batch.to_vec(),
                };
                let now = self.now();
                let outgoing = self
                    .profile
                    .send(&contact, Body::Receipt(receipt), now, &mut self.rng)
                    .await?;
                if let Some(packet) = outgoing.packet {
                    report.sent += usize::from(self.transmit(&contact, packet).await?);
                }
            }
        }
        Ok(())
    }

    /// Reads one queue until it is empty (or a packet must stay, or `limit` packets were
    /// read), starting with `first` when a waiting read already returned it. Each read
    /// acknowledges the message handled before it (one request a message,
    /// `RelayClient::ack_then_next`); the last acknowledgement rides on the read that
    /// finds the queue empty.
    async fn read_queue(
        &mut self,
        queue: &OwnQueue,
        mut first: Option<ReadMessage>,
        limit: Option<usize>,
        receipts: &mut BTreeMap<ContactId, Vec<MessageId>>,
        report: &mut SyncReport,
    ) -> Result<ReadEnd> {
        if self.down.contains(&queue.relay) {
            return Ok(ReadEnd::Done);
        }
        let relay = self.relay(&queue.relay)?;
        let mut read_here = 0usize;
        // The message handled last, stored but not yet acknowledged at the relay.
        let mut handled: Option<RelayMessageId> = None;
        loop {
            if limit.is_some_and(|limit| read_here >= limit) {
                if let Some(id) = handled.take() {
                    self.acknowledge(&relay, queue, &id).await?;
                }
                return Ok(ReadEnd::Limit);
            }
            read_here += 1;
            let now = self.now();
            let read = match (first.take(), handled.take()) {
                (Some(message), _) => Ok(Some(message)),
                (None, Some(id)) => {
                    relay
                        .ack_then_next(queue, &id, None, now, &mut self.rng)
                        .await
                }
                (None, None) => relay.next(queue, now, &mut self.rng).await,
            };
            let message = match read {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(ReadEnd::Done),
                Err(error) => {
                    self.queue_unreadable(queue, &error).await?;
                    return Ok(ReadEnd::Done);
                }
            };
            report.received += 1;
            let outcome = match self.profile.queue_contact(&queue.recipient_id).await? {
                None => self.answer(queue, &message, report).await?,
                Some(contact) => {
                    self.open_packet(&contact, &message, receipts, report)
                        .await?
                }
            };
            match outcome {
                Outcome::Keep => return Ok(ReadEnd::Done),
                Outcome::InvitationUsed => {
                    if !self.acknowledge(&relay, queue, &message.id).await? {
                        return Ok(ReadEnd::Done);
                    }
                    // The link is dead at the relay too. Whatever else arrived on the queue
                    // was for a used invitation and could never be answered.
                    self.delete_queue_quietly(queue).await;
                    self.profile.forget_queue(&queue.recipient_id).await?;
                    return Ok(ReadEnd::Done);
                }
                // Acknowledged by the next read.
                _ => handled = Some(message.id),
            }
        }
    }

    /// Acknowledges one message on its own; whether it is gone from the queue. Stored but
    /// not acknowledged (a failure, reported): it comes again and is recognised then.
    async fn acknowledge(
        &mut self,
        relay: &RelayClient,
        queue: &OwnQueue,
        id: &RelayMessageId,
    ) -> Result<bool> {
        let now = self.now();
        match relay.ack(queue, id, now, &mut self.rng).await {
            Ok(()) => Ok(true),
            // Acknowledged already (by a read that overlapped this one): gone, as wanted.
            Err(TransportError::Relay(api)) if api.kind == ErrorKind::UnknownMessage => Ok(true),
            Err(error) => {
                self.queue_unreadable(queue, &error).await?;
                Ok(false)
            }
        }
    }

    /// A relay refused or failed to serve one of our queues.
    async fn queue_unreadable(&mut self, queue: &OwnQueue, error: &TransportError) -> Result<()> {
        if let TransportError::Relay(api) = error
            && api.kind == ErrorKind::UnknownQueue
        {
            // The queue expired or was deleted: nothing can arrive on it any more.
            if let Some(contact) = self.profile.queue_contact(&queue.recipient_id).await? {
                self.events.push_back(ClientEvent::QueueGone { contact });
            }
            return Ok(());
        }
        self.report_network(queue.relay.clone(), error);
        Ok(())
    }

    /// Opens a packet from a contact's queue.
    async fn open_packet(
        &mut self,
        contact: &ContactId,
        message: &ReadMessage,
        receipts: &mut BTreeMap<ContactId, Vec<MessageId>>,
        report: &mut SyncReport,
    ) -> Result<Outcome> {
        let now = self.now();
        let events = match self
            .profile
            .receive(contact, &message.packet, now, &mut self.rng)
            .await
        {
            Ok(events) => events,
            Err(error) if is_packet_fault(&error) => {
                self.reject(Some(contact.clone()), &error);
                return Ok(Outcome::Stored);
            }
            Err(error) => return Err(error),
        };
        let mut outcome = Outcome::Stored;
        for event in events {
            match event {
                Event::Message(content) => {
                    // Everything but a receipt is acknowledged end to end (a contact-accept
                    // frame too: the inviter's outbox holds its answer until then).
                    if !matches!(content.body, Body::Receipt(_)) {
                        receipts
                            .entry(contact.clone())
                            .or_default()
                            .push(content.id);
                    }
                    if is_user_content(&content.body) {
                        report.shown += 1;
                        self.events.push_back(ClientEvent::Message {
                            contact: contact.clone(),
                            content,
                        });
                    }
                }
                Event::Early(id) | Event::Duplicate(id) => {
                    receipts.entry(contact.clone()).or_default().push(id);
                }
                Event::Receipt { kind, message_ids } => {
                    // The app hears of its own messages only (not of our contact-accept
                    // frames, which a receipt acknowledges too).
                    let message_ids = self.user_messages(contact, message_ids).await?;
                    if message_ids.is_empty() {
                        continue;
                    }
                    let contact = contact.clone();
                    self.events.push_back(match kind {
                        ReceiptKind::Delivered => ClientEvent::Delivered {
                            contact,
                            message_ids,
                        },
                        ReceiptKind::Read => ClientEvent::Read {
                            contact,
                            message_ids,
                        },
                    });
                }
                Event::Accepted(contact) => {
                    self.events
                        .push_back(ClientEvent::ContactAccepted { contact });
                }
                Event::IdentityKeyChanged {
                    contact,
                    new_identity,
                } => {
                    self.events.push_back(ClientEvent::IdentityKeyChanged {
                        contact,
                        new_identity,
                    });
                    outcome = Outcome::Keep;
                }
            }
        }
        Ok(outcome)
    }

    /// Answers an acceptance read from an invitation queue: a fresh queue for the new
    /// contact, the answer written to its queue, the used invitation's queue deleted.
    async fn answer(
        &mut self,
        invitation_queue: &OwnQueue,
        message: &ReadMessage,
        report: &mut SyncReport,
    ) -> Result<Outcome> {
        let reply_queue = match self.create_queue().await {
            Ok(queue) => queue,
            Err(Error::Transport(error)) => {
                // Answer at a later sync, when a relay can make the queue.
                self.report_network(invitation_queue.relay.clone(), &error);
                return Ok(Outcome::Keep);
            }
            Err(other) => return Err(other),
        };
        let now = self.now();
        let joined = match self
            .profile
            .answer_invitation(
                &invitation_queue.recipient_id,
                &message.packet,
                &reply_queue,
                &self.settings.display_name,
                now,
                &mut self.rng,
            )
            .await
        {
            Ok(joined) => joined,
            Err(error) => {
                self.delete_queue_quietly(&reply_queue).await;
                if is_packet_fault(&error) || matches!(error, Error::Invitation(_)) {
                    self.reject(None, &error);
                    return Ok(Outcome::Stored);
                }
                return Err(error);
            }
        };
        self.events.push_back(ClientEvent::ContactJoined {
            contact: joined.contact.clone(),
            display_name: joined.display_name.clone(),
        });
        // The short link is used up with the invitation.
        self.delete_short_quietly(invitation_queue).await;
        match self
            .write_packet(&joined.contact, &joined.destination, &joined.packet)
            .await
        {
            Ok(()) => report.sent += 1,
            Err(error) => {
                self.handle_write_failure(
                    &joined.contact,
                    joined.destination,
                    joined.packet,
                    &error,
                );
            }
        }
        Ok(Outcome::InvitationUsed)
    }

    /// Writes unsent packets, then every message the outbox says is due.
    ///
    /// Cancellation-safe for the packets held in memory: each stays in `unsent` until its
    /// write has succeeded or failed, so a sync dropped mid-write loses none of them.
    async fn flush_outbox(&mut self, report: &mut SyncReport) -> Result<()> {
        // Only those held now: a failure below puts its packet back at the end.
        for _ in 0..self.unsent.len() {
            let Some(unsent) = self.unsent.first().cloned() else {
                break;
            };
            let written = self
                .write_packet(&unsent.contact, &unsent.destination, &unsent.packet)
                .await;
            self.unsent.remove(0);
            match written {
                Ok(()) => report.sent += 1,
                Err(error) => {
                    self.handle_write_failure(
                        &unsent.contact,
                        unsent.destination,
                        unsent.packet,
                        &error,
                    );
                }
            }
        }
        let now = self.now();
        for due in self.profile.due_packets(now, &mut self.rng).await? {
            if self.transmit(&due.contact, due.packet).await? {
                report.sent += 1;
                if !self
                    .user_messages(&due.contact, vec![due.message_id])
                    .await?
                    .is_empty()
                {
                    self.sent(&due.contact, due.message_id);
                }
            }
        }
        Ok(())
    }

    /// The ids among `ids` of our own messages to `contact` that the user wrote.
    async fn user_messages(
        &self,
        contact: &ContactId,
        ids: Vec<MessageId>,
    ) -> Result<Vec<MessageId>> {
        let mut mine = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = self
                .profile
                .store()
                .load_message(contact.as_str(), MessageDirection::Outgoing, &id.to_bytes())
                .await?;
            if let Some(message) = stored
                && !message.deleted
                && Content::decode(&message.frame).is_ok_and(|c| is_user_content(&c.body))
            {
                mine.push(id);
            }
        }
        Ok(mine)
    }

    fn reject(&mut self, contact: Option<ContactId>, error: &Error) {
        self.events.push_back(ClientEvent::Rejected {
            contact,
            code: error.code(),
            reason: error.to_string(),
        });
    }
}

/// Whether an error means the packet itself is bad (it can never be opened), as opposed to
/// a failure of ours (the store) that a later attempt may not meet.
fn is_packet_fault(error: &Error) -> bool {
    matches!(
        error,
        Error::Content(_)
            | Error::Padding(_)
            | Error::UntrustedSender(_)
            | Error::InvalidCiphertext(_)
            | Error::InvalidBundle(_)
            | Error::NoSession
            | Error::Protocol(_)
            | Error::Identity(_)
            | Error::Attachment(_)
    )
}
