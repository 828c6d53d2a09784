//! `sotto-desktop`: Sotto's reference desktop messenger, an egui app over the
//! [`Messenger`](sotto_core::Messenger) handle. It holds no protocol, cryptography or
//! storage of its own: every message, key and setting lives in the profile the core keeps.
//!
//! The app is a library so that tests drive it headless (egui_kittest, through AccessKit)
//! exactly as the binary runs it in a window.

pub mod actions;
pub mod app;
pub mod audio;
pub mod backend;
pub mod platform;
pub mod session;
pub mod timeline;
pub mod ui;

pub use app::{Options, SottoApp};
