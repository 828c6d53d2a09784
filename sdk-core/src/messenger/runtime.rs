//! What the messenger needs of an async runtime: a monotonic clock, a timer and local tasks
//! that can be aborted. Natively that is tokio on the messenger's own thread; in the
//! browser (wasm32) it is the JavaScript event loop: `performance.now()` (or `Date.now()`),
//! `setTimeout` and `wasm_bindgen_futures::spawn_local`.

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::future::Future;

    pub(in crate::messenger) use tokio::time::{Instant, sleep_until};

    /// A task on the messenger's thread, aborted on request.
    #[derive(Debug)]
    pub(in crate::messenger) struct TaskHandle(tokio::task::AbortHandle);

    impl TaskHandle {
        /// Stops the task at its next await.
        pub fn abort(&self) {
            self.0.abort();
        }
    }

    /// Runs `task` on the messenger's thread.
    pub(in crate::messenger) fn spawn_local(
        task: impl Future<Output = ()> + 'static,
    ) -> TaskHandle {
        TaskHandle(tokio::task::spawn_local(task).abort_handle())
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use std::future::Future;
    use std::ops::Add;
    use std::time::Duration;

    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen(inline_js = "
export function sotto_monotonic_millis() {
  return globalThis.performance ? globalThis.performance.now() : Date.now();
}
export function sotto_sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
")]
    extern "C" {
        fn sotto_monotonic_millis() -> f64;
        fn sotto_sleep(ms: f64) -> js_sys::Promise;
    }

    /// A point on the page's monotonic clock, in milliseconds.
    #[derive(Debug, Clone, Copy)]
    pub(in crate::messenger) struct Instant(f64);

    impl Instant {
        /// Now.
        pub fn now() -> Self {
            Self(sotto_monotonic_millis())
        }
    }

    impl Add<Duration> for Instant {
        type Output = Instant;

        fn add(self, duration: Duration) -> Instant {
            Instant(self.0 + duration.as_secs_f64() * 1000.0)
        }
    }

    impl PartialEq for Instant {
        fn eq(&self, other: &Self) -> bool {
            self.cmp(other).is_eq()
        }
    }

    impl Eq for Instant {}

    impl PartialOrd for Instant {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Instant {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }

    /// Completes at `deadline` (a browser may fire late: hidden tabs throttle timers).
    pub(in crate::messenger) async fn sleep_until(deadline: Instant) {
        let wait = (deadline.0 - Instant::now().0).max(0.0);
        // A timer whose promise cannot fail.
        let _ = wasm_bindgen_futures::JsFuture::from(sotto_sleep(wait)).await;
    }

    /// A task on the page's event loop, aborted on request.
    #[derive(Debug)]
    pub(in crate::messenger) struct TaskHandle(futures_util::future::AbortHandle);

    impl TaskHandle {
        /// Stops the task at its next await.
        pub fn abort(&self) {
            self.0.abort();
        }
    }

    /// Runs `task` on the page's event loop.
    pub(in crate::messenger) fn spawn_local(
        task: impl Future<Output = ()> + 'static,
    ) -> TaskHandle {
        let (task, handle) = futures_util::future::abortable(task);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = task.await;
        });
        TaskHandle(handle)
    }
}

pub(super) use imp::{Instant, TaskHandle, sleep_until, spawn_local};
