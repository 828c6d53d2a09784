//! Becoming contacts through a one-time invitation, in three packets:
//!
//! 1. The inviter makes a queue on its relay and an [`Invitation`] for it
//!    ([`Profile::create_invitation`]); the invitation leaves by link or QR code.
//! 2. The invitee makes a queue of its own and accepts ([`Profile::accept_invitation`]):
//!    a PQXDH session from the invitation's bundle, a new contact, and a first packet — a
//!    contact-accept frame naming the invitee's queue — to write into the invitation's
//!    queue. The contact *awaits the inviter's reply*: messages to it are held.
//! 3. The inviter reads that packet from the invitation queue and answers
//!    ([`Profile::answer_invitation`]): it learns who accepted, makes the contact, and
//!    replies into the invitee's queue with a contact-accept frame naming a **fresh** queue
//!    made for this contact alone. The invitation is used up: the same invitation is refused
//!    from then on, and the client deletes its queue on the relay. When the invitee
//!    receives the reply ([`Profile::receive`]), the contact is complete
//!    ([`Event::Accepted`]) and held messages flow.
//!
//! Why a fresh queue: the invitation's sender key was in a link anyone may have seen;
//! a queue that keeps accepting writes from it would let them disturb the contact. The
//! fresh queue's sender key only ever travelled end to end encrypted.
//!
//! Each step's writes (session, contact, queues, messages) are one atomic change. The
//! network calls (making queues, writing packets) are the client's; this module is
//! sans-I/O.

use crate::contacts::ContactId;
use crate::error::{Error, Result};
use crate::relay::{OwnQueue, QueueKeyPair, RecipientId, RelayAddress, SendCapability, SenderId};
use crate::store::{ReceiveQueueRecord, StoreError};
#[cfg(doc)]
use crate::{contacts::Event, invitation::Invitation, profile::Profile};

/// How a queue this profile made is stored, and read back.
impl OwnQueue {
    /// The queue a stored record describes.
    pub(crate) fn from_record(record: &ReceiveQueueRecord) -> Result<Self> {
        let corrupt =
            |what: &str| Error::Store(StoreError::Corrupt(format!("receive queue: {what}")));
        let key = |bytes: &[u8], what: &str| {
            QueueKeyPair::from_private_bytes(bytes).map_err(|_| corrupt(what))
        };
        Ok(Self {
            relay: RelayAddress::parse(&record.relay).map_err(|_| corrupt("relay address"))?,
            recipient_id: RecipientId::from_bytes(record.recipient_id),
            recipient_key: key(&record.recipient_key, "recipient key")?,
            sender_id: SenderId::from_bytes(record.sender_id),
            sender_key: key(&record.sender_key, "sender key")?,
        })
    }

    pub(crate) fn record(
        &self,
        contact: Option<&str>,
        invitation_pre_key: Option<u32>,
    ) -> ReceiveQueueRecord {
        ReceiveQueueRecord {
            recipient_id: *self.recipient_id.as_bytes(),
            relay: self.relay.to_string(),
            recipient_key: self.recipient_key.private_bytes().to_vec(),
            sender_id: *self.sender_id.as_bytes(),
            sender_key: self.sender_key.private_bytes().to_vec(),
            contact: contact.map(str::to_owned),
            invitation_pre_key,
            invitation_used: false,
            cover_loop: false,
        }
    }
}

/// The invitee's acceptance, to deliver.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The new contact (the inviter), awaiting the inviter's reply.
    pub contact: ContactId,
    /// The packet to write into the invitation's queue ...
    pub packet: Vec<u8>,
    /// ... which is this one (the invitation's send capability).
    pub destination: SendCapability,
}

/// The inviter's answer to an acceptance, to deliver.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The new contact (the invitee).
    pub contact: ContactId,
    /// The name the invitee gave itself (a hint; may be empty).
    pub display_name: String,
    /// The reply packet, to write into the invitee's queue ...
    pub packet: Vec<u8>,
    /// ... which is this one.
    pub destination: SendCapability,
}
