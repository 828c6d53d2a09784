//! [`Messenger`]: the handle every shell wraps. One per open profile.
//!
//! A `Messenger` is `Clone + Send + Sync`; every method takes `&self` and may be called
//! from any thread at once. Behind it one thread of its own owns the [`Client`] and runs
//! the background work (`actor.rs`): waiting reads that deliver messages as soon as a relay
//! has them, the outbox's retries with backoff, cover traffic, prekey rotation. Calls are
//! queued to that thread and run one at a time, in the order they were made; the app's
//! threads and event loop never run protocol or store work.
//!
//! - **Lifecycle**: [`Messenger::create`] / [`Messenger::open`] open the profile (Argon2
//!   and SQLCipher run on the messenger's thread); [`Messenger::start`] turns the background
//!   work on; [`Messenger::shutdown`] finishes the calls already made, stops the
//!   background work, closes the store (every change was durable when its call returned)
//!   and ends the thread. Without `start`, nothing happens unless the app calls
//!   [`Messenger::sync`].
//! - **Cancellation**: a call whose future is dropped still runs to its end on the
//!   messenger's thread (its result is dropped), so a message being sent is stored with
//!   its outbox entry or not at all, never half.
//! - **Events** are pushed to every [`Subscription`] ([`Messenger::subscribe`], an async
//!   stream) and callback ([`Messenger::on_event`]), in order. Nothing depends on anybody
//!   listening: messages and statuses are in the store.

mod actor;
#[cfg(not(target_arch = "wasm32"))]
mod ending;
mod event;
mod transfer;

use std::marker::PhantomData;
#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

pub use actor::{FIRST_BACKOFF, MAX_BACKOFF, PREKEY_CHECK, WAIT};
#[cfg(not(target_arch = "wasm32"))]
pub use ending::wait_for_ending_threads;
pub use event::{DeliveryStatus, Event, SUBSCRIPTION_CAPACITY, Subscription};
pub use transfer::{AttachmentReader, AttachmentWriter};

use actor::{Actor, CatchUnwind, Job, LocalFuture};
use event::Subscribers;

use crate::client::ClientSettings;
// Attachments from and to files exist natively; streamed ones everywhere (transfer.rs).
#[cfg(not(target_arch = "wasm32"))]
use crate::client::{AttachmentKind, AttachmentSource};
use crate::client::{Client, HistoryFrom, HistoryMessage, SyncReport};
use crate::contacts::{Contact, ContactId};
use crate::content::MessageId;
use crate::error::{Error, Result};
use crate::identity::PublicIdentity;
use crate::invitation::{Invitation, InvitationLink};
use crate::safety::{Comparison, SafetyNumber};
use crate::store::Store;

/// The handle of one open profile. See the module documentation.
pub struct Messenger<S: Store + 'static> {
    shared: Arc<Shared<S>>,
}

impl<S: Store + 'static> Clone for Messenger<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: Store + 'static> std::fmt::Debug for Messenger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messenger")
            .field("identity", &self.shared.identity)
            .finish_non_exhaustive()
    }
}

/// What the handles share: the way to the actor and the subscribers.
struct Shared<S: Store + 'static> {
    /// The calls' way to the actor; taken by `shutdown` (the actor ends when it closes).
    jobs: Mutex<Option<mpsc::UnboundedSender<Job<S>>>>,
    subscribers: Arc<Subscribers>,
    identity: PublicIdentity,
    /// Becomes `true` once the thread has dropped the client (the store is closed).
    closed: watch::Receiver<bool>,
    _store: PhantomData<fn() -> S>,
}

#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
impl Messenger<crate::store::SqlCipherStore> {
    /// Creates a new profile (a new identity) in an empty profile directory and opens a
    /// messenger on it. `settings.display_name` becomes the identity's local label.
    ///
    /// # Errors
    /// As [`Client::create`]; the directory is left as it was on any error.
    pub async fn create(
        directory: crate::store::ProfileDirectory,
        protection: OwnedProtection,
        settings: ClientSettings,
    ) -> Result<Self> {
        Self::with_client(move || {
            Box::pin(async move {
                use crate::store::Protection;
                match protection {
                    #[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
                    OwnedProtection::Keychain(kind) => {
                        let keychain = crate::store::Keychain::open(kind)?;
                        Client::create(&directory, Protection::Keychain(&keychain), settings).await
                    }
                    OwnedProtection::Passphrase { passphrase, params } => {
                        let protection = Protection::Passphrase {
                            passphrase: passphrase.as_str(),
                            params,
                        };
                        Client::create(&directory, protection, settings).await
                    }
                }
            })
        })
        .await
    }

    /// Opens the profile in a profile directory (`passphrase` for a passphrase-protected
    /// one).
    ///
    /// # Errors
    /// As [`Client::open`]; nothing on disk changes on an error.
    pub async fn open(
        directory: crate::store::ProfileDirectory,
        passphrase: Option<String>,
        settings: ClientSettings,
    ) -> Result<Self> {
        Self::with_client(move || {
            Box::pin(async move { Client::open(&directory, passphrase.as_deref(), settings).await })
        })
        .await
    }

    /// Protects the profile with a new key: a new passphrase, or a move between the
    /// keychain and a passphrase, without losing anything and safe against a crash half
    /// way ([`Client::change_protection`]). Argon2 and the re-encryption of the database run
    /// on the messenger's thread; the background work waits meanwhile.
    ///
    /// # Errors
    /// As [`Client::change_protection`]; on an error the old protection stays in force.
    pub async fn change_protection(&self, protection: OwnedProtection) -> Result<()> {
        self.call(move |actor| {
            Box::pin(async move {
                use crate::store::Protection;
                match protection {
                    #[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
                    OwnedProtection::Keychain(kind) => {
                        let keychain = crate::store::Keychain::open(kind)?;
                        actor
                            .client
                            .change_protection(Protection::Keychain(&keychain))
                    }
                    OwnedProtection::Passphrase { passphrase, params } => {
                        actor.client.change_protection(Protection::Passphrase {
                            passphrase: passphrase.as_str(),
                            params,
                        })
                    }
                }
            })
        })
        .await
    }
}

#[cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]
impl Messenger<crate::store::SqlCipherStore> {
    /// Creates a new passphrase-protected profile `name` in SQLite's VFS (in a browser's
    /// worker, OPFS after [`VfsProfiles::use_origin_private_file_system`]) and opens a
    /// messenger on it.
    ///
    /// [`VfsProfiles::use_origin_private_file_system`]: crate::store::VfsProfiles::use_origin_private_file_system
    ///
    /// # Errors
    /// As [`Client::create_in_vfs`].
    pub async fn create_in_vfs(
        name: String,
        passphrase: zeroize::Zeroizing<String>,
        params: crate::store::Argon2Params,
        settings: ClientSettings,
    ) -> Result<Self> {
        Self::with_client(move || {
            Box::pin(
                async move { Client::create_in_vfs(&name, &passphrase, params, settings).await },
            )
        })
        .await
    }

    /// Opens profile `name` of SQLite's VFS with its passphrase.
    ///
    /// # Errors
    /// As [`Client::open_in_vfs`]; nothing stored changes on an error.
    pub async fn open_in_vfs(
        name: String,
        passphrase: zeroize::Zeroizing<String>,
        settings: ClientSettings,
    ) -> Result<Self> {
        Self::with_client(move || {
            Box::pin(async move { Client::open_in_vfs(&name, &passphrase, settings).await })
        })
        .await
    }
}

impl<S: Store + 'static> Messenger<S> {
    /// Creates a new profile (a new identity) in an empty `store` and opens a messenger on
    /// it (an in-memory profile, say).
    ///
    /// # Errors
    /// As [`Client::with_new_profile`].
    pub async fn with_new_profile(store: S, settings: ClientSettings) -> Result<Self>
    where
        S: Send,
    {
        Self::with_client(move || Box::pin(Client::with_new_profile(store, settings))).await
    }
}

/// How a new profile's database key is protected, owned (so that it can move to the
/// messenger's thread): [`crate::store::Protection`] without the borrows.
#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
#[derive(Clone)]
pub enum OwnedProtection {
    /// The key sealed in this OS keychain (opened on the messenger's thread).
    #[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
    Keychain(crate::store::KeychainStore),
    /// The key derived from a passphrase with Argon2id.
    Passphrase {
        /// The passphrase (wiped when dropped).
        passphrase: zeroize::Zeroizing<String>,
        /// Argon2id's cost.
        params: crate::store::Argon2Params,
    },
}

#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
impl std::fmt::Debug for OwnedProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
            Self::Keychain(kind) => f.debug_tuple("Keychain").field(kind).finish(),
            Self::Passphrase { params, .. } => f
                .debug_struct("Passphrase")
                .field("params", params)
                .finish_non_exhaustive(),
        }
    }
}

impl<S: Store + 'static> Messenger<S> {
    /// Starts a messenger around the client that `open` makes on the messenger's own
    /// thread (for stores other than a profile directory, and for tests).
    ///
    /// # Errors
    /// What `open` returns; [`Error::Internal`] if the thread cannot start.
    pub async fn with_client<F>(open: F) -> Result<Self>
    where
        F: FnOnce() -> LocalFuture<'static, Result<Client<S>>> + Send + 'static,
    {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let subscribers = Arc::new(Subscribers::default());
        let (opened, opening) = oneshot::channel();
        let (closing, closed) = watch::channel(false);
        start_actor(open, Arc::clone(&subscribers), receiver, opened, closing)?;
        let identity = match opening.await {
            Ok(Ok(identity)) => identity,
            Ok(Err(error)) => return Err(error),
            Err(_) => return Err(Error::Internal("the messenger's thread ended".into())),
        };
        Ok(Self {
            shared: Arc::new(Shared {
                jobs: Mutex::new(Some(jobs)),
                subscribers,
                identity,
                closed,
                _store: PhantomData,
            }),
        })
    }

    /// Runs `work` on the messenger's thread and returns its result. The work runs to its
    /// end even if this future is dropped.
    async fn call<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Actor<S>) -> LocalFuture<'a, Result<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job<S> = Box::new(move |actor| {
            Box::pin(async move {
                let result = match CatchUnwind(work(&mut *actor)).await {
                    Ok(result) => result,
                    Err(panic) => Err(Error::Internal(panic)),
                };
                actor.publish_client_events();
                let _ = reply.send(result);
            })
        });
        self.jobs()
            .ok_or(Error::ShutDown)?
            .send(job)
            .map_err(|_| Error::ShutDown)?;
        answer.await.map_err(|_| Error::ShutDown)?
    }

    fn jobs(&self) -> Option<mpsc::UnboundedSender<Job<S>>> {
        self.shared
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The local identity (known without a call).
    pub fn identity(&self) -> PublicIdentity {
        self.shared.identity
    }

    /// A new subscription to the events from now on.
    pub fn subscribe(&self) -> Subscription {
        self.shared.subscribers.subscribe()
    }

    /// Calls `callback` with every event from now on, in order, on a thread of the
    /// messenger's (never the caller's). A panic in `callback` is caught; the deliveries go
    /// on.
    ///
    /// # Errors
    /// [`Error::Internal`] if the delivery thread cannot start.
    pub fn on_event(&self, callback: impl Fn(Event) + Send + Sync + 'static) -> Result<()> {
        event::deliver_to(self.subscribe(), Arc::new(callback))
            .map_err(|e| Error::Internal(format!("cannot start the event thread: {e}")))
    }

    /// Turns the background work on: a sync first, then waiting reads on every queue, the
    /// outbox's retries, cover traffic (if on), prekey rotation. Answers when the first
    /// sync is done; it reads what arrived meanwhile a small batch at a time, and the
    /// messenger answers other calls between batches (events tell what arrives).
    ///
    /// # Errors
    /// Store errors of the first sync (the background work is on regardless);
    /// [`Error::ShutDown`] if the messenger shuts down before it is done.
    pub async fn start(&self) -> Result<()> {
        let caught_up = self
            .call(|actor| Box::pin(async move { Ok(actor.start().await) }))
            .await?;
        caught_up.await.map_err(|_| Error::ShutDown)?
    }

    /// Finishes every call already made, stops the background work, closes the store and
    /// ends the messenger's thread. Subscriptions end after their last event. Every handle
    /// answers [`Error::ShutDown`] afterwards. Calling it again just waits for the close.
    pub async fn shutdown(&self) -> Result<()> {
        let jobs = self
            .shared
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        // The actor finishes what is queued, then sees the queue closed and stops.
        drop(jobs);
        let mut closed = self.shared.closed.clone();
        // An error means the thread is gone already, which is just as closed.
        let _ = closed.wait_for(|closed| *closed).await;
        Ok(())
    }

    /// Reads every queue, opens and stores what arrived, sends receipts and the outbox:
    /// for apps that drive the network themselves instead of calling `start`.
    pub async fn sync(&self) -> Result<SyncReport> {
        self.call(|actor| Box::pin(actor.client.sync())).await
    }

    /// Makes a one-time invitation (a fresh queue on one of our relays), sealed on that
    /// relay too so that its short link ([`Invitation::link`]) works.
    pub async fn create_invitation(&self) -> Result<Invitation> {
        self.call(|actor| {
            actor.queues_changed();
            Box::pin(actor.client.create_invitation())
        })
        .await
    }

    /// Accepts someone's invitation: a new contact, ready once the inviter answers
    /// ([`Event::ContactReady`]).
    pub async fn accept_invitation(&self, invitation: &Invitation) -> Result<ContactId> {
        let invitation = invitation.clone();
        self.call(move |actor| {
            actor.queues_changed();
            Box::pin(async move { actor.client.accept_invitation(&invitation).await })
        })
        .await
    }

    /// Accepts an invitation link of either form ([`Client::accept_link`]: a short link is
    /// fetched from the inviter's relay first).
    pub async fn accept_link(&self, link: &InvitationLink) -> Result<ContactId> {
        let link = link.clone();
        self.call(move |actor| {
            actor.queues_changed();
            Box::pin(async move { actor.client.accept_link(&link).await })
        })
        .await
    }

    /// Sends a text. Returns its id once it is stored with its outbox entry
    /// ([`DeliveryStatus::Sending`]); the network part follows as events.
    pub async fn send_text(&self, contact: &ContactId, text: &str) -> Result<MessageId> {
        let (contact, text) = (contact.clone(), text.to_owned());
        self.call(move |actor| {
            Box::pin(async move {
                let id = actor.client.send_text(&contact, &text).await?;
                actor.publish(sending(contact, id));
                Ok(id)
            })
        })
        .await
    }

    /// Sends `source` (a file, or bytes in memory: see [`AttachmentSource`]) as an image, a
    /// file or a voice clip. Returns the message's id once it is encrypted into the
    /// profile's folder
    /// ([`DeliveryStatus::Sending`]); the upload runs in the background with
    /// [`Event::TransferProgress`], then the message is stored and sent
    /// ([`DeliveryStatus::Sent`]). If the upload fails, or the messenger shuts down first,
    /// the message is [`DeliveryStatus::Failed`] and was never stored: send it again.
    ///
    /// # Errors
    /// [`Error::UnknownContact`]; [`Error::Attachment`] if the file cannot be read or is
    /// too large; content errors for invalid fields (all before anything is uploaded).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn send_attachment(
        &self,
        contact: &ContactId,
        source: impl Into<AttachmentSource>,
        kind: AttachmentKind,
    ) -> Result<MessageId> {
        let (contact, source) = (contact.clone(), source.into());
        self.call(move |actor| {
            Box::pin(async move {
                let prepared = actor
                    .client
                    .prepare_attachment(&contact, source, kind)
                    .await?;
                let id = prepared.message_id();
                actor.publish(sending(contact, id));
                actor.upload(prepared);
                Ok(id)
            })
        })
        .await
    }

    /// Downloads the attachment of a contact's message into `destination` (written only
    /// once complete and checked). Returns its size.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn download_attachment(
        &self,
        contact: &ContactId,
        message_id: &MessageId,
        destination: &Path,
    ) -> Result<u64> {
        let (contact, message_id, destination): (ContactId, MessageId, PathBuf) =
            (contact.clone(), *message_id, destination.to_owned());
        self.call(move |actor| {
            Box::pin(async move {
                actor
                    .client
                    .download_attachment(&contact, &message_id, &destination)
                    .await
            })
        })
        .await
    }

    /// Marks these of a contact's messages read: they leave the unread count, and the
    /// contact gets an end-to-end read receipt.
    pub async fn mark_read(&self, contact: &ContactId, ids: Vec<MessageId>) -> Result<()> {
        let contact = contact.clone();
        self.call(move |actor| Box::pin(async move { actor.client.mark_read(&contact, ids).await }))
            .await
    }

    /// Deletes one message on this device ([`Client::delete_message`]): it leaves history,
    /// search and unread counts, its content is wiped, the contact keeps their copy. An
    /// attachment still uploading is given up instead (it was never sent).
    ///
    /// # Errors
    /// [`Error::UnknownContact`], [`Error::UnknownMessage`], store errors.
    pub async fn delete_message(&self, contact: &ContactId, id: &MessageId) -> Result<()> {
        let (contact, id) = (contact.clone(), *id);
        self.call(move |actor| {
            Box::pin(async move {
                if actor.cancel_upload(&contact, &id) {
                    return Ok(());
                }
                actor.client.delete_message(&contact, &id).await
            })
        })
        .await
    }

    /// Deletes a contact: its queues on the relays, then everything stored for it.
    pub async fn forget_contact(&self, contact: &ContactId) -> Result<()> {
        let contact = contact.clone();
        self.call(move |actor| {
            actor.queues_changed();
            Box::pin(async move { actor.client.forget_contact(&contact).await })
        })
        .await
    }

    /// Up to `limit` messages of a conversation from `from` (exactly `limit` when there
    /// are that many): [`HistoryFrom::Newest`] for the latest, `Before(id)` to scroll back.
    pub async fn history(
        &self,
        contact: &ContactId,
        from: HistoryFrom,
        limit: usize,
    ) -> Result<Vec<HistoryMessage>> {
        let contact = contact.clone();
        self.call(move |actor| {
            Box::pin(async move { actor.client.history_page(&contact, from, limit).await })
        })
        .await
    }

    /// One message of a conversation ([`Client::message`]).
    pub async fn message(&self, contact: &ContactId, id: &MessageId) -> Result<HistoryMessage> {
        let (contact, id) = (contact.clone(), *id);
        self.call(move |actor| Box::pin(async move { actor.client.message(&contact, &id).await }))
            .await
    }

    /// Unread messages per contact (contacts with none left out).
    pub async fn unread_counts(&self) -> Result<Vec<(ContactId, usize)>> {
        self.call(|actor| Box::pin(actor.client.unread_counts()))
            .await
    }

    /// Searches one conversation, newest first, for `query` in texts and file names.
    pub async fn search(
        &self,
        contact: &ContactId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<HistoryMessage>> {
        let (contact, query) = (contact.clone(), query.to_owned());
        self.call(move |actor| {
            Box::pin(async move { actor.client.search(&contact, &query, limit).await })
        })
        .await
    }

    /// How many of our messages no end-to-end receipt has acknowledged yet.
    pub async fn unacknowledged(&self) -> Result<usize> {
        self.call(|actor| Box::pin(actor.client.unacknowledged()))
            .await
    }

    /// Every contact.
    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        self.call(|actor| Box::pin(actor.client.contacts())).await
    }

    /// One contact.
    pub async fn contact(&self, contact: &ContactId) -> Result<Contact> {
        let contact = contact.clone();
        self.call(move |actor| Box::pin(async move { actor.client.contact(&contact).await }))
            .await
    }

    /// The safety number of a contact (digits and QR).
    pub async fn safety_number(&self, contact: &ContactId) -> Result<SafetyNumber> {
        let contact = contact.clone();
        self.call(move |actor| Box::pin(async move { actor.client.safety_number(&contact).await }))
            .await
    }

    /// Compares a scanned safety-number QR code with the contact's.
    pub async fn compare_safety_code(
        &self,
        contact: &ContactId,
        scanned: &[u8],
    ) -> Result<Comparison> {
        let (contact, scanned) = (contact.clone(), scanned.to_vec());
        self.call(move |actor| {
            Box::pin(async move { actor.client.compare_safety_code(&contact, &scanned).await })
        })
        .await
    }

    /// Marks a contact verified (after comparing safety numbers).
    pub async fn mark_verified(&self, contact: &ContactId) -> Result<()> {
        let contact = contact.clone();
        self.call(move |actor| Box::pin(async move { actor.client.mark_verified(&contact).await }))
            .await
    }

    /// Names a contact (local only, never sent); `None` or a blank name removes it.
    pub async fn rename_contact(&self, contact: &ContactId, name: Option<String>) -> Result<()> {
        let contact = contact.clone();
        self.call(move |actor| {
            Box::pin(async move { actor.client.rename_contact(&contact, name).await })
        })
        .await
    }

    /// The relays, route and cover traffic in force.
    pub async fn network_settings(&self) -> Result<NetworkSettings> {
        self.call(|actor| {
            let settings = actor.client.settings();
            let current = NetworkSettings {
                relays: settings.relays.clone(),
                route: settings.route,
                cover: settings.cover,
                gateways: settings.gateways.clone(),
            };
            Box::pin(async move { Ok(current) })
        })
        .await
    }

    /// Changes the relays, the route, cover traffic or the WebSocket gateways at runtime
    /// (see [`Client::reconfigure`]); the waiting reads choose their proxy anew. The
    /// relays, route and cover traffic are saved with the profile: an opening that names
    /// no relay uses them.
    ///
    /// # Errors
    /// [`Error::Transport`] for settings that cannot work (no relay, fewer relays than
    /// hops, invalid cover rates); nothing changes then. A store error saving them (they
    /// are in force regardless).
    pub async fn set_network_settings(&self, settings: NetworkSettings) -> Result<()> {
        self.call(move |actor| {
            let result = actor.client.reconfigure(
                settings.relays,
                settings.route,
                settings.cover,
                settings.gateways,
            );
            actor.restart_readers();
            Box::pin(async move {
                result?;
                actor.client.save_network_settings().await
            })
        })
        .await
    }

    /// An app setting kept with the profile, encrypted with the rest ([`Client::app_setting`]).
    pub async fn app_setting(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let name = name.to_owned();
        self.call(move |actor| Box::pin(async move { actor.client.app_setting(&name).await }))
            .await
    }

    /// Stores (`Some`) or removes (`None`) an app setting kept with the profile.
    pub async fn set_app_setting(&self, name: &str, value: Option<Vec<u8>>) -> Result<()> {
        let name = name.to_owned();
        self.call(move |actor| {
            Box::pin(async move { actor.client.set_app_setting(&name, value).await })
        })
        .await
    }

    /// Accepts a contact's new identity key: its held messages flow, its queue is read
    /// again.
    pub async fn accept_identity_key(&self, contact: &ContactId) -> Result<()> {
        let contact = contact.clone();
        self.call(move |actor| {
            actor.queues_changed();
            Box::pin(async move { actor.client.accept_identity_key(&contact).await })
        })
        .await
    }
}

/// How a messenger reaches the network: the part of [`ClientSettings`] an app may change
/// while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSettings {
    /// The relays new queues are made on (and onion hops and proxies are chosen from).
    pub relays: Vec<crate::relay::RelayAddress>,
    /// How packets travel.
    pub route: crate::client::SendRoute,
    /// Cover traffic, or `None` for off.
    pub cover: Option<crate::client::CoverTraffic>,
    /// In the browser, the relays' WebSocket gateways (see [`ClientSettings::gateways`]);
    /// natively unused and empty.
    pub gateways: crate::transport::Gateways,
}

fn sending(contact: ContactId, id: MessageId) -> Event {
    Event::StatusChanged {
        contact,
        message_ids: vec![id],
        status: DeliveryStatus::Sending,
    }
}

// The handle crosses threads whatever the store (the store itself never does).
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Messenger<crate::store::MemoryStore>>();
};

/// Where a messenger's client is opened: `Ok` with its public identity, or why not.
type Opened = oneshot::Sender<Result<PublicIdentity>>;

/// Opens the client with `open` and runs the actor on it until the jobs end, then tells
/// `closing`; whatever `open` gives goes to `opened` first.
async fn open_and_run<S, F>(
    open: F,
    subscribers: Arc<Subscribers>,
    jobs: mpsc::UnboundedReceiver<Job<S>>,
    opened: Opened,
) where
    S: Store + 'static,
    F: FnOnce() -> LocalFuture<'static, Result<Client<S>>>,
{
    let client = match CatchUnwind(open()).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            let _ = opened.send(Err(error));
            return;
        }
        Err(panic) => {
            let _ = opened.send(Err(Error::Internal(panic)));
            return;
        }
    };
    if opened.send(Ok(client.identity().public())).is_err() {
        return;
    }
    actor::run(client, subscribers, jobs).await;
}

/// Natively: the messenger's own thread, with a single-threaded tokio runtime.
#[cfg(not(target_arch = "wasm32"))]
fn start_actor<S, F>(
    open: F,
    subscribers: Arc<Subscribers>,
    jobs: mpsc::UnboundedReceiver<Job<S>>,
    opened: Opened,
    closing: watch::Sender<bool>,
) -> Result<()>
where
    S: Store + 'static,
    F: FnOnce() -> LocalFuture<'static, Result<Client<S>>> + Send + 'static,
{
    std::thread::Builder::new()
        .name("sotto-messenger".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = opened.send(Err(Error::Internal(format!(
                        "cannot start the messenger's runtime: {error}"
                    ))));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, open_and_run(open, subscribers, jobs, opened));
            drop(local);
            drop(runtime);
            // Telling the waiters it closed is the thread's last act; it may call into
            // a foreign runtime (a waker), which an exiting host must let finish.
            let _ending = ending::Ending::begin();
            let _ = closing.send(true);
        })
        .map(drop)
        .map_err(|e| Error::Internal(format!("cannot start the messenger's thread: {e}")))
}

/// In the browser: a task on the page's (or worker's) event loop.
#[cfg(target_arch = "wasm32")]
fn start_actor<S, F>(
    open: F,
    subscribers: Arc<Subscribers>,
    jobs: mpsc::UnboundedReceiver<Job<S>>,
    opened: Opened,
    closing: watch::Sender<bool>,
) -> Result<()>
where
    S: Store + 'static,
    F: FnOnce() -> LocalFuture<'static, Result<Client<S>>> + Send + 'static,
{
    // Aborted never: it ends when the jobs end.
    let _task = crate::runtime::spawn_local(async move {
        open_and_run(open, subscribers, jobs, opened).await;
        let _ = closing.send(true);
    });
    Ok(())
}
