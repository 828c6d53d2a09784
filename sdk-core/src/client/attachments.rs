//! Images, files and voice clips: encrypt a file into the profile's attachment folder,
//! upload the ciphertext to a relay's chunk store, send the message carrying the pointer;
//! and on the other side, download, check and decrypt into a file the app names.
//!
//! Memory stays bounded whatever the size: encryption and decryption stream chunk by chunk,
//! and transfers hold at most one chunk-store part at a time.

use std::fs;
use std::io::{BufReader, BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::transfer::AttachmentKind;
use super::{Client, ClientEvent, TransferDirection};
use crate::attachment::{self, AttachmentError, AttachmentPointer, ChunkSize, Progress};
use crate::contacts::ContactId;
use crate::content::{Body, Content, MessageId};
use crate::error::Result;
use crate::relay::{AttachmentLocation, ChunkSeed};
use crate::store::Store;
use crate::transport::chunks::{delete_attachment, download_attachment, upload_attachment};

/// Where the bytes of an attachment to send come from: a file, or memory (a photo just
/// taken, a clip just recorded) so that no plaintext copy has to touch the disk. Memory is
/// wiped once encrypted.
#[derive(Clone)]
pub enum AttachmentSource {
    /// The file at this path, read as it is encrypted.
    File(PathBuf),
    /// These bytes.
    Bytes(Zeroizing<Vec<u8>>),
}

impl AttachmentSource {
    fn reader(&self) -> Result<Box<dyn Read + '_>> {
        Ok(match self {
            AttachmentSource::File(path) => Box::new(BufReader::new(
                fs::File::open(path).map_err(AttachmentError::from)?,
            )),
            AttachmentSource::Bytes(bytes) => Box::new(bytes.as_slice()),
        })
    }
}

impl std::fmt::Debug for AttachmentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachmentSource::File(path) => f.debug_tuple("File").field(path).finish(),
            AttachmentSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

impl From<PathBuf> for AttachmentSource {
    fn from(path: PathBuf) -> Self {
        AttachmentSource::File(path)
    }
}

impl From<&Path> for AttachmentSource {
    fn from(path: &Path) -> Self {
        AttachmentSource::File(path.to_owned())
    }
}

impl From<&PathBuf> for AttachmentSource {
    fn from(path: &PathBuf) -> Self {
        AttachmentSource::File(path.clone())
    }
}

impl From<Vec<u8>> for AttachmentSource {
    fn from(bytes: Vec<u8>) -> Self {
        AttachmentSource::Bytes(Zeroizing::new(bytes))
    }
}

/// Removes a file when dropped (the ciphertext of a transfer, whatever its outcome).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// An attachment encrypted into the profile's folder and ready to upload: the first step
/// of sending one ([`Client::prepare_attachment`]). Uploading it needs no `Client`
/// ([`PreparedAttachment::upload`]), so a handle can upload while it does other work; then
/// [`Client::finish_attachment`] sends the message. Dropping it deletes the ciphertext.
pub struct PreparedAttachment {
    contact: ContactId,
    message_id: MessageId,
    body: Body,
    relay: crate::transport::RelayClient,
    seed: ChunkSeed,
    total: u64,
    scratch: Scratch,
}

impl std::fmt::Debug for PreparedAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedAttachment")
            .field("message_id", &self.message_id)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl PreparedAttachment {
    /// The id the message will have.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The contact it goes to.
    pub fn contact(&self) -> &ContactId {
        &self.contact
    }

    /// Uploads the ciphertext to the chunk store, calling `progress(done, total)` as it
    /// goes.
    ///
    /// # Errors
    /// [`Error::Attachment`] if the ciphertext cannot be read back; [`Error::Transport`] if
    /// the upload fails (nothing was sent: prepare it again).
    pub async fn upload(&self, progress: impl FnMut(u64, u64)) -> Result<()> {
        let ciphertext =
            BufReader::new(fs::File::open(&self.scratch.0).map_err(AttachmentError::from)?);
        upload_attachment(&self.relay, &self.seed, ciphertext, self.total, progress).await?;
        Ok(())
    }
}

impl<S: Store> Client<S> {
    /// Sends `source` (a file, or bytes in memory) as an image, a file or a voice clip:
    /// encrypts it (into
    /// the profile's attachment folder), uploads the ciphertext to one of our relays'
    /// chunk store ([`ClientEvent::Progress`] as it goes, under the returned message id),
    /// then sends the message carrying the pointer as [`Client::send`] does.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if the file cannot be read or is
    /// too large; [`Error::Transport`] if the upload fails (nothing is sent then: call
    /// again); content errors if `kind`'s fields are invalid (checked before any upload).
    pub async fn send_attachment(
        &mut self,
        contact: &ContactId,
        source: impl Into<AttachmentSource>,
        kind: AttachmentKind,
    ) -> Result<MessageId> {
        let prepared = self.prepare_attachment(contact, source, kind).await?;
        let message_id = prepared.message_id;
        let events = &mut self.events;
        prepared
            .upload(|done, total| {
                events.push_back(ClientEvent::Progress {
                    message_id,
                    direction: TransferDirection::Upload,
                    done,
                    total,
                });
            })
            .await?;
        self.finish_attachment(prepared).await
    }

    /// The first step of [`Client::send_attachment`]: checks the contact and the message's
    /// fields, encrypts the file into the profile's attachment folder and chooses the relay
    /// whose chunk store will hold it.
    ///
    /// # Errors
    /// As [`Client::send_attachment`], but for the upload.
    pub async fn prepare_attachment(
        &mut self,
        contact: &ContactId,
        source: impl Into<AttachmentSource>,
        kind: AttachmentKind,
    ) -> Result<PreparedAttachment> {
        let source = source.into();
        self.profile.contact(contact).await?;
        let message_id = MessageId::random();
        let scratch = Scratch(self.attachment_path(&message_id, "upload"));
        let mut pointer = {
            let input = source.reader()?;
            let mut output =
                BufWriter::new(fs::File::create(&scratch.0).map_err(AttachmentError::from)?);
            let pointer = attachment::encrypt(
                input,
                &mut output,
                ChunkSize::STANDARD,
                &mut |_: Progress| {},
            )?;
            output.flush().map_err(AttachmentError::from)?;
            pointer
        };
        let relay_address = self.random_relay()?;
        let location =
            AttachmentLocation::new(relay_address.clone(), ChunkSeed::random(&mut self.rng))
                .map_err(|e| AttachmentError::Location(e.to_string()))?;
        pointer.set_location(location.to_string())?;
        // The body is checked before anything leaves the device.
        let body = kind.body(pointer.clone());
        Content::new(1, 0, body.clone()).validate()?;
        Ok(PreparedAttachment {
            contact: contact.clone(),
            message_id,
            body,
            relay: self.relay(&relay_address)?,
            seed: location.seed,
            total: pointer.ciphertext_size(),
            scratch,
        })
    }

    /// The last step of [`Client::send_attachment`], once [`PreparedAttachment::upload`]
    /// succeeded: stores the message with its outbox entry and sends it as
    /// [`Client::send`] does. Returns its id.
    ///
    /// # Errors
    /// [`Error::UnknownContact`] (forgotten meanwhile), store errors.
    pub async fn finish_attachment(&mut self, prepared: PreparedAttachment) -> Result<MessageId> {
        let PreparedAttachment {
            contact,
            message_id,
            body,
            scratch,
            ..
        } = prepared;
        drop(scratch);
        self.send_attachment_body(&contact, message_id, body).await
    }

    /// Downloads the attachment of a contact's message into `destination` (a new file, or
    /// one to replace), checking every chunk and the digest before the file appears there;
    /// [`ClientEvent::Progress`] reports the download. Afterwards the chunks are deleted
    /// from the relay (best effort; they expire anyway). Returns the attachment's size.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if the message carries no
    /// attachment, or the download does not decrypt (altered or truncated: nothing is
    /// written to `destination`); [`Error::Transport`] if the relay cannot be reached or no
    /// longer holds the attachment (expired).
    pub async fn download_attachment(
        &mut self,
        contact: &ContactId,
        message_id: &MessageId,
        destination: &Path,
    ) -> Result<u64> {
        let pointer = self.incoming_attachment(contact, message_id).await?;
        let location = AttachmentLocation::parse(pointer.location())
            .map_err(|e| AttachmentError::Location(e.to_string()))?;
        let relay = self.relay(&location.relay)?;
        // A profile keeps what it downloaded, still encrypted (the key is in its store), so
        // that the attachment can be opened again: the relay deletes it after one download.
        let kept = self.received_path(contact, message_id);
        if let Some(kept) = &kept
            && kept.exists()
        {
            let size = decrypt_to(kept, destination, &pointer);
            if size.is_err() {
                // Damaged at rest: fetch it again next time if the relay still has it.
                let _ = fs::remove_file(kept);
            }
            return size;
        }
        let scratch = Scratch(self.attachment_path(message_id, "download"));
        {
            let file = fs::File::create(&scratch.0).map_err(AttachmentError::from)?;
            let mut writer = BufWriter::new(file);
            let events = &mut self.events;
            let message_id = *message_id;
            download_attachment(
                &relay,
                &location,
                pointer.ciphertext_size(),
                &mut writer,
                |done, total| {
                    events.push_back(ClientEvent::Progress {
                        message_id,
                        direction: TransferDirection::Download,
                        done,
                        total,
                    });
                },
            )
            .await?;
            writer.flush().map_err(AttachmentError::from)?;
        }
        let size = decrypt_to(&scratch.0, destination, &pointer)?;
        if let Some(kept) = &kept {
            // Checked by the decryption just done; kept under the contact's and message's ids.
            fs::rename(&scratch.0, kept).map_err(AttachmentError::from)?;
        }
        let _ = delete_attachment(&relay, &location).await;
        Ok(size)
    }

    /// Where a profile keeps a received attachment's ciphertext once downloaded (`None`
    /// for a client without a profile folder). Named by the contact's local id too: message
    /// ids are chosen by senders, so two contacts' ids may be equal.
    fn received_path(&self, contact: &ContactId, message_id: &MessageId) -> Option<PathBuf> {
        let folder = self.attachments_dir.as_ref()?;
        Some(folder.join(format!("{}-{message_id}.received", contact.as_str())))
    }

    /// Removes the kept ciphertext of one received attachment, or of all of a contact's
    /// (`None`), after the message or the contact was deleted. Best effort: a file left
    /// behind is ciphertext whose key is gone from the store.
    pub(super) fn remove_received(&self, contact: &ContactId, message_id: Option<&MessageId>) {
        if let Some(message_id) = message_id {
            if let Some(path) = self.received_path(contact, message_id) {
                let _ = fs::remove_file(path);
            }
            return;
        }
        let Some(folder) = &self.attachments_dir else {
            return;
        };
        let prefix = format!("{}-", contact.as_str());
        if let Ok(entries) = fs::read_dir(folder) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(&prefix) && name.ends_with(".received") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// The attachment pointer of a stored incoming message.
    pub(super) async fn incoming_attachment(
        &self,
        contact: &ContactId,
        message_id: &MessageId,
    ) -> Result<AttachmentPointer> {
        let (_, pointer) = self.incoming_attachment_body(contact, message_id).await?;
        Ok(pointer)
    }

    /// Where a transfer keeps its ciphertext: the profile's attachment folder (or the
    /// system's temporary folder for a client without one). Ciphertext only.
    fn attachment_path(&self, message_id: &MessageId, what: &str) -> PathBuf {
        let folder = self
            .attachments_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        folder.join(format!("{message_id}.{what}"))
    }
}

/// Decrypts the ciphertext at `source` into `destination`, next to it first and then
/// renamed: the destination only ever holds a complete, checked file.
fn decrypt_to(source: &Path, destination: &Path, pointer: &AttachmentPointer) -> Result<u64> {
    let partial = Scratch(partial_path(destination));
    let input = BufReader::new(fs::File::open(source).map_err(AttachmentError::from)?);
    let mut output = BufWriter::new(fs::File::create(&partial.0).map_err(AttachmentError::from)?);
    let size = attachment::decrypt(input, &mut output, pointer, &mut |_: Progress| {})?;
    let file = output
        .into_inner()
        .map_err(|e| AttachmentError::from(e.into_error()))?;
    file.sync_all().map_err(AttachmentError::from)?;
    fs::rename(&partial.0, destination).map_err(AttachmentError::from)?;
    Ok(size)
}

fn partial_path(destination: &Path) -> PathBuf {
    let mut name = destination
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".sotto-partial");
    destination.with_file_name(name)
}
