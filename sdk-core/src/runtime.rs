//! What the messenger and the relay transport need of an async runtime: a monotonic clock,
//! a timer and local tasks that can be aborted. Natively that is tokio on the messenger's
//! own thread; in the browser (wasm32) it is the JavaScript event loop:
//! `performance.now()` (or `Date.now()`), `setTimeout` and
//! `wasm_bindgen_futures::spawn_local`.

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::future::Future;

    pub(crate) use tokio::time::{Instant, sleep_until};

    /// A task on the messenger's thread, aborted on request.
    #[derive(Debug)]
    pub(crate) struct TaskHandle(tokio::task::AbortHandle);

    impl TaskHandle {
        /// Stops the task at its next await.
        pub fn abort(&self) {
            self.0.abort();
        }
    }

    /// Runs `task` on the messenger's thread.
    pub(crate) fn spawn_local(task: impl Future<Output = ()> + 'static) -> TaskHandle {
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
export function sotto_timer(ms) {
  let id;
  const promise = new Promise((resolve) => { id = setTimeout(resolve, ms); });
  return { promise, cancel: () => clearTimeout(id) };
}
")]
    extern "C" {
        fn sotto_monotonic_millis() -> f64;
        /// A `setTimeout` with its promise and a way to clear it.
        type Timer;
        fn sotto_timer(ms: f64) -> Timer;
        #[wasm_bindgen(method, getter)]
        fn promise(this: &Timer) -> js_sys::Promise;
        #[wasm_bindgen(method)]
        fn cancel(this: &Timer);
    }

    /// A point on the page's monotonic clock, in milliseconds.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Instant(f64);

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
    /// Dropped before then, it clears its timer, so nothing keeps a Node process alive
    /// after the messenger shut down.
    pub(crate) fn sleep_until(deadline: Instant) -> Sleep {
        let wait = (deadline.0 - Instant::now().0).max(0.0);
        let timer = sotto_timer(wait);
        let fired = wasm_bindgen_futures::JsFuture::from(timer.promise());
        Sleep { timer, fired }
    }

    /// A pending [`sleep_until`].
    pub(crate) struct Sleep {
        timer: Timer,
        fired: wasm_bindgen_futures::JsFuture,
    }

    impl Future for Sleep {
        type Output = ();

        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            // The timer's promise never rejects.
            std::pin::Pin::new(&mut self.fired).poll(cx).map(drop)
        }
    }

    impl Drop for Sleep {
        fn drop(&mut self) {
            self.timer.cancel();
        }
    }

    /// A task on the page's event loop, aborted on request.
    #[derive(Debug)]
    pub(crate) struct TaskHandle(futures_util::future::AbortHandle);

    impl TaskHandle {
        /// Stops the task at its next await.
        pub fn abort(&self) {
            self.0.abort();
        }
    }

    /// Runs `task` on the page's event loop.
    pub(crate) fn spawn_local(task: impl Future<Output = ()> + 'static) -> TaskHandle {
        let (task, handle) = futures_util::future::abortable(task);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = task.await;
        });
        TaskHandle(handle)
    }
}

pub(crate) use imp::{Instant, TaskHandle, sleep_until, spawn_local};
