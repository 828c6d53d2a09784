//! The profile's invitation methods: making, accepting and answering invitations (the
//! three packets [`crate::handshake`] describes).

use std::time::SystemTime;

use libsignal_protocol::{CiphertextMessageType, PreKeySignalMessage};
use rand::{CryptoRng, Rng};

use super::Profile;
use crate::contacts::{ContactId, millis, retry_delay, send_queue_record};
use crate::content::{Body, Content, MessageId};
use crate::error::{Error, Result};
use crate::handshake::{Accepted, Joined};
use crate::invitation::{Invitation, InvitationError};
use crate::padding;
use crate::prekeys;
use crate::relay::{OwnQueue, QueueKeyPair, RecipientId, RelayAddress, SendCapability, SenderId};
use crate::sealed;
use crate::session;
use crate::store::{
    ChangeSet, ContactRecord, MessageDirection, MessageRecord, MessageStatus, OutboxRecord,
    SendQueueRecord, Store, StoreError,
};

impl<S: Store> Profile<S> {
    /// Makes a one-time invitation for `queue`, a fresh queue on this profile's relay. The
    /// invitation's one-time prekey and the queue are remembered, so the acceptance that
    /// arrives on the queue is recognised ([`Profile::answer_invitation`]).
    pub async fn create_invitation<R: Rng + CryptoRng>(
        &self,
        queue: &OwnQueue,
        rng: &mut R,
    ) -> Result<Invitation> {
        let (bundle, mut changes) = prekeys::bundle(self.store(), self.identity(), rng).await?;
        let invitation =
            Invitation::new(self.identity().key_pair(), bundle, queue.capability(), rng)?;
        changes.receive_queues.insert(
            *queue.recipient_id.as_bytes(),
            Some(queue.record(None, Some(invitation.one_time_pre_key_id()))),
        );
        self.store().apply(changes).await?;
        Ok(invitation)
    }

    /// Accepts an invitation: starts the session, adds the inviter as a contact (awaiting
    /// its reply) reading from `reply_queue`, and returns the acceptance packet. `my_name`
    /// is the name offered to the inviter (may be empty). Accepting an invitation of one's
    /// own, or of someone already a contact, is [`InvitationError::AlreadyUsed`].
    pub async fn accept_invitation<R: Rng + CryptoRng>(
        &mut self,
        invitation: &Invitation,
        reply_queue: &OwnQueue,
        my_name: &str,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Accepted> {
        let inviter = *invitation.inviter();
        if inviter == self.identity().public() || self.is_contact(&inviter).await? {
            return Err(InvitationError::AlreadyUsed.into());
        }
        let contact = ContactId::new(MessageId::random().to_string());
        let content = Content::contact_accept(1, millis(now), my_name, reply_queue.capability());
        content.validate()?;

        let certificate = self.certificate_for(now, rng)?;
        let view = self.view();
        let peer = session::start(&view, invitation.bundle(), now, rng).await?;
        let packet = self
            .seal_staged(&view, &certificate, &peer, &content, now, rng)
            .await?;
        view.stage(|changes| {
            changes.contacts.insert(
                contact.as_str().to_owned(),
                new_contact(&contact, &peer, None, 0, true),
            );
            stage_queued(changes, contact.as_str(), &content, now);
            // Until the inviter answers, the contact's queue is the invitation's: the
            // outbox re-sends the acceptance there if it did not get through.
            changes.send_queues.insert(
                contact.as_str().to_owned(),
                Some(send_queue_record(contact.as_str(), invitation.queue())),
            );
            changes.receive_queues.insert(
                *reply_queue.recipient_id.as_bytes(),
                Some(reply_queue.record(Some(contact.as_str()), None)),
            );
        });
        self.store().apply(view.take_changes()).await?;
        Ok(Accepted {
            contact,
            packet,
            destination: invitation.queue().clone(),
        })
    }

    /// Answers an acceptance read from the invitation queue `invitation_queue`: checks it
    /// (a sealed PQXDH first message for this invitation's one-time prekey, carrying a
    /// contact-accept frame), makes the contact, who will read from `reply_queue` (a fresh
    /// queue for it), and returns the reply packet. The invitation is used up; a second
    /// acceptance is [`InvitationError::AlreadyUsed`]. A packet that is not a valid
    /// acceptance is a typed error and changes nothing.
    pub async fn answer_invitation<R: Rng + CryptoRng>(
        &mut self,
        invitation_queue: &RecipientId,
        packet: &[u8],
        reply_queue: &OwnQueue,
        my_name: &str,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Joined> {
        let mut queue = self
            .store()
            .load_receive_queue(invitation_queue.as_bytes())
            .await?
            .ok_or_else(|| not_an_invitation_queue("no such queue"))?;
        let Some(pre_key_id) = queue.invitation_pre_key else {
            return Err(not_an_invitation_queue("the queue serves a contact"));
        };
        if queue.invitation_used {
            return Err(InvitationError::AlreadyUsed.into());
        }

        let certificate = self.certificate_for(now, rng)?;
        let view = self.view();
        let sealed = padding::unpad(packet)?;
        let (usmc, peer) = sealed::unseal_stranger(&view, sealed, now).await?;
        // Only a first message made from this invitation's bundle may use this queue.
        if usmc.msg_type()? != CiphertextMessageType::PreKey
            || PreKeySignalMessage::try_from(usmc.contents()?)?
                .pre_key_id()
                .map(u32::from)
                != Some(pre_key_id)
        {
            return Err(Error::InvalidCiphertext(
                "not a first message for this invitation".into(),
            ));
        }
        if self.is_contact(&peer).await? {
            return Err(InvitationError::KnownContact.into());
        }
        let plaintext = session::decrypt(&view, &peer, &usmc, rng).await?;
        let accept = Content::decode(&plaintext)?;
        let Body::ContactAccept(ref frame) = accept.body else {
            return Err(Error::InvalidCiphertext(
                "the first message on an invitation queue must accept the contact".into(),
            ));
        };

        let contact = ContactId::new(MessageId::random().to_string());
        let reply = Content::contact_accept(1, millis(now), my_name, reply_queue.capability());
        reply.validate()?;
        let reply_packet = self
            .seal_staged(&view, &certificate, &peer, &reply, now, rng)
            .await?;

        queue.invitation_used = true;
        queue.contact = Some(contact.as_str().to_owned());
        let display_name = frame.display_name.clone();
        let destination = frame.reply_queue.clone();
        view.stage(|changes| {
            let name = (!display_name.is_empty()).then(|| display_name.clone());
            changes.contacts.insert(
                contact.as_str().to_owned(),
                new_contact(&contact, &peer, name, accept.sequence, false),
            );
            changes.put_message(MessageRecord {
                contact: contact.as_str().to_owned(),
                direction: MessageDirection::Incoming,
                id: accept.id.to_bytes(),
                sequence: accept.sequence,
                at_ms: millis(now),
                frame: accept.encode(),
                status: MessageStatus::Shown,
                deleted: false,
            });
            stage_queued(changes, contact.as_str(), &reply, now);
            changes.send_queues.insert(
                contact.as_str().to_owned(),
                Some(send_queue_record(contact.as_str(), &destination)),
            );
            changes
                .receive_queues
                .insert(queue.recipient_id, Some(queue.clone()));
            changes.receive_queues.insert(
                *reply_queue.recipient_id.as_bytes(),
                Some(reply_queue.record(Some(contact.as_str()), None)),
            );
        });
        self.store().apply(view.take_changes()).await?;
        Ok(Joined {
            contact,
            display_name,
            packet: reply_packet,
            destination,
        })
    }

    /// Whether `identity` is the trusted key of one of the contacts.
    async fn is_contact(&self, identity: &crate::identity::PublicIdentity) -> Result<bool> {
        let key = identity.to_bytes();
        Ok(self
            .store()
            .contacts()
            .await?
            .iter()
            .any(|c| c.identity_key == key))
    }

    /// Where to write to a contact: its queue (the invitation's queue while the contact
    /// awaits the inviter's answer: only the acceptance goes there; `None` for a contact
    /// added without a queue).
    pub async fn send_queue(&self, contact: &ContactId) -> Result<Option<SendCapability>> {
        let Some(record) = self.store().load_send_queue(contact.as_str()).await? else {
            return Ok(None);
        };
        Ok(Some(capability_of(&record)?))
    }

    /// Every queue this profile reads for messages (contacts' queues and open invitations'
    /// queues; not the cover traffic's loop queue).
    pub async fn own_queues(&self) -> Result<Vec<OwnQueue>> {
        self.store()
            .receive_queues()
            .await?
            .iter()
            .filter(|record| !record.cover_loop)
            .map(OwnQueue::from_record)
            .collect()
    }

    /// The queue the cover traffic's loop packets come back to, kept across runs.
    pub async fn cover_loop_queue(&self) -> Result<Option<OwnQueue>> {
        self.store()
            .receive_queues()
            .await?
            .iter()
            .find(|record| record.cover_loop)
            .map(OwnQueue::from_record)
            .transpose()
    }

    /// Keeps `queue` as the cover traffic's loop queue, in place of `replaced` (the one
    /// before, if any), in one change.
    pub async fn keep_cover_loop_queue(
        &self,
        queue: &OwnQueue,
        replaced: Option<&RecipientId>,
    ) -> Result<()> {
        let mut changes = ChangeSet::default();
        if let Some(old) = replaced {
            changes.receive_queues.insert(*old.as_bytes(), None);
        }
        let mut record = queue.record(None, None);
        record.cover_loop = true;
        changes
            .receive_queues
            .insert(*queue.recipient_id.as_bytes(), Some(record));
        Ok(self.store().apply(changes).await?)
    }

    /// Forgets a queue this profile no longer reads (after the client deleted it on the
    /// relay), such as a used invitation's.
    pub async fn forget_queue(&self, recipient_id: &RecipientId) -> Result<()> {
        let mut changes = ChangeSet::default();
        changes
            .receive_queues
            .insert(*recipient_id.as_bytes(), None);
        Ok(self.store().apply(changes).await?)
    }

    /// Which contact a packet read from one of this profile's queues comes from: `Some` for
    /// a contact's queue (pass the packet to [`Profile::receive`]), `None` for an
    /// invitation queue (pass it to [`Profile::answer_invitation`]).
    pub async fn queue_contact(&self, recipient_id: &RecipientId) -> Result<Option<ContactId>> {
        let queue = self
            .store()
            .load_receive_queue(recipient_id.as_bytes())
            .await?
            .ok_or_else(|| not_an_invitation_queue("no such queue"))?;
        Ok(match queue.invitation_pre_key {
            Some(_) if !queue.invitation_used => None,
            _ => queue.contact.clone().map(ContactId::new),
        })
    }
}

/// A contact made by the handshake, which has sent it one message (its contact accept).
fn new_contact(
    id: &ContactId,
    peer: &crate::identity::PublicIdentity,
    display_name: Option<String>,
    shown_through: u64,
    awaiting_reply: bool,
) -> ContactRecord {
    ContactRecord {
        id: id.as_str().to_owned(),
        identity_key: peer.to_bytes(),
        display_name,
        verified: false,
        pending_identity_key: None,
        last_sent_sequence: 1,
        shown_through,
        awaiting_reply,
    }
}

/// Stages a contact-accept frame as an outgoing message in the outbox: the outbox re-sends
/// it until it is acknowledged — the acceptance by the inviter's answer, the answer by the
/// invitee's end-to-end receipt — so neither is lost if the app ends before the relay
/// took it.
fn stage_queued(changes: &mut ChangeSet, contact: &str, content: &Content, now: SystemTime) {
    changes.put_message(MessageRecord {
        contact: contact.to_owned(),
        direction: MessageDirection::Outgoing,
        id: content.id.to_bytes(),
        sequence: content.sequence,
        at_ms: millis(now),
        frame: content.encode(),
        status: MessageStatus::Queued,
        deleted: false,
    });
    changes.outbox.insert(
        (contact.to_owned(), content.id.to_bytes()),
        Some(OutboxRecord {
            contact: contact.to_owned(),
            message_id: content.id.to_bytes(),
            attempts: 1,
            next_attempt_ms: millis(now + retry_delay(1)),
        }),
    );
}

fn capability_of(record: &SendQueueRecord) -> Result<SendCapability> {
    let corrupt = |what: &str| Error::Store(StoreError::Corrupt(format!("send queue: {what}")));
    Ok(SendCapability {
        relay: RelayAddress::parse(&record.relay).map_err(|_| corrupt("relay address"))?,
        sender_id: SenderId::from_bytes(record.sender_id),
        sender_key: QueueKeyPair::from_private_bytes(&record.sender_key)
            .map_err(|_| corrupt("sender key"))?,
    })
}

fn not_an_invitation_queue(why: &str) -> Error {
    Error::UnknownQueue(why.to_owned())
}
