//! The settings dialog: relays, route, cover traffic (with what it costs a day), the
//! passphrase and the theme.

use std::time::Duration;

use eframe::egui::{self, RichText};
use sotto_core::client::{CoverTraffic, SendRoute};
use sotto_core::messenger::NetworkSettings;
use sotto_core::relay::RelayAddress;
use zeroize::Zeroizing;

use super::Action;
use crate::app::Theme;

/// What the settings dialog edits.
#[derive(Debug)]
pub struct SettingsForm {
    /// The settings in force when the dialog opened (`None` until loaded).
    pub loaded: Option<NetworkSettings>,
    /// Relays, one address per line.
    pub relays: String,
    /// Onion hops (0 sends directly).
    pub hops: usize,
    /// Mean mixing delay per hop, in milliseconds.
    pub delay_ms: u64,
    /// Cover traffic on.
    pub cover: bool,
    /// A new passphrase.
    pub passphrase: Zeroizing<String>,
    /// The new passphrase again.
    pub repeat: Zeroizing<String>,
    /// Why the last save failed.
    pub error: Option<String>,
}

impl SettingsForm {
    /// An empty form, filled when the settings are loaded.
    pub fn new() -> Self {
        Self {
            loaded: None,
            relays: String::new(),
            hops: 3,
            delay_ms: 0,
            cover: true,
            passphrase: Zeroizing::default(),
            repeat: Zeroizing::default(),
            error: None,
        }
    }

    /// Fills the form from the settings in force.
    pub fn fill(&mut self, settings: NetworkSettings) {
        self.relays = settings
            .relays
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        match settings.route {
            SendRoute::Direct => self.hops = 0,
            SendRoute::Onion { hops, mean_delay } => {
                self.hops = hops;
                self.delay_ms = mean_delay.as_millis() as u64;
            }
        }
        self.cover = settings.cover.is_some();
        self.loaded = Some(settings);
    }

    /// The network settings the form describes, or why they cannot work.
    ///
    /// # Errors
    /// A relay address that does not parse, no relay, or a route the relays cannot carry.
    pub fn network_settings(&self) -> Result<NetworkSettings, String> {
        let Some(loaded) = &self.loaded else {
            return Err("the settings are not loaded yet".into());
        };
        let relays = self
            .relays
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| RelayAddress::parse(l).map_err(|e| format!("{l}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if relays.is_empty() {
            return Err("keep at least one relay".into());
        }
        let route = if self.hops == 0 {
            SendRoute::Direct
        } else {
            SendRoute::Onion {
                hops: self.hops,
                mean_delay: Duration::from_millis(self.delay_ms),
            }
        };
        route.check(relays.len()).map_err(|e| e.to_string())?;
        let cover = self.cover.then(|| loaded.cover.unwrap_or_default());
        Ok(NetworkSettings {
            relays,
            route,
            cover,
            gateways: loaded.gateways.clone(),
        })
    }
}

impl Default for SettingsForm {
    fn default() -> Self {
        Self::new()
    }
}

/// Draws the form.
pub fn show(
    ui: &mut egui::Ui,
    form: &mut SettingsForm,
    theme: &mut Theme,
    actions: &mut Vec<Action>,
) {
    if form.loaded.is_none() {
        ui.spinner();
        return;
    }
    ui.label(RichText::new("Relays").strong());
    let label = ui.label("Relay addresses (one sotto:// address per line)");
    ui.add(
        egui::TextEdit::multiline(&mut form.relays)
            .desired_rows(3)
            .desired_width(480.0),
    )
    .labelled_by(label.id);
    ui.add_space(6.0);
    ui.label(RichText::new("Route").strong());
    ui.add(egui::Slider::new(&mut form.hops, 0..=5).text("Onion hops (0 sends directly)"));
    ui.add(egui::Slider::new(&mut form.delay_ms, 0..=5000).text("Mixing delay per hop (ms)"));
    let cover = form
        .loaded
        .as_ref()
        .and_then(|l| l.cover)
        .unwrap_or_default();
    ui.checkbox(
        &mut form.cover,
        format!(
            "Cover traffic: about {:.0} MB a day",
            CoverTraffic::bytes_per_day(&cover) / 1e6
        ),
    );
    if let Some(error) = &form.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
    if ui.button("Save network settings").clicked() {
        actions.push(Action::SaveSettings);
    }
    ui.add_space(8.0);
    ui.label(RichText::new("Passphrase").strong());
    let label = ui.label("New passphrase");
    ui.add(egui::TextEdit::singleline(&mut *form.passphrase).password(true))
        .labelled_by(label.id);
    let label = ui.label("New passphrase again");
    ui.add(egui::TextEdit::singleline(&mut *form.repeat).password(true))
        .labelled_by(label.id);
    if ui.button("Change passphrase").clicked() {
        actions.push(Action::ChangePassphrase);
    }
    ui.add_space(8.0);
    ui.label(RichText::new("Theme").strong());
    ui.horizontal(|ui| {
        ui.radio_value(theme, Theme::System, "As the system");
        ui.radio_value(theme, Theme::Light, "Light");
        ui.radio_value(theme, Theme::Dark, "Dark");
    });
}
