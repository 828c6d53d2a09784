//! SIGPIPE in the host process. TLS to the relays is written with `writev`, which, unlike
//! the `send(MSG_NOSIGNAL)` of plain socket writes, raises SIGPIPE when the relay closed the
//! connection first (an idle keep-alive connection, a restarted relay). Rust programs,
//! Python and the JVM ignore SIGPIPE from their start; a C program left at the default is
//! killed. So the first messenger made through the C ABI sets SIGPIPE to "ignore" when the
//! host left it at its default, as gRPC's and other network libraries' C cores do: the
//! write then fails with `EPIPE`, which the library handles like any closed connection. A
//! host that installed a handler of its own, or chose to ignore, keeps its choice.

use std::sync::Once;

/// Ignores SIGPIPE if the host process left it at its default (once per process).
pub(crate) fn ignore_default_sigpipe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        {
            // SAFETY: `sigaction` with a null new action only reads the disposition into
            // `current`, a zeroed struct owned here (all-zero is a valid `sigaction`).
            let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: as above; SIGPIPE is a valid signal number.
            let read = unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut current) };
            if read == 0 && current.sa_sigaction == libc::SIG_DFL {
                // SAFETY: SIG_IGN is a valid disposition for SIGPIPE; no handler code runs.
                unsafe {
                    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                }
            }
        }
    });
}
