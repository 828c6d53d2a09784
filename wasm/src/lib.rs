//! Sotto for JavaScript: the [`Messenger`](sotto_core::Messenger) handle through
//! wasm-bindgen, for the npm package (`scripts/package npm`).
//!
//! Only wasm32 has a facade; on other targets this crate is empty (the native shells are
//! `ffi/` and `bindings/`). The facade converts and nothing else: every protocol decision
//! stays in the core.

#[cfg(target_arch = "wasm32")]
mod blob;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
mod facade;
#[cfg(feature = "bench")]
pub mod kernels;
