//! What a [`Messenger`](super::Messenger) pushes to its app, and the subscriptions that
//! carry it.
//!
//! Every subscriber has its own bounded queue ([`SUBSCRIPTION_CAPACITY`] events). A
//! subscriber that falls that far behind is not allowed to hold the messenger up: the
//! events it could not take are counted and it receives [`Event::Missed`] as soon as it
//! has room again, and then reloads what it shows from the store (history and statuses are
//! always there). Events reach every subscriber in the order they happened.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::client::{ClientEvent, TransferDirection};
use crate::contacts::ContactId;
use crate::content::{Content, MessageId};
use crate::error::ErrorCode;
use crate::identity::PublicIdentity;
use crate::relay::RelayAddress;

/// Events a subscriber may fall behind by before it misses some.
pub const SUBSCRIPTION_CAPACITY: usize = 4096;

/// Where one of our messages stands, as the app shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Stored with its outbox entry; not handed to the network yet (or waiting for cover
    /// traffic's next payload slot).
    Sending,
    /// Handed to the network (written to the contact's queue or the first onion hop).
    Sent,
    /// The contact's device received it (end-to-end receipt).
    Delivered,
    /// The contact read it (end-to-end receipt).
    Read,
    /// It will not go out: its attachment could not be uploaded.
    Failed,
}

/// Something the app should show or know, pushed as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A contact's message is ready to show: in order, each exactly once.
    MessageReceived {
        /// Who wrote it.
        contact: ContactId,
        /// The message.
        content: Content,
    },
    /// Our messages to a contact changed status.
    StatusChanged {
        /// The contact.
        contact: ContactId,
        /// Our messages.
        message_ids: Vec<MessageId>,
        /// Their new status.
        status: DeliveryStatus,
    },
    /// An attachment transfer made progress.
    TransferProgress {
        /// The message carrying the attachment.
        message_id: MessageId,
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
        contact: ContactId,
        /// The name it gave itself (a hint, unverified; may be empty).
        display_name: String,
    },
    /// The inviter answered our acceptance: messages to the contact flow now.
    ContactReady {
        /// The contact.
        contact: ContactId,
    },
    /// The contact presented a new identity key; nothing flows with it until the user
    /// accepts the key ([`Messenger::accept_identity_key`](super::Messenger::accept_identity_key)).
    IdentityKeyChanged {
        /// The contact.
        contact: ContactId,
        /// The key now presented.
        new_identity: PublicIdentity,
    },
    /// A packet on one of our queues could not be opened (forged, corrupted, from a
    /// stranger) and was removed.
    PacketRejected {
        /// The contact whose queue it came from (`None` for an invitation queue).
        contact: Option<ContactId>,
        /// The error's stable code.
        code: ErrorCode,
        /// Why.
        reason: String,
    },
    /// A contact's queue is gone from its relay; what we send it waits in the outbox.
    QueueGone {
        /// The contact.
        contact: ContactId,
    },
    /// A relay became unreachable, or reachable again. Nothing is lost meanwhile: reads
    /// and the outbox try again with backoff.
    NetworkChanged {
        /// The relay.
        relay: RelayAddress,
        /// Whether it answers now.
        reachable: bool,
        /// Why it does not (the error's stable code), when it does not.
        code: Option<ErrorCode>,
        /// Why it does not, for people.
        reason: Option<String>,
    },
    /// Cover traffic gave up on loop packets that did not come back in time: a relay on
    /// their paths may be dropping packets.
    CoverProblem {
        /// Loop packets lost in this round.
        loops_lost: usize,
    },
    /// Background work failed for a reason that is not the network's (the store, e.g. a
    /// full disk); it is tried again later.
    BackgroundProblem {
        /// The error's stable code.
        code: ErrorCode,
        /// Why.
        reason: String,
    },
    /// This subscriber fell [`SUBSCRIPTION_CAPACITY`] events behind and missed `count`
    /// events: reload what is shown from the store.
    Missed {
        /// Events not delivered to this subscriber.
        count: u64,
    },
}

impl Event {
    /// The app's view of a client event (`None` for what the app does not see this way:
    /// network problems become [`Event::NetworkChanged`] through the actor's bookkeeping).
    pub(super) fn from_client(event: ClientEvent) -> Option<Self> {
        Some(match event {
            ClientEvent::Message { contact, content } => {
                Event::MessageReceived { contact, content }
            }
            ClientEvent::Sent {
                contact,
                message_id,
            } => Event::StatusChanged {
                contact,
                message_ids: vec![message_id],
                status: DeliveryStatus::Sent,
            },
            ClientEvent::Delivered {
                contact,
                message_ids,
            } => Event::StatusChanged {
                contact,
                message_ids,
                status: DeliveryStatus::Delivered,
            },
            ClientEvent::Read {
                contact,
                message_ids,
            } => Event::StatusChanged {
                contact,
                message_ids,
                status: DeliveryStatus::Read,
            },
            ClientEvent::ContactJoined {
                contact,
                display_name,
            } => Event::ContactAdded {
                contact,
                display_name,
            },
            ClientEvent::ContactAccepted { contact } => Event::ContactReady { contact },
            ClientEvent::IdentityKeyChanged {
                contact,
                new_identity,
            } => Event::IdentityKeyChanged {
                contact,
                new_identity,
            },
            ClientEvent::Progress {
                message_id,
                direction,
                done,
                total,
            } => Event::TransferProgress {
                message_id,
                direction,
                done,
                total,
            },
            ClientEvent::Rejected {
                contact,
                code,
                reason,
            } => Event::PacketRejected {
                contact,
                code,
                reason,
            },
            ClientEvent::QueueGone { contact } => Event::QueueGone { contact },
            ClientEvent::NetworkProblem { .. } => return None,
        })
    }
}

/// One subscriber's end, kept by the messenger.
struct Subscriber {
    events: mpsc::Sender<Event>,
    missed: u64,
}

/// The subscribers of one messenger.
#[derive(Default)]
pub(super) struct Subscribers(Mutex<Vec<Subscriber>>);

impl Subscribers {
    /// A new subscription.
    pub(super) fn subscribe(&self) -> Subscription {
        let (events, receiver) = mpsc::channel(SUBSCRIPTION_CAPACITY);
        self.lock().push(Subscriber { events, missed: 0 });
        Subscription(receiver)
    }

    /// Hands `event` to every subscriber (dropping those that went away).
    pub(super) fn publish(&self, event: &Event) {
        self.lock().retain_mut(|subscriber| {
            if subscriber.missed > 0 {
                match subscriber.events.try_send(Event::Missed {
                    count: subscriber.missed,
                }) {
                    Ok(()) => subscriber.missed = 0,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        subscriber.missed += 1;
                        return true;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            match subscriber.events.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    subscriber.missed += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Ends every subscription (after the events already queued).
    pub(super) fn close(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The events of one messenger, from the moment of subscribing, in order. An async stream
/// ([`Subscription::next`], or `futures_core::Stream`); it ends when the messenger shuts
/// down. Hosts without an async runtime use [`Subscription::blocking_next`] or
/// [`Subscription::try_next`].
#[derive(Debug)]
pub struct Subscription(mpsc::Receiver<Event>);

impl Subscription {
    /// The next event; `None` once the messenger has shut down and every event was taken.
    pub async fn next(&mut self) -> Option<Event> {
        self.0.recv().await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        self.0.try_recv().ok()
    }

    /// The next event, blocking this thread until there is one (never call it from an async
    /// task); `None` once the messenger has shut down.
    pub fn blocking_next(&mut self) -> Option<Event> {
        self.0.blocking_recv()
    }
}

impl futures_core::Stream for Subscription {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.0.poll_recv(cx)
    }
}

/// Calls `callback` for every event of `subscription` on a thread of its own, until the
/// messenger shuts down.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn deliver_to(
    mut subscription: Subscription,
    callback: Arc<dyn Fn(Event) + Send + Sync>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("sotto-events".into())
        .spawn(move || {
            while let Some(event) = subscription.blocking_next() {
                // A panicking callback must not end the deliveries (nor cross into C).
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    callback(event);
                }));
            }
        })
        .map(drop)
}

/// In the browser: calls `callback` for every event of `subscription` from a task on the
/// event loop, until the messenger shuts down.
#[cfg(target_arch = "wasm32")]
pub(super) fn deliver_to(
    mut subscription: Subscription,
    callback: Arc<dyn Fn(Event) + Send + Sync>,
) -> std::io::Result<()> {
    let _task = crate::runtime::spawn_local(async move {
        while let Some(event) = subscription.next().await {
            callback(event);
        }
    });
    Ok(())
}
