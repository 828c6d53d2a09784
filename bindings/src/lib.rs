//! Sotto for Python, Kotlin and Swift: UniFFI over `sotto-core`'s [`Messenger`] handle.
//!
//! This crate only converts. Every decision about the protocol, the store and the network
//! belongs to the core; here Rust types become records and enums the generated languages
//! understand, ids become strings, and each async call runs on the library's own tokio
//! runtime ([`runtime`]) while the foreign side awaits it (an asyncio coroutine, a Kotlin
//! `suspend` function, a Swift `async` function).
//!
//! - [`messenger::Messenger`]: one open profile, every call of the handle;
//! - [`events`]: a foreign [`events::EventListener`] called on a library thread, and
//!   [`events::Subscription`]s to await events one by one;
//! - [`types`]: the records and enums that cross;
//! - [`error::SottoError`]: the one error type, with the core's stable [`error::ErrorCode`].
//!
//! [`Messenger`]: sotto_core::Messenger

uniffi::setup_scaffolding!("sotto");

pub mod error;
pub mod events;
pub mod messenger;
mod runtime;
pub mod types;

pub use error::{ErrorCode, SottoError};
pub use events::{EventListener, Subscription};
pub use messenger::Messenger;
pub use types::*;

/// The version of the library (the workspace's version).
#[uniffi::export]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Waits (at most `timeout_ms`) until no messenger thread is in its last moments, waking
/// what waited for its shutdown; true when none is left. A host about to exit calls it
/// after its last shutdown, because an interpreter that is finalizing terminates a thread
/// that calls into it, which aborts the process. The Python package calls it at exit by
/// itself.
#[uniffi::export]
pub fn wait_for_ending_threads(timeout_ms: u32) -> bool {
    sotto_core::messenger::wait_for_ending_threads(std::time::Duration::from_millis(u64::from(
        timeout_ms,
    )))
}

/// An invitation link as a QR code, a PNG image.
///
/// # Errors
/// [`ErrorCode::Invitation`] for a malformed link; [`ErrorCode::Qr`] if it does not fit.
#[uniffi::export]
pub fn invitation_qr_png(link: String) -> Result<Vec<u8>, SottoError> {
    let invitation = sotto_core::invitation::InvitationLink::parse(&link)
        .map_err(|e| SottoError::from(sotto_core::Error::from(e)))?;
    invitation
        .qr_png()
        .map_err(|e| SottoError::from(sotto_core::Error::from(e)))
}

/// An invitation link as a QR code, an SVG document.
///
/// # Errors
/// As [`invitation_qr_png`].
#[uniffi::export]
pub fn invitation_qr_svg(link: String) -> Result<String, SottoError> {
    let invitation = sotto_core::invitation::InvitationLink::parse(&link)
        .map_err(|e| SottoError::from(sotto_core::Error::from(e)))?;
    invitation
        .qr_svg()
        .map_err(|e| SottoError::from(sotto_core::Error::from(e)))
}
