//! `SottoSettings`: the relays, the name offered to contacts, the route, cover traffic and
//! the call time limit, gathered before a profile is created or opened; and the network
//! part of them changed on a running messenger.

use std::ffi::c_char;
use std::time::Duration;

use serde_json::json;
use sotto_core::client::{ClientSettings, CoverTraffic, SendRoute};
use sotto_core::messenger::NetworkSettings;
use sotto_core::relay::RelayAddress;
use sotto_core::transport::Gateways;

use crate::abi::{Failure, SOTTO_CALL_TIMEOUT_SECONDS, SottoStatus, guard, guard_void};
use crate::memory::{c_string, out, text, write_string};
use crate::messenger::{SottoMessenger, messenger_ref};

/// Settings for `sotto_messenger_create` / `sotto_messenger_open` (opaque). Made by
/// `sotto_settings_new`, freed by `sotto_settings_free`; a messenger keeps its own copy.
pub struct SottoSettings {
    relays: Vec<RelayAddress>,
    display_name: String,
    route: SendRoute,
    cover: Option<CoverTraffic>,
    call_timeout: Duration,
}

impl SottoSettings {
    pub(crate) fn client_settings(&self) -> ClientSettings {
        let mut settings = ClientSettings::new(self.relays.clone(), self.display_name.clone())
            .with_route(self.route);
        settings.cover = self.cover;
        settings
    }

    pub(crate) fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    fn network(&self) -> NetworkSettings {
        NetworkSettings {
            relays: self.relays.clone(),
            route: self.route,
            cover: self.cover,
            // A native library connects to relays directly.
            gateways: Gateways::new(),
        }
    }
}

/// Reads a mutable settings argument.
///
/// # Safety
/// `settings` is NULL or a live `SottoSettings` no other thread uses during the call.
unsafe fn settings_mut<'a>(settings: *mut SottoSettings) -> Result<&'a mut SottoSettings, Failure> {
    // SAFETY: the caller passes NULL or a live, unshared settings pointer.
    unsafe { settings.as_mut() }.ok_or_else(|| Failure::null("settings"))
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

/// New settings: no relay yet, no name, 3-hop onion routes without mixing delays, no
/// cover traffic, calls waiting at most `SOTTO_CALL_TIMEOUT_SECONDS`.
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
            cover: None,
            call_timeout: Duration::from_secs(u64::from(SOTTO_CALL_TIMEOUT_SECONDS)),
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
        let settings = unsafe { settings_mut(settings) }?;
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
        let settings = unsafe { settings_mut(settings) }?;
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
        let settings = unsafe { settings_mut(settings) }?;
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

/// Turns cover traffic on at these rates (packets per second, each 0 or more; all 0 turns
/// it off): payload slots that real packets take and drop packets fill, loop packets that
/// come back to this device after `loop_timeout_ms` at most, and extra drop packets. With
/// it, what this device sends does not depend on when its user writes. Needs an onion
/// route. A desktop choice is 0.2, 0.05, 0.05 and 60000 (about 122 MB a day).
///
/// # Safety
/// `settings` is a live `SottoSettings`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_set_cover_traffic(
    settings: *mut SottoSettings,
    payload_per_second: f64,
    loop_per_second: f64,
    drop_per_second: f64,
    loop_timeout_ms: u32,
) -> SottoStatus {
    guard(|| {
        // SAFETY: as in `sotto_settings_add_relay`.
        let settings = unsafe { settings_mut(settings) }?;
        let cover = CoverTraffic {
            payload_per_second,
            loop_per_second,
            drop_per_second,
            loop_timeout: Duration::from_millis(u64::from(loop_timeout_ms)),
        };
        cover
            .validate()
            .map_err(|why| Failure::invalid(format!("cover traffic: {why}")))?;
        let rates = [payload_per_second, loop_per_second, drop_per_second];
        settings.cover = rates.iter().any(|rate| *rate > 0.0).then_some(cover);
        Ok(())
    })
}

/// Sets how long each blocking call on a messenger made with these settings waits before
/// it answers `SOTTO_ERROR_TIMEOUT` (1 to 86400 seconds). Raise it for large downloads on
/// slow links.
///
/// # Safety
/// `settings` is a live `SottoSettings`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_settings_set_call_timeout(
    settings: *mut SottoSettings,
    seconds: u32,
) -> SottoStatus {
    guard(|| {
        // SAFETY: as in `sotto_settings_add_relay`.
        let settings = unsafe { settings_mut(settings) }?;
        if !(1..=86_400).contains(&seconds) {
            return Err(Failure::invalid(format!("{seconds} s: 1 to 86400")));
        }
        settings.call_timeout = Duration::from_secs(u64::from(seconds));
        Ok(())
    })
}

/// Changes a running messenger's relays, route and cover traffic to those of `settings`
/// (its name and call time limit stay as they were); the waiting reads choose their proxy
/// anew. Settings that cannot work (no relay, fewer relays than hops) are
/// `SOTTO_ERROR_TRANSPORT`, and nothing changes then.
///
/// # Safety
/// `messenger` is a live handle; `settings` a live `SottoSettings`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_set_network_settings(
    messenger: *const SottoMessenger,
    settings: *const SottoSettings,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or live pointers.
        let (messenger, settings) = unsafe { (messenger_ref(messenger)?, settings_ref(settings)?) };
        messenger.wait(messenger.inner.set_network_settings(settings.network()))
    })
}

/// The relays, route and cover traffic in force, as JSON: `{"relays": ["sotto://…"],
/// "route": {"hops": 3, "mean_delay_ms": 0}, "cover": null or {"payload_per_second": 0.2,
/// "loop_per_second": 0.05, "drop_per_second": 0.05, "loop_timeout_ms": 60000}}` (hops 0
/// is direct). Free it with `sotto_string_free`.
///
/// # Safety
/// `messenger` is a live handle; `out_json` a valid pointer to write to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_messenger_network_settings_json(
    messenger: *const SottoMessenger,
    out_json: *mut *mut c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let messenger = unsafe { messenger_ref(messenger) }?;
        out(out_json, "out_json")?;
        let current = messenger.wait(messenger.inner.network_settings())?;
        let (hops, mean_delay) = match current.route {
            SendRoute::Direct => (0, Duration::ZERO),
            SendRoute::Onion { hops, mean_delay } => (hops, mean_delay),
        };
        let cover = current.cover.map(|cover| {
            json!({
                "payload_per_second": cover.payload_per_second,
                "loop_per_second": cover.loop_per_second,
                "drop_per_second": cover.drop_per_second,
                "loop_timeout_ms": cover.loop_timeout.as_millis() as u64,
            })
        });
        let value = json!({
            "relays": current.relays.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "route": {"hops": hops, "mean_delay_ms": mean_delay.as_millis() as u64},
            "cover": cover,
        });
        let text = c_string(value.to_string())?;
        // SAFETY: checked above.
        unsafe { write_string(out_json, text) };
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
