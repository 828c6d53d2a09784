//! Attachments whose bytes come and go piece by piece, for callers that cannot lend a
//! file or a blocking reader (a browser's `Blob`, a stream the app feeds): an
//! [`AttachmentUpload`] encrypts what it is given and uploads each part of the ciphertext
//! as soon as it is complete, an [`AttachmentDownload`] hands out the plaintext part by
//! part. Neither touches a disk, and memory stays at about one part (4 MiB) whatever the
//! size. The files-based transfers (`attachments.rs`) and these share the message kinds
//! and the sending.

use bytes::Bytes;

use super::Client;
use crate::attachment::{
    AttachmentError, AttachmentPointer, ChunkSize, StreamDecryptor, StreamEncryptor,
};
use crate::contacts::ContactId;
use crate::content::{Body, Content, File, Image, MessageId, VoiceClip};
use crate::error::{Error, Result};
use crate::relay::chunks::{part_count, part_len};
use crate::relay::{AttachmentLocation, ChunkSeed, PART_BYTES};
use crate::store::{MessageDirection, Store};
use crate::transport::RelayClient;
use crate::transport::chunks::{delete_attachment, download_part, upload_part};

/// What an attachment is, besides its bytes: the fields of the message that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentKind {
    /// A picture.
    Image {
        /// MIME type, `image/<subtype>`.
        mime: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// A small preview (may be empty).
        thumbnail: Vec<u8>,
    },
    /// A file.
    File {
        /// The name the recipient sees (no path).
        name: String,
        /// MIME type (`application/octet-stream` when unknown).
        mime: String,
    },
    /// A voice clip.
    VoiceClip {
        /// Length in milliseconds.
        duration_ms: u32,
        /// Audio codec name.
        codec: String,
        /// Amplitude samples for drawing it (may be empty).
        waveform: Vec<u8>,
    },
}

impl AttachmentKind {
    pub(super) fn body(self, attachment: AttachmentPointer) -> Body {
        match self {
            AttachmentKind::Image {
                mime,
                width,
                height,
                thumbnail,
            } => Body::Image(Image {
                mime,
                width,
                height,
                thumbnail,
                attachment,
            }),
            AttachmentKind::File { name, mime } => Body::File(File {
                name,
                mime,
                size: attachment.plaintext_size(),
                attachment,
            }),
            AttachmentKind::VoiceClip {
                duration_ms,
                codec,
                waveform,
            } => Body::VoiceClip(VoiceClip {
                duration_ms,
                codec,
                waveform,
                attachment,
            }),
        }
    }
}

/// The attachment a message body carries, if any.
pub fn attachment_of(body: &Body) -> Option<&AttachmentPointer> {
    match body {
        Body::Image(image) => Some(&image.attachment),
        Body::File(file) => Some(&file.attachment),
        Body::VoiceClip(clip) => Some(&clip.attachment),
        _ => None,
    }
}

/// An attachment being encrypted and uploaded as its bytes arrive
/// ([`Client::start_upload`]). Give it exactly the declared number of bytes with
/// [`AttachmentUpload::write`], then [`AttachmentUpload::finish`] and
/// [`Client::send_uploaded`]. It needs no `Client` while it uploads; dropping it abandons
/// the upload (the parts stored expire at the relay).
pub struct AttachmentUpload {
    contact: ContactId,
    message_id: MessageId,
    kind: AttachmentKind,
    encryptor: StreamEncryptor,
    parts: PartUploader,
}

/// The ciphertext's way to the chunk store: collects it into parts and uploads each
/// complete one.
struct PartUploader {
    relay: RelayClient,
    location: AttachmentLocation,
    /// Ciphertext waiting for its part to fill.
    waiting: Vec<u8>,
    next_part: u64,
    uploaded: u64,
    total: u64,
}

impl PartUploader {
    /// Uploads every complete part waiting (the last part is complete once all the
    /// ciphertext is there).
    async fn upload_complete(&mut self) -> Result<()> {
        loop {
            let len = part_len(self.total, self.next_part).unwrap_or(0);
            if len == 0 || (self.waiting.len() as u64) < len {
                return Ok(());
            }
            let rest = self
                .waiting
                .split_off(usize::try_from(len).unwrap_or(usize::MAX));
            let part = Bytes::from(std::mem::replace(&mut self.waiting, rest));
            upload_part(&self.relay, &self.location.seed, self.next_part, part).await?;
            self.next_part += 1;
            self.uploaded += len;
        }
    }
}

impl std::fmt::Debug for AttachmentUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentUpload")
            .field("message_id", &self.message_id)
            .field("uploaded", &self.parts.uploaded)
            .field("total", &self.parts.total)
            .finish_non_exhaustive()
    }
}

/// An uploaded attachment's message, ready for [`Client::send_uploaded`].
#[derive(Debug)]
pub struct UploadedAttachment {
    contact: ContactId,
    message_id: MessageId,
    body: Body,
}

impl UploadedAttachment {
    /// The id the message will have.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The contact it goes to.
    pub fn contact(&self) -> &ContactId {
        &self.contact
    }
}

impl AttachmentUpload {
    /// The id the message will have.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The contact it goes to.
    pub fn contact(&self) -> &ContactId {
        &self.contact
    }

    /// Ciphertext bytes uploaded so far.
    pub fn uploaded(&self) -> u64 {
        self.parts.uploaded
    }

    /// Ciphertext bytes to upload in all.
    pub fn total(&self) -> u64 {
        self.parts.total
    }

    /// Encrypts the next `plaintext` bytes and uploads every part they complete.
    ///
    /// # Errors
    /// [`Error::Attachment`] ([`AttachmentError::SizeMismatch`]) for more bytes than
    /// declared; [`Error::Transport`] if an upload fails (start again: the relay keeps
    /// nothing usable).
    pub async fn write(&mut self, plaintext: &[u8]) -> Result<()> {
        self.encryptor.push(plaintext, &mut self.parts.waiting)?;
        self.parts.upload_complete().await
    }

    /// Seals the last chunk, uploads what is left and returns the message to send.
    ///
    /// # Errors
    /// [`AttachmentError::SizeMismatch`] for fewer bytes than declared; as
    /// [`AttachmentUpload::write`] otherwise.
    pub async fn finish(self) -> Result<UploadedAttachment> {
        let Self {
            contact,
            message_id,
            kind,
            encryptor,
            mut parts,
        } = self;
        let mut pointer = encryptor.finish(&mut parts.waiting)?;
        parts.upload_complete().await?;
        pointer.set_location(parts.location.to_string())?;
        let body = kind.body(pointer);
        Content::new(1, 0, body.clone()).validate()?;
        Ok(UploadedAttachment {
            contact,
            message_id,
            body,
        })
    }
}

/// An incoming attachment being downloaded and decrypted part by part
/// ([`Client::start_download`]). Every piece [`AttachmentDownload::next`] hands out is
/// authenticated; the last one comes only after the whole was checked against the
/// message's pointer. Pieces handed out before an error belong to a broken download and
/// must be discarded.
pub struct AttachmentDownload {
    media_type: Option<String>,
    relay: RelayClient,
    location: AttachmentLocation,
    /// `None` once the download is complete.
    decryptor: Option<StreamDecryptor>,
    next_part: u64,
    total: u64,
    plaintext_size: u64,
}

impl std::fmt::Debug for AttachmentDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentDownload")
            .field("next_part", &self.next_part)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl AttachmentDownload {
    /// The attachment's size in bytes (its plaintext).
    pub fn size(&self) -> u64 {
        self.plaintext_size
    }

    /// The MIME type the sender gave (images and files; a voice clip names its codec
    /// instead).
    pub fn media_type(&self) -> Option<&str> {
        self.media_type.as_deref()
    }

    /// Ciphertext bytes downloaded so far.
    pub fn downloaded(&self) -> u64 {
        self.next_part.saturating_mul(PART_BYTES).min(self.total)
    }

    /// Ciphertext bytes to download in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Downloads the next part and returns its plaintext, or `None` once the whole
    /// attachment was handed out (then its chunks are deleted from the relay, best
    /// effort: they expire anyway).
    ///
    /// # Errors
    /// [`Error::Transport`] if the relay cannot be reached or no longer holds the
    /// attachment; [`Error::Attachment`] if what arrives does not decrypt (altered or
    /// truncated).
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(decryptor) = self.decryptor.as_mut() else {
            return Ok(None);
        };
        let parts = part_count(self.total);
        let len = part_len(self.total, self.next_part).unwrap_or(0);
        let mut part = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        download_part(
            &self.relay,
            &self.location.seed,
            self.next_part,
            len,
            &mut part,
        )
        .await?;
        self.next_part += 1;
        let mut plaintext = Vec::with_capacity(part.len());
        decryptor.push(&part, &mut plaintext)?;
        if self.next_part >= parts
            && let Some(decryptor) = self.decryptor.take()
        {
            decryptor.finish(&mut plaintext)?;
            let _ = delete_attachment(&self.relay, &self.location).await;
        }
        Ok(Some(plaintext))
    }
}

impl<S: Store> Client<S> {
    /// Starts sending an attachment of `size` bytes (of plaintext) as `kind`, its bytes to
    /// be given to the returned upload: checks the contact and `kind`'s fields (before
    /// anything is uploaded) and chooses the relay whose chunk store will hold it.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if `size` is too large; content
    /// errors if `kind`'s fields are invalid.
    pub async fn start_upload(
        &mut self,
        contact: &ContactId,
        size: u64,
        kind: AttachmentKind,
    ) -> Result<AttachmentUpload> {
        self.profile.contact(contact).await?;
        let encryptor = StreamEncryptor::new(size, ChunkSize::STANDARD)?;
        let relay_address = self.random_relay()?;
        let location =
            AttachmentLocation::new(relay_address.clone(), ChunkSeed::random(&mut self.rng))
                .map_err(|e| AttachmentError::Location(e.to_string()))?;
        check_kind(&kind, &location)?;
        Ok(AttachmentUpload {
            contact: contact.clone(),
            message_id: MessageId::random(),
            kind,
            parts: PartUploader {
                relay: self.relay(&relay_address)?,
                location,
                waiting: Vec::new(),
                next_part: 0,
                uploaded: 0,
                total: encryptor.ciphertext_size(),
            },
            encryptor,
        })
    }

    /// Stores and sends the message of an uploaded attachment as [`Client::send`] does.
    /// Returns its id.
    ///
    /// # Errors
    /// [`Error::UnknownContact`] (forgotten meanwhile), store errors.
    pub async fn send_uploaded(&mut self, uploaded: UploadedAttachment) -> Result<MessageId> {
        let UploadedAttachment {
            contact,
            message_id,
            body,
        } = uploaded;
        self.send_attachment_body(&contact, message_id, body).await
    }

    /// Starts downloading the attachment of a contact's message; see
    /// [`AttachmentDownload`].
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if the message carries no
    /// attachment or its location is unusable.
    pub async fn start_download(
        &mut self,
        contact: &ContactId,
        message_id: &MessageId,
    ) -> Result<AttachmentDownload> {
        let (body, pointer) = self.incoming_attachment_body(contact, message_id).await?;
        let media_type = match &body {
            Body::Image(image) => Some(image.mime.clone()),
            Body::File(file) => Some(file.mime.clone()),
            _ => None,
        };
        let location = AttachmentLocation::parse(pointer.location())
            .map_err(|e| AttachmentError::Location(e.to_string()))?;
        Ok(AttachmentDownload {
            media_type,
            relay: self.relay(&location.relay)?,
            location,
            decryptor: Some(StreamDecryptor::new(&pointer)),
            next_part: 0,
            total: pointer.ciphertext_size(),
            plaintext_size: pointer.plaintext_size(),
        })
    }

    /// Stores an attachment's message with its outbox entry and sends it as
    /// [`Client::send`] does.
    pub(super) async fn send_attachment_body(
        &mut self,
        contact: &ContactId,
        message_id: MessageId,
        body: Body,
    ) -> Result<MessageId> {
        let now = self.now();
        let outgoing = self
            .profile
            .send_as(contact, message_id, body, now, &mut self.rng)
            .await?;
        if let Some(packet) = outgoing.packet
            && self.transmit(contact, packet).await?
        {
            self.sent(contact, outgoing.id);
        }
        Ok(outgoing.id)
    }

    /// The body of a stored incoming message that carries an attachment, with that
    /// attachment's pointer.
    pub(super) async fn incoming_attachment_body(
        &self,
        contact: &ContactId,
        message_id: &MessageId,
    ) -> Result<(Body, AttachmentPointer)> {
        self.profile.contact(contact).await?;
        let message = self
            .profile
            .store()
            .load_message(
                contact.as_str(),
                MessageDirection::Incoming,
                &message_id.to_bytes(),
            )
            .await?
            .filter(|message| !message.deleted)
            .ok_or_else(|| no_attachment("no such message from this contact"))?;
        let body = Content::decode(&message.frame)?.body;
        let pointer = attachment_of(&body)
            .cloned()
            .ok_or_else(|| no_attachment("the message carries no attachment"))?;
        Ok((body, pointer))
    }
}

/// Checks `kind`'s fields before anything is uploaded, in a body with a stand-in pointer
/// (of an empty attachment) at the real location: the message that will carry the real
/// pointer differs only in sizes and keys.
fn check_kind(kind: &AttachmentKind, location: &AttachmentLocation) -> Result<()> {
    let mut stand_in = StreamEncryptor::new(0, ChunkSize::STANDARD)?.finish(&mut Vec::new())?;
    stand_in.set_location(location.to_string())?;
    Content::new(1, 0, kind.clone().body(stand_in)).validate()?;
    Ok(())
}

fn no_attachment(why: &'static str) -> Error {
    Error::Attachment(AttachmentError::NotFound(why))
}
