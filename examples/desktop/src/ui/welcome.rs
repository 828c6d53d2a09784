//! The screens before a profile is open: first run (make a profile) and unlock.

use eframe::egui::{self, RichText};

use super::Action;
use crate::app::{UnlockForm, WelcomeForm};

/// A labelled single-line field (its label is its accessible name).
fn field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut dyn egui::TextBuffer,
    password: bool,
) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .password(password)
            .desired_width(360.0),
    )
    .labelled_by(label.id)
}

/// First run: the name contacts see, the relays, how the key is protected.
pub fn welcome(ui: &mut egui::Ui, form: &mut WelcomeForm, actions: &mut Vec<Action>) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(24.0);
                ui.heading(RichText::new("Welcome to Sotto").size(28.0));
                ui.label("Private messages, pictures, files and voice clips. No phone number, no e-mail: you are a key made on this computer.");
                ui.add_space(16.0);
            });
            ui.vertical_centered(|ui| {
                ui.set_max_width(420.0);
                ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                    let name = field(
                        ui,
                        "Your name (contacts see it when you meet)",
                        &mut form.name,
                        false,
                    );
                    if ui.memory(|m| m.focused().is_none()) {
                        name.request_focus();
                    }
                    ui.add_space(8.0);
                    let label = ui.label("Relays (one sotto:// address per line)");
                    ui.add(
                        egui::TextEdit::multiline(&mut form.relays)
                            .desired_rows(3)
                            .desired_width(360.0),
                    )
                    .labelled_by(label.id);
                    ui.add_space(8.0);
                    ui.label(RichText::new("Protect your profile's key").strong());
                    if form.keychain_available {
                        if ui.radio(!form.use_passphrase, "With this computer's keychain").clicked() {
                            form.use_passphrase = false;
                        }
                        if ui.radio(form.use_passphrase, "With a passphrase (asked at every start)").clicked() {
                            form.use_passphrase = true;
                        }
                    } else {
                        ui.label("No keychain is available here: a passphrase protects the key (asked at every start).");
                    }
                    if form.use_passphrase {
                        field(ui, "Passphrase", &mut *form.passphrase, true);
                        field(ui, "Passphrase again", &mut *form.repeat, true);
                    }
                    ui.add_space(8.0);
                    ui.checkbox(&mut form.cover, "Cover traffic (hides when you write; about 120 MB a day)");
                    ui.add_space(12.0);
                    if let Some(error) = &form.error {
                        ui.colored_label(ui.visuals().error_fg_color, error);
                    }
                    if ui.button(RichText::new("Create profile").size(16.0)).clicked() {
                        actions.push(Action::CreateProfile);
                    }
                });
            });
        });
    });
}

/// A passphrase profile: unlock it.
pub fn unlock(ui: &mut egui::Ui, form: &mut UnlockForm, actions: &mut Vec<Action>) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() / 4.0);
            ui.heading("Unlock Sotto");
            ui.label("Your profile is encrypted with your passphrase.");
            ui.add_space(8.0);
            let response = field(ui, "Passphrase", &mut *form.passphrase, true);
            if ui.memory(|m| m.focused().is_none()) {
                response.request_focus();
            }
            if let Some(error) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            // The screen's only field and button: Enter anywhere unlocks.
            let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Unlock").clicked() || enter {
                actions.push(Action::Unlock);
            }
        });
    });
}
