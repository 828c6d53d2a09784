//! The last moments of messenger threads, for hosts that must not exit during them.
//!
//! A messenger's thread ends by telling the tasks that wait for its shutdown that it
//! closed: it wakes them, and a waker may call into the host's runtime (in the Python
//! binding, a callback that takes the interpreter's lock). An interpreter that is already
//! finalizing terminates a thread that asks for its lock, and a thread terminated inside
//! Rust code aborts the process. So a host that may exit right after a shutdown returned
//! waits for [`wait_for_ending_threads`] first (the Python package does so at exit).

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Messenger threads between "closed" becoming visible and their end.
static ENDING: Mutex<usize> = Mutex::new(0);
static ENDED: Condvar = Condvar::new();

/// Marks the current thread as ending while it lives (its wakes are in flight).
pub(super) struct Ending(());

impl Ending {
    pub(super) fn begin() -> Self {
        *ENDING.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Ending(())
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        let mut ending = ENDING.lock().unwrap_or_else(PoisonError::into_inner);
        *ending = ending.saturating_sub(1);
        ENDED.notify_all();
    }
}

/// Waits until no messenger thread is in its last moments (waking the tasks that waited for
/// its shutdown), at most `limit`. Returns whether none is left. A messenger that was shut
/// down (its `shutdown` returned) is past that point or in it, never before it.
pub fn wait_for_ending_threads(limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut ending = ENDING.lock().unwrap_or_else(PoisonError::into_inner);
    while *ending > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        ending = ENDED
            .wait_timeout(ending, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_returns_once_every_ending_thread_is_gone() {
        let ending = Ending::begin();
        assert!(!wait_for_ending_threads(Duration::from_millis(20)));
        let waiter = std::thread::spawn(|| wait_for_ending_threads(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        drop(ending);
        assert!(waiter.join().unwrap());
    }
}
