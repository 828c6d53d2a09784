//! Sotto's stable C ABI (`include/sotto.h`, `libsotto`): the core's `Messenger` for C, C++
//! and every language with a C FFI. This crate only converts; the protocol lives in
//! `sotto-core`. docs/FFI.md describes the conventions:
//!
//! - opaque handles (`SottoMessenger`, `SottoSettings`, `SottoSubscription`, `SottoEvent`);
//! - every fallible call returns a `SottoStatus` (`SOTTO_OK`, the core's stable error
//!   codes, or the ABI's own from 100 on) and writes its outputs only on success;
//!   `sotto_last_error_message()` says why the last call on the thread failed;
//! - strings and buffers the library returns are freed by `sotto_string_free` /
//!   `sotto_bytes_free`; every `*_free` accepts NULL;
//! - every entry point catches panics (`SOTTO_ERROR_PANIC`): none crosses into C;
//! - blocking calls wait at most `SOTTO_CALL_TIMEOUT_SECONDS`;
//! - events by a callback on a library thread, or polled through a file descriptor;
//! - SIGPIPE is ignored when the host left it at its default (`signals.rs`).

mod abi;
mod conversation;
mod events;
mod memory;
mod messenger;
mod settings;
mod signals;

pub use abi::*;
pub use conversation::*;
pub use events::*;
pub use memory::*;
pub use messenger::*;
pub use settings::*;
