//! The one error type of content frames: each variant names the rule a frame broke.

use super::BodyKind;
use crate::attachment::AttachmentError;

/// Why a content frame was refused. Each variant is one rule of the frame format.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The input is empty.
    #[error("empty content frame")]
    Empty,
    /// The frame is larger than any frame that fits in one packet.
    #[error(
        "content frame of {size} bytes exceeds the {max}-byte maximum; send it as an attachment"
    )]
    FrameTooLarge {
        /// Size of the input, in bytes.
        size: usize,
        /// The largest frame accepted ([`super::MAX_FRAME_BYTES`]).
        max: usize,
    },
    /// The input is not a well-formed protobuf `Frame`.
    #[error("malformed content frame: {0}")]
    Malformed(#[source] prost::DecodeError),
    /// The frame's version is not [`super::FRAME_VERSION`].
    #[error("unsupported content frame version {0} (this build reads version 1 only)")]
    UnsupportedVersion(u32),
    /// The frame's message id is not exactly 16 bytes.
    #[error("message id is {len} bytes; a message id is exactly 16 bytes")]
    InvalidMessageId {
        /// Its length, in bytes.
        len: usize,
    },
    /// The sequence number of a message other than a receipt is 0; sequences start at 1.
    #[error("sequence number 0 is invalid; sequence numbers start at 1 (only receipts have 0)")]
    ZeroSequence,
    /// The frame has no body, or one of a kind this version does not know.
    #[error("content frame has no body, or a body kind this version does not know")]
    MissingBody,
    /// A text body is longer than [`super::MAX_TEXT_BYTES`].
    #[error(
        "text of {len} bytes exceeds the {max}-byte limit; send longer text as a file attachment"
    )]
    TextTooLong {
        /// Its length, in UTF-8 bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An image, file or voice clip has no attachment pointer.
    #[error("{0} body has no attachment pointer")]
    MissingAttachment(BodyKind),
    /// The attachment pointer is malformed.
    #[error("invalid attachment pointer: {0}")]
    InvalidAttachment(#[source] AttachmentError),
    /// A MIME type is longer than [`super::MAX_MIME_BYTES`].
    #[error("MIME type of {len} bytes exceeds the {max}-byte limit")]
    MimeTooLong {
        /// Its length, in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A MIME type is not `type/subtype` made of RFC 6838 restricted names.
    #[error("invalid MIME type {0:?}: expected `type/subtype` (RFC 6838 names, no parameters)")]
    InvalidMime(String),
    /// An image's MIME type is valid but not `image/*`.
    #[error("image MIME type {0:?} is not an image type (`image/...`)")]
    NotAnImageMime(String),
    /// An image has a zero width or height.
    #[error("image dimensions must be nonzero, got {width}x{height}")]
    ZeroImageDimension {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
    },
    /// An image thumbnail is larger than [`super::MAX_THUMBNAIL_BYTES`].
    #[error("image thumbnail of {len} bytes exceeds the {max}-byte limit")]
    ThumbnailTooLarge {
        /// Its size, in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A file name is longer than [`super::MAX_NAME_BYTES`].
    #[error("file name of {len} bytes exceeds the {max}-byte limit")]
    FileNameTooLong {
        /// Its length, in UTF-8 bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A file name is empty, `.` or `..`, or contains a path separator, a control character
    /// or a bidirectional-text control (which can disguise an extension).
    #[error(
        "invalid file name {0:?}: it must be non-empty, not `.` or `..`, and free of `/`, `\\`, \
         control characters and bidirectional-text controls"
    )]
    InvalidFileName(String),
    /// A voice clip lasts 0 ms.
    #[error("voice clip duration must be nonzero")]
    ZeroDuration,
    /// A voice codec name is longer than [`super::MAX_NAME_BYTES`].
    #[error("voice codec name of {len} bytes exceeds the {max}-byte limit")]
    CodecTooLong {
        /// Its length, in UTF-8 bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A voice codec name is empty or contains a control or bidirectional-text character.
    #[error(
        "invalid voice codec name {0:?}: it must be non-empty and free of control characters \
         and bidirectional-text controls"
    )]
    InvalidCodec(String),
    /// A waveform has more than [`super::MAX_WAVEFORM_SAMPLES`] samples.
    #[error("waveform of {len} samples exceeds the {max}-sample limit")]
    WaveformTooLong {
        /// Its number of samples.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A receipt's kind is not one this version knows.
    #[error("unknown receipt kind {0}")]
    UnknownReceiptKind(i32),
    /// A receipt lists no message ids.
    #[error("receipt lists no message ids")]
    EmptyReceipt,
    /// A receipt lists more than [`super::MAX_RECEIPT_IDS`] message ids.
    #[error("receipt lists {count} message ids; at most {max} are allowed")]
    TooManyReceiptIds {
        /// The number listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A message id listed in a receipt is not exactly 16 bytes.
    #[error("receipt message id #{index} is {len} bytes; a message id is exactly 16 bytes")]
    InvalidReceiptId {
        /// Its position in the receipt, from 0.
        index: usize,
        /// Its length, in bytes.
        len: usize,
    },
    /// A display name is longer than [`super::MAX_NAME_BYTES`].
    #[error("display name of {len} bytes exceeds the {max}-byte limit")]
    DisplayNameTooLong {
        /// Its length, in UTF-8 bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A display name contains a control or bidirectional-text character.
    #[error(
        "invalid display name {0:?}: it must be free of control characters and \
         bidirectional-text controls"
    )]
    InvalidDisplayName(String),
    /// A contact-accept frame's reply queue is not a valid send capability.
    #[error("invalid reply queue: {0}")]
    InvalidReplyQueue(&'static str),
}
