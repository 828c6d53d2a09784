//! `SottoSettings`: the relays, the name offered to contacts and the route, gathered before
//! a profile is created or opened.

use std::ffi::c_char;
use std::time::Duration;

use sotto_core::client::{ClientSettings, SendRoute};
use sotto_core::relay::RelayAddress;

use crate::abi::{Failure, SottoStatus, guard, guard_void};
use crate::memory::{out, text};

/// Settings for `sotto_messenger_create` / `sotto_messenger_open` (opaque). Made by
/// `sotto_settings_new`, freed by `sotto_settings_free`; a messenger keeps its own copy.
pub struct SottoSettings {
    relays: Vec<RelayAddress>,
    display_name: String,
    route: SendRoute,
}

impl SottoSettings {
    pub(crate) fn client_settings(&self) -> ClientSettings {
        ClientSettings::new(self.relays.clone(), self.display_name.clone()).with_route(self.route)
    }
}

/// Reads a settings argument.
///
/// # Safety
/// `settings` is NULL or a live `SottoSettings` from `sotto_settings_new`.
pub(crate) unsafe fn settings_ref<'a>(
    settings: *const SottoSettings,
) -> Result<&'a SottoSettings, Failure> {
    // SAFETY: the caller passes NULL or a live pointer from `sotto_settings_new`.
    unsafe { settings.as_ref() }.ok_or_else(|| Failure::null("settings"))
}

/// New settings: no relay yet, no name, 3-hop onion routes without mixing delays.
///
/// # Safety
/// `out_settings` is a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_new(out_settings: *mut *mut SottoSettings) -> SottoStatus {
    guard(|| {
        out(out_settings, "out_settings")?;
        let settings = Box::new(SottoSettings {
            relays: Vec::new(),
            display_name: String::new(),
            route: SendRoute::default(),
        });
        // SAFETY: checked not NULL above; the host owns the box from here.
        unsafe { *out_settings = Box::into_raw(settings) };
        Ok(())
    })
}

/// Adds a relay (`sotto://…` address) that the profile makes its queues on.
///
/// # Safety
/// `settings` is a live `SottoSettings`; `address` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_add_relay(
    settings: *mut SottoSettings,
    address: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live, unshared settings pointer.
        let settings = unsafe { settings.as_mut() }.ok_or_else(|| Failure::null("settings"))?;
        // SAFETY: the caller passes a NUL-terminated string.
        let address = unsafe { text(address, "address") }?;
        let relay = RelayAddress::parse(address)
            .map_err(|e| Failure::invalid(format!("relay address: {e}")))?;
        settings.relays.push(relay);
        Ok(())
    })
}

/// Sets the name offered to new contacts (may be empty).
///
/// # Safety
/// `settings` is a live `SottoSettings`; `name` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_set_display_name(
    settings: *mut SottoSettings,
    name: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: as in `sotto_settings_add_relay`.
        let settings = unsafe { settings.as_mut() }.ok_or_else(|| Failure::null("settings"))?;
        // SAFETY: the caller passes a NUL-terminated string.
        settings.display_name = unsafe { text(name, "name") }?.to_owned();
        Ok(())
    })
}

/// Sets how packets travel: `hops` = 0 writes straight to the contact's relay (which then
/// sees this device's address); 1 to 5 sends onion packets over that many relays, each
/// holding a packet for an exponential delay of mean `mean_delay_ms`.
///
/// # Safety
/// `settings` is a live `SottoSettings`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_set_route(
    settings: *mut SottoSettings,
    hops: u32,
    mean_delay_ms: u32,
) -> SottoStatus {
    guard(|| {
        // SAFETY: as in `sotto_settings_add_relay`.
        let settings = unsafe { settings.as_mut() }.ok_or_else(|| Failure::null("settings"))?;
        settings.route = match hops {
            0 => SendRoute::Direct,
            1..=5 => SendRoute::Onion {
                hops: hops as usize,
                mean_delay: Duration::from_millis(u64::from(mean_delay_ms)),
            },
            _ => return Err(Failure::invalid(format!("{hops} hops: 0 to 5"))),
        };
        Ok(())
    })
}

/// Frees settings. NULL is fine.
///
/// # Safety
/// `settings` is NULL or a live `SottoSettings`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_free(settings: *mut SottoSettings) {
    guard_void(|| {
        if !settings.is_null() {
            // SAFETY: made by `Box::into_raw` in `sotto_settings_new`, freed once.
            drop(unsafe { Box::from_raw(settings) });
        }
    });
}
