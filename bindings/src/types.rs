//! The records and enums that cross into Python, Kotlin and Swift, with their conversions
//! from and to the core's types. Ids cross as text: a contact id as it is, a message id as
//! 32 hex digits, an identity as `sotto-id:…`, a relay as `sotto://…`.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use sotto_core::client::{CoverTraffic as CoreCover, HistoryMessage, HistoryStatus, SendRoute};
use sotto_core::content::{Body as CoreBody, Content, MessageId};
use sotto_core::messenger::{
    DeliveryStatus as CoreDelivery, Event as CoreEvent, NetworkSettings as CoreNetwork,
};
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, MessageDirection};

use crate::error::SottoError;

/// How the profile's database key is kept.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Protection {
    /// A random key sealed in the platform's keychain (Linux keyutils, the macOS and iOS
    /// Keychain, the Windows credential store, the Secret Service).
    Keychain,
    /// A key derived from a passphrase with Argon2id.
    Passphrase {
        /// The passphrase.
        passphrase: String,
        /// Argon2id's cost (`None`: the recommended cost, about a second on a phone).
        argon2: Option<Argon2Cost>,
    },
}

/// Argon2id's cost for a passphrase: memory in KiB (8192 to 1048576), passes (1 to 10) and
/// lanes (1 to 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Cost {
    pub(crate) fn params(cost: Option<Argon2Cost>) -> Result<Argon2Params, SottoError> {
        match cost {
            None => Ok(Argon2Params::default()),
            Some(cost) => Argon2Params::new(cost.memory_kib, cost.iterations, cost.parallelism)
                .map_err(|e| SottoError::invalid(format!("Argon2 cost: {e}"))),
        }
    }
}

/// How packets travel to contacts' relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Route {
    /// Straight to the contact's relay, which then sees this device's address.
    Direct,
    /// As onion packets over `hops` relays (1 to 5, the last the contact's), each holding
    /// a packet for an exponential delay of mean `mean_delay_ms`.
    Onion {
        /// Relays per path.
        hops: u8,
        /// Mean of each hop's delay, in milliseconds (0: forward at once).
        mean_delay_ms: u32,
    },
}

impl Route {
    fn core(self) -> SendRoute {
        match self {
            Route::Direct => SendRoute::Direct,
            Route::Onion {
                hops,
                mean_delay_ms,
            } => SendRoute::Onion {
                hops: usize::from(hops),
                mean_delay: Duration::from_millis(u64::from(mean_delay_ms)),
            },
        }
    }

    fn from_core(route: SendRoute) -> Self {
        match route {
            SendRoute::Direct => Route::Direct,
            SendRoute::Onion { hops, mean_delay } => Route::Onion {
                hops: u8::try_from(hops).unwrap_or(u8::MAX),
                mean_delay_ms: u32::try_from(mean_delay.as_millis()).unwrap_or(u32::MAX),
            },
        }
    }
}

/// Cover traffic's rates, in packets per second (0 turns a stream off). With it, what this
/// device sends does not depend on when its user writes. A desktop choice: 0.2, 0.05, 0.05,
/// 60000 ms (about 122 MB a day).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct CoverTraffic {
    /// Payload slots per second: real packets take them, drop packets fill the rest.
    pub payload_per_second: f64,
    /// Loop packets per second (they come back to this device).
    pub loop_per_second: f64,
    /// Extra drop packets per second.
    pub drop_per_second: f64,
    /// How long a loop packet may take to come back before it counts as lost.
    pub loop_timeout_ms: u32,
}

impl CoverTraffic {
    fn core(self) -> CoreCover {
        CoreCover {
            payload_per_second: self.payload_per_second,
            loop_per_second: self.loop_per_second,
            drop_per_second: self.drop_per_second,
            loop_timeout: Duration::from_millis(u64::from(self.loop_timeout_ms)),
        }
    }

    fn from_core(cover: CoreCover) -> Self {
        Self {
            payload_per_second: cover.payload_per_second,
            loop_per_second: cover.loop_per_second,
            drop_per_second: cover.drop_per_second,
            loop_timeout_ms: u32::try_from(cover.loop_timeout.as_millis()).unwrap_or(u32::MAX),
        }
    }
}

/// What a messenger is opened with.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Settings {
    /// The relays (`sotto://…`) queues are made on and onion paths are chosen from.
    pub relays: Vec<String>,
    /// The name offered to new contacts (a hint; may be empty).
    #[uniffi(default = "")]
    pub display_name: String,
    /// How packets travel (`None`: 3 onion hops without delays).
    #[uniffi(default = None)]
    pub route: Option<Route>,
    /// Cover traffic (`None`: off).
    #[uniffi(default = None)]
    pub cover: Option<CoverTraffic>,
}

impl Settings {
    pub(crate) fn client_settings(&self) -> Result<sotto_core::ClientSettings, SottoError> {
        let mut settings =
            sotto_core::ClientSettings::new(relays(&self.relays)?, self.display_name.clone());
        if let Some(route) = self.route {
            settings = settings.with_route(route.core());
        }
        settings.cover = self.cover.map(CoverTraffic::core);
        Ok(settings)
    }
}

fn relays(addresses: &[String]) -> Result<Vec<RelayAddress>, SottoError> {
    addresses
        .iter()
        .map(|address| {
            RelayAddress::parse(address)
                .map_err(|e| SottoError::invalid(format!("relay address {address:?}: {e}")))
        })
        .collect()
}

/// The relays, route and cover traffic of a running messenger.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NetworkSettings {
    /// The relays (`sotto://…`).
    pub relays: Vec<String>,
    /// How packets travel.
    pub route: Route,
    /// Cover traffic, or `None` for off.
    pub cover: Option<CoverTraffic>,
}

impl NetworkSettings {
    pub(crate) fn core(&self) -> Result<CoreNetwork, SottoError> {
        Ok(CoreNetwork {
            relays: relays(&self.relays)?,
            route: self.route.core(),
            cover: self.cover.map(CoverTraffic::core),
            // The bindings run natively, where relays are reached directly.
            gateways: sotto_core::transport::Gateways::new(),
        })
    }

    pub(crate) fn from_core(settings: CoreNetwork) -> Self {
        Self {
            relays: settings.relays.iter().map(ToString::to_string).collect(),
            route: Route::from_core(settings.route),
            cover: settings.cover.map(CoverTraffic::from_core),
        }
    }
}

/// Where the bytes of an attachment to send come from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum AttachmentSource {
    /// The file at this path.
    File {
        /// Its path.
        path: String,
    },
    /// These bytes (no plaintext copy touches the disk; the library wipes its copy once
    /// encrypted).
    Bytes {
        /// The bytes.
        data: Vec<u8>,
    },
}

impl AttachmentSource {
    pub(crate) fn core(self) -> sotto_core::client::AttachmentSource {
        match self {
            AttachmentSource::File { path } => std::path::PathBuf::from(path).into(),
            AttachmentSource::Bytes { data } => data.into(),
        }
    }
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Body {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image (download it with `download_attachment`).
    Image {
        /// MIME type, `image/<subtype>`.
        mime: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Size in bytes.
        size: u64,
        /// A small preview (may be empty).
        thumbnail: Vec<u8>,
    },
    /// A file.
    File {
        /// The name the sender gave it (no folders).
        name: String,
        /// MIME type.
        mime: String,
        /// Size in bytes.
        size: u64,
    },
    /// A voice clip.
    VoiceClip {
        /// Length in milliseconds.
        duration_ms: u32,
        /// Audio codec name.
        codec: String,
        /// Size in bytes.
        size: u64,
        /// Amplitude samples for drawing it (may be empty).
        waveform: Vec<u8>,
    },
    /// A kind this version does not show.
    Other,
}

impl From<&CoreBody> for Body {
    fn from(body: &CoreBody) -> Self {
        match body {
            CoreBody::Text(text) => Body::Text { text: text.clone() },
            CoreBody::Image(image) => Body::Image {
                mime: image.mime.clone(),
                width: image.width,
                height: image.height,
                size: image.attachment.plaintext_size(),
                thumbnail: image.thumbnail.clone(),
            },
            CoreBody::File(file) => Body::File {
                name: file.name.clone(),
                mime: file.mime.clone(),
                size: file.size,
            },
            CoreBody::VoiceClip(clip) => Body::VoiceClip {
                duration_ms: clip.duration_ms,
                codec: clip.codec.clone(),
                size: clip.attachment.plaintext_size(),
                waveform: clip.waveform.clone(),
            },
            _ => Body::Other,
        }
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Direction {
    /// From the contact.
    Incoming,
    /// Ours.
    Outgoing,
}

/// Where a message of the history stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MessageStatus {
    /// Ours, not acknowledged by the contact yet.
    Sending,
    /// Ours, sent once with no acknowledgement expected.
    Sent,
    /// Ours, delivered to the contact's device.
    Delivered,
    /// Ours read by the contact; or theirs, read by the user.
    Read,
    /// Theirs, not read yet.
    Received,
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Message {
    /// Its id (32 hex digits).
    pub id: String,
    /// Which way it went.
    pub direction: Direction,
    /// Where it stands.
    pub status: MessageStatus,
    /// When it was stored on this device (sent or received), in milliseconds since the
    /// Unix epoch.
    pub at_ms: u64,
    /// The sender's clock when it was written, in milliseconds since the Unix epoch (only
    /// informative: order follows the conversation's sequence).
    pub sent_at_ms: u64,
    /// What it carries.
    pub body: Body,
}

impl From<&HistoryMessage> for Message {
    fn from(message: &HistoryMessage) -> Self {
        Self {
            id: message.content.id.to_string(),
            direction: match message.direction {
                MessageDirection::Incoming => Direction::Incoming,
                MessageDirection::Outgoing => Direction::Outgoing,
            },
            status: match message.shown_status() {
                HistoryStatus::Sending => MessageStatus::Sending,
                HistoryStatus::Sent => MessageStatus::Sent,
                HistoryStatus::Delivered => MessageStatus::Delivered,
                HistoryStatus::Read => MessageStatus::Read,
                HistoryStatus::Received => MessageStatus::Received,
            },
            at_ms: message
                .at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            sent_at_ms: message.content.timestamp_ms,
            body: Body::from(&message.content.body),
        }
    }
}

/// A message just received, as an event carries it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceivedMessage {
    /// Its id (32 hex digits).
    pub id: String,
    /// The sender's clock when it was written, in milliseconds since the Unix epoch.
    pub sent_at_ms: u64,
    /// What it carries.
    pub body: Body,
}

impl From<&Content> for ReceivedMessage {
    fn from(content: &Content) -> Self {
        Self {
            id: content.id.to_string(),
            sent_at_ms: content.timestamp_ms,
            body: Body::from(&content.body),
        }
    }
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Contact {
    /// Its local id.
    pub id: String,
    /// The identity key trusted for it (`sotto-id:…`).
    pub identity: String,
    /// The user's name for it.
    pub name: Option<String>,
    /// Whether the user verified its safety number.
    pub verified: bool,
    /// A new identity key it presented, waiting for the user's decision (sending to it is
    /// held meanwhile).
    pub pending_identity: Option<String>,
}

impl From<sotto_core::contacts::Contact> for Contact {
    fn from(contact: sotto_core::contacts::Contact) -> Self {
        Self {
            id: contact.id.as_str().to_owned(),
            identity: contact.identity.to_text(),
            name: contact.display_name,
            verified: contact.verified,
            pending_identity: contact.pending_identity.map(|key| key.to_text()),
        }
    }
}

/// A contact's safety number: 60 digits to read aloud, and the code to scan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SafetyNumber {
    /// 60 digits, the same on both sides.
    pub digits: String,
    /// What the QR code holds (compare a scanned one with `compare_safety_code`).
    pub scannable: Vec<u8>,
    /// The QR code as a PNG image.
    pub qr_png: Vec<u8>,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// What comparing a scanned safety code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Comparison {
    /// The same two identity keys: the contact can be marked verified.
    Match,
    /// Other keys: another conversation's code, or someone in the middle. Do not verify.
    Mismatch,
    /// A safety number of another format version: one side must update its app.
    DifferentVersion {
        /// The version this side makes.
        ours: u32,
        /// The version scanned.
        theirs: u32,
    },
}

impl From<sotto_core::safety::Comparison> for Comparison {
    fn from(comparison: sotto_core::safety::Comparison) -> Self {
        use sotto_core::safety::Comparison as Core;
        match comparison {
            Core::Match => Comparison::Match,
            Core::Mismatch => Comparison::Mismatch,
            Core::DifferentVersion { ours, theirs } => {
                Comparison::DifferentVersion { ours, theirs }
            }
        }
    }
}

/// Where one of our messages stands, as events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeliveryStatus {
    /// Stored with its outbox entry; not handed to the network yet.
    Sending,
    /// Handed to the network.
    Sent,
    /// The contact's device received it.
    Delivered,
    /// The contact read it.
    Read,
    /// It will not go out: its attachment could not be uploaded.
    Failed,
}

impl From<CoreDelivery> for DeliveryStatus {
    fn from(status: CoreDelivery) -> Self {
        match status {
            CoreDelivery::Sending => DeliveryStatus::Sending,
            CoreDelivery::Sent => DeliveryStatus::Sent,
            CoreDelivery::Delivered => DeliveryStatus::Delivered,
            CoreDelivery::Read => DeliveryStatus::Read,
            CoreDelivery::Failed => DeliveryStatus::Failed,
        }
    }
}

/// Which way an attachment moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransferDirection {
    /// Encrypting and uploading one of ours.
    Upload,
    /// Downloading and decrypting one of a contact's.
    Download,
}

/// Something the app should show or know, pushed as it happens.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Event {
    /// A contact's message is ready to show: in order, each exactly once.
    MessageReceived {
        /// Who wrote it.
        contact: String,
        /// The message.
        message: ReceivedMessage,
    },
    /// Our messages to a contact changed status.
    StatusChanged {
        /// The contact.
        contact: String,
        /// Our messages (ids).
        message_ids: Vec<String>,
        /// Their new status.
        status: DeliveryStatus,
    },
    /// An attachment transfer made progress.
    TransferProgress {
        /// The message carrying the attachment.
        message_id: String,
        /// Upload or download.
        direction: TransferDirection,
        /// Bytes moved so far.
        done: u64,
        /// Bytes to move in all.
        total: u64,
    },
    /// Someone accepted one of our invitations: a new contact.
    ContactAdded {
        /// The new contact.
        contact: String,
        /// The name it gave itself (a hint, unverified; may be empty).
        display_name: String,
    },
    /// The inviter answered our acceptance: messages to the contact flow now.
    ContactReady {
        /// The contact.
        contact: String,
    },
    /// The contact presented a new identity key; nothing flows with it until the user
    /// accepts it (`accept_identity_key`).
    IdentityKeyChanged {
        /// The contact.
        contact: String,
        /// The key now presented (`sotto-id:…`).
        new_identity: String,
    },
    /// A packet on one of our queues could not be opened and was removed.
    PacketRejected {
        /// The contact whose queue it came from (`None`: an invitation queue).
        contact: Option<String>,
        /// Why (the stable code).
        code: crate::ErrorCode,
        /// Why, for people.
        reason: String,
    },
    /// A contact's queue is gone from its relay; what we send it waits in the outbox.
    QueueGone {
        /// The contact.
        contact: String,
    },
    /// A relay became unreachable, or reachable again. Nothing is lost meanwhile.
    NetworkChanged {
        /// The relay (`sotto://…`).
        relay: String,
        /// Whether it answers now.
        reachable: bool,
        /// Why not (the stable code), when it does not.
        code: Option<crate::ErrorCode>,
        /// Why not, for people.
        reason: Option<String>,
    },
    /// Cover traffic's loop packets did not come back in time.
    CoverProblem {
        /// Loop packets lost in this round.
        loops_lost: u64,
    },
    /// Background work failed for a reason that is not the network's; it is tried again.
    BackgroundProblem {
        /// Why (the stable code).
        code: crate::ErrorCode,
        /// Why, for people.
        reason: String,
    },
    /// This listener or subscription fell behind and missed `count` events: reload what is
    /// shown (history, contacts).
    Missed {
        /// Events not delivered.
        count: u64,
    },
}

impl From<CoreEvent> for Event {
    fn from(event: CoreEvent) -> Self {
        let id = |contact: sotto_core::contacts::ContactId| contact.as_str().to_owned();
        match event {
            CoreEvent::MessageReceived { contact, content } => Event::MessageReceived {
                contact: id(contact),
                message: ReceivedMessage::from(&content),
            },
            CoreEvent::StatusChanged {
                contact,
                message_ids,
                status,
            } => Event::StatusChanged {
                contact: id(contact),
                message_ids: message_ids.iter().map(MessageId::to_string).collect(),
                status: status.into(),
            },
            CoreEvent::TransferProgress {
                message_id,
                direction,
                done,
                total,
            } => Event::TransferProgress {
                message_id: message_id.to_string(),
                direction: match direction {
                    sotto_core::client::TransferDirection::Upload => TransferDirection::Upload,
                    sotto_core::client::TransferDirection::Download => TransferDirection::Download,
                },
                done,
                total,
            },
            CoreEvent::ContactAdded {
                contact,
                display_name,
            } => Event::ContactAdded {
                contact: id(contact),
                display_name,
            },
            CoreEvent::ContactReady { contact } => Event::ContactReady {
                contact: id(contact),
            },
            CoreEvent::IdentityKeyChanged {
                contact,
                new_identity,
            } => Event::IdentityKeyChanged {
                contact: id(contact),
                new_identity: new_identity.to_text(),
            },
            CoreEvent::PacketRejected {
                contact,
                code,
                reason,
            } => Event::PacketRejected {
                contact: contact.map(id),
                code: code.into(),
                reason,
            },
            CoreEvent::QueueGone { contact } => Event::QueueGone {
                contact: id(contact),
            },
            CoreEvent::NetworkChanged {
                relay,
                reachable,
                code,
                reason,
            } => Event::NetworkChanged {
                relay: relay.to_string(),
                reachable,
                code: code.map(Into::into),
                reason,
            },
            CoreEvent::CoverProblem { loops_lost } => Event::CoverProblem {
                loops_lost: loops_lost as u64,
            },
            CoreEvent::BackgroundProblem { code, reason } => Event::BackgroundProblem {
                code: code.into(),
                reason,
            },
            CoreEvent::Missed { count } => Event::Missed { count },
        }
    }
}

/// Unread messages per contact id (contacts with none left out).
pub type UnreadCounts = HashMap<String, u32>;
