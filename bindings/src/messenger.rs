//! [`Messenger`]: one open profile, the core's handle for Python, Kotlin and Swift. Every
//! method that touches the store or the network is async (a coroutine in Python, a
//! `suspend` function in Kotlin); the few that only read what the handle holds are not.

use std::collections::HashMap;
use std::sync::Arc;

use sotto_core::client::{AttachmentKind, HistoryFrom, MAX_HISTORY_PAGE};
use sotto_core::contacts::ContactId;
use sotto_core::content::MessageId;
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::OwnedProtection;
use sotto_core::store::{Keychain, ProfileDirectory, SqlCipherStore};

use crate::error::SottoError;
use crate::events::{EventListener, Subscription};
use crate::runtime::{queued, run};
use crate::types::{
    Argon2Cost, AttachmentSource, Comparison, Contact, Message, NetworkSettings, Protection,
    SafetyNumber, Settings,
};

/// One open profile. Safe to use from any number of threads and coroutines at once: calls
/// are queued to the messenger's own thread and run one at a time, in order.
#[derive(uniffi::Object)]
pub struct Messenger {
    inner: sotto_core::Messenger<SqlCipherStore>,
}

fn owned_protection(protection: Protection) -> Result<OwnedProtection, SottoError> {
    Ok(match protection {
        Protection::Passphrase { passphrase, argon2 } => OwnedProtection::Passphrase {
            passphrase: passphrase.into(),
            params: Argon2Cost::params(argon2)?,
        },
        Protection::Keychain => OwnedProtection::Keychain(
            Keychain::platform()
                .map_err(|e| SottoError::from(sotto_core::Error::from(e)))?
                .kind(),
        ),
    })
}

fn contact_id(contact: &str) -> Result<ContactId, SottoError> {
    ContactId::parse(contact)
        .ok_or_else(|| SottoError::invalid(format!("contact id {contact:?}: 32 hex digits")))
}

fn message_id(hex: &str) -> Result<MessageId, SottoError> {
    MessageId::from_hex(hex)
        .ok_or_else(|| SottoError::invalid(format!("message id {hex:?}: 32 hex digits")))
}

fn page_size(limit: u32) -> Result<usize, SottoError> {
    let limit = limit as usize;
    if limit > MAX_HISTORY_PAGE {
        return Err(SottoError::invalid(format!(
            "{limit} messages: at most {MAX_HISTORY_PAGE} at once"
        )));
    }
    Ok(limit)
}

#[uniffi::export]
impl Messenger {
    /// Creates a new profile (a new identity) in `directory`, which must be absent or
    /// empty, and opens it. Call `start` to turn real-time delivery on.
    #[uniffi::constructor]
    pub async fn create(
        directory: String,
        protection: Protection,
        settings: Settings,
    ) -> Result<Arc<Self>, SottoError> {
        let (protection, settings) = (owned_protection(protection)?, settings.client_settings()?);
        let inner = run(sotto_core::Messenger::create(
            ProfileDirectory::new(directory),
            protection,
            settings,
        ))
        .await?;
        Ok(Arc::new(Self { inner }))
    }

    /// Opens the profile in `directory`: with its passphrase, or `None` for one whose key
    /// is in the keychain. A wrong passphrase is `ErrorCode.KEY`, and nothing on disk
    /// changes.
    #[uniffi::constructor]
    pub async fn open(
        directory: String,
        passphrase: Option<String>,
        settings: Settings,
    ) -> Result<Arc<Self>, SottoError> {
        let settings = settings.client_settings()?;
        let inner = run(sotto_core::Messenger::open(
            ProfileDirectory::new(directory),
            passphrase,
            settings,
        ))
        .await?;
        Ok(Arc::new(Self { inner }))
    }

    /// This profile's public identity (`sotto-id:…`).
    pub fn identity(&self) -> String {
        self.inner.identity().to_text()
    }

    /// Calls `listener` with every event from now on, in order, on a library thread.
    pub fn set_listener(&self, listener: Arc<dyn EventListener>) -> Result<(), SottoError> {
        self.inner
            .on_event(move |event| listener.on_event(event.into()))
            .map_err(SottoError::from)
    }

    /// A new stream of this messenger's events, from now on.
    pub fn subscribe(&self) -> Arc<Subscription> {
        Subscription::new(self.inner.subscribe())
    }

    /// Turns the background work on: a sync, then waiting reads that deliver each message
    /// as an event as soon as a relay has it, the outbox's retries, cover traffic, prekey
    /// rotation.
    pub async fn start(&self) -> Result<(), SottoError> {
        let inner = self.inner.clone();
        queued(async move { inner.start().await }).await
    }

    /// Finishes the calls already made, stops the background work and closes the store
    /// (every change was durable when its call returned). Later calls fail with
    /// `ErrorCode.SHUT_DOWN`; subscriptions end.
    pub async fn shutdown(&self) -> Result<(), SottoError> {
        let inner = self.inner.clone();
        queued(async move { inner.shutdown().await }).await
    }

    /// Protects the profile with a new key (a new passphrase, or a move between keychain
    /// and passphrase), safe against a crash half way. On an error the old protection stays.
    pub async fn change_protection(&self, protection: Protection) -> Result<(), SottoError> {
        let (inner, protection) = (self.inner.clone(), owned_protection(protection)?);
        queued(async move { inner.change_protection(protection).await }).await
    }

    /// Makes a one-time invitation and returns its short link (`sotto://invite/…`; the full
    /// invitation waits sealed on the relay) to hand to one person, as text or as a QR code
    /// (`invitation_qr_png`, `invitation_qr_svg`).
    pub async fn create_invitation(&self) -> Result<String, SottoError> {
        let inner = self.inner.clone();
        queued(async move { Ok(inner.create_invitation().await?.link()) }).await
    }

    /// Accepts an invitation link, short or full; returns the new contact's id. The contact is ready when
    /// `Event.CONTACT_READY` arrives; messages sent before wait for it.
    pub async fn accept_invitation(&self, link: String) -> Result<String, SottoError> {
        let inner = self.inner.clone();
        let invitation = InvitationLink::parse(&link)
            .map_err(|e| SottoError::from(sotto_core::Error::from(e)))?;
        queued(async move {
            let contact = inner.accept_link(&invitation).await?;
            Ok(contact.as_str().to_owned())
        })
        .await
    }

    /// Sends a text; returns its message id at once. Its statuses arrive as events; the
    /// outbox delivers it however long the contact is away.
    pub async fn send_text(&self, contact: String, text: String) -> Result<String, SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { Ok(inner.send_text(&contact, &text).await?.to_string()) }).await
    }

    /// Sends a file under `name` (what the contact sees; no folders) and `mime` (`None`:
    /// `application/octet-stream`). Returns its message id once encrypted; the upload runs
    /// in the background with progress events, then `DeliveryStatus.SENT` (or `FAILED`).
    pub async fn send_file(
        &self,
        contact: String,
        source: AttachmentSource,
        name: String,
        mime: Option<String>,
    ) -> Result<String, SottoError> {
        let kind = AttachmentKind::File {
            name,
            mime: mime.unwrap_or_else(|| "application/octet-stream".to_owned()),
        };
        self.send_attachment(contact, source, kind).await
    }

    /// Sends an image (`mime` such as `image/jpeg`, its size in pixels, a small preview of
    /// at most 1024 bytes, may be empty). Otherwise as `send_file`.
    pub async fn send_image(
        &self,
        contact: String,
        source: AttachmentSource,
        mime: String,
        width: u32,
        height: u32,
        thumbnail: Vec<u8>,
    ) -> Result<String, SottoError> {
        let kind = AttachmentKind::Image {
            mime,
            width,
            height,
            thumbnail,
        };
        self.send_attachment(contact, source, kind).await
    }

    /// Sends a voice clip (`codec` such as `opus`, its length, up to 256 waveform samples
    /// for drawing it, may be empty). Otherwise as `send_file`.
    pub async fn send_voice_clip(
        &self,
        contact: String,
        source: AttachmentSource,
        codec: String,
        duration_ms: u32,
        waveform: Vec<u8>,
    ) -> Result<String, SottoError> {
        let kind = AttachmentKind::VoiceClip {
            duration_ms,
            codec,
            waveform,
        };
        self.send_attachment(contact, source, kind).await
    }

    /// Downloads the attachment of a contact's message to `destination` (written only once
    /// complete and checked); returns its size.
    pub async fn download_attachment(
        &self,
        contact: String,
        message_id: String,
        destination: String,
    ) -> Result<u64, SottoError> {
        let (inner, contact, id) = (
            self.inner.clone(),
            contact_id(&contact)?,
            self::message_id(&message_id)?,
        );
        queued(async move {
            inner
                .download_attachment(&contact, &id, std::path::Path::new(&destination))
                .await
        })
        .await
    }

    /// Marks these of a contact's messages read: they leave the unread count, and the
    /// contact gets an end-to-end read receipt.
    pub async fn mark_read(
        &self,
        contact: String,
        message_ids: Vec<String>,
    ) -> Result<(), SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        let ids = message_ids
            .iter()
            .map(|id| message_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        queued(async move { inner.mark_read(&contact, ids).await }).await
    }

    /// Deletes a message on this device (the contact's copy stays).
    pub async fn delete_message(
        &self,
        contact: String,
        message_id: String,
    ) -> Result<(), SottoError> {
        let (inner, contact, id) = (
            self.inner.clone(),
            contact_id(&contact)?,
            self::message_id(&message_id)?,
        );
        queued(async move { inner.delete_message(&contact, &id).await }).await
    }

    /// Forgets a contact: its conversation, keys and queues on this device.
    pub async fn forget_contact(&self, contact: String) -> Result<(), SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { inner.forget_contact(&contact).await }).await
    }

    /// A page of a conversation, newest first: the newest `limit` messages when `before` is
    /// `None`, else the `limit` before that message (scrolling back). At most 1000.
    pub async fn history(
        &self,
        contact: String,
        before: Option<String>,
        limit: u32,
    ) -> Result<Vec<Message>, SottoError> {
        let (inner, contact, limit) =
            (self.inner.clone(), contact_id(&contact)?, page_size(limit)?);
        let from = match before {
            Some(id) => HistoryFrom::Before(message_id(&id)?),
            None => HistoryFrom::Newest,
        };
        queued(async move {
            let page = inner.history(&contact, from, limit).await?;
            Ok(page.iter().map(Message::from).collect())
        })
        .await
    }

    /// Searches one conversation, newest first, for `query` in texts and file names (at
    /// most `limit`, at most 1000).
    pub async fn search(
        &self,
        contact: String,
        query: String,
        limit: u32,
    ) -> Result<Vec<Message>, SottoError> {
        let (inner, contact, limit) =
            (self.inner.clone(), contact_id(&contact)?, page_size(limit)?);
        queued(async move {
            let found = inner.search(&contact, &query, limit).await?;
            Ok(found.iter().map(Message::from).collect())
        })
        .await
    }

    /// Unread messages per contact id (contacts with none left out).
    pub async fn unread_counts(&self) -> Result<HashMap<String, u32>, SottoError> {
        let inner = self.inner.clone();
        queued(async move {
            let counts = inner.unread_counts().await?;
            Ok(counts
                .into_iter()
                .map(|(contact, n)| {
                    (
                        contact.as_str().to_owned(),
                        u32::try_from(n).unwrap_or(u32::MAX),
                    )
                })
                .collect())
        })
        .await
    }

    /// Every contact.
    pub async fn contacts(&self) -> Result<Vec<Contact>, SottoError> {
        let inner = self.inner.clone();
        queued(async move {
            Ok(inner
                .contacts()
                .await?
                .into_iter()
                .map(Contact::from)
                .collect())
        })
        .await
    }

    /// One contact.
    pub async fn contact(&self, contact: String) -> Result<Contact, SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { Ok(inner.contact(&contact).await?.into()) }).await
    }

    /// A contact's safety number: digits, the scannable code and its QR code.
    pub async fn safety_number(&self, contact: String) -> Result<SafetyNumber, SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move {
            let number = inner.safety_number(&contact).await?;
            Ok(SafetyNumber {
                digits: number.digits().to_owned(),
                scannable: number.scannable().to_vec(),
                qr_png: number.qr_png().map_err(sotto_core::Error::from)?,
                qr_svg: number.qr_svg().map_err(sotto_core::Error::from)?,
            })
        })
        .await
    }

    /// Compares what was scanned from the contact's screen with our code.
    pub async fn compare_safety_code(
        &self,
        contact: String,
        scanned: Vec<u8>,
    ) -> Result<Comparison, SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { Ok(inner.compare_safety_code(&contact, &scanned).await?.into()) }).await
    }

    /// Marks a contact verified (after comparing safety numbers).
    pub async fn mark_verified(&self, contact: String) -> Result<(), SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { inner.mark_verified(&contact).await }).await
    }

    /// Gives a contact the user's own name for it (`None` clears it).
    pub async fn rename_contact(
        &self,
        contact: String,
        name: Option<String>,
    ) -> Result<(), SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { inner.rename_contact(&contact, name).await }).await
    }

    /// Accepts a contact's new identity key: its held messages flow again.
    pub async fn accept_identity_key(&self, contact: String) -> Result<(), SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        queued(async move { inner.accept_identity_key(&contact).await }).await
    }

    /// The relays, route and cover traffic in force.
    pub async fn network_settings(&self) -> Result<NetworkSettings, SottoError> {
        let inner = self.inner.clone();
        queued(async move { Ok(NetworkSettings::from_core(inner.network_settings().await?)) }).await
    }

    /// Changes the relays, route or cover traffic of the running messenger. Settings that
    /// cannot work (no relay, fewer relays than hops) are `ErrorCode.TRANSPORT`, and nothing
    /// changes then.
    pub async fn set_network_settings(&self, settings: NetworkSettings) -> Result<(), SottoError> {
        let (inner, settings) = (self.inner.clone(), settings.core()?);
        queued(async move { inner.set_network_settings(settings).await }).await
    }

    /// How many of our messages no end-to-end receipt has acknowledged yet.
    pub async fn unacknowledged(&self) -> Result<u64, SottoError> {
        let inner = self.inner.clone();
        queued(async move { Ok(inner.unacknowledged().await? as u64) }).await
    }
}

impl Messenger {
    async fn send_attachment(
        &self,
        contact: String,
        source: AttachmentSource,
        kind: AttachmentKind,
    ) -> Result<String, SottoError> {
        let (inner, contact) = (self.inner.clone(), contact_id(&contact)?);
        let source = source.core();
        queued(async move {
            Ok(inner
                .send_attachment(&contact, source, kind)
                .await?
                .to_string())
        })
        .await
    }
}
