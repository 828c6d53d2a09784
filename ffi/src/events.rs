//! Events for C: `SottoEvent` with its accessors, the callback, and subscriptions that a
//! host with its own event loop polls through a file descriptor.

use std::ffi::{CString, c_char, c_int, c_void};
use std::io::{Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use sotto_core::content::Body;
use sotto_core::messenger::{DeliveryStatus, Event, Subscription};

use crate::abi::{
    Failure, SOTTO_ERROR_INTERNAL, SOTTO_ERROR_SHUT_DOWN, SOTTO_NO_EVENT, SOTTO_OK, SottoStatus,
    guard, guard_void,
};
use crate::memory::{c_string, c_text, out};
use crate::messenger::{SottoMessenger, messenger_ref};

/// What happened (`sotto_event_kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SottoEventKind {
    /// A contact's message is ready to show (in order, once each).
    MessageReceived = 1,
    /// Our messages to a contact changed status (`sotto_event_status`).
    StatusChanged = 2,
    /// An attachment transfer moved on (`sotto_event_progress`).
    TransferProgress = 3,
    /// Someone accepted one of our invitations: a new contact.
    ContactAdded = 4,
    /// The inviter answered our acceptance: messages to the contact flow now.
    ContactReady = 5,
    /// A contact presented a new identity key; nothing flows until the user accepts it.
    IdentityKeyChanged = 6,
    /// A packet on one of our queues could not be opened and was removed.
    PacketRejected = 7,
    /// A contact's queue is gone from its relay.
    QueueGone = 8,
    /// A relay became unreachable or reachable again.
    NetworkChanged = 9,
    /// Cover traffic lost loop packets.
    CoverProblem = 10,
    /// Background work failed for a reason other than the network (tried again later).
    BackgroundProblem = 11,
    /// This subscriber fell behind and missed events: reload what you show.
    Missed = 12,
}

/// Where one of our messages stands (`sotto_event_status`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SottoDeliveryStatus {
    /// Not a status event.
    None = 0,
    /// Stored; not handed to the network yet.
    Sending = 1,
    /// Handed to the network.
    Sent = 2,
    /// The contact's device received it.
    Delivered = 3,
    /// The contact read it.
    Read = 4,
    /// It will not go out (its attachment could not be uploaded).
    Failed = 5,
}

/// What a received message carries (`sotto_event_body_kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SottoBodyKind {
    /// Not a message event.
    None = 0,
    /// Text (`sotto_event_text`).
    Text = 1,
    /// An image (details in `sotto_event_json`).
    Image = 2,
    /// A file (details in `sotto_event_json`).
    File = 3,
    /// A voice clip (details in `sotto_event_json`).
    VoiceClip = 4,
}

/// One event (opaque). In a callback it is borrowed for the call; from
/// `sotto_subscription_next` it is the host's, freed by `sotto_event_free`. Every string
/// an accessor returns belongs to the event and lives as long as it.
pub struct SottoEvent {
    kind: SottoEventKind,
    contact: Option<CString>,
    message_ids: Vec<CString>,
    text: Option<CString>,
    body_kind: SottoBodyKind,
    status: SottoDeliveryStatus,
    progress: (u64, u64),
    json: CString,
}

impl SottoEvent {
    pub(crate) fn from_event(event: &Event) -> Result<Self, Failure> {
        let mut made = Self {
            kind: SottoEventKind::Missed,
            contact: None,
            message_ids: Vec::new(),
            text: None,
            body_kind: SottoBodyKind::None,
            status: SottoDeliveryStatus::None,
            progress: (0, 0),
            json: CString::default(),
        };
        let contact = |id: &sotto_core::contacts::ContactId| c_string(id.as_str());
        let json = match event {
            Event::MessageReceived {
                contact: from,
                content,
            } => {
                made.kind = SottoEventKind::MessageReceived;
                made.contact = Some(contact(from)?);
                made.message_ids = vec![c_string(content.id.to_string())?];
                made.body_kind = body_kind(&content.body);
                if let Body::Text(text) = &content.body {
                    made.text = Some(c_text(text));
                }
                serde_json::json!({
                    "kind": "message_received",
                    "contact": from.as_str(),
                    "message_id": content.id.to_string(),
                    "sent_at_ms": content.timestamp_ms,
                    "body": sotto_core::client::json::body_json(&content.body),
                })
            }
            Event::StatusChanged {
                contact: to,
                message_ids,
                status,
            } => {
                made.kind = SottoEventKind::StatusChanged;
                made.contact = Some(contact(to)?);
                made.message_ids = message_ids
                    .iter()
                    .map(|id| c_string(id.to_string()))
                    .collect::<Result<_, _>>()?;
                made.status = delivery_status(*status);
                serde_json::json!({
                    "kind": "status_changed",
                    "contact": to.as_str(),
                    "message_ids": message_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "status": format!("{status:?}").to_lowercase(),
                })
            }
            Event::TransferProgress {
                message_id,
                direction,
                done,
                total,
            } => {
                made.kind = SottoEventKind::TransferProgress;
                made.message_ids = vec![c_string(message_id.to_string())?];
                made.progress = (*done, *total);
                serde_json::json!({
                    "kind": "transfer_progress",
                    "message_id": message_id.to_string(),
                    "direction": format!("{direction:?}").to_lowercase(),
                    "done": done,
                    "total": total,
                })
            }
            Event::ContactAdded {
                contact: added,
                display_name,
            } => {
                made.kind = SottoEventKind::ContactAdded;
                made.contact = Some(contact(added)?);
                made.text = Some(c_text(display_name));
                serde_json::json!({
                    "kind": "contact_added",
                    "contact": added.as_str(),
                    "display_name": display_name,
                })
            }
            Event::ContactReady { contact: ready } => {
                made.kind = SottoEventKind::ContactReady;
                made.contact = Some(contact(ready)?);
                serde_json::json!({ "kind": "contact_ready", "contact": ready.as_str() })
            }
            Event::IdentityKeyChanged {
                contact: changed,
                new_identity,
            } => {
                made.kind = SottoEventKind::IdentityKeyChanged;
                made.contact = Some(contact(changed)?);
                serde_json::json!({
                    "kind": "identity_key_changed",
                    "contact": changed.as_str(),
                    "new_identity": new_identity.to_text(),
                })
            }
            Event::PacketRejected {
                contact: from,
                code,
                reason,
            } => {
                made.kind = SottoEventKind::PacketRejected;
                made.contact = from.as_ref().map(contact).transpose()?;
                made.text = Some(c_text(reason));
                serde_json::json!({
                    "kind": "packet_rejected",
                    "contact": from.as_ref().map(|c| c.as_str()),
                    "code": *code as i32,
                    "reason": reason,
                })
            }
            Event::QueueGone { contact: gone } => {
                made.kind = SottoEventKind::QueueGone;
                made.contact = Some(contact(gone)?);
                serde_json::json!({ "kind": "queue_gone", "contact": gone.as_str() })
            }
            Event::NetworkChanged {
                relay,
                reachable,
                code,
                reason,
            } => {
                made.kind = SottoEventKind::NetworkChanged;
                made.text = reason.as_deref().map(c_text);
                serde_json::json!({
                    "kind": "network_changed",
                    "relay": relay.to_string(),
                    "reachable": reachable,
                    "code": code.map(|c| c as i32),
                    "reason": reason,
                })
            }
            Event::CoverProblem { loops_lost } => {
                made.kind = SottoEventKind::CoverProblem;
                serde_json::json!({ "kind": "cover_problem", "loops_lost": loops_lost })
            }
            Event::BackgroundProblem { code, reason } => {
                made.kind = SottoEventKind::BackgroundProblem;
                made.text = Some(c_text(reason));
                serde_json::json!({
                    "kind": "background_problem",
                    "code": *code as i32,
                    "reason": reason,
                })
            }
            Event::Missed { count } => {
                made.kind = SottoEventKind::Missed;
                serde_json::json!({ "kind": "missed", "count": count })
            }
        };
        made.json = c_string(json.to_string())?;
        Ok(made)
    }
}

fn body_kind(body: &Body) -> SottoBodyKind {
    match body {
        Body::Text(_) => SottoBodyKind::Text,
        Body::Image(_) => SottoBodyKind::Image,
        Body::File(_) => SottoBodyKind::File,
        Body::VoiceClip(_) => SottoBodyKind::VoiceClip,
        Body::Receipt(_) | Body::ContactAccept(_) => SottoBodyKind::None,
    }
}

fn delivery_status(status: DeliveryStatus) -> SottoDeliveryStatus {
    match status {
        DeliveryStatus::Sending => SottoDeliveryStatus::Sending,
        DeliveryStatus::Sent => SottoDeliveryStatus::Sent,
        DeliveryStatus::Delivered => SottoDeliveryStatus::Delivered,
        DeliveryStatus::Read => SottoDeliveryStatus::Read,
        DeliveryStatus::Failed => SottoDeliveryStatus::Failed,
    }
}

fn borrowed(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The event's kind. An event pointer of NULL answers `SOTTO_EVENT_KIND_MISSED`.
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_kind(event: *const SottoEvent) -> SottoEventKind {
    // SAFETY: NULL or a live event, as the caller promises.
    unsafe { event.as_ref() }.map_or(SottoEventKind::Missed, |e| e.kind)
}

/// The contact the event is about, or NULL.
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_contact(event: *const SottoEvent) -> *const c_char {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(std::ptr::null(), |e| borrowed(e.contact.as_ref()))
}

/// How many message ids the event names (1 for a received message or a transfer; the
/// messages whose status changed).
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_message_id_count(event: *const SottoEvent) -> usize {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(0, |e| e.message_ids.len())
}

/// The `index`th message id (32 hex digits), or NULL past the end.
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_message_id(
    event: *const SottoEvent,
    index: usize,
) -> *const c_char {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(std::ptr::null(), |e| borrowed(e.message_ids.get(index)))
}

/// The text: of a received text message, the name a new contact gave itself, or why a
/// problem happened. NULL when the event has none.
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_text(event: *const SottoEvent) -> *const c_char {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(std::ptr::null(), |e| borrowed(e.text.as_ref()))
}

/// What a received message carries (`SOTTO_BODY_KIND_NONE` for other events).
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_body_kind(event: *const SottoEvent) -> SottoBodyKind {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(SottoBodyKind::None, |e| e.body_kind)
}

/// The new status of a status event (`SOTTO_DELIVERY_STATUS_NONE` for other events).
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_status(event: *const SottoEvent) -> SottoDeliveryStatus {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(SottoDeliveryStatus::None, |e| e.status)
}

/// A transfer's progress: bytes moved so far and in all (both 0 for other events). NULL
/// output pointers are skipped.
///
/// # Safety
/// `event` is NULL or a live event; `done` and `total` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_progress(
    event: *const SottoEvent,
    done: *mut u64,
    total: *mut u64,
) {
    // SAFETY: NULL or a live event.
    let (moved, all) = unsafe { event.as_ref() }.map_or((0, 0), |e| e.progress);
    // SAFETY: each is NULL or writable, as the caller promises.
    if let Some(done) = unsafe { done.as_mut() } {
        *done = moved;
    }
    // SAFETY: as above.
    if let Some(total) = unsafe { total.as_mut() } {
        *total = all;
    }
}

/// The whole event as one JSON object (`{"kind": "message_received", ...}`), for hosts
/// that would rather parse than call accessors.
///
/// # Safety
/// `event` is NULL or a live event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_json(event: *const SottoEvent) -> *const c_char {
    // SAFETY: NULL or a live event.
    unsafe { event.as_ref() }.map_or(std::ptr::null(), |e| e.json.as_ptr())
}

/// Frees an event from `sotto_subscription_next`. NULL is fine. Never free the event a
/// callback receives.
///
/// # Safety
/// `event` is NULL or an event from `sotto_subscription_next`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_event_free(event: *mut SottoEvent) {
    guard_void(|| {
        if !event.is_null() {
            // SAFETY: made by `Box::into_raw` in `sotto_subscription_next`, freed once.
            drop(unsafe { Box::from_raw(event) });
        }
    });
}

/// Called with each event, on a thread of the library: `user_data` as given, and the
/// event, borrowed for the call. It may call any `sotto_*` function.
pub type SottoEventCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const SottoEvent)>;

/// The host's pointer, carried to the library's event thread.
struct UserData(*mut c_void);

// SAFETY: the host promises (sotto.h, `sotto_messenger_set_event_callback`) that its
// `user_data` may be used from the library's event thread.
unsafe impl Send for UserData {}
// SAFETY: as above; the library only passes the pointer back, never dereferences it.
unsafe impl Sync for UserData {}

/// Calls `callback(user_data, event)` for every event from now on, in order, on a thread
/// of the library, until the messenger shuts down. Each call adds a listener. The host
/// keeps `user_data` valid (and usable from that thread) until the messenger is shut down.
///
/// # Safety
/// `messenger` is a live handle; `callback` a function safe to call from another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_set_event_callback(
    messenger: *const SottoMessenger,
    callback: SottoEventCallback,
    user_data: *mut c_void,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let user_data = UserData(user_data);
        messenger.inner.on_event(move |event| {
            let Ok(event) = SottoEvent::from_event(&event) else {
                return;
            };
            let user_data = &user_data;
            // SAFETY: the host's function with the host's pointer; the event lives for the call.
            unsafe { callback(user_data.0, &event) };
        })?;
        Ok(())
    })
}

/// Events for a host that runs its own loop (opaque): `sotto_subscription_fd` becomes
/// readable when an event waits, `sotto_subscription_next` takes it without blocking.
pub struct SottoSubscription {
    shared: Arc<Pending>,
    /// Readable (one byte) while an event waits; at the end, readable for good.
    reader: UnixStream,
}

/// The one event handed over at a time, and whether more can come.
#[derive(Default)]
struct Slot {
    event: Option<Event>,
    ended: bool,
    consumer_gone: bool,
}

#[derive(Default)]
struct Pending {
    slot: Mutex<Slot>,
    taken: Condvar,
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Moves events from the messenger's subscription into the slot, one at a time (the
/// messenger's own buffer holds the rest, and reports `Missed` when the host falls far
/// behind), and makes the socket readable for each.
fn forward(mut subscription: Subscription, shared: Arc<Pending>, mut writer: UnixStream) {
    while let Some(event) = subscription.blocking_next() {
        let mut slot = shared.lock();
        if slot.consumer_gone {
            return;
        }
        // Under the lock, so that the byte and the event are there together for `next`.
        slot.event = Some(event);
        if writer.write_all(&[1]).is_err() {
            return;
        }
        while slot.event.is_some() && !slot.consumer_gone {
            slot = shared
                .taken
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if slot.consumer_gone {
            return;
        }
    }
    let mut slot = shared.lock();
    slot.ended = true;
    let _ = writer.write_all(&[0]);
}

/// Subscribes to the messenger's events from now on.
///
/// # Safety
/// `messenger` is a live handle; `out_subscription` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_subscribe(
    messenger: *const SottoMessenger,
    out_subscription: *mut *mut SottoSubscription,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        out(out_subscription, "out_subscription")?;
        let (reader, writer) = UnixStream::pair()
            .map_err(|e| Failure::new(SOTTO_ERROR_INTERNAL, format!("a socket pair: {e}")))?;
        reader
            .set_nonblocking(true)
            .map_err(|e| Failure::new(SOTTO_ERROR_INTERNAL, format!("a socket pair: {e}")))?;
        let shared = Arc::new(Pending::default());
        let subscription = messenger.inner.subscribe();
        let forwarding = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("sotto-ffi-events".into())
            .spawn(move || forward(subscription, forwarding, writer))
            .map_err(|e| Failure::new(SOTTO_ERROR_INTERNAL, format!("the event thread: {e}")))?;
        let handle = Box::new(SottoSubscription { shared, reader });
        // SAFETY: checked not NULL above.
        unsafe { *out_subscription = Box::into_raw(handle) };
        Ok(())
    })
}

/// A file descriptor that is readable while an event waits (and for good once the
/// messenger has shut down). Owned by the subscription: poll it, never read or close it.
/// -1 for NULL.
///
/// # Safety
/// `subscription` is NULL or a live subscription.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_subscription_fd(subscription: *const SottoSubscription) -> c_int {
    // SAFETY: NULL or a live subscription.
    unsafe { subscription.as_ref() }.map_or(-1, |s| s.reader.as_raw_fd())
}

/// Takes the next event without blocking: `SOTTO_OK` with `*out_event` (free it with
/// `sotto_event_free`), `SOTTO_NO_EVENT` when none waits, `SOTTO_ERROR_SHUT_DOWN` once
/// the messenger has shut down and every event was taken.
///
/// # Safety
/// `subscription` is a live subscription; `out_event` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_subscription_next(
    subscription: *mut SottoSubscription,
    out_event: *mut *mut SottoEvent,
) -> SottoStatus {
    let mut found = SOTTO_OK;
    let status = guard(|| {
        // SAFETY: the caller passes NULL or a live subscription.
        let subscription =
            unsafe { subscription.as_mut() }.ok_or_else(|| Failure::null("subscription"))?;
        out(out_event, "out_event")?;
        let shared = Arc::clone(&subscription.shared);
        let mut slot = shared.lock();
        let Some(event) = slot.event.take() else {
            if slot.ended {
                return Err(Failure::new(
                    SOTTO_ERROR_SHUT_DOWN,
                    "the messenger has shut down",
                ));
            }
            found = SOTTO_NO_EVENT;
            return Ok(());
        };
        // The byte that made the socket readable for this event (written under the lock).
        let mut byte = [0u8; 1];
        let _ = subscription.reader.read(&mut byte);
        drop(slot);
        shared.taken.notify_all();
        let made = Box::new(SottoEvent::from_event(&event)?);
        // SAFETY: checked not NULL above.
        unsafe { *out_event = Box::into_raw(made) };
        Ok(())
    });
    if status == SOTTO_OK { found } else { status }
}

/// Ends a subscription. NULL is fine.
///
/// # Safety
/// `subscription` is NULL or a live subscription, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_subscription_free(subscription: *mut SottoSubscription) {
    guard_void(|| {
        if subscription.is_null() {
            return;
        }
        // SAFETY: made by `Box::into_raw` in `sotto_messenger_subscribe`, freed once.
        let subscription = unsafe { Box::from_raw(subscription) };
        subscription.shared.lock().consumer_gone = true;
        subscription.shared.taken.notify_all();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_core::contacts::ContactId;
    use sotto_core::content::Content;

    #[test]
    fn a_text_holding_nul_reaches_c_whole_with_the_nul_replaced() {
        let event = Event::MessageReceived {
            contact: ContactId::new("c1"),
            content: Content::new(1, 0, Body::Text("before\0after".into())),
        };
        let made = SottoEvent::from_event(&event).expect("an event for C");
        assert_eq!(
            made.text.as_ref().map(|t| t.to_str().unwrap()),
            Some("before\u{FFFD}after")
        );
        let json: serde_json::Value = serde_json::from_slice(made.json.as_bytes()).unwrap();
        assert_eq!(json["body"]["text"], "before\0after");
    }
}
