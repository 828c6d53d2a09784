//! Attachments streamed through the messenger: an [`AttachmentWriter`] takes the bytes of
//! an attachment to send as the app has them (a browser reads a `Blob` slice by slice), an
//! [`AttachmentReader`] hands out a received one part by part. Both move their bytes in the
//! caller's task, not on the messenger's thread, so other calls go on meanwhile; both
//! publish [`Event::TransferProgress`] as parts move, and the writer's message gets the
//! same statuses as [`Messenger::send_attachment`]'s.

use super::actor::failed;
use super::{Event, Messenger, sending};
use crate::client::{AttachmentDownload, AttachmentKind, AttachmentUpload, TransferDirection};
use crate::contacts::ContactId;
use crate::content::MessageId;
use crate::error::{Error, Result};
use crate::store::Store;

/// An attachment being sent, fed by the app ([`Messenger::write_attachment`]). Its message
/// is [`DeliveryStatus::Sending`](super::DeliveryStatus::Sending) from the start; give it
/// exactly the declared bytes with [`AttachmentWriter::write`] and call
/// [`AttachmentWriter::finish`]. If a write fails, or the writer is dropped before
/// `finish`, the message becomes
/// [`DeliveryStatus::Failed`](super::DeliveryStatus::Failed) and was never stored; a
/// failure is also published as [`Event::BackgroundProblem`], since a writer often runs
/// apart from whoever sent the message (a browser's upload task).
pub struct AttachmentWriter<S: Store + 'static> {
    messenger: Messenger<S>,
    /// `None` once finished or failed.
    upload: Option<AttachmentUpload>,
    contact: ContactId,
    message_id: MessageId,
}

impl<S: Store + 'static> std::fmt::Debug for AttachmentWriter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentWriter")
            .field("message_id", &self.message_id)
            .field("upload", &self.upload)
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> AttachmentWriter<S> {
    /// The id the message has.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// Encrypts the next bytes of the attachment and uploads every part they complete.
    ///
    /// # Errors
    /// As [`AttachmentUpload::write`]; after an error the message is failed and every
    /// further call returns [`Error::Attachment`].
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let upload = self.upload.as_mut().ok_or_else(ended)?;
        let before = upload.uploaded();
        match upload.write(bytes).await {
            Ok(()) => {
                if upload.uploaded() != before {
                    self.messenger.publish(progress(
                        self.message_id,
                        TransferDirection::Upload,
                        upload.uploaded(),
                        upload.total(),
                    ));
                }
                Ok(())
            }
            Err(error) => {
                self.fail(Some(&error));
                Err(error)
            }
        }
    }

    /// Uploads the rest and sends the message. Returns its id.
    ///
    /// # Errors
    /// As [`AttachmentUpload::finish`] and [`crate::client::Client::send_uploaded`]; the
    /// message is failed then.
    pub async fn finish(mut self) -> Result<MessageId> {
        let upload = self.upload.take().ok_or_else(ended)?;
        let total = upload.total();
        let sent = async {
            let uploaded = upload.finish().await?;
            self.messenger.publish(progress(
                self.message_id,
                TransferDirection::Upload,
                total,
                total,
            ));
            self.messenger
                .call(move |actor| {
                    Box::pin(async move { actor.client.send_uploaded(uploaded).await })
                })
                .await
        }
        .await;
        if let Err(error) = &sent {
            self.messenger
                .publish(failed(self.contact.clone(), self.message_id));
            self.messenger.publish(problem(error));
        }
        sent
    }

    fn fail(&mut self, error: Option<&Error>) {
        if self.upload.take().is_some() {
            self.messenger
                .publish(failed(self.contact.clone(), self.message_id));
            if let Some(error) = error {
                self.messenger.publish(problem(error));
            }
        }
    }
}

impl<S: Store + 'static> Drop for AttachmentWriter<S> {
    fn drop(&mut self) {
        self.fail(None);
    }
}

/// A received attachment being downloaded, handed out part by part
/// ([`Messenger::read_attachment`]). Pieces come only after they authenticated, and the
/// last one only once the whole matched the message's pointer; **pieces handed out before
/// an error belong to a broken download and must be discarded.**
pub struct AttachmentReader<S: Store + 'static> {
    messenger: Messenger<S>,
    download: AttachmentDownload,
    message_id: MessageId,
}

impl<S: Store + 'static> std::fmt::Debug for AttachmentReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentReader")
            .field("message_id", &self.message_id)
            .field("download", &self.download)
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> AttachmentReader<S> {
    /// The attachment's size in bytes.
    pub fn size(&self) -> u64 {
        self.download.size()
    }

    /// The MIME type the sender gave (images and files).
    pub fn media_type(&self) -> Option<&str> {
        self.download.media_type()
    }

    /// The next piece of the attachment (about 4 MiB), or `None` once all of it was handed
    /// out.
    ///
    /// # Errors
    /// As [`AttachmentDownload::next`].
    pub async fn read(&mut self) -> Result<Option<Vec<u8>>> {
        let piece = self.download.next().await?;
        if piece.is_some() {
            self.messenger.publish(progress(
                self.message_id,
                TransferDirection::Download,
                self.download.downloaded(),
                self.download.total(),
            ));
        }
        Ok(piece)
    }
}

impl<S: Store + 'static> Messenger<S> {
    /// Starts sending an attachment of `size` bytes as an image, a file or a voice clip,
    /// its bytes given to the returned [`AttachmentWriter`] as the app has them; for bytes
    /// that are not in a file or in memory (a browser's `Blob`). The message is
    /// [`DeliveryStatus::Sending`](super::DeliveryStatus::Sending) at once.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if `size` is too large; content
    /// errors for invalid fields (all before anything is uploaded).
    pub async fn write_attachment(
        &self,
        contact: &ContactId,
        size: u64,
        kind: AttachmentKind,
    ) -> Result<AttachmentWriter<S>> {
        let contact = contact.clone();
        let upload = self
            .call({
                let contact = contact.clone();
                move |actor| {
                    Box::pin(async move {
                        let upload = actor.client.start_upload(&contact, size, kind).await?;
                        actor.publish(sending(contact, upload.message_id()));
                        Ok(upload)
                    })
                }
            })
            .await?;
        Ok(AttachmentWriter {
            messenger: self.clone(),
            message_id: upload.message_id(),
            upload: Some(upload),
            contact,
        })
    }

    /// Starts downloading the attachment of a contact's message, handed out part by part
    /// by the returned [`AttachmentReader`]; the chunks are deleted from the relay once
    /// all of it was read.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if the message carries no
    /// attachment.
    pub async fn read_attachment(
        &self,
        contact: &ContactId,
        message_id: &MessageId,
    ) -> Result<AttachmentReader<S>> {
        let (contact, message_id) = (contact.clone(), *message_id);
        let download = self
            .call(move |actor| {
                Box::pin(async move { actor.client.start_download(&contact, &message_id).await })
            })
            .await?;
        Ok(AttachmentReader {
            messenger: self.clone(),
            download,
            message_id,
        })
    }

    /// Publishes an event to every subscriber from the caller's task.
    fn publish(&self, event: Event) {
        self.shared.subscribers.publish(&event);
    }
}

fn progress(message_id: MessageId, direction: TransferDirection, done: u64, total: u64) -> Event {
    Event::TransferProgress {
        message_id,
        direction,
        done,
        total,
    }
}

fn problem(error: &Error) -> Event {
    Event::BackgroundProblem {
        code: error.code(),
        reason: error.to_string(),
    }
}

fn ended() -> Error {
    Error::Attachment(crate::attachment::AttachmentError::NotFound(
        "this attachment's transfer has ended",
    ))
}
