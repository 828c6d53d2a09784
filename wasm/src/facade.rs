//! The JavaScript classes: `Messenger` and `Subscription`. Every async call returns a
//! `Promise`; every failure rejects it with an `Error` whose `name` and `code` are stable
//! ([`crate::convert::error`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use js_sys::Promise;
use sotto_core::ClientSettings;
use sotto_core::client::{
    Clock, CoverTraffic, DEFAULT_MEAN_DELAY, HistoryFrom, MAX_HISTORY_PAGE, MAX_HOP_DELAY,
    SendRoute,
};
use sotto_core::contacts::ContactId;
use sotto_core::content::MessageId;
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::NetworkSettings;
use sotto_core::onion::{DEFAULT_HOPS, MAX_HOPS};
use sotto_core::relay::RelayAddress;
use sotto_core::safety::Comparison;
use sotto_core::store::{Argon2Params, MemoryStore, SqlCipherStore, VfsProfiles};
use sotto_core::transport::Gateways;
use sotto_core::voice;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use crate::{blob, convert};

/// JavaScript's clock (`SystemTime::now` is unavailable on wasm32).
struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(js_sys::Date::now() as u64)
    }
}

/// One profile on the network: the core's `Messenger`, its background work on the event
/// loop.
#[wasm_bindgen]
pub struct Messenger {
    inner: Inner,
}

/// The core's handle, over the store its profile lives in.
#[derive(Clone)]
enum Inner {
    /// A profile in memory: it ends with the page or process.
    Memory(sotto_core::Messenger<MemoryStore>),
    /// A passphrase-protected profile in SQLCipher, in the browser's origin private file
    /// system.
    Stored(sotto_core::Messenger<SqlCipherStore>),
}

/// A `Promise` running `$body` with `$m` bound to the core's handle, whichever store its
/// profile lives in.
macro_rules! promise {
    ($self:ident, |$m:ident| $body:expr) => {
        match $self.inner.clone() {
            Inner::Memory($m) => future_to_promise(async move { $body }),
            Inner::Stored($m) => future_to_promise(async move { $body }),
        }
    };
}

/// `options.profile`: the name and passphrase of a persistent profile.
struct ProfileOptions {
    name: String,
    passphrase: Zeroizing<String>,
}

/// Reads `options.profile` (`{ name, passphrase }`), if given.
fn profile_options(options: &JsValue) -> Result<Option<ProfileOptions>, JsValue> {
    let profile = js_sys::Reflect::get(options, &JsValue::from_str("profile"))
        .map_err(|_| convert::invalid("options.profile cannot be read"))?;
    if profile.is_undefined() || profile.is_null() {
        return Ok(None);
    }
    let name = convert::string(&profile, "name")?
        .ok_or_else(|| convert::invalid("options.profile.name names the profile"))?;
    let passphrase = convert::string(&profile, "passphrase")?
        .ok_or_else(|| convert::invalid("options.profile.passphrase protects the profile"))?;
    Ok(Some(ProfileOptions {
        name,
        passphrase: Zeroizing::new(passphrase),
    }))
}

#[wasm_bindgen(inline_js = "
export function sotto_has_sync_files() {
  return typeof DedicatedWorkerGlobalScope === 'function' && globalThis instanceof DedicatedWorkerGlobalScope;
}
")]
extern "C" {
    /// Whether this is a dedicated worker, where OPFS has synchronous access handles (in
    /// Node, the package's `node/files.cjs` makes the process one, over node:fs).
    fn sotto_has_sync_files() -> bool;
}

/// Puts profile `name`'s files in the origin private file system. Only a browser's
/// dedicated worker has the sync access handles this needs (Node gets them from the
/// package's entry point, in the folder the app names); elsewhere a persistent profile is
/// refused, never silently kept in memory.
async fn open_storage(name: &str) -> Result<(), JsValue> {
    if !sotto_has_sync_files() {
        return Err(convert::invalid(
            "a persistent profile (options.profile) lives in a browser's dedicated worker, \
             where the package's browser build runs it, or in Node in options.profile.directory; \
             elsewhere (a page's own thread) profiles are kept in memory only: leave \
             options.profile out",
        ));
    }
    VfsProfiles::use_origin_private_file_system(name)
        .await
        .map_err(|e| convert::error(&e))
}

/// The events of a messenger from the moment of subscribing, in order.
#[wasm_bindgen]
pub struct Subscription {
    inner: Rc<RefCell<Option<sotto_core::Subscription>>>,
}

/// Reads `{ relays: [{ address, gateway }], displayName, hops, meanDelayMs, cover }`.
fn settings(options: &JsValue) -> Result<ClientSettings, JsValue> {
    let network = network(options)?;
    let name = convert::string(options, "displayName")?.unwrap_or_default();
    let mut settings = ClientSettings::new(network.relays, name)
        .with_route(network.route)
        .with_gateways(network.gateways);
    settings.cover = network.cover;
    settings.clock = Arc::new(JsClock);
    Ok(settings)
}

/// Reads the network part of the options: `{ relays: [{ address, gateway }], hops,
/// meanDelayMs, cover }`. The core checks what the options cannot say alone (enough
/// relays for the hops, usable cover rates).
fn network(options: &JsValue) -> Result<NetworkSettings, JsValue> {
    let mut addresses = Vec::new();
    let mut gateways = Gateways::new();
    for relay in convert::array(options, "relays")? {
        let address = convert::string(&relay, "address")?
            .ok_or_else(|| convert::invalid("every relay needs its address"))?;
        let address = RelayAddress::parse(&address)
            .map_err(|e| convert::invalid(&format!("relay address {address:?}: {e}")))?;
        if let Some(gateway) = convert::string(&relay, "gateway")? {
            gateways = gateways.with(*address.key(), gateway);
        }
        addresses.push(address);
    }
    if addresses.is_empty() {
        return Err(convert::invalid("options.relays names no relay"));
    }
    if gateways.is_empty() {
        return Err(convert::invalid(
            "no relay has a gateway: a browser reaches relays through their WebSocket tunnels",
        ));
    }
    let hops = match convert::number(options, "hops")? {
        None => DEFAULT_HOPS,
        Some(hops) if hops.fract() == 0.0 && (1.0..=MAX_HOPS as f64).contains(&hops) => {
            hops as usize
        }
        Some(_) => {
            return Err(convert::invalid(&format!(
                "options.hops is a whole number from 1 to {MAX_HOPS}"
            )));
        }
    };
    let mean_delay = match convert::number(options, "meanDelayMs")? {
        None => DEFAULT_MEAN_DELAY,
        Some(ms) if ms.is_finite() && (0.0..=MAX_MEAN_DELAY_MS).contains(&ms) => {
            Duration::from_secs_f64(ms / 1000.0)
        }
        Some(_) => {
            return Err(convert::invalid(&format!(
                "options.meanDelayMs is a number of milliseconds from 0 to {MAX_MEAN_DELAY_MS}"
            )));
        }
    };
    Ok(NetworkSettings {
        relays: addresses,
        route: SendRoute::Onion { hops, mean_delay },
        cover: cover(options)?,
        gateways,
    })
}

/// The longest mean hop delay the options take, in milliseconds: the longest delay a hop
/// is ever asked for ([`MAX_HOP_DELAY`], where the core cuts the exponential's tail).
const MAX_MEAN_DELAY_MS: f64 = MAX_HOP_DELAY.as_millis() as f64;

/// Reads `options.cover`: absent or `null` for none, else `{ payloadPerSecond,
/// loopPerSecond, dropPerSecond, loopTimeoutSeconds }`, each defaulting to the core's
/// desktop rates ([`CoverTraffic::default`]).
fn cover(options: &JsValue) -> Result<Option<CoverTraffic>, JsValue> {
    let Some(value) = convert::property(options, "cover")? else {
        return Ok(None);
    };
    if !value.is_object() {
        return Err(convert::invalid(
            "options.cover is an object of rates (or null for no cover traffic)",
        ));
    }
    let defaults = CoverTraffic::default();
    let rate = |key: &str, default: f64| -> Result<f64, JsValue> {
        Ok(convert::number(&value, key)?.unwrap_or(default))
    };
    let loop_timeout = match convert::number(&value, "loopTimeoutSeconds")? {
        None => defaults.loop_timeout,
        Some(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| {
            convert::invalid("options.cover.loopTimeoutSeconds is a number of seconds")
        })?,
    };
    let cover = CoverTraffic {
        payload_per_second: rate("payloadPerSecond", defaults.payload_per_second)?,
        loop_per_second: rate("loopPerSecond", defaults.loop_per_second)?,
        drop_per_second: rate("dropPerSecond", defaults.drop_per_second)?,
        loop_timeout,
    };
    cover
        .validate()
        .map_err(|why| convert::invalid(&format!("options.cover: {why}")))?;
    Ok(Some(cover))
}

/// Cover-traffic rates as `CoverOptions`, every field set.
fn cover_options(cover: &CoverTraffic) -> JsValue {
    convert::record(&[
        ("payloadPerSecond", cover.payload_per_second.into()),
        ("loopPerSecond", cover.loop_per_second.into()),
        ("dropPerSecond", cover.drop_per_second.into()),
        (
            "loopTimeoutSeconds",
            cover.loop_timeout.as_secs_f64().into(),
        ),
    ])
}

/// The core's limits and defaults, for what an app shows before a messenger runs (the
/// price of cover traffic on a first-run screen, a thumbnail's size): `{ packetBytes,
/// maxTextBytes, maxThumbnailBytes, hops, meanDelayMs, cover }`. The package exports them
/// as `constants` (read once from the Node build when the package is made; pages run the
/// WebAssembly in a worker, so a call would cost one).
#[wasm_bindgen(js_name = coreConstants)]
pub fn core_constants() -> JsValue {
    use sotto_core::content::{MAX_TEXT_BYTES, MAX_THUMBNAIL_BYTES};
    convert::record(&[
        (
            "packetBytes",
            JsValue::from_f64(sotto_core::onion::PACKET_BYTES as f64),
        ),
        ("maxTextBytes", JsValue::from_f64(MAX_TEXT_BYTES as f64)),
        (
            "maxThumbnailBytes",
            JsValue::from_f64(MAX_THUMBNAIL_BYTES as f64),
        ),
        ("hops", JsValue::from_f64(DEFAULT_HOPS as f64)),
        (
            "meanDelayMs",
            JsValue::from_f64(DEFAULT_MEAN_DELAY.as_secs_f64() * 1000.0),
        ),
        ("cover", cover_options(&CoverTraffic::default())),
    ])
}

/// The network settings as options read them back: `{ relays, hops, meanDelayMs, cover }`.
fn network_options(settings: &NetworkSettings) -> JsValue {
    let relays: js_sys::Array = settings
        .relays
        .iter()
        .map(|relay| {
            let gateway = settings.gateways.of(relay);
            convert::record(&[
                ("address", JsValue::from_str(&relay.to_string())),
                ("gateway", gateway.map_or(JsValue::NULL, JsValue::from_str)),
            ])
        })
        .collect();
    let (hops, mean_delay) = match settings.route {
        SendRoute::Onion { hops, mean_delay } => (hops, mean_delay),
        // The package always routes over onion paths; a direct route has no hops.
        SendRoute::Direct => (0, Duration::ZERO),
    };
    let cover = settings.cover.as_ref().map_or(JsValue::NULL, cover_options);
    convert::record(&[
        ("relays", relays.into()),
        ("hops", JsValue::from_f64(hops as f64)),
        (
            "meanDelayMs",
            JsValue::from_f64(mean_delay.as_secs_f64() * 1000.0),
        ),
        ("cover", cover),
        (
            "packetBytes",
            JsValue::from_f64(sotto_core::onion::PACKET_BYTES as f64),
        ),
    ])
}

fn message(id: &str) -> Result<MessageId, JsValue> {
    MessageId::from_hex(id).ok_or_else(|| convert::invalid("a message id is 32 hex digits"))
}

/// A page size from JavaScript: by default, and at most, the core's largest page.
fn page_limit(limit: Option<u32>) -> usize {
    limit.map_or(MAX_HISTORY_PAGE, |l| (l as usize).min(MAX_HISTORY_PAGE))
}

/// Messages as an array of plain objects.
fn messages(page: &[sotto_core::client::HistoryMessage]) -> JsValue {
    page.iter()
        .map(convert::history_message)
        .collect::<js_sys::Array>()
        .into()
}

fn contact(id: &str) -> Result<ContactId, JsValue> {
    ContactId::parse(id).ok_or_else(|| convert::invalid("a contact id is 32 hex digits"))
}

#[wasm_bindgen]
impl Messenger {
    /// Creates a new identity and its profile: persistent and passphrase-protected when
    /// `options.profile` (`{ name, passphrase }`) is given (a browser's dedicated worker),
    /// in memory otherwise (it ends with the page or process).
    #[wasm_bindgen(unchecked_return_type = "Promise<Messenger>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "MessengerOptions")] options: JsValue,
    ) -> Promise {
        let settings = settings(&options);
        let profile = profile_options(&options);
        future_to_promise(async move {
            let settings = settings?;
            let inner = match profile? {
                None => Inner::Memory(
                    sotto_core::Messenger::with_new_profile(MemoryStore::new(), settings)
                        .await
                        .map_err(|e| convert::error(&e))?,
                ),
                Some(options) => {
                    open_storage(&options.name).await?;
                    Inner::Stored(
                        sotto_core::Messenger::create_in_vfs(
                            options.name,
                            options.passphrase,
                            Argon2Params::RECOMMENDED,
                            settings,
                        )
                        .await
                        .map_err(|e| convert::error(&e))?,
                    )
                }
            };
            Ok(Messenger { inner }.into())
        })
    }

    /// Opens the persistent profile `options.profile` (`{ name, passphrase }`) made by
    /// `create` (a browser's dedicated worker). A wrong passphrase rejects with `KeyError`
    /// and changes nothing; an unknown name with `StoreError`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Messenger>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "MessengerOptions")] options: JsValue,
    ) -> Promise {
        let settings = settings(&options);
        let profile = profile_options(&options);
        future_to_promise(async move {
            let settings = settings?;
            let options = profile?.ok_or_else(|| {
                convert::invalid("open needs options.profile: { name, passphrase }")
            })?;
            open_storage(&options.name).await?;
            let inner =
                sotto_core::Messenger::open_in_vfs(options.name, options.passphrase, settings)
                    .await
                    .map_err(|e| convert::error(&e))?;
            Ok(Messenger {
                inner: Inner::Stored(inner),
            }
            .into())
        })
    }

    /// Turns the background work on: waiting reads (pushed events), outbox retries, prekey
    /// rotation.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(&self) -> Promise {
        promise!(self, |inner| {
            inner.start().await.map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A new one-time invitation, as a short `sotto://invite/…` link to hand over (or show
    /// as a QR code); the full invitation waits sealed on the relay.
    #[wasm_bindgen(js_name = createInvitation, unchecked_return_type = "Promise<string>")]
    pub fn create_invitation(&self) -> Promise {
        promise!(self, |inner| {
            let invitation = inner
                .create_invitation()
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::from_str(&invitation.link()))
        })
    }

    /// Accepts an invitation link, short or full; resolves to the new contact's id (ready
    /// once the inviter answers: a `contactReady` event).
    #[wasm_bindgen(js_name = acceptInvitation, unchecked_return_type = "Promise<string>")]
    pub fn accept_invitation(&self, link: String) -> Promise {
        promise!(self, |inner| {
            let invitation = InvitationLink::parse(&link)
                .map_err(|e| convert::error(&sotto_core::Error::from(e)))?;
            let contact = inner
                .accept_link(&invitation)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::from_str(contact.as_str()))
        })
    }

    /// Sends a text; resolves to its message id once it is stored with its outbox entry
    /// (then `statusChanged` events: sent, delivered, read).
    #[wasm_bindgen(js_name = sendText, unchecked_return_type = "Promise<string>")]
    pub fn send_text(&self, contact_id: String, text: String) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let id = inner
                .send_text(&contact, &text)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::from_str(&id.to_string()))
        })
    }

    /// Sends a `Blob` or `File` as an image, a file or a voice clip (`kind`); resolves to
    /// the message id once the fields are checked and the upload has begun. The blob is
    /// read, encrypted and uploaded slice by slice in the background
    /// (`transferProgress` events), then the message is sent (`statusChanged`: sent, or
    /// failed if the upload failed).
    #[wasm_bindgen(js_name = sendAttachment, unchecked_return_type = "Promise<string>")]
    pub fn send_attachment(
        &self,
        contact_id: String,
        #[wasm_bindgen(unchecked_param_type = "Blob")] attachment: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AttachmentKind")] kind: JsValue,
    ) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let (attachment, size) = blob::blob(attachment)?;
            let kind = blob::kind(&kind, &attachment)?;
            let writer = inner
                .write_attachment(&contact, size, kind)
                .await
                .map_err(|e| convert::error(&e))?;
            let id = writer.message_id();
            wasm_bindgen_futures::spawn_local(blob::upload(writer, attachment, size));
            Ok(JsValue::from_str(&id.to_string()))
        })
    }

    /// Downloads the attachment of a received message into a `Blob` (of the MIME type the
    /// sender gave), checked against the message before it resolves
    /// (`transferProgress` events as parts arrive). The relay deletes it afterwards.
    #[wasm_bindgen(js_name = downloadAttachment, unchecked_return_type = "Promise<Blob>")]
    pub fn download_attachment(&self, contact_id: String, message_id: String) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let message_id = message(&message_id)?;
            let reader = inner
                .read_attachment(&contact, &message_id)
                .await
                .map_err(|e| convert::error(&e))?;
            blob::download(reader).await
        })
    }

    /// The events from now on, in order.
    pub fn subscribe(&self) -> Subscription {
        let subscription = match &self.inner {
            Inner::Memory(inner) => inner.subscribe(),
            Inner::Stored(inner) => inner.subscribe(),
        };
        Subscription {
            inner: Rc::new(RefCell::new(Some(subscription))),
        }
    }

    /// The contacts, by id: `{ contact, displayName, verified, keyChangePending }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Contact[]>")]
    pub fn contacts(&self) -> Promise {
        promise!(self, |inner| {
            let contacts = inner.contacts().await.map_err(|e| convert::error(&e))?;
            Ok(contacts
                .iter()
                .map(convert::contact)
                .collect::<js_sys::Array>()
                .into())
        })
    }

    /// A page of a conversation, newest first: at most `limit` messages (by default, and
    /// never more than, 1000), the newest or, with `before` (a message id), those before
    /// it (scrolling back): `{ messageId, direction, status, at, sentAt, kind, text?,
    /// attachment? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<HistoryMessage[]>")]
    pub fn history(
        &self,
        contact_id: String,
        limit: Option<u32>,
        before: Option<String>,
    ) -> Promise {
        let limit = page_limit(limit);
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let from = match before {
                Some(id) => HistoryFrom::Before(message(&id)?),
                None => HistoryFrom::Newest,
            };
            let page = inner
                .history(&contact, from, limit)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(messages(&page))
        })
    }

    /// The messages of a conversation whose text or file name holds `query`, newest first
    /// (at most `limit`, by default 1000).
    #[wasm_bindgen(unchecked_return_type = "Promise<HistoryMessage[]>")]
    pub fn search(&self, contact_id: String, query: String, limit: Option<u32>) -> Promise {
        let limit = page_limit(limit);
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let found = inner
                .search(&contact, &query, limit)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(messages(&found))
        })
    }

    /// Unread messages per contact: `{ contact, count }` for each contact with any.
    #[wasm_bindgen(js_name = unreadCounts, unchecked_return_type = "Promise<{ contact: string; count: number }[]>")]
    pub fn unread_counts(&self) -> Promise {
        promise!(self, |inner| {
            let counts = inner
                .unread_counts()
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(counts
                .iter()
                .map(|(contact, count)| convert::unread(contact, *count))
                .collect::<js_sys::Array>()
                .into())
        })
    }

    /// Marks these of a contact's messages read: they leave the unread counts and the
    /// contact gets a read receipt.
    #[wasm_bindgen(js_name = markRead, unchecked_return_type = "Promise<void>")]
    pub fn mark_read(&self, contact_id: String, message_ids: Vec<String>) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let ids = message_ids
                .iter()
                .map(|id| message(id))
                .collect::<Result<Vec<_>, _>>()?;
            inner
                .mark_read(&contact, ids)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes one message on this device (the contact keeps their copy).
    #[wasm_bindgen(js_name = deleteMessage, unchecked_return_type = "Promise<void>")]
    pub fn delete_message(&self, contact_id: String, message_id: String) -> Promise {
        promise!(self, |inner| {
            let (contact, id) = (contact(&contact_id)?, message(&message_id)?);
            inner
                .delete_message(&contact, &id)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Forgets a contact: its queues on the relays, then everything stored for it.
    #[wasm_bindgen(js_name = forgetContact, unchecked_return_type = "Promise<void>")]
    pub fn forget_contact(&self, contact_id: String) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            inner
                .forget_contact(&contact)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Names a contact on this device only; `null` or a blank name removes the name.
    #[wasm_bindgen(js_name = renameContact, unchecked_return_type = "Promise<void>")]
    pub fn rename_contact(&self, contact_id: String, name: Option<String>) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            inner
                .rename_contact(&contact, name)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The safety number of a contact: `{ digits, groups, scannable, qrSvg }` (60 digits,
    /// the same on both sides; 12 groups of 5 to lay out; the bytes of the QR code; the QR
    /// code as an SVG document).
    #[wasm_bindgen(js_name = safetyNumber, unchecked_return_type = "Promise<SafetyNumber>")]
    pub fn safety_number(&self, contact_id: String) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let number = inner
                .safety_number(&contact)
                .await
                .map_err(|e| convert::error(&e))?;
            convert::safety_number(&number)
        })
    }

    /// Compares the bytes scanned from the contact's QR code with our safety number:
    /// `"match"` (then `markVerified`), `"mismatch"` (someone may be in the middle) or
    /// `"differentVersion"` (one side must update).
    #[wasm_bindgen(js_name = compareSafetyCode, unchecked_return_type = "Promise<\"match\" | \"mismatch\" | \"differentVersion\">")]
    pub fn compare_safety_code(&self, contact_id: String, scanned: Vec<u8>) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            let comparison = inner
                .compare_safety_code(&contact, &scanned)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::from_str(match comparison {
                Comparison::Match => "match",
                Comparison::Mismatch => "mismatch",
                Comparison::DifferentVersion { .. } => "differentVersion",
            }))
        })
    }

    /// Marks a contact verified (after the safety numbers matched).
    #[wasm_bindgen(js_name = markVerified, unchecked_return_type = "Promise<void>")]
    pub fn mark_verified(&self, contact_id: String) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            inner
                .mark_verified(&contact)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Accepts a contact's new identity key (after an `identityKeyChanged` event and the
    /// user's decision): its held messages are shown, its queue read again.
    #[wasm_bindgen(js_name = acceptIdentityKey, unchecked_return_type = "Promise<void>")]
    pub fn accept_identity_key(&self, contact_id: String) -> Promise {
        promise!(self, |inner| {
            let contact = contact(&contact_id)?;
            inner
                .accept_identity_key(&contact)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The relays (with their gateways), the onion route and cover traffic in force, as
    /// the options name them: `{ relays, hops, meanDelayMs, cover }`.
    #[wasm_bindgen(js_name = networkSettings, unchecked_return_type = "Promise<NetworkSettings>")]
    pub fn network_settings(&self) -> Promise {
        promise!(self, |inner| {
            let settings = inner
                .network_settings()
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(network_options(&settings))
        })
    }

    /// Changes the relays, the route or cover traffic while running (`{ relays, hops,
    /// meanDelayMs, cover }`, read as at `create`; what is left out takes its default, so
    /// pass back what `networkSettings` gave with the changes). New queues go to the new
    /// relays; existing queues stay where they are. Settings that cannot work are refused
    /// (`InvalidArgumentError`, `TransportError`) and nothing changes.
    #[wasm_bindgen(js_name = setNetworkSettings, unchecked_return_type = "Promise<void>")]
    pub fn set_network_settings(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NetworkOptions")] options: JsValue,
    ) -> Promise {
        let network = network(&options);
        promise!(self, |inner| {
            inner
                .set_network_settings(network?)
                .await
                .map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Encodes a recording as a voice clip in the project's one format (Ogg Opus,
    /// `docs/PROTOCOL.md` §8.1), so that every client plays it: `samples` are 16 kHz mono
    /// PCM (`Int16Array`; an `AudioContext` made with `{ sampleRate: 16000 }` captures at
    /// that rate). Resolves to `{ bytes, mime, codec, durationMs, waveform }`, ready for
    /// `sendAttachment(contact, new Blob([clip.bytes], { type: clip.mime }), { type:
    /// "voiceClip", ...clip })`. Needs no network and works after `shutdown` too.
    #[wasm_bindgen(js_name = encodeVoiceClip, unchecked_return_type = "Promise<VoiceClip>")]
    pub fn encode_voice_clip(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Int16Array")] samples: JsValue,
    ) -> Promise {
        let samples = samples
            .dyn_into::<js_sys::Int16Array>()
            .map(|samples| samples.to_vec())
            .map_err(|_| convert::invalid("samples is an Int16Array of 16 kHz mono PCM"));
        future_to_promise(async move {
            let samples = samples?;
            let encoded = voice::VoiceRecorder::new().and_then(|mut recorder| {
                recorder.push(&samples)?;
                recorder.finish()
            });
            let clip = encoded.map_err(|e| convert::invalid(&format!("voice clip: {e}")))?;
            Ok(convert::record(&[
                (
                    "bytes",
                    js_sys::Uint8Array::from(clip.bytes.as_slice()).into(),
                ),
                ("mime", JsValue::from_str(voice::MEDIA_TYPE)),
                ("codec", JsValue::from_str(voice::CODEC)),
                ("durationMs", JsValue::from_f64(clip.duration_ms.into())),
                (
                    "waveform",
                    js_sys::Uint8Array::from(clip.waveform.as_slice()).into(),
                ),
            ]))
        })
    }

    /// Finishes the calls already made, stops the background work and ends every
    /// subscription. Calls afterwards reject with `ShutDownError`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        promise!(self, |inner| {
            inner.shutdown().await.map_err(|e| convert::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

#[wasm_bindgen]
impl Subscription {
    /// The next event, or `null` once the messenger has shut down. One call at a time.
    #[wasm_bindgen(unchecked_return_type = "Promise<SottoEvent | null>")]
    pub fn next(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            // Taken out while waiting, so a second concurrent call is refused, not mixed in.
            let taken = inner.borrow_mut().take();
            let Some(mut subscription) = taken else {
                return Err(convert::invalid(
                    "next() is already waiting on this subscription",
                ));
            };
            let event = subscription.next().await;
            *inner.borrow_mut() = Some(subscription);
            Ok(event.map_or(JsValue::NULL, convert::event))
        })
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** How the messenger reaches the relay network (at `create`/`open`, or `setNetworkSettings`). */
export interface NetworkOptions {
  /** The relays: each its `sotto://` address and its WebSocket gateway (`ws://` or `wss://`). */
  relays: { address: string; gateway?: string | null }[];
  /** Hops per onion path, 1 to 5 (default 3). */
  hops?: number;
  /** Mean delay each hop holds a packet (mixing), in ms: 0 to 30000, default 100. */
  meanDelayMs?: number;
  /** Cover traffic (off when absent or null); each rate defaults to the desktop rates. */
  cover?: CoverOptions | null;
}

/** Cover-traffic rates in packets per second (0 turns a stream off). */
export interface CoverOptions {
  /** Payload slots per second: real packets take them, drop packets fill the rest (default 0.2). */
  payloadPerSecond?: number;
  /** Loop packets per second (default 0.05). */
  loopPerSecond?: number;
  /** Extra drop packets per second (default 0.05). */
  dropPerSecond?: number;
  /** How long a loop packet may take to come back before it counts as lost (default 60). */
  loopTimeoutSeconds?: number;
}

/** The network settings in force, as `networkSettings` reports them. */
export interface NetworkSettings {
  relays: { address: string; gateway: string | null }[];
  hops: number;
  meanDelayMs: number;
  cover: Required<CoverOptions> | null;
  /**
   * Bytes of every packet on the wire (real or cover): cover traffic costs the sum of its
   * rates times this, per second.
   */
  packetBytes: number;
}

/** Where the messenger reaches the relay network, and its profile. */
export interface MessengerOptions extends NetworkOptions {
  /** The name offered to new contacts. */
  displayName?: string;
  /**
   * A persistent profile, SQLCipher in the origin private file system, its key derived from
   * the passphrase by Argon2id (browsers: the package runs it in a dedicated worker). Node
   * keeps it in `directory` (required there, one folder per process; browsers ignore it).
   * Without it the profile is kept in memory.
   */
  profile?: { name: string; passphrase: string; directory?: string };
}

/** A contact's safety number, to compare by reading or by scanning. */
export interface SafetyNumber {
  /** 60 digits, the same on both sides. */
  digits: string;
  /** The digits as 12 groups of 5 (three rows of four). */
  groups: string[];
  /** The bytes of the QR code (the other side scans them into `compareSafetyCode`). */
  scannable: Uint8Array;
  /** The QR code as an SVG document. */
  qrSvg: string;
}

/** A voice clip made by `encodeVoiceClip`: Ogg Opus, mono, in the project's one format. */
export interface VoiceClip {
  /** The Ogg Opus file (its own buffer: a `BlobPart`). */
  bytes: Uint8Array<ArrayBuffer>;
  /** Its MIME type: "audio/ogg; codecs=opus". */
  mime: string;
  /** The codec voice clip messages name: "opus". */
  codec: string;
  /** Its length in milliseconds. */
  durationMs: number;
  /** Loudness over the clip, 0 to 255 per bar, for drawing it. */
  waveform: Uint8Array<ArrayBuffer>;
}

/** A contact. */
export interface Contact {
  contact: string;
  displayName: string | null;
  verified: boolean;
  /** The contact's identity key changed and waits for the user's decision. */
  keyChangePending: boolean;
}

/** What a message is: a text, or one of the attachments. */
export type MessageKind = "text" | "image" | "file" | "voiceClip";

/** What an attachment is: `mime` defaults to the Blob's type, a file's `name` to the File's. */
export type AttachmentKind =
  | { type: "image"; width: number; height: number; mime?: string; thumbnail?: Uint8Array }
  | { type: "file"; name?: string; mime?: string }
  | { type: "voiceClip"; durationMs: number; codec: string; waveform?: Uint8Array };

/** The attachment a received or sent message carries (its bytes: `downloadAttachment`). */
export interface AttachmentInfo {
  /** Bytes of the attachment. */
  size: number;
  /** Images and files. */
  mime?: string;
  /** Files. */
  name?: string;
  /** Images. */
  width?: number;
  height?: number;
  thumbnail?: Uint8Array;
  /** Voice clips. */
  durationMs?: number;
  codec?: string;
  waveform?: Uint8Array;
}

/** A message of a conversation. */
export interface HistoryMessage {
  messageId: string;
  direction: "incoming" | "outgoing";
  status: "sending" | "sent" | "delivered" | "read" | "received";
  /** When it was stored on this device (ms since the Unix epoch). */
  at: number;
  /** The sender's clock when it was written (ms since the Unix epoch). */
  sentAt: number;
  kind: MessageKind;
  text?: string;
  attachment?: AttachmentInfo;
}

/** An event of a messenger. */
export type SottoEvent =
  | { type: "messageReceived"; contact: string; messageId: string; sentAt: number; kind: MessageKind; text?: string; attachment?: AttachmentInfo }
  | { type: "statusChanged"; contact: string; messageIds: string[]; status: "sending" | "sent" | "delivered" | "read" | "failed" }
  | { type: "transferProgress"; messageId: string; direction: "upload" | "download"; done: number; total: number }
  | { type: "contactAdded"; contact: string; displayName: string }
  | { type: "contactReady"; contact: string }
  | { type: "identityKeyChanged"; contact: string }
  | { type: "packetRejected"; contact: string | null; code: number; reason: string }
  | { type: "queueGone"; contact: string }
  | { type: "networkChanged"; relay: string; reachable: boolean; code: number | null; reason: string | null }
  | { type: "coverProblem"; loopsLost: number }
  | { type: "backgroundProblem"; code: number; reason: string }
  | { type: "missed"; count: number };
"#;
