//! Events for the foreign side, two ways: an [`EventListener`] the app implements (called
//! on a library thread, in order), and [`Subscription`]s whose `next` the app awaits (the
//! Python package wraps one in an async iterator).

use std::sync::Arc;

use crate::types::Event;

/// What the app implements to hear every event of a messenger (Python: subclass it; Kotlin
/// and Swift: implement the interface / protocol). `on_event` runs on a library thread, one
/// event at a time and in order; it should return quickly (hand the event to the app's own
/// loop).
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: Event);
}

/// A stream of a messenger's events, from the moment it was made. It holds at most 4096
/// events the app has not taken; past that it skips them and says so with `Event.Missed`.
#[derive(uniffi::Object)]
pub struct Subscription {
    inner: tokio::sync::Mutex<sotto_core::Subscription>,
}

impl Subscription {
    pub(crate) fn new(inner: sotto_core::Subscription) -> Arc<Self> {
        Arc::new(Self {
            inner: tokio::sync::Mutex::new(inner),
        })
    }
}

#[uniffi::export]
impl Subscription {
    /// The next event, waiting for one; `None` once the messenger has shut down. Cancelling
    /// the wait loses nothing.
    pub async fn next(&self) -> Option<Event> {
        // Receiving from the subscription's channel needs no runtime, and a cancelled wait
        // takes nothing out of it.
        self.inner.lock().await.next().await.map(Event::from)
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_next(&self) -> Option<Event> {
        self.inner.try_lock().ok()?.try_next().map(Event::from)
    }
}
