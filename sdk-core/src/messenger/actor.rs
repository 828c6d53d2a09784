//! The thread that owns a [`Client`] and does the background work.
//!
//! One OS thread per messenger runs a single-threaded tokio runtime (in the browser, the
//! page's or worker's event loop: [`crate::runtime`]). On it:
//!
//! - the **actor loop** takes one thing at a time: an app call (a job), a waiting read's
//!   result, or a timer (outbox retry, cover tick, prekey rotation). Whatever it takes it
//!   finishes before taking the next, so a call whose caller went away still completes
//!   its durable part, and nothing ever runs half-way;
//! - one **waiting read** per queue (background work on): a task that asks the queue's
//!   relay, through the proxy relay, for the next message and waits there for up to
//!   [`WAIT`]. It only reads: the message goes to the loop, which opens, stores,
//!   acknowledges and sends receipts ([`Client::receive_read`]), then starts the read anew;
//! - the **catch-up** when the background work starts: what arrived while the app was away,
//!   read a small batch at a time ([`Client::read_batch`]) whenever no call waits, so that
//!   a profile coming back to thousands of messages answers its app at once; then the
//!   outbox. `Messenger::start` answers when it is done, and the waiting reads begin.
//!
//! The client's futures are not `Send` (libsignal's store traits are `?Send`), which is why
//! the client lives on this one thread and the handle talks to it by messages.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};

use super::event::{DeliveryStatus, Event, Subscribers};
use crate::client::{Client, ClientEvent, Clock};
#[cfg(not(target_arch = "wasm32"))]
use crate::client::{PreparedAttachment, TransferDirection};
use crate::contacts::ContactId;
use crate::content::MessageId;
use crate::error::{Error, Result};
use crate::prekeys::RotationPolicy;
use crate::relay::OwnQueue;
use crate::relay::{RecipientId, RelayAddress};
use crate::runtime::{Instant, TaskHandle, sleep_until, spawn_local};
use crate::store::Store;
use crate::transport::{ReadMessage, RelayClient, TransportError};

/// How long a waiting read waits at the relay before it asks again.
pub const WAIT: Duration = Duration::from_secs(25);
/// How often prekeys are checked for rotation (they rotate weekly).
pub const PREKEY_CHECK: Duration = Duration::from_secs(24 * 3600);
/// The first pause after a failed read or a send that found nothing it could transmit;
/// it doubles with each further failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The loop looks at its schedule at least this often, even with nothing due (a moved
/// clock, a retry time written by another call).
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// A call of the app, run on the actor.
pub(super) type Job<S> = Box<dyn for<'a> FnOnce(&'a mut Actor<S>) -> LocalFuture<'a, ()> + Send>;
/// A future that stays on the actor's thread.
pub(super) type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What a waiting read reports to the loop.
enum Woken {
    /// A message arrived in the queue (not acknowledged yet).
    Message(OwnQueue, ReadMessage),
    /// The wait ended with the queue empty: the relay answers.
    Reachable(RelayAddress),
    /// The read failed.
    Failed(OwnQueue, TransportError),
    /// An attachment upload moved on.
    #[cfg(not(target_arch = "wasm32"))]
    Progress {
        message_id: crate::content::MessageId,
        done: u64,
        total: u64,
    },
    /// An attachment upload ended.
    #[cfg(not(target_arch = "wasm32"))]
    Uploaded(PreparedAttachment, Result<()>),
}

/// A waiting read in flight, or the time its next attempt is due.
enum Reader {
    Running(TaskHandle),
    Backoff { until: Instant },
}

/// The client and everything the background work keeps.
pub(super) struct Actor<S: Store> {
    pub(super) client: Client<S>,
    pub(super) subscribers: Arc<Subscribers>,
    clock: Arc<dyn Clock>,
    /// Whether the background work runs (`Messenger::start` .. `Messenger::shutdown`).
    background: bool,
    readers: HashMap<RecipientId, Reader>,
    /// Queues whose read failed, with the pause before the next attempt.
    failed: HashMap<RecipientId, Duration>,
    unreachable: HashSet<RelayAddress>,
    woken: mpsc::UnboundedSender<Woken>,
    /// When the outbox may be tried again after a round that transmitted nothing.
    send_pause: Duration,
    send_not_before: Instant,
    next_prekey_check: SystemTime,
    /// Set when the set of queues may have changed (an invitation, a contact forgotten).
    queues_changed: bool,
    /// Attachment uploads in flight, by message id.
    uploads: HashMap<MessageId, (ContactId, TaskHandle)>,
    /// The first sync of the background work, while it runs.
    catch_up: Option<CatchUp>,
}

/// The first sync of the background work, done a batch at a time between the app's calls.
struct CatchUp {
    /// Queues still to read, the one being read first.
    queues: VecDeque<OwnQueue>,
    /// Who waits for its end (`Messenger::start`, called once or more meanwhile).
    waiters: Vec<oneshot::Sender<Result<()>>>,
}

impl CatchUp {
    /// Tells every waiter how it ended (an error in full to the first, described to the
    /// others: errors are not `Clone`).
    fn finish(self, result: Result<()>) {
        let mut waiters = self.waiters.into_iter();
        match result {
            Ok(()) => waiters.for_each(|waiter| drop(waiter.send(Ok(())))),
            Err(error) => {
                let described = error.to_string();
                if let Some(first) = waiters.next() {
                    let _ = first.send(Err(error));
                }
                for waiter in waiters {
                    let _ = waiter.send(Err(Error::Internal(format!(
                        "the first sync failed: {described}"
                    ))));
                }
            }
        }
    }
}

/// Runs a messenger's actor on the current thread until every handle is gone or
/// `Messenger::shutdown` asks it to stop. `opened` receives the client, or why there is none.
pub(super) async fn run<S: Store + 'static>(
    client: Client<S>,
    subscribers: Arc<Subscribers>,
    mut jobs: mpsc::UnboundedReceiver<Job<S>>,
) {
    let (woken, mut wakes) = mpsc::unbounded_channel();
    let clock = Arc::clone(&client.settings().clock);
    let mut actor = Actor {
        client,
        subscribers,
        background: false,
        readers: HashMap::new(),
        failed: HashMap::new(),
        unreachable: HashSet::new(),
        woken,
        send_pause: FIRST_BACKOFF,
        send_not_before: Instant::now(),
        next_prekey_check: clock.now(),
        clock,
        queues_changed: true,
        uploads: HashMap::new(),
        catch_up: None,
    };
    loop {
        let deadline = actor.next_deadline().await;
        tokio::select! {
            biased;
            job = jobs.recv() => match job {
                Some(job) => {
                    // Each job catches its own panic and answers `Internal`; this is the
                    // backstop that keeps the actor alive whatever happens.
                    let _ = CatchUnwind(job(&mut actor)).await;
                    actor.send_pause = FIRST_BACKOFF;
                }
                None => break,
            },
            Some(woken) = wakes.recv() => actor.on_woken(woken).await,
            // Only when no call waits (`biased`): a batch is short, so a call made during
            // the catch-up waits for one batch at most.
            () = std::future::ready(()), if actor.catch_up.is_some() => actor.catch_up_step().await,
            () = sleep_until(deadline) => actor.on_timer().await,
        }
        actor.publish_client_events();
        actor.refresh_readers().await;
    }
    actor.stop_background();
    // Uploads still running are given up: their messages were never stored, so the app
    // hears that they failed and may send them again.
    for (message_id, (contact, upload)) in std::mem::take(&mut actor.uploads) {
        upload.abort();
        actor.publish(failed(contact, message_id));
    }
    actor.subscribers.close();
}

pub(super) fn failed(contact: ContactId, message_id: MessageId) -> Event {
    Event::StatusChanged {
        contact,
        message_ids: vec![message_id],
        status: DeliveryStatus::Failed,
    }
}

impl<S: Store + 'static> Actor<S> {
    /// Turns the background work on: the catch-up first (what arrived while the app was
    /// away, a batch at a time between calls; then the outbox), then waiting reads on
    /// every queue. The answer comes when the catch-up is done: `Ok`, or the store error
    /// that ended it.
    pub(super) async fn start(&mut self) -> oneshot::Receiver<Result<()>> {
        let (reply, answer) = oneshot::channel();
        self.background = true;
        self.queues_changed = true;
        if let Some(catch_up) = &mut self.catch_up {
            catch_up.waiters.push(reply);
            return answer;
        }
        // A profile opened after a week away replaces its prekeys at once.
        self.rotate_prekeys().await;
        match self.client.queues_to_sync().await {
            Ok(queues) => {
                self.catch_up = Some(CatchUp {
                    queues: queues.into(),
                    waiters: vec![reply],
                });
            }
            Err(error) => drop(reply.send(Err(error))),
        }
        answer
    }

    /// One step of the catch-up: a batch from the queue being read, or, once every queue
    /// is read, the outbox and the end.
    async fn catch_up_step(&mut self) {
        let Some(catch_up) = &mut self.catch_up else {
            return;
        };
        let result = match catch_up.queues.front().cloned() {
            Some(queue) => match self.client.read_batch(&queue).await {
                Ok(more) => {
                    if !more && let Some(catch_up) = &mut self.catch_up {
                        catch_up.queues.pop_front();
                    }
                    return;
                }
                Err(error) => Err(error),
            },
            None => self.client.send_due().await.map(drop),
        };
        if let Some(catch_up) = self.catch_up.take() {
            catch_up.finish(result);
        }
    }

    /// Stops the background work as the messenger shuts down (in-flight waiting reads are
    /// dropped: they only read, so nothing is lost; a catch-up ends where it is, its
    /// waiters hear [`Error::ShutDown`], and the next start reads on).
    pub(super) fn stop_background(&mut self) {
        self.background = false;
        self.abort_readers();
        if let Some(catch_up) = self.catch_up.take() {
            catch_up.finish(Err(Error::ShutDown));
        }
    }

    fn abort_readers(&mut self) {
        for (_, reader) in self.readers.drain() {
            if let Reader::Running(task) = reader {
                task.abort();
            }
        }
    }

    /// Uploads a prepared attachment in a task of its own (progress as events); the message
    /// is sent when the upload is done, or reported failed.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn upload(&mut self, prepared: PreparedAttachment) {
        let message_id = prepared.message_id();
        let contact = prepared.contact().clone();
        let woken = self.woken.clone();
        let task = spawn_local(async move {
            let progress = woken.clone();
            let result = prepared
                .upload(|done, total| {
                    let _ = progress.send(Woken::Progress {
                        message_id,
                        done,
                        total,
                    });
                })
                .await;
            let _ = woken.send(Woken::Uploaded(prepared, result));
        });
        self.uploads.insert(message_id, (contact, task));
    }

    /// Gives up the upload of one of this contact's attachments, if it is still running
    /// (its message was never stored; the ciphertext staged for it is removed). Whether
    /// there was one.
    pub(super) fn cancel_upload(&mut self, contact: &ContactId, message_id: &MessageId) -> bool {
        match self.uploads.get(message_id) {
            Some((owner, upload)) if owner == contact => {
                upload.abort();
                self.uploads.remove(message_id);
                true
            }
            _ => false,
        }
    }

    /// Ends every waiting read and starts them anew at the next turn (the route or the
    /// relays changed, so their proxy may have).
    pub(super) fn restart_readers(&mut self) {
        self.abort_readers();
        self.failed.clear();
        self.queues_changed = true;
    }

    /// The set of queues may have changed: look at it at the next turn of the loop.
    pub(super) fn queues_changed(&mut self) {
        self.queues_changed = true;
    }

    /// Publishes an event to every subscriber.
    pub(super) fn publish(&self, event: Event) {
        self.subscribers.publish(&event);
    }

    /// Publishes what the client queued, keeping track of which relays answer.
    pub(super) fn publish_client_events(&mut self) {
        for event in self.client.take_events() {
            if let ClientEvent::NetworkProblem {
                relay,
                code,
                reason,
            } = event
            {
                if self.unreachable.insert(relay.clone()) {
                    self.publish(Event::NetworkChanged {
                        relay,
                        reachable: false,
                        code: Some(code),
                        reason: Some(reason),
                    });
                }
                continue;
            }
            if matches!(event, ClientEvent::ContactJoined { .. }) {
                self.queues_changed = true;
            }
            if let Some(event) = Event::from_client(event) {
                self.publish(event);
            }
        }
    }

    fn reachable(&mut self, relay: RelayAddress) {
        if self.unreachable.remove(&relay) {
            self.publish(Event::NetworkChanged {
                relay,
                reachable: true,
                code: None,
                reason: None,
            });
        }
    }

    async fn on_woken(&mut self, woken: Woken) {
        match woken {
            #[cfg(not(target_arch = "wasm32"))]
            Woken::Progress {
                message_id,
                done,
                total,
            } => self.publish(Event::TransferProgress {
                message_id,
                direction: TransferDirection::Upload,
                done,
                total,
            }),
            #[cfg(not(target_arch = "wasm32"))]
            Woken::Uploaded(prepared, result) => {
                let (message_id, contact) = (prepared.message_id(), prepared.contact().clone());
                self.uploads.remove(&message_id);
                let sent = match result {
                    Ok(()) => self.client.finish_attachment(prepared).await.map(drop),
                    Err(error) => Err(error),
                };
                if let Err(error) = sent {
                    self.publish(failed(contact, message_id));
                    self.background_failed(&error);
                }
            }
            Woken::Reachable(relay) => self.reachable(relay),
            Woken::Message(queue, message) => {
                self.readers.remove(&queue.recipient_id);
                self.failed.remove(&queue.recipient_id);
                self.reachable(queue.relay.clone());
                if let Err(error) = self.client.receive_read(&queue, message).await {
                    self.background_failed(&error);
                }
                // An invitation's queue is deleted once used; a new contact has a new one.
                self.queues_changed = true;
            }
            Woken::Failed(queue, error) => {
                self.readers.remove(&queue.recipient_id);
                let pause = self
                    .failed
                    .get(&queue.recipient_id)
                    .map_or(FIRST_BACKOFF, |pause| (*pause * 2).min(MAX_BACKOFF));
                self.failed.insert(queue.recipient_id, pause);
                self.readers.insert(
                    queue.recipient_id,
                    Reader::Backoff {
                        until: Instant::now() + pause,
                    },
                );
                self.client.waiting_read_failed(queue.relay.clone(), &error);
            }
        }
    }

    /// Background work that is due: cover traffic, the outbox, prekey rotation.
    async fn on_timer(&mut self) {
        if !self.background {
            return;
        }
        let now = self.clock.now();
        if self.client.next_cover_due().is_some_and(|due| due <= now) {
            match self.client.cover_tick().await {
                Ok(report) if report.loops_lost > 0 => self.publish(Event::CoverProblem {
                    loops_lost: report.loops_lost,
                }),
                Ok(_) => {}
                Err(error) => self.background_failed(&error),
            }
        }
        if Instant::now() >= self.send_not_before && self.send_is_due().await {
            match self.client.send_due().await {
                Ok(report) if report.sent > 0 => self.send_pause = FIRST_BACKOFF,
                Ok(_) => {
                    // Nothing could go (relays down, contacts awaiting an answer): pause.
                    self.send_not_before = Instant::now() + self.send_pause;
                    self.send_pause = (self.send_pause * 2).min(MAX_BACKOFF);
                }
                Err(error) => self.background_failed(&error),
            }
        }
        if now >= self.next_prekey_check {
            self.rotate_prekeys().await;
        }
    }

    /// Replaces the signed and Kyber prekeys that are due ([`RotationPolicy::default`]:
    /// weekly, the replaced ones kept 30 days) and schedules the next look.
    async fn rotate_prekeys(&mut self) {
        self.next_prekey_check = self.clock.now() + PREKEY_CHECK;
        if let Err(error) = self.client.rotate_prekeys(RotationPolicy::default()).await {
            self.background_failed(&error);
        }
    }

    async fn send_is_due(&self) -> bool {
        // Read the clock after the outbox: "due now" must count as due.
        let due = self.client.next_send_due().await;
        matches!(due, Ok(Some(due)) if due <= self.clock.now())
    }

    /// When the loop must look at its schedule next.
    async fn next_deadline(&self) -> Instant {
        let mut deadline = Instant::now() + IDLE_CHECK;
        if !self.background {
            return deadline;
        }
        let now = self.clock.now();
        let at = |due: SystemTime| Instant::now() + due.duration_since(now).unwrap_or_default();
        if let Some(due) = self.client.next_cover_due() {
            deadline = deadline.min(at(due));
        }
        if let Ok(Some(due)) = self.client.next_send_due().await {
            deadline = deadline.min(at(due).max(self.send_not_before));
        }
        deadline = deadline.min(at(self.next_prekey_check));
        for reader in self.readers.values() {
            if let Reader::Backoff { until, .. } = reader {
                deadline = deadline.min(*until);
            }
        }
        deadline
    }

    /// Starts a waiting read for every queue that has none (and whose backoff is over),
    /// and stops those of queues that are gone.
    async fn refresh_readers(&mut self) {
        // After the catch-up: a waiting read would race it for the same packets.
        if !self.background || self.catch_up.is_some() {
            return;
        }
        let backoff_over = self.readers.values().any(
            |reader| matches!(reader, Reader::Backoff { until, .. } if *until <= Instant::now()),
        );
        if !self.queues_changed && !backoff_over {
            return;
        }
        self.queues_changed = false;
        let queues = match self.client.own_queues().await {
            Ok(queues) => queues,
            Err(error) => return self.background_failed(&error),
        };
        let current: HashSet<RecipientId> = queues.iter().map(|q| q.recipient_id).collect();
        self.readers.retain(|id, reader| {
            let keep = current.contains(id);
            if !keep && let Reader::Running(task) = reader {
                task.abort();
            }
            keep
        });
        self.failed.retain(|id, _| current.contains(id));
        // Reads about to start (anew, or after a backoff) may use any relay again.
        self.client.retry_relays();
        for queue in queues {
            match self.readers.get(&queue.recipient_id) {
                Some(Reader::Running(_)) => continue,
                Some(Reader::Backoff { until, .. }) if *until > Instant::now() => continue,
                _ => {}
            }
            let relay = match self.client.reader(&queue) {
                Ok(relay) => relay,
                Err(error) => {
                    let pause = self
                        .failed
                        .get(&queue.recipient_id)
                        .copied()
                        .unwrap_or(FIRST_BACKOFF);
                    self.readers.insert(
                        queue.recipient_id,
                        Reader::Backoff {
                            until: Instant::now() + pause,
                        },
                    );
                    self.background_failed(&error);
                    continue;
                }
            };
            let task = spawn_local(wait_for_message(
                queue.clone(),
                relay,
                Arc::clone(&self.clock),
                self.woken.clone(),
            ));
            self.readers
                .insert(queue.recipient_id, Reader::Running(task));
        }
    }

    /// A failure of the background work: the network's are reported by the client as
    /// [`Event::NetworkChanged`]; anything else (the store: a full disk) as
    /// [`Event::BackgroundProblem`]. The work is tried again at a later turn.
    fn background_failed(&mut self, error: &Error) {
        self.publish_client_events();
        if let Error::Transport(_) = error {
            return;
        }
        self.publish(Event::BackgroundProblem {
            code: error.code(),
            reason: error.to_string(),
        });
    }
}

/// One waiting read of `queue`: asks again while the queue stays empty, reports the first
/// message or failure, then ends (the loop starts the next one).
async fn wait_for_message(
    queue: OwnQueue,
    relay: RelayClient,
    clock: Arc<dyn Clock>,
    woken: mpsc::UnboundedSender<Woken>,
) {
    let mut rng = StdRng::from_os_rng();
    loop {
        match relay
            .next_waiting(&queue, WAIT, clock.now(), &mut rng)
            .await
        {
            Ok(None) => {
                if woken.send(Woken::Reachable(queue.relay.clone())).is_err() {
                    return;
                }
            }
            Ok(Some(message)) => {
                let _ = woken.send(Woken::Message(queue, message));
                return;
            }
            Err(error) => {
                let _ = woken.send(Woken::Failed(queue, error));
                return;
            }
        }
    }
}

/// A future that turns a panic while polling into an error, so that a bug in one call
/// neither ends the actor nor crosses into the app.
pub(super) struct CatchUnwind<F>(pub(super) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = std::result::Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(panic) => Poll::Ready(Err(panic_message(&panic))),
        }
    }
}

/// The text of a panic's payload.
pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}
