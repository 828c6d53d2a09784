//! Waiting reads (`docs/PROTOCOL.md` §20): a read of an empty queue that asked to wait
//! (`Sotto-Wait`) is held until a message is written into that queue, the wait ends, or the
//! relay shuts down.
//!
//! Waiters are kept in memory only, by recipient id, and forgotten when their read ends; a
//! write wakes exactly the waiters of its own queue. Nothing about a waiter is logged or
//! stored. The number of reads held at once is bounded ([`MAX_WAITERS`]): past it a read
//! answers at once, as if it had not asked to wait, and the client asks again.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sotto_core::relay::RecipientId;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// Most reads held waiting at once, over all queues.
pub const MAX_WAITERS: usize = 100_000;

/// The relay's waiting reads.
#[derive(Debug, Default)]
pub struct Waiters {
    queues: Mutex<HashMap<RecipientId, Arc<Notify>>>,
    held: AtomicUsize,
    closed: AtomicBool,
    closing: Notify,
}

/// One waiting read's place: dropping it forgets the waiter.
pub struct Waiter<'a> {
    waiters: &'a Waiters,
    queue: RecipientId,
    notify: Arc<Notify>,
}

impl Waiters {
    /// A registry with nobody waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a read of `queue` that will wait, before the queue is looked at (so that a
    /// write landing between the look and the wait is not missed). `None` when the relay
    /// holds [`MAX_WAITERS`] reads already or is shutting down: answer at once.
    pub fn register(&self, queue: RecipientId) -> Option<Waiter<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        if self.held.fetch_add(1, Ordering::AcqRel) >= MAX_WAITERS {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let notify = Arc::clone(self.lock().entry(queue).or_default());
        Some(Waiter {
            waiters: self,
            queue,
            notify,
        })
    }

    /// Wakes every read waiting on `queue` (a message was just written into it).
    pub fn wake(&self, queue: &RecipientId) {
        if let Some(notify) = self.lock().get(queue) {
            notify.notify_waiters();
        }
    }

    /// Ends every wait now and refuses new ones (the relay is shutting down).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.closing.notify_waiters();
    }

    /// Reads waiting now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RecipientId, Arc<Notify>>> {
        // A panic while holding the map leaves it consistent (single inserts and removes).
        self.queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Waiter<'_> {
    /// Waits at most `wait` for a write into the queue (or the relay's shutdown). Call
    /// [`Waiter::armed`] first, then look at the queue, then this.
    pub async fn wait(&self, armed: Pin<&mut Notified<'_>>, wait: Duration) {
        let closing = self.waiters.closing.notified();
        if self.waiters.closed.load(Ordering::Acquire) {
            return;
        }
        tokio::select! {
            () = armed => {}
            () = closing => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    /// A wake-up registered now: a write from this moment on completes it (tokio's
    /// `notify_waiters` reaches every `Notified` from its creation, polled or not).
    pub fn armed(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.waiters.held.fetch_sub(1, Ordering::AcqRel);
        let mut queues = self.waiters.lock();
        // The map and this waiter hold the only references: nobody else waits on the queue.
        if Arc::strong_count(&self.notify) == 2 {
            queues.remove(&self.queue);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(byte: u8) -> RecipientId {
        RecipientId::from_bytes([byte; 16])
    }

    const LONG: Duration = Duration::from_secs(3600);

    /// Whether `wait` ended (woken) within a few seconds, though asked to wait an hour.
    async fn ends_soon(wait: impl Future<Output = ()>) -> bool {
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_write_wakes_the_waiters_of_its_queue_only() {
        let waiters = Waiters::new();
        let waiter = waiters.register(queue(1)).unwrap();
        let other = waiters.register(queue(2)).unwrap();
        let (armed, other_armed) = (waiter.armed(), other.armed());
        let (mut armed, mut other_armed) = (std::pin::pin!(armed), std::pin::pin!(other_armed));
        waiters.wake(&queue(1));
        assert!(ends_soon(waiter.wait(armed.as_mut(), LONG)).await);
        let not_woken = tokio::time::timeout(
            Duration::from_millis(200),
            other.wait(other_armed.as_mut(), LONG),
        )
        .await;
        assert!(
            not_woken.is_err(),
            "a write into queue 1 woke queue 2's reader"
        );
    }

    #[tokio::test]
    async fn closing_ends_every_wait_and_refuses_new_ones() {
        let waiters = Waiters::new();
        let waiter = waiters.register(queue(1)).unwrap();
        let armed = waiter.armed();
        let mut armed = std::pin::pin!(armed);
        waiters.close();
        assert!(ends_soon(waiter.wait(armed.as_mut(), LONG)).await);
        assert!(waiters.register(queue(1)).is_none());
    }

    #[test]
    fn waiters_are_forgotten_and_bounded() {
        let waiters = Waiters::new();
        let first = waiters.register(queue(1)).unwrap();
        let second = waiters.register(queue(1)).unwrap();
        assert_eq!(waiters.held(), 2);
        drop(first);
        assert_eq!(waiters.lock().len(), 1, "the queue still has a waiter");
        drop(second);
        assert_eq!(waiters.held(), 0);
        assert!(waiters.lock().is_empty(), "nothing kept once nobody waits");
        waiters.held.store(MAX_WAITERS, Ordering::Release);
        assert!(waiters.register(queue(3)).is_none());
    }
}
