//! The facade the shells wrap: one profile, talking to its contacts through relays.
//!
//! A [`Client`] owns a [`Profile`] and the connections to the relays its queues live on.
//! It adds the network to the sans-I/O layers below it (`contacts`, `handshake`):
//!
//! - **Invitations**: [`Client::create_invitation`] makes a queue on one of the client's
//!   relays and an invitation for it; [`Client::accept_invitation`] makes a queue of our
//!   own, accepts, and writes the acceptance into the inviter's queue. The inviter's
//!   [`Client::sync`] answers the acceptance and deletes the used invitation's queue.
//! - **Sending** ([`Client::send_text`] and the attachment kinds) returns as soon as the
//!   message is stored with its outbox entry; the packet is written to the contact's queue
//!   at once if the relay answers, otherwise at the next sync. The outbox re-sends, with
//!   backoff, whatever no end-to-end receipt has acknowledged.
//! - **Syncing** ([`Client::sync`]) reads every queue, opens and stores each packet, sends
//!   end-to-end receipts, acknowledges the packets to their relays (only after they are
//!   stored), and transmits what the outbox holds. Delivery is at least once; the profile
//!   shows each message once and in order.
//! - **Events** ([`Client::take_events`]) tell the app what happened.
//!
//! Time comes from a [`Clock`] (the system clock unless a test or a shell supplies one),
//! randomness from the operating system.

#[cfg(not(target_arch = "wasm32"))]
mod attachments;
mod cover;
mod events;
mod history;
pub mod json;
mod route;
mod saved;
mod sync;
mod transfer;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

#[cfg(not(target_arch = "wasm32"))]
pub use attachments::{AttachmentSource, PreparedAttachment};
pub use cover::{CoverReport, CoverTraffic, MAX_LATENESS};
pub use events::{ClientEvent, SyncReport, TransferDirection};
pub use history::{HistoryFrom, HistoryMessage, HistoryStatus, MAX_HISTORY_PAGE};
pub use route::{
    DEFAULT_MEAN_DELAY, MAX_HOP_DELAY, PATH_ATTEMPTS, SPHINX_KEY_CACHE_SECONDS, SendRoute,
};
pub use saved::{APP_PREFIX, NETWORK, SavedNetwork};
pub use sync::{CATCH_UP_BATCH, RECEIVE_BATCH};
pub use transfer::{
    AttachmentDownload, AttachmentKind, AttachmentUpload, UploadedAttachment, attachment_of,
};

use crate::contacts::{Contact, ContactId};
use crate::content::{Body, Content, MessageId, Receipt, ReceiptKind};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::invitation::{Invitation, InvitationError, InvitationLink, SEALED_LEN, ShortInvitation};
use crate::profile::Profile;
use crate::relay::OwnQueue;
use crate::relay::{ErrorKind, RelayAddress, SendCapability};
use crate::safety::{Comparison, SafetyNumber};
use crate::store::{MessageDirection, MessageStatus, Store};
use crate::transport::chunks::{download_part, upload_part};
use crate::transport::{RelayClient, TransportError, is_transient};

/// Where the time comes from. Tests pass a clock they control; a browser shell passes one
/// reading the JavaScript clock (`SystemTime::now` is unavailable on wasm32).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// How a client reaches the network.
#[derive(Clone)]
pub struct ClientSettings {
    /// The relays this client makes its own queues on (each new queue on one of them, at
    /// random). At least one; left empty when opening a profile, the relays, route and
    /// cover traffic saved with the profile are used ([`Client::with_profile`]).
    pub relays: Vec<RelayAddress>,
    /// The name offered to new contacts in acceptances and answers (may be empty).
    pub display_name: String,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// How packets travel to contacts' relays: onion paths of 3 hops by default.
    pub route: SendRoute,
    /// Cover traffic ([`CoverTraffic`]); off (`None`) unless the app turns it on — a
    /// desktop app would, a battery-powered one would ask its user.
    pub cover: Option<CoverTraffic>,
    /// In the browser, the WebSocket gateways of relays (`docs/PROTOCOL.md` §21): every
    /// connection goes through one of them. Natively unused.
    pub gateways: crate::transport::Gateways,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("relays", &self.relays)
            .field("display_name", &self.display_name)
            .field("route", &self.route)
            .field("cover", &self.cover)
            .field("gateways", &self.gateways)
            .finish_non_exhaustive()
    }
}

impl ClientSettings {
    /// Settings with the system clock and the default route (3-hop onion paths).
    pub fn new(relays: Vec<RelayAddress>, display_name: impl Into<String>) -> Self {
        Self {
            relays,
            display_name: display_name.into(),
            clock: Arc::new(SystemClock),
            route: SendRoute::default(),
            cover: None,
            gateways: crate::transport::Gateways::new(),
        }
    }

    /// The same settings with another route.
    pub fn with_route(mut self, route: SendRoute) -> Self {
        self.route = route;
        self
    }

    /// The same settings with cover traffic on at these rates.
    pub fn with_cover(mut self, cover: CoverTraffic) -> Self {
        self.cover = Some(cover);
        self
    }

    /// The same settings with these WebSocket gateways (the browser's way to relays).
    pub fn with_gateways(mut self, gateways: crate::transport::Gateways) -> Self {
        self.gateways = gateways;
        self
    }
}

/// Whether `relay` can carry our reads of other relays: any relay natively, one with a
/// WebSocket gateway (`gateways`) in the browser.
fn can_proxy(gateways: &crate::transport::Gateways, relay: &RelayAddress) -> bool {
    cfg!(not(target_arch = "wasm32")) || gateways.of(relay).is_some()
}

/// A packet sealed for a contact whose transmission failed for a passing reason: written at
/// the next sync. (If the process ends first, the outbox re-seals the message later.)
#[derive(Debug, Clone)]
struct Unsent {
    contact: ContactId,
    destination: SendCapability,
    packet: Vec<u8>,
}

/// One profile on the network. See the module documentation.
pub struct Client<S: Store> {
    profile: Profile<S>,
    settings: ClientSettings,
    relays: HashMap<RelayAddress, RelayClient>,
    /// Clients of relays reached through a proxy relay, by (target, proxy): a `CONNECT`
    /// tunnel natively, a WebSocket tunnel in the browser.
    tunnels: HashMap<(RelayAddress, RelayAddress), RelayClient>,
    /// The relay our reads go through, while it works (`docs/PROTOCOL.md` §19).
    proxy: Option<RelayAddress>,
    rng: StdRng,
    events: VecDeque<ClientEvent>,
    unsent: Vec<Unsent>,
    /// Where attachment transfers keep their ciphertext (the profile directory's
    /// `attachments/`; the system's temporary folder when unset).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    attachments_dir: Option<std::path::PathBuf>,
    /// Relays that failed for a passing reason since the last sync began: not tried again
    /// until the next sync (one report, one timeout per relay, however many queues and
    /// packets it serves). A call the user makes (an invitation made or accepted) starts
    /// afresh: the network may well be back.
    down: HashSet<RelayAddress>,
    /// Relays' Sphinx keys, as last fetched (signatures checked).
    sphinx_keys: HashMap<RelayAddress, route::FetchedKeys>,
    /// Cover traffic's schedule and the packets waiting for its payload slots.
    cover: Option<cover::CoverState>,
}

impl<S: Store> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.settings)
            .field("pending_events", &self.events.len())
            .field("unsent", &self.unsent.len())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Client<S> {
    /// Creates a new profile (a new identity) in an empty `store` and a client for it.
    /// `settings.display_name` becomes the identity's local label.
    ///
    /// # Errors
    /// As [`Profile::create`] and [`Client::new`].
    pub async fn with_new_profile(store: S, settings: ClientSettings) -> Result<Self> {
        let name = (!settings.display_name.is_empty()).then(|| settings.display_name.clone());
        let mut rng = StdRng::from_os_rng();
        let now = settings.clock.now();
        Self::with_profile(Profile::create(store, name, now, &mut rng).await?, settings).await
    }

    /// A client for `profile`, on the network settings saved with it when `settings`
    /// names no relay (see [`ClientSettings::relays`]), and offering the identity's own
    /// name to new contacts when `settings` has none; the network settings in force are
    /// then saved with the profile, for the next opening.
    ///
    /// # Errors
    /// As [`Client::new`]: [`Error::Transport`] when no relay is named nor saved; store
    /// errors.
    pub async fn with_profile(profile: Profile<S>, mut settings: ClientSettings) -> Result<Self> {
        let from_saved = settings.relays.is_empty();
        if from_saved && let Some(saved) = SavedNetwork::load(profile.store()).await? {
            settings.relays = saved.relays;
            settings.route = saved.route;
            settings.cover = saved.cover;
        }
        if settings.display_name.is_empty()
            && let Some(name) = profile.identity().display_name()
        {
            settings.display_name = name.to_owned();
        }
        let client = Self::new(profile, settings)?;
        // Settings named by the app are kept for the next opening; saved ones are there.
        if !from_saved {
            client.save_network_settings().await?;
        }
        Ok(client)
    }

    /// Saves the network settings in force with the profile (done by every opening and
    /// by [`Messenger::set_network_settings`](crate::Messenger::set_network_settings)).
    ///
    /// # Errors
    /// Store errors.
    pub async fn save_network_settings(&self) -> Result<()> {
        SavedNetwork {
            relays: self.settings.relays.clone(),
            route: self.settings.route,
            cover: self.settings.cover,
        }
        .save(self.profile.store())
        .await
    }

    /// An app setting kept with the profile ([`ChangeSet::settings`](crate::store::ChangeSet)
    /// under [`APP_PREFIX`]): the core stores it, encrypted with the rest, and never reads
    /// it.
    ///
    /// # Errors
    /// Store errors.
    pub async fn app_setting(&self, name: &str) -> Result<Option<Vec<u8>>> {
        saved::app_setting(self.profile.store(), name).await
    }

    /// Stores (`Some`) or removes (`None`) an app setting kept with the profile.
    ///
    /// # Errors
    /// Store errors.
    pub async fn set_app_setting(&self, name: &str, value: Option<Vec<u8>>) -> Result<()> {
        saved::set_app_setting(self.profile.store(), name, value).await
    }
}

#[cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]
impl Client<crate::store::SqlCipherStore> {
    /// Creates a new passphrase-protected profile `name` in SQLite's VFS
    /// ([`VfsProfiles::create`](crate::store::VfsProfiles::create)) and a client for it.
    ///
    /// # Errors
    /// As `VfsProfiles::create` and [`Client::with_new_profile`].
    pub async fn create_in_vfs(
        name: &str,
        passphrase: &str,
        params: crate::store::Argon2Params,
        settings: ClientSettings,
    ) -> Result<Self> {
        let store = crate::store::VfsProfiles::create(name, passphrase, params)?;
        Self::with_new_profile(store, settings).await
    }

    /// Opens profile `name` of SQLite's VFS with its passphrase
    /// ([`VfsProfiles::open`](crate::store::VfsProfiles::open)) and makes a client for it.
    ///
    /// # Errors
    /// As `VfsProfiles::open`: a wrong passphrase is [`crate::store::KeyError::WrongPassphrase`].
    pub async fn open_in_vfs(
        name: &str,
        passphrase: &str,
        settings: ClientSettings,
    ) -> Result<Self> {
        let store = crate::store::VfsProfiles::open(name, passphrase)?;
        Self::with_profile(Profile::load(store).await?, settings).await
    }
}

#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
impl Client<crate::store::SqlCipherStore> {
    /// Creates a new profile (a new identity) in an empty profile directory and a client
    /// for it. `settings.display_name` becomes the identity's local label.
    ///
    /// # Errors
    /// As [`ProfileDirectory::create`](crate::store::ProfileDirectory::create); the
    /// directory is left as it was on any error.
    pub async fn create(
        directory: &crate::store::ProfileDirectory,
        protection: crate::store::Protection<'_>,
        settings: ClientSettings,
    ) -> Result<Self> {
        let store = directory.create(protection)?;
        match Self::with_new_profile(store, settings).await {
            Ok(client) => Ok(client.with_attachments_dir(directory)),
            Err(error) => {
                let _ = directory.delete();
                Err(error)
            }
        }
    }

    /// Opens the profile in a profile directory (`passphrase` for a passphrase-protected
    /// one) and makes a client for it.
    ///
    /// # Errors
    /// As [`ProfileDirectory::open`](crate::store::ProfileDirectory::open); nothing on disk
    /// changes on an error.
    pub async fn open(
        directory: &crate::store::ProfileDirectory,
        passphrase: Option<&str>,
        settings: ClientSettings,
    ) -> Result<Self> {
        let store = directory.open(passphrase)?;
        let profile = Profile::load(store).await?;
        Ok(Self::with_profile(profile, settings)
            .await?
            .with_attachments_dir(directory))
    }

    /// Protects the profile with a new key: a new passphrase, or a move between the
    /// keychain and a passphrase; nothing stored changes
    /// ([`ProfileDirectory::change_protection`](crate::store::ProfileDirectory::change_protection),
    /// crash-safe). The next opening needs what `protection` says.
    ///
    /// # Errors
    /// Making the new key ([`Error::Key`]), re-encrypting ([`Error::Store`]); on an error
    /// the old protection stays in force.
    pub fn change_protection(&self, protection: crate::store::Protection<'_>) -> Result<()> {
        let store = self.profile.store();
        let root = store.path().parent().ok_or_else(|| {
            Error::Store(crate::store::StoreError::Backend(
                "the database has no profile directory".into(),
            ))
        })?;
        crate::store::ProfileDirectory::new(root).change_protection(store, protection)
    }

    fn with_attachments_dir(mut self, directory: &crate::store::ProfileDirectory) -> Self {
        self.attachments_dir = Some(directory.attachments_dir());
        self
    }
}

impl<S: Store> Client<S> {
    /// A client for `profile`.
    ///
    /// # Errors
    /// [`Error::Transport`] if `settings` names no relay.
    pub fn new(profile: Profile<S>, settings: ClientSettings) -> Result<Self> {
        if settings.relays.is_empty() {
            return Err(TransportError::Unreachable("no relay configured".into()).into());
        }
        settings.route.check(settings.relays.len())?;
        let cover = settings
            .cover
            .map(|cover| cover::CoverState::new(cover, settings.route))
            .transpose()?;
        Ok(Self {
            profile,
            settings,
            relays: HashMap::new(),
            tunnels: HashMap::new(),
            proxy: None,
            rng: StdRng::from_os_rng(),
            events: VecDeque::new(),
            unsent: Vec::new(),
            attachments_dir: None,
            down: HashSet::new(),
            sphinx_keys: HashMap::new(),
            cover,
        })
    }

    /// The profile behind this client (for what the facade does not wrap).
    pub fn profile(&self) -> &Profile<S> {
        &self.profile
    }

    /// The local identity.
    pub fn identity(&self) -> &Identity {
        self.profile.identity()
    }

    /// The events queued since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<ClientEvent> {
        self.events.drain(..).collect()
    }

    /// Makes a one-time invitation: a fresh queue on one of our relays and the invitation
    /// for it. Share it as [`Invitation::to_uri`] or [`Invitation::qr_png`] /
    /// [`Invitation::qr_svg`]; the acceptance arrives at a later [`Client::sync`]
    /// ([`ClientEvent::ContactJoined`]).
    ///
    /// # Errors
    /// [`Error::Transport`] if the relay cannot make the queue; store errors.
    pub async fn create_invitation(&mut self) -> Result<Invitation> {
        self.down.clear();
        let queue = self.create_queue().await?;
        let made = match self.profile.create_invitation(&queue, &mut self.rng).await {
            Ok(invitation) => self.store_short(&queue, invitation).await,
            Err(error) => Err(error),
        };
        if made.is_err() {
            self.delete_queue_quietly(&queue).await;
        }
        made
    }

    /// Seals `invitation` into its queue's relay's chunk store, so that the short link
    /// ([`Invitation::link`]) stands for it (`docs/PROTOCOL.md` §16.1).
    async fn store_short(
        &mut self,
        queue: &OwnQueue,
        invitation: Invitation,
    ) -> Result<Invitation> {
        let short = short_invitation(queue);
        let sealed = short.seal(&invitation, &mut self.rng)?;
        let relay = self.relay(&queue.relay)?;
        upload_part(&relay, &short.chunk_seed(), 0, bytes::Bytes::from(sealed)).await?;
        Ok(invitation.with_short(short))
    }

    /// Accepts an invitation given as a link of either form ([`InvitationLink`]): a short
    /// one is first fetched from the inviter's relay (through the proxy relay) and opened.
    /// Then as [`Client::accept_invitation`].
    ///
    /// # Errors
    /// [`InvitationError::Unavailable`] when the relay no longer holds a short link's
    /// invitation (used or expired); [`InvitationError::Malformed`] when what it holds does
    /// not open with the link; [`Error::Transport`] when it cannot be reached; then as
    /// [`Client::accept_invitation`].
    pub async fn accept_link(&mut self, link: &InvitationLink) -> Result<ContactId> {
        let invitation = self.resolve_link(link).await?;
        self.accept_invitation(&invitation).await
    }

    /// The invitation a link of either form stands for, without accepting it: a short
    /// link's invitation is fetched from the inviter's relay (through the proxy relay). An
    /// app can show who invites ([`Invitation::inviter`]) before the person accepts.
    ///
    /// # Errors
    /// As [`Client::accept_link`] before it accepts: [`InvitationError::Unavailable`],
    /// [`InvitationError::Malformed`], [`Error::Transport`].
    pub async fn resolve_link(&mut self, link: &InvitationLink) -> Result<Invitation> {
        match link {
            InvitationLink::Full(invitation) => Ok((**invitation).clone()),
            InvitationLink::Short(short) => self.fetch_short(short).await,
        }
    }

    /// The invitation a short link stands for, fetched from its relay.
    async fn fetch_short(&mut self, short: &ShortInvitation) -> Result<Invitation> {
        self.down.clear();
        let relay = self.relay(short.relay())?;
        let mut sealed = Vec::with_capacity(SEALED_LEN);
        match download_part(
            &relay,
            &short.chunk_seed(),
            0,
            SEALED_LEN as u64,
            &mut sealed,
        )
        .await
        {
            Ok(()) => Ok(short.open(&sealed)?),
            Err(TransportError::Relay(e)) if e.kind == ErrorKind::UnknownChunk => {
                Err(InvitationError::Unavailable.into())
            }
            Err(TransportError::InvalidAnswer(_)) => Err(InvitationError::Malformed(
                "the relay holds something else than a sealed invitation".into(),
            )
            .into()),
            Err(other) => Err(other.into()),
        }
    }

    /// Accepts an invitation: makes a queue of our own for the inviter to write to, starts
    /// the session, adds the inviter as a contact and writes the acceptance into the
    /// invitation's queue. The contact is complete once the inviter answers
    /// ([`ClientEvent::ContactAccepted`]); messages sent to it before are held, then flow.
    ///
    /// # Errors
    /// [`Error::Invitation`] for an invitation of our own or of a known contact, and
    /// [`InvitationError::AlreadyUsed`] when the inviter's relay no longer has the
    /// invitation's queue (it is deleted once the invitation is used); the contact made
    /// before the relay refused is then deleted again, with its queue.
    /// [`Error::Transport`] when our relay cannot make our queue. If the inviter's relay
    /// cannot be reached, the contact stays and the acceptance is written at the next sync
    /// (or, after a restart, by the outbox, which re-sends it until the inviter answers).
    pub async fn accept_invitation(&mut self, invitation: &Invitation) -> Result<ContactId> {
        self.down.clear();
        let queue = self.create_queue().await?;
        let now = self.now();
        let accepted = match self
            .profile
            .accept_invitation(
                invitation,
                &queue,
                &self.settings.display_name,
                now,
                &mut self.rng,
            )
            .await
        {
            Ok(accepted) => accepted,
            Err(error) => {
                self.delete_queue_quietly(&queue).await;
                return Err(error);
            }
        };
        match self
            .write_packet(&accepted.contact, &accepted.destination, &accepted.packet)
            .await
        {
            Ok(()) => {}
            Err(error) if is_transient(&error) => {
                self.keep_unsent(&accepted.contact, accepted.destination, accepted.packet);
                self.report_network(invitation.queue().relay.clone(), &error);
            }
            Err(TransportError::Relay(api)) if api.kind == ErrorKind::UnknownQueue => {
                // The invitation was used (its queue is gone): undo the half-made contact.
                self.forget_contact(&accepted.contact).await?;
                return Err(InvitationError::AlreadyUsed.into());
            }
            Err(error) => return Err(error.into()),
        }
        Ok(accepted.contact)
    }

    /// Sends a text message. Returns its id once it is stored with its outbox entry; see
    /// [`Client::send`].
    pub async fn send_text(&mut self, contact: &ContactId, text: &str) -> Result<MessageId> {
        self.send(contact, Body::Text(text.to_owned())).await
    }

    /// Sends a message body (attachment bodies must point at uploaded attachments). Returns
    /// its id once the message is stored with its outbox entry, and writes the packet to
    /// the contact's queue right away if its relay answers; otherwise the next
    /// [`Client::sync`] does. Sending to a contact with a pending key change, or one still
    /// awaiting the inviter's answer, is held and flows later.
    ///
    /// # Errors
    /// [`Error::UnknownContact`], content errors for an invalid body, store errors. A relay
    /// that cannot be reached is not an error (the message waits in the outbox;
    /// [`ClientEvent::NetworkProblem`] says so).
    pub async fn send(&mut self, contact: &ContactId, body: Body) -> Result<MessageId> {
        let now = self.now();
        let shown = is_user_content(&body);
        let outgoing = self.profile.send(contact, body, now, &mut self.rng).await?;
        if let Some(packet) = outgoing.packet
            && self.transmit(contact, packet).await?
            && shown
        {
            self.sent(contact, outgoing.id);
        }
        Ok(outgoing.id)
    }

    /// Tells the app that a message of its went to the network ([`ClientEvent::Sent`]).
    /// With cover traffic on, a written packet only waits for a payload slot: not sent yet,
    /// and not reported.
    fn sent(&mut self, contact: &ContactId, message_id: MessageId) {
        if self.cover.is_none() {
            self.events.push_back(ClientEvent::Sent {
                contact: contact.clone(),
                message_id,
            });
        }
    }

    /// Deletes a contact: its queues on their relays (best effort: a relay that cannot be
    /// reached lets them expire), then everything stored for it, and the packets waiting
    /// for it. Nothing more reaches the app from it; what it sends is never read.
    ///
    /// # Errors
    /// [`Error::UnknownContact`], store errors.
    pub async fn forget_contact(&mut self, contact: &ContactId) -> Result<()> {
        self.profile.contact(contact).await?;
        let theirs: Vec<OwnQueue> = self
            .profile
            .store()
            .receive_queues()
            .await?
            .iter()
            .filter(|q| q.contact.as_deref() == Some(contact.as_str()))
            .map(OwnQueue::from_record)
            .collect::<Result<_>>()?;
        for queue in &theirs {
            self.delete_queue_quietly(queue).await;
        }
        self.unsent.retain(|u| &u.contact != contact);
        if let Some(cover) = &mut self.cover {
            cover.forget(contact);
        }
        self.profile.forget_contact(contact).await?;
        #[cfg(not(target_arch = "wasm32"))]
        self.remove_received(contact, None);
        Ok(())
    }

    /// Marks these of a contact's messages read: stored as read here (they leave the
    /// unread count), then the contact is told with an end-to-end receipt. Ids that are
    /// not the contact's shown messages are left out of both.
    ///
    /// # Errors
    /// [`Error::UnknownContact`], store errors.
    pub async fn mark_read(&mut self, contact: &ContactId, ids: Vec<MessageId>) -> Result<()> {
        self.profile.contact(contact).await?;
        let mut changes = crate::store::ChangeSet::default();
        let mut read = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(mut message) = self
                .profile
                .store()
                .load_message(contact.as_str(), MessageDirection::Incoming, &id.to_bytes())
                .await?
            else {
                continue;
            };
            if message.deleted {
                continue;
            }
            match message.status {
                MessageStatus::Shown => {
                    message.status = MessageStatus::Read;
                    changes.put_message(message);
                    read.push(id);
                }
                // Read before: told again (a lost receipt is made good), nothing to store.
                MessageStatus::Read => read.push(id),
                _ => {}
            }
        }
        if !changes.is_empty() {
            self.profile.store().apply(changes).await?;
        }
        for batch in read.chunks(crate::content::MAX_RECEIPT_IDS) {
            let receipt = Receipt {
                kind: ReceiptKind::Read,
                message_ids: batch.to_vec(),
            };
            self.send(contact, Body::Receipt(receipt)).await?;
        }
        Ok(())
    }

    /// The newest `limit` messages of a conversation, newest first, with direction and
    /// status (receipts and contact-accept frames left out; exactly `limit` when there are
    /// that many). [`Client::history_page`] pages further, with typed messages.
    pub async fn history(
        &self,
        contact: &ContactId,
        limit: usize,
    ) -> Result<Vec<(MessageDirection, MessageStatus, Content)>> {
        Ok(self
            .history_page(contact, HistoryFrom::Newest, limit)
            .await?
            .into_iter()
            .map(|m| (m.direction, m.status, m.content))
            .collect())
    }

    /// How many of our messages no end-to-end receipt has acknowledged yet (the outbox).
    pub async fn unacknowledged(&self) -> Result<usize> {
        Ok(self.profile.store().outbox().await?.len())
    }

    /// Every contact.
    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        self.profile.contacts().await
    }

    /// One contact.
    pub async fn contact(&self, contact: &ContactId) -> Result<Contact> {
        self.profile.contact(contact).await
    }

    /// The safety number of a contact (digits and QR), to compare out of band.
    pub async fn safety_number(&self, contact: &ContactId) -> Result<SafetyNumber> {
        self.profile.safety_number(contact).await
    }

    /// Compares a scanned safety-number QR code with the contact's.
    pub async fn compare_safety_code(
        &self,
        contact: &ContactId,
        scanned: &[u8],
    ) -> Result<Comparison> {
        self.profile.compare_safety_code(contact, scanned).await
    }

    /// Marks a contact verified (after comparing safety numbers).
    pub async fn mark_verified(&self, contact: &ContactId) -> Result<()> {
        self.profile.mark_verified(contact).await
    }

    /// Deletes one message on this device: see [`Profile::delete_message`].
    ///
    /// # Errors
    /// [`Error::UnknownContact`], [`Error::UnknownMessage`], store errors.
    pub async fn delete_message(&self, contact: &ContactId, id: &MessageId) -> Result<()> {
        self.profile.delete_message(contact, id).await?;
        #[cfg(not(target_arch = "wasm32"))]
        self.remove_received(contact, Some(id));
        Ok(())
    }

    /// Names a contact (local only); `None` or a blank name removes the name.
    pub async fn rename_contact(&self, contact: &ContactId, name: Option<String>) -> Result<()> {
        self.profile.rename_contact(contact, name).await
    }

    /// Changes the relays, the route, cover traffic or (in the browser) the relays'
    /// WebSocket gateways while running. New queues go to the new relays; existing queues
    /// stay where they are (their contacts hold their send capabilities). Packets waiting
    /// for a cover slot are sent at once on the new route when cover traffic is turned off;
    /// cover traffic starts a fresh schedule.
    ///
    /// # Errors
    /// [`Error::Transport`] when the settings name no relay or fewer relays than the
    /// route's hops, or the cover rates are invalid; nothing changes then.
    pub fn reconfigure(
        &mut self,
        relays: Vec<RelayAddress>,
        route: SendRoute,
        cover: Option<CoverTraffic>,
        gateways: crate::transport::Gateways,
    ) -> Result<()> {
        if relays.is_empty() {
            return Err(TransportError::Unreachable("no relay configured".into()).into());
        }
        route.check(relays.len())?;
        let new_cover = cover
            .map(|c| cover::CoverState::new(c, route))
            .transpose()?;
        let waiting = self
            .cover
            .take()
            .map(cover::CoverState::into_waiting)
            .unwrap_or_default();
        self.settings.relays = relays;
        self.settings.route = route;
        self.settings.cover = cover;
        self.settings.gateways = gateways;
        self.cover = new_cover;
        self.proxy = None;
        self.down.clear();
        // Real packets that waited for a payload slot go out at the next transmission, on
        // the new route or in the new schedule's slots.
        for (contact, destination, packet) in waiting {
            self.keep_unsent(&contact, destination, packet);
        }
        Ok(())
    }

    /// Accepts a contact's new identity key: its held messages flow and its queue is read
    /// again at the next sync.
    pub async fn accept_identity_key(&self, contact: &ContactId) -> Result<()> {
        self.profile.accept_identity_key(contact).await
    }

    fn now(&self) -> SystemTime {
        self.settings.clock.now()
    }

    /// The settings this client runs with.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// The queues this profile reads (contacts' and open invitations'), for waiting reads.
    pub async fn own_queues(&self) -> Result<Vec<OwnQueue>> {
        self.profile.own_queues().await
    }

    /// The client that reads `queue` (through the proxy relay on an onion route), for a
    /// waiting read ([`RelayClient::next_waiting`]) whose message goes to
    /// [`Client::receive_read`].
    ///
    /// # Errors
    /// [`Error::Transport`] when no relay is left to carry the read.
    pub fn reader(&mut self, queue: &OwnQueue) -> Result<RelayClient> {
        self.relay(&queue.relay)
    }

    /// Reports a failed waiting read of a queue on `relay` as a network problem (once per
    /// relay until the next sync) and lets the next read choose its proxy anew.
    pub fn waiting_read_failed(&mut self, relay: RelayAddress, error: &TransportError) {
        self.report_network(relay, error);
    }

    /// Forgets which relays failed (they are tried again): what a sync does first, for the
    /// background work's retries between syncs.
    pub fn retry_relays(&mut self) {
        self.down.clear();
    }

    /// When the outbox has something to transmit next: now for packets that failed for a
    /// passing reason, else the earliest retry time; `None` when nothing waits.
    ///
    /// # Errors
    /// Store errors.
    pub async fn next_send_due(&self) -> Result<Option<SystemTime>> {
        if !self.unsent.is_empty() {
            return Ok(Some(self.now()));
        }
        let earliest = self.profile.store().next_outbox_attempt().await?;
        Ok(earliest.map(|ms| std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)))
    }

    /// When cover traffic next has something to send (`None` when it is off; now when it
    /// has not started).
    pub fn next_cover_due(&self) -> Option<SystemTime> {
        self.settings.cover?;
        let next = self.cover.as_ref().and_then(cover::CoverState::next_due);
        Some(next.unwrap_or_else(|| self.now()))
    }

    /// Replaces the signed and Kyber prekeys that are due and deletes expired ones (the
    /// handle's background work does this daily).
    ///
    /// # Errors
    /// Store errors.
    pub async fn rotate_prekeys(
        &mut self,
        policy: crate::prekeys::RotationPolicy,
    ) -> Result<crate::prekeys::RotationOutcome> {
        let now = self.now();
        self.profile
            .rotate_prekeys(policy, now, &mut self.rng)
            .await
    }

    /// The client for our own business with the relay at `address`: creating, reading,
    /// acknowledging and deleting our queues, moving attachment chunks. On an onion route
    /// with another relay to go through, that is the relay reached through our proxy relay
    /// (`docs/PROTOCOL.md` §19; in the browser a WebSocket tunnel of the proxy, §21), so
    /// that it never sees our address; on the direct route (or a one-relay list) it is the
    /// relay itself.
    fn relay(&mut self, address: &RelayAddress) -> Result<RelayClient> {
        if matches!(self.settings.route, SendRoute::Onion { .. }) && self.settings.relays.len() > 1
        {
            let proxy = self.proxy_for(address)?;
            let key = (address.clone(), proxy);
            if let Some(client) = self.tunnels.get(&key) {
                return Ok(client.clone());
            }
            #[cfg(not(target_arch = "wasm32"))]
            let client = RelayClient::through_proxy(address.clone(), &key.1)?;
            #[cfg(target_arch = "wasm32")]
            let client = {
                let gateway = self.settings.gateways.of(&key.1).unwrap_or_default();
                RelayClient::through_gateway(address.clone(), &key.1, gateway)?
            };
            self.tunnels.insert(key, client.clone());
            return Ok(client);
        }
        self.direct_relay(address)
    }

    /// The relay our reads of `target` go through: our proxy while it works and is not the
    /// target itself, else another relay at random (which becomes our proxy if we had
    /// none). In the browser only relays with a WebSocket gateway can be the proxy.
    fn proxy_for(
        &mut self,
        target: &RelayAddress,
    ) -> std::result::Result<RelayAddress, TransportError> {
        use rand::seq::IteratorRandom as _;
        if let Some(proxy) = &self.proxy
            && proxy != target
            && !self.down.contains(proxy)
            && can_proxy(&self.settings.gateways, proxy)
        {
            return Ok(proxy.clone());
        }
        let chosen = self
            .settings
            .relays
            .iter()
            .filter(|relay| {
                *relay != target
                    && !self.down.contains(*relay)
                    && can_proxy(&self.settings.gateways, relay)
            })
            .choose(&mut self.rng)
            .cloned()
            .ok_or_else(|| {
                TransportError::NoOnionPath(
                    "no relay left to carry reads this sync; they wait for the next".into(),
                )
            })?;
        if self
            .proxy
            .as_ref()
            .is_none_or(|proxy| self.down.contains(proxy))
        {
            self.proxy = Some(chosen.clone());
        }
        Ok(chosen)
    }

    /// The client of a relay itself, never through a proxy (one per relay, kept): for
    /// packets to their first hop, a relay's public info, and the direct route. In the
    /// browser, a WebSocket tunnel to the relay through its own gateway, or (for a relay
    /// without one) through the gateway of one of our relays.
    fn direct_relay(&mut self, address: &RelayAddress) -> Result<RelayClient> {
        if let Some(client) = self.relays.get(address) {
            return Ok(client.clone());
        }
        #[cfg(not(target_arch = "wasm32"))]
        let client = RelayClient::new(address.clone())?;
        #[cfg(target_arch = "wasm32")]
        let client = {
            let gateways = &self.settings.gateways;
            let (entry, gateway) = std::iter::once(address)
                .chain(self.settings.relays.iter())
                .find_map(|relay| gateways.of(relay).map(|gateway| (relay, gateway)))
                .ok_or_else(|| {
                    TransportError::Unreachable(format!(
                        "{address}: no WebSocket gateway to reach it through"
                    ))
                })?;
            RelayClient::through_gateway(address.clone(), entry, gateway)?
        };
        self.relays.insert(address.clone(), client.clone());
        Ok(client)
    }

    /// One of our relays, chosen at random.
    fn random_relay(&mut self) -> Result<RelayAddress> {
        Ok(self
            .settings
            .relays
            .choose(&mut self.rng)
            .cloned()
            .ok_or_else(|| TransportError::Unreachable("no relay configured".into()))?)
    }

    /// Makes a queue on one of our relays, chosen at random.
    async fn create_queue(&mut self) -> Result<OwnQueue> {
        let address = self.random_relay()?;
        let relay = self.relay(&address)?;
        let now = self.now();
        Ok(relay.create_queue(now, &mut self.rng).await?)
    }

    /// Deletes the sealed invitation of a used invitation queue, if there is one (best
    /// effort: an unused one expires with the relay's chunks).
    async fn delete_short_quietly(&mut self, invitation_queue: &OwnQueue) {
        let short = short_invitation(invitation_queue);
        let Ok(relay) = self.relay(&invitation_queue.relay) else {
            return;
        };
        let _ = relay.delete_part(&short.chunk_seed().part(0)).await;
    }

    /// Deletes a queue we made but no longer need; a failure only leaves it to expire.
    async fn delete_queue_quietly(&mut self, queue: &OwnQueue) {
        let Ok(relay) = self.relay(&queue.relay) else {
            return;
        };
        let now = self.now();
        let _ = relay.delete_queue(queue, now, &mut self.rng).await;
    }

    /// Writes a packet straight into a queue on its relay.
    async fn write_direct(
        &mut self,
        destination: &SendCapability,
        packet: &[u8],
    ) -> std::result::Result<(), TransportError> {
        if self.down.contains(&destination.relay) {
            return Err(TransportError::Unreachable(
                "the relay was unreachable moments ago; next try at the next sync".into(),
            ));
        }
        let relay = self.direct_relay(&destination.relay).map_err(|e| match e {
            Error::Transport(t) => t,
            other => TransportError::Unreachable(other.to_string()),
        })?;
        let now = self.now();
        relay.send(destination, packet, now, &mut self.rng).await
    }

    /// Writes a packet into a queue, by the configured route.
    async fn write_packet(
        &mut self,
        contact: &ContactId,
        destination: &SendCapability,
        packet: &[u8],
    ) -> std::result::Result<(), TransportError> {
        match self.settings.route {
            SendRoute::Direct => self.write_direct(destination, packet).await,
            SendRoute::Onion { .. } if let Some(cover) = &mut self.cover => {
                // Real packets go out only in cover traffic's payload slots (`cover_tick`).
                cover.enqueue(contact, destination, packet);
                Ok(())
            }
            SendRoute::Onion { hops, mean_delay } => {
                self.write_onion(destination, packet, hops, mean_delay)
                    .await
            }
        }
    }

    /// Writes a freshly sealed packet to a contact's queue; a passing failure keeps it for
    /// the next sync. Returns whether it was written.
    async fn transmit(&mut self, contact: &ContactId, packet: Vec<u8>) -> Result<bool> {
        let Some(destination) = self.profile.send_queue(contact).await? else {
            // No queue yet (awaiting the inviter's answer): the outbox holds the message.
            return Ok(false);
        };
        match self.write_packet(contact, &destination, &packet).await {
            Ok(()) => Ok(true),
            Err(error) => {
                self.handle_write_failure(contact, destination, packet, &error);
                Ok(false)
            }
        }
    }

    /// What a failed write means: retry soon (passing), report the queue gone, or report a
    /// refusal. The message itself stays in the outbox in every case.
    fn handle_write_failure(
        &mut self,
        contact: &ContactId,
        destination: SendCapability,
        packet: Vec<u8>,
        error: &TransportError,
    ) {
        match error {
            // Every relay that failed on the way was reported already.
            TransportError::NoOnionPath(_) => self.keep_unsent(contact, destination, packet),
            TransportError::Relay(api) if api.kind == ErrorKind::UnknownQueue => {
                self.events.push_back(ClientEvent::QueueGone {
                    contact: contact.clone(),
                });
            }
            // A full queue empties as the contact reads it: kept, like a passing failure.
            _ if is_transient(error)
                || matches!(error, TransportError::Relay(api) if api.kind == ErrorKind::QuotaExceeded) =>
            {
                let relay = destination.relay.clone();
                self.keep_unsent(contact, destination, packet);
                self.report_network(relay, error);
            }
            _ => self.report_network(destination.relay, error),
        }
    }

    fn keep_unsent(&mut self, contact: &ContactId, destination: SendCapability, packet: Vec<u8>) {
        self.unsent.push(Unsent {
            contact: contact.clone(),
            destination,
            packet,
        });
    }

    /// Reports a relay's failure once: a passing failure also marks the relay down until
    /// the next sync.
    fn report_network(&mut self, relay: RelayAddress, error: &TransportError) {
        if is_transient(error) {
            // The failure may have been our proxy's: the next read chooses one anew.
            self.proxy = None;
            if !self.down.insert(relay.clone()) {
                return;
            }
        }
        let error = Error::Transport(error.clone());
        self.events.push_back(ClientEvent::NetworkProblem {
            relay,
            code: error.code(),
            reason: error.to_string(),
        });
    }
}

/// Whether a body is something the user wrote (not a receipt or a contact-accept frame).
fn is_user_content(body: &Body) -> bool {
    !matches!(body, Body::Receipt(_) | Body::ContactAccept(_))
}

/// The short invitation of an invitation queue (its seed derives from the queue's
/// recipient key, so it is made again to delete the chunk).
fn short_invitation(queue: &OwnQueue) -> ShortInvitation {
    ShortInvitation::for_queue(queue.relay.clone(), &queue.recipient_key.private_bytes())
}
