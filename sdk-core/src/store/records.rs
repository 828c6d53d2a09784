//! Application records a profile keeps beside the protocol state: contacts, messages, the
//! outbox and attachment metadata. Like protocol records they are plain data; the store
//! persists them and the profile gives them meaning.

/// A contact: someone this profile has a session with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    /// Stable local id (random, hex), kept across identity-key changes.
    pub id: String,
    /// The serialized identity key trusted for this contact.
    pub identity_key: Vec<u8>,
    /// The user's name for this contact (local only).
    pub display_name: Option<String>,
    /// Whether the user compared safety numbers for `identity_key`.
    pub verified: bool,
    /// A new identity key this contact presented and the user has not accepted yet. While
    /// set, sending to the contact is held.
    pub pending_identity_key: Option<Vec<u8>>,
    /// The last sequence number used for a message to this contact (0: none yet).
    pub last_sent_sequence: u64,
    /// Every message from this contact up to this sequence number has been shown.
    pub shown_through: u64,
    /// Made from an invitation, and waiting for the inviter's reply queue: nothing is sent
    /// to the contact until it arrives (messages are held).
    pub awaiting_reply: bool,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageDirection {
    /// Received from the contact.
    Incoming,
    /// Sent (or to be sent) to the contact.
    Outgoing,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// Outgoing, in the outbox, not yet acknowledged by an end-to-end receipt.
    Queued,
    /// Outgoing, held until the user accepts the contact's new identity key.
    Held,
    /// Outgoing, the contact's receipt says it was delivered.
    Delivered,
    /// Outgoing, the contact's receipt says it was read.
    Read,
    /// Incoming, arrived before an earlier message; not shown yet.
    Early,
    /// Incoming, shown.
    Shown,
    /// Outgoing, sent once with no acknowledgement expected (a receipt).
    Sent,
}

/// One message of a conversation, as the encoded content frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// The contact's local id.
    pub contact: String,
    /// Which way it went.
    pub direction: MessageDirection,
    /// The 16-byte message id (unique per contact and direction).
    pub id: [u8; 16],
    /// Its per-contact, per-direction sequence number.
    pub sequence: u64,
    /// Local time it was stored (sent or received), ms since the Unix epoch; orders the
    /// conversation.
    pub at_ms: u64,
    /// The encoded content frame (`content::Content::encode`).
    pub frame: Vec<u8>,
    /// Where it stands.
    pub status: MessageStatus,
    /// Deleted on this device by the user: left out of history, search and unread counts.
    /// The row stays as a tombstone, so a re-sent copy is still recognised and a late
    /// receipt does not bring the message back. Its frame is empty, except while the
    /// message is still in the outbox (a sequence number the contact waits for).
    pub deleted: bool,
}

impl MessageRecord {
    /// Where the message stands in its conversation's order.
    pub fn place(&self) -> ConversationPlace {
        ConversationPlace {
            at_ms: self.at_ms,
            direction: self.direction,
            sequence: self.sequence,
        }
    }
}

/// A place in a conversation's order, which is `(at_ms, direction, sequence)` ascending
/// (of two messages stored in the same millisecond the incoming one comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConversationPlace {
    /// [`MessageRecord::at_ms`].
    pub at_ms: u64,
    /// [`MessageRecord::direction`].
    pub direction: MessageDirection,
    /// [`MessageRecord::sequence`].
    pub sequence: u64,
}

/// Which way a page of a conversation goes from its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Towards {
    /// Older messages, newest first.
    Older,
    /// Newer messages, oldest first.
    Newer,
}

/// Delivery state of one outgoing message that no receipt has acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// The contact's local id.
    pub contact: String,
    /// The outgoing message's id (its frame is in the messages).
    pub message_id: [u8; 16],
    /// Send attempts so far.
    pub attempts: u32,
    /// Earliest time of the next attempt, ms since the Unix epoch.
    pub next_attempt_ms: u64,
}

/// Metadata of an attachment whose encrypted file lives beside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// The contact's local id.
    pub contact: String,
    /// The message carrying the attachment.
    pub message_id: [u8; 16],
    /// The encoded attachment pointer (key, digest, sizes, location).
    pub pointer: Vec<u8>,
    /// File name of the local encrypted copy, relative to the profile's attachment folder;
    /// `None` until downloaded (incoming) or after deletion.
    pub local_file: Option<String>,
}

/// A queue this profile reads: its mailbox on a relay, serving one contact, one pending
/// invitation, or the cover traffic's loop packets.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiveQueueRecord {
    /// The queue's recipient id (reads, acknowledgements, deletion).
    pub recipient_id: [u8; 16],
    /// The relay's address (`sotto://...`).
    pub relay: String,
    /// The recipient key's 32 private bytes.
    pub recipient_key: Vec<u8>,
    /// The sender id handed to the contact.
    pub sender_id: [u8; 16],
    /// The sender key's 32 private bytes, handed to the contact.
    pub sender_key: Vec<u8>,
    /// The contact the queue serves, once there is one.
    pub contact: Option<String>,
    /// The one-time prekey id of the invitation the queue was made for, if any.
    pub invitation_pre_key: Option<u32>,
    /// Whether that invitation was used (one invitation makes one contact).
    pub invitation_used: bool,
    /// The queue the cover traffic's loop packets come back to (at most one; never read
    /// for messages).
    pub cover_loop: bool,
}

impl Drop for ReceiveQueueRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.recipient_key);
        zeroize::Zeroize::zeroize(&mut self.sender_key);
    }
}

impl Drop for SendQueueRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.sender_key);
    }
}

impl std::fmt::Debug for ReceiveQueueRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveQueueRecord")
            .field("relay", &self.relay)
            .field("contact", &self.contact)
            .field("invitation_pre_key", &self.invitation_pre_key)
            .field("invitation_used", &self.invitation_used)
            .field("cover_loop", &self.cover_loop)
            .finish_non_exhaustive()
    }
}

/// Where this profile writes to reach a contact: the contact's queue.
#[derive(Clone, PartialEq, Eq)]
pub struct SendQueueRecord {
    /// The contact.
    pub contact: String,
    /// The relay's address (`sotto://...`).
    pub relay: String,
    /// The queue's sender id.
    pub sender_id: [u8; 16],
    /// The sender key's 32 private bytes.
    pub sender_key: Vec<u8>,
}

impl std::fmt::Debug for SendQueueRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendQueueRecord")
            .field("contact", &self.contact)
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}
