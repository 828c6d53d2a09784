//! Content frames: the validated messages that travel inside a sealed, padded packet.
//!
//! The wire format is the `Frame` message of `proto/content.proto` (protobuf, version 1).
//! This module exposes plain Rust types instead of the generated ones, and holds every rule
//! a frame must satisfy: [`Content::decode`] refuses anything that breaks one, with a
//! [`ContentError`] that names the rule. [`Content::validate`] applies the same rules before
//! sending, so a frame that passes it is accepted by every recipient.
//!
//! The limits keep every frame well under one packet (see [`crate::padding`]): the largest
//! frame of any kind, apart from its attachment pointer, is about 2.1 KiB. They are sanity
//! bounds; the packet size is the final word, enforced when the sealed message is padded.

#![warn(missing_docs)]

mod error;
mod rules;
mod wire;

use std::fmt;

use prost::Message as _;

use crate::attachment::AttachmentPointer;
use crate::padding::MAX_SEALED_SIZE;

pub use error::ContentError;

/// The only frame format version this build writes and reads.
pub const FRAME_VERSION: u32 = 1;

/// Largest encoded frame a sender may send ([`Content::validate`]). Sealing added at most
/// 2133 bytes in our measurements (the first PQXDH message, with its Kyber1024 ciphertext,
/// SPQR chunk and self-issued sender certificate); 1792 leaves 2300 bytes for it, so any
/// valid frame fits one packet of [`crate::padding::PACKET_PAYLOAD_SIZE`] bytes, whatever
/// the message type. The field limits keep every valid frame under this (at most 1584
/// bytes, a maximal text). Decoding accepts frames up to [`MAX_SEALED_SIZE`].
pub const MAX_FRAME_BYTES: usize = 1792;

/// Longest text body, in UTF-8 bytes. Longer text goes as a file.
pub const MAX_TEXT_BYTES: usize = 1536;

/// Largest image thumbnail, in bytes (a small preview; the image itself is an attachment).
pub const MAX_THUMBNAIL_BYTES: usize = 1024;

/// Most amplitude samples in a voice clip's waveform (one byte each).
pub const MAX_WAVEFORM_SAMPLES: usize = 256;

/// Longest file name, voice codec name or display name, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// Longest MIME type, in bytes.
pub const MAX_MIME_BYTES: usize = 255;

/// Most message ids one receipt acknowledges.
pub const MAX_RECEIPT_IDS: usize = 64;

/// Length of a [`MessageId`] in bytes.
pub const MESSAGE_ID_BYTES: usize = 16;

/// A message's identity: 16 random bytes chosen by the sender. Recipients deduplicate on it
/// (delivery is at least once) and receipts refer to messages by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId([u8; MESSAGE_ID_BYTES]);

impl MessageId {
    /// A fresh id from the thread-local cryptographic random generator.
    pub fn random() -> MessageId {
        use rand::Rng as _;
        let mut bytes = [0u8; MESSAGE_ID_BYTES];
        rand::rng().fill(&mut bytes);
        MessageId(bytes)
    }

    /// The id made of these bytes.
    pub const fn from_bytes(bytes: [u8; MESSAGE_ID_BYTES]) -> MessageId {
        MessageId(bytes)
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; MESSAGE_ID_BYTES] {
        self.0
    }

    /// The id's bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; MESSAGE_ID_BYTES] {
        &self.0
    }

    /// The id from its text form (32 hex digits, as `Display` writes it; either case), or
    /// `None` for anything else. What shells parse ids from their hosts with.
    pub fn from_hex(text: &str) -> Option<MessageId> {
        if text.len() != 2 * MESSAGE_ID_BYTES || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; MESSAGE_ID_BYTES];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(MessageId(bytes))
    }
}

impl From<[u8; MESSAGE_ID_BYTES]> for MessageId {
    fn from(bytes: [u8; MESSAGE_ID_BYTES]) -> MessageId {
        MessageId(bytes)
    }
}

impl From<MessageId> for [u8; MESSAGE_ID_BYTES] {
    fn from(id: MessageId) -> [u8; MESSAGE_ID_BYTES] {
        id.0
    }
}

impl TryFrom<&[u8]> for MessageId {
    type Error = ContentError;

    /// Reads an id from exactly [`MESSAGE_ID_BYTES`] bytes.
    fn try_from(bytes: &[u8]) -> Result<MessageId, ContentError> {
        <[u8; MESSAGE_ID_BYTES]>::try_from(bytes)
            .map(MessageId)
            .map_err(|_| ContentError::InvalidMessageId { len: bytes.len() })
    }
}

/// Lower-case hex, 32 digits.
impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

/// One message between two contacts, as its sender wrote it and its recipient reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Random id; the recipient deduplicates on it.
    pub id: MessageId,
    /// Per-contact, per-direction sequence number, starting at 1; restores order. Receipts
    /// carry 0: they stand outside the order, since a lost receipt is never re-sent and
    /// must leave no gap that would hold back every later message.
    pub sequence: u64,
    /// Sender's clock, milliseconds since the Unix epoch. Passed in by the caller (there is
    /// no clock on every target) and only informative: ordering uses `sequence`.
    pub timestamp_ms: u64,
    /// What the message says.
    pub body: Body,
}

/// The kinds of message a frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Plain text, at most [`MAX_TEXT_BYTES`] bytes.
    Text(String),
    /// An image, sent as an attachment with a small preview.
    Image(Image),
    /// A file, sent as an attachment.
    File(File),
    /// A recorded voice clip, sent as an attachment.
    VoiceClip(VoiceClip),
    /// An end-to-end receipt for earlier messages.
    Receipt(Receipt),
    /// The invitee's acceptance of an invitation.
    ContactAccept(ContactAccept),
}

/// The kind of a [`Body`], without its data (for errors and dispatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// [`Body::Text`].
    Text,
    /// [`Body::Image`].
    Image,
    /// [`Body::File`].
    File,
    /// [`Body::VoiceClip`].
    VoiceClip,
    /// [`Body::Receipt`].
    Receipt,
    /// [`Body::ContactAccept`].
    ContactAccept,
}

impl fmt::Display for BodyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyKind::Text => "text",
            BodyKind::Image => "image",
            BodyKind::File => "file",
            BodyKind::VoiceClip => "voice clip",
            BodyKind::Receipt => "receipt",
            BodyKind::ContactAccept => "contact accept",
        })
    }
}

/// An image: its type, size and preview travel in the frame, its bytes as an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// MIME type; must be `image/<subtype>`.
    pub mime: String,
    /// Width in pixels, nonzero.
    pub width: u32,
    /// Height in pixels, nonzero.
    pub height: u32,
    /// A small preview (for example a tiny JPEG), at most [`MAX_THUMBNAIL_BYTES`]; may be
    /// empty.
    pub thumbnail: Vec<u8>,
    /// Where the encrypted image is and how to open it.
    pub attachment: AttachmentPointer,
}

/// A file: its name and type travel in the frame, its bytes as an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// File name as the sender suggests it: no path separators, no control or bidi
    /// characters, not `.` or `..`, at most [`MAX_NAME_BYTES`].
    pub name: String,
    /// MIME type, `type/subtype` (`application/octet-stream` when unknown).
    pub mime: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// Where the encrypted file is and how to open it.
    pub attachment: AttachmentPointer,
}

/// A voice clip: its length, codec and waveform travel in the frame, its audio as an
/// attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceClip {
    /// Length of the clip in milliseconds, nonzero.
    pub duration_ms: u32,
    /// Audio codec name (for example `opus`), non-empty, at most [`MAX_NAME_BYTES`].
    pub codec: String,
    /// Amplitude samples for drawing the clip, one byte each, at most
    /// [`MAX_WAVEFORM_SAMPLES`]; may be empty.
    pub waveform: Vec<u8>,
    /// Where the encrypted audio is and how to open it.
    pub attachment: AttachmentPointer,
}

/// An end-to-end receipt: the recipient received, or read, these messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// What happened to the messages.
    pub kind: ReceiptKind,
    /// The messages concerned: at least one, at most [`MAX_RECEIPT_IDS`].
    pub message_ids: Vec<MessageId>,
}

/// What a [`Receipt`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptKind {
    /// The messages reached the recipient's device.
    Delivered,
    /// The recipient has seen the messages.
    Read,
}

/// Accepting a contact: the invitee's answer to an invitation, and the inviter's answer to
/// that. Each side tells the other where to write from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactAccept {
    /// The sender's chosen display name, a hint the user may change; may be empty, at most
    /// [`MAX_NAME_BYTES`], no control or bidi characters.
    pub display_name: String,
    /// The sender's queue for the recipient to write to (a fresh queue for this contact).
    pub reply_queue: crate::relay::SendCapability,
}

impl Body {
    /// The kind of this body.
    pub fn kind(&self) -> BodyKind {
        match self {
            Body::Text(_) => BodyKind::Text,
            Body::Image(_) => BodyKind::Image,
            Body::File(_) => BodyKind::File,
            Body::VoiceClip(_) => BodyKind::VoiceClip,
            Body::Receipt(_) => BodyKind::Receipt,
            Body::ContactAccept(_) => BodyKind::ContactAccept,
        }
    }
}

impl From<Image> for Body {
    fn from(image: Image) -> Body {
        Body::Image(image)
    }
}

impl From<File> for Body {
    fn from(file: File) -> Body {
        Body::File(file)
    }
}

impl From<VoiceClip> for Body {
    fn from(clip: VoiceClip) -> Body {
        Body::VoiceClip(clip)
    }
}

impl From<Receipt> for Body {
    fn from(receipt: Receipt) -> Body {
        Body::Receipt(receipt)
    }
}

impl From<ContactAccept> for Body {
    fn from(accept: ContactAccept) -> Body {
        Body::ContactAccept(accept)
    }
}

impl Content {
    /// A new message with a fresh random id.
    pub fn new(sequence: u64, timestamp_ms: u64, body: impl Into<Body>) -> Content {
        Content {
            id: MessageId::random(),
            sequence,
            timestamp_ms,
            body: body.into(),
        }
    }

    /// A new text message with a fresh random id.
    pub fn text(sequence: u64, timestamp_ms: u64, text: impl Into<String>) -> Content {
        Content::new(sequence, timestamp_ms, Body::Text(text.into()))
    }

    /// A new receipt for `message_ids`, with a fresh random id.
    pub fn receipt(
        sequence: u64,
        timestamp_ms: u64,
        kind: ReceiptKind,
        message_ids: Vec<MessageId>,
    ) -> Content {
        Content::new(sequence, timestamp_ms, Receipt { kind, message_ids })
    }

    /// A new contact acceptance with a fresh random id.
    pub fn contact_accept(
        sequence: u64,
        timestamp_ms: u64,
        display_name: impl Into<String>,
        reply_queue: crate::relay::SendCapability,
    ) -> Content {
        let display_name = display_name.into();
        Content::new(
            sequence,
            timestamp_ms,
            ContactAccept {
                display_name,
                reply_queue,
            },
        )
    }

    /// Checks every rule a recipient applies. Call it before sending: [`Content::encode`]
    /// does not check, and a frame that fails here is refused by [`Content::decode`].
    pub fn validate(&self) -> Result<(), ContentError> {
        self.encode_valid().map(drop)
    }

    /// [`Content::validate`] and [`Content::encode`] in one: the frame of valid content,
    /// encoded once.
    pub fn encode_valid(&self) -> Result<Vec<u8>, ContentError> {
        rules::check(self)?;
        let frame = self.encode();
        if frame.len() > MAX_FRAME_BYTES {
            return Err(ContentError::FrameTooLarge {
                size: frame.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        Ok(frame)
    }

    /// The protobuf frame (version [`FRAME_VERSION`]) for this content. Does not validate;
    /// see [`Content::validate`].
    pub fn encode(&self) -> Vec<u8> {
        wire::to_frame(self).encode_to_vec()
    }

    /// Reads and validates a frame. Any input gives either content that satisfies every rule
    /// of [`Content::validate`] or the [`ContentError`] naming the first rule broken; it never
    /// panics.
    pub fn decode(bytes: &[u8]) -> Result<Content, ContentError> {
        if bytes.is_empty() {
            return Err(ContentError::Empty);
        }
        if bytes.len() > MAX_SEALED_SIZE {
            return Err(ContentError::FrameTooLarge {
                size: bytes.len(),
                max: MAX_SEALED_SIZE,
            });
        }
        let frame = crate::proto::Frame::decode(bytes).map_err(ContentError::Malformed)?;
        let content = wire::from_frame(frame)?;
        content.validate()?;
        Ok(content)
    }
}
