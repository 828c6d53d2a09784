//! Runs the messenger's calls off the UI thread: every call is a job on a small tokio
//! runtime whose answer comes back to the UI as a [`Reply`] (with a repaint request), and
//! the messenger's events are forwarded the same way. The UI never waits on the network or
//! the store.

use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;
use sotto_core::Messenger;
use sotto_core::messenger::Event;
use sotto_core::store::SqlCipherStore;

/// The messenger of the open profile.
pub type Handle = Messenger<SqlCipherStore>;

/// What a job answers: a closure that applies its result to the app's state.
pub type Reply<S> = Box<dyn FnOnce(&mut S) + Send>;

/// Runs jobs and forwards events for a UI state `S`.
pub struct Backend<S> {
    runtime: tokio::runtime::Runtime,
    sender: Sender<Reply<S>>,
    receiver: Receiver<Reply<S>>,
    repaint: egui::Context,
}

impl<S: 'static> Backend<S> {
    /// A backend that wakes `repaint` whenever a reply is ready.
    ///
    /// # Panics
    /// If the operating system refuses the runtime's thread.
    pub fn new(repaint: &egui::Context) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sotto-desktop-jobs")
            .enable_all()
            .build()
            .expect("a thread for the app's jobs");
        let (sender, receiver) = channel();
        Self {
            runtime,
            sender,
            receiver,
            repaint: repaint.clone(),
        }
    }

    /// Runs `job`; what it returns is applied to the state on the UI thread.
    pub fn run<F>(&self, job: F)
    where
        F: Future<Output = Reply<S>> + Send + 'static,
    {
        let (sender, repaint) = (self.sender.clone(), self.repaint.clone());
        self.runtime.spawn(async move {
            let reply = job.await;
            if sender.send(reply).is_ok() {
                repaint.request_repaint();
            }
        });
    }

    /// Forwards every event of `messenger` to `apply` on the UI thread, until the
    /// messenger shuts down.
    pub fn follow(&self, messenger: &Arc<Handle>, apply: fn(&mut S, Event))
    where
        S: 'static,
    {
        let mut events = messenger.subscribe();
        let (sender, repaint) = (self.sender.clone(), self.repaint.clone());
        self.runtime.spawn(async move {
            while let Some(event) = events.next().await {
                let reply: Reply<S> = Box::new(move |state| apply(state, event));
                if sender.send(reply).is_err() {
                    break;
                }
                repaint.request_repaint();
            }
        });
    }

    /// The replies ready now, in the order their jobs finished.
    pub fn ready(&self) -> Vec<Reply<S>> {
        self.receiver.try_iter().collect()
    }

    /// Waits for `job` on this backend's runtime (for shutting down).
    pub fn block_on<F: Future>(&self, job: F) -> F::Output {
        self.runtime.block_on(job)
    }
}
