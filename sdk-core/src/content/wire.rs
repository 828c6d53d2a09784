//! Conversion between [`Content`] and the generated protobuf `Frame`.
//!
//! Reading checks what the Rust types themselves guarantee (version, message id length, a
//! body, attachment pointers, receipt kinds and ids); the remaining rules live in
//! `rules.rs`.

use super::{
    Body, BodyKind, ContactAccept, Content, ContentError, FRAME_VERSION, File, Image, MessageId,
    Receipt, ReceiptKind, VoiceClip,
};
use crate::attachment::AttachmentPointer;
use crate::proto;
use crate::proto::frame::Body as WireBody;
use crate::proto::receipt::Kind as WireReceiptKind;

/// The frame for `content`, as written on the wire.
pub(super) fn to_frame(content: &Content) -> proto::Frame {
    let body = match &content.body {
        Body::Text(text) => WireBody::Text(proto::Text { body: text.clone() }),
        Body::Image(image) => WireBody::Image(proto::Image {
            mime: image.mime.clone(),
            width: image.width,
            height: image.height,
            thumbnail: image.thumbnail.clone(),
            attachment: Some(image.attachment.to_proto()),
        }),
        Body::File(file) => WireBody::File(proto::File {
            name: file.name.clone(),
            mime: file.mime.clone(),
            size: file.size,
            attachment: Some(file.attachment.to_proto()),
        }),
        Body::VoiceClip(clip) => WireBody::VoiceClip(proto::VoiceClip {
            duration_ms: clip.duration_ms,
            codec: clip.codec.clone(),
            waveform: clip.waveform.clone(),
            attachment: Some(clip.attachment.to_proto()),
        }),
        Body::Receipt(receipt) => WireBody::Receipt(proto::Receipt {
            kind: match receipt.kind {
                ReceiptKind::Delivered => WireReceiptKind::Delivered,
                ReceiptKind::Read => WireReceiptKind::Read,
            }
            .into(),
            message_ids: receipt
                .message_ids
                .iter()
                .map(|id| id.as_bytes().to_vec())
                .collect(),
        }),
        Body::ContactAccept(accept) => WireBody::ContactAccept(proto::ContactAccept {
            display_name: accept.display_name.clone(),
            reply_relay: accept.reply_queue.relay.to_string(),
            reply_sender_id: accept.reply_queue.sender_id.as_bytes().to_vec(),
            reply_sender_key: accept.reply_queue.sender_key.private_bytes().to_vec(),
        }),
    };
    proto::Frame {
        version: FRAME_VERSION,
        message_id: content.id.as_bytes().to_vec(),
        sequence: content.sequence,
        timestamp_ms: content.timestamp_ms,
        body: Some(body),
    }
}

/// The content of a decoded frame, after the structural checks.
pub(super) fn from_frame(frame: proto::Frame) -> Result<Content, ContentError> {
    if frame.version != FRAME_VERSION {
        return Err(ContentError::UnsupportedVersion(frame.version));
    }
    let id = MessageId::try_from(frame.message_id.as_slice())?;
    let body = match frame.body.ok_or(ContentError::MissingBody)? {
        WireBody::Text(text) => Body::Text(text.body),
        WireBody::Image(image) => Body::Image(Image {
            mime: image.mime,
            width: image.width,
            height: image.height,
            thumbnail: image.thumbnail,
            attachment: pointer(image.attachment, BodyKind::Image)?,
        }),
        WireBody::File(file) => Body::File(File {
            name: file.name,
            mime: file.mime,
            size: file.size,
            attachment: pointer(file.attachment, BodyKind::File)?,
        }),
        WireBody::VoiceClip(clip) => Body::VoiceClip(VoiceClip {
            duration_ms: clip.duration_ms,
            codec: clip.codec,
            waveform: clip.waveform,
            attachment: pointer(clip.attachment, BodyKind::VoiceClip)?,
        }),
        WireBody::Receipt(receipt) => Body::Receipt(Receipt {
            kind: match WireReceiptKind::try_from(receipt.kind) {
                Ok(WireReceiptKind::Delivered) => ReceiptKind::Delivered,
                Ok(WireReceiptKind::Read) => ReceiptKind::Read,
                Err(_) => return Err(ContentError::UnknownReceiptKind(receipt.kind)),
            },
            message_ids: receipt
                .message_ids
                .iter()
                .enumerate()
                .map(|(index, bytes)| {
                    MessageId::try_from(bytes.as_slice()).map_err(|_| {
                        ContentError::InvalidReceiptId {
                            index,
                            len: bytes.len(),
                        }
                    })
                })
                .collect::<Result<_, _>>()?,
        }),
        WireBody::ContactAccept(accept) => Body::ContactAccept(ContactAccept {
            reply_queue: reply_queue(&accept)?,
            display_name: accept.display_name,
        }),
    };
    Ok(Content {
        id,
        sequence: frame.sequence,
        timestamp_ms: frame.timestamp_ms,
        body,
    })
}

/// The validated pointer of an image, file or voice clip, which must have one.
fn pointer(
    wire: Option<proto::AttachmentPointer>,
    kind: BodyKind,
) -> Result<AttachmentPointer, ContentError> {
    let wire = wire.ok_or(ContentError::MissingAttachment(kind))?;
    AttachmentPointer::from_proto(wire).map_err(ContentError::InvalidAttachment)
}

/// The send capability a contact-accept frame carries, checked field by field.
fn reply_queue(
    accept: &proto::ContactAccept,
) -> Result<crate::relay::SendCapability, ContentError> {
    use crate::relay::{QueueKeyPair, RelayAddress, SenderId};
    let relay = RelayAddress::parse(&accept.reply_relay)
        .map_err(|_| ContentError::InvalidReplyQueue("the relay address does not parse"))?;
    let sender_id: [u8; 16] = accept
        .reply_sender_id
        .as_slice()
        .try_into()
        .map_err(|_| ContentError::InvalidReplyQueue("the sender id is not 16 bytes"))?;
    if accept.reply_sender_key.len() != 32 {
        return Err(ContentError::InvalidReplyQueue(
            "the sender key is not 32 bytes",
        ));
    }
    let sender_key = QueueKeyPair::from_private_bytes(&accept.reply_sender_key)
        .map_err(|_| ContentError::InvalidReplyQueue("the sender key is not a private key"))?;
    Ok(crate::relay::SendCapability {
        relay,
        sender_id: SenderId::from_bytes(sender_id),
        sender_key,
    })
}
