//! What a [`Client`](super::Client) tells its app: the events it queues while sending,
//! syncing and moving attachments.

use crate::contacts::ContactId;
use crate::content::{Content, MessageId};
use crate::error::ErrorCode;
use crate::identity::PublicIdentity;
use crate::relay::RelayAddress;

/// Which way an attachment moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferDirection {
    /// Encrypting and uploading one of ours.
    Upload,
    /// Downloading and decrypting one of a contact's.
    Download,
}

/// Something the app should show or know. Drained with
/// [`Client::take_events`](super::Client::take_events).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// A contact's message is ready to show: in order, each exactly once.
    Message {
        /// Who wrote it.
        contact: ContactId,
        /// The message (text, image, file or voice clip).
        content: Content,
    },
    /// One of our messages was handed to the network (written into the contact's queue, or
    /// to the first hop of its onion path). Only an end-to-end receipt says it arrived.
    Sent {
        /// The contact.
        contact: ContactId,
        /// Our message.
        message_id: MessageId,
    },
    /// The contact's device received these messages of ours (an end-to-end receipt).
    Delivered {
        /// The contact.
        contact: ContactId,
        /// Our messages it received.
        message_ids: Vec<MessageId>,
    },
    /// The contact read these messages of ours.
    Read {
        /// The contact.
        contact: ContactId,
        /// Our messages it read.
        message_ids: Vec<MessageId>,
    },
    /// Someone accepted one of our invitations: a new contact.
    ContactJoined {
        /// The new contact.
        contact: ContactId,
        /// The name it gave itself (a hint, unverified; may be empty).
        display_name: String,
    },
    /// The inviter answered our acceptance: messages to the contact flow now.
    ContactAccepted {
        /// The contact.
        contact: ContactId,
    },
    /// The contact presented a new identity key. Nothing from it is opened and nothing is
    /// sent to it until the user accepts the key
    /// ([`Client::accept_identity_key`](super::Client::accept_identity_key)); its queue is
    /// left unread meanwhile, so nothing is lost.
    IdentityKeyChanged {
        /// The contact.
        contact: ContactId,
        /// The key now presented.
        new_identity: PublicIdentity,
    },
    /// An attachment transfer made progress.
    Progress {
        /// The message carrying the attachment.
        message_id: MessageId,
        /// Upload or download.
        direction: TransferDirection,
        /// Bytes moved so far.
        done: u64,
        /// Bytes to move in all.
        total: u64,
    },
    /// A packet read from one of our queues could not be opened (forged, corrupted, or
    /// from a stranger). It was removed from the relay, as it can never be opened; the
    /// error says why.
    Rejected {
        /// The contact whose queue it came from (`None` for an invitation queue).
        contact: Option<ContactId>,
        /// The error's stable code.
        code: ErrorCode,
        /// The error's message.
        reason: String,
    },
    /// A contact's queue no longer exists on its relay (expired after long disuse, or
    /// deleted): what we send to the contact stays in the outbox until the contact moves
    /// to another queue.
    QueueGone {
        /// The contact.
        contact: ContactId,
    },
    /// A relay could not be reached or refused for a passing reason. Nothing is lost: the
    /// next [`Client::sync`](super::Client::sync) tries again.
    NetworkProblem {
        /// The relay.
        relay: RelayAddress,
        /// The error's stable code.
        code: ErrorCode,
        /// The error's message.
        reason: String,
    },
}

/// What one [`Client::sync`](super::Client::sync) did, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Packets read from our queues (and acknowledged to their relays).
    pub received: usize,
    /// Messages that became ready to show.
    pub shown: usize,
    /// Packets written to contacts' queues (messages, retries, receipts, answers).
    pub sent: usize,
    /// Relays that could not be reached (their work waits for the next sync).
    pub unreachable: usize,
}
