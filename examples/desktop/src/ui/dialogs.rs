//! Dialogs over the messenger: the invitation, accepting one, a safety number, settings.

use eframe::egui::{self, Color32, RichText};
use sotto_core::qr::QrCode;
use sotto_core::safety::Comparison;

use super::Action;
use crate::app::Theme;
use crate::session::{Dialog, Session, contact_name};

/// Draws the dialog shown, if any.
pub fn show(
    ctx: &egui::Context,
    session: &mut Session,
    theme: &mut Theme,
    actions: &mut Vec<Action>,
) {
    let contacts = &session.contacts;
    let Some(dialog) = &mut session.dialog else {
        return;
    };
    let title = match dialog {
        Dialog::Invite { .. } => "Invite someone",
        Dialog::Accept { .. } => "Accept an invitation",
        Dialog::Safety { .. } => "Safety number",
        Dialog::Settings(_) => "Settings",
    };
    // Escape closes (ui::shortcuts); a click beside the dialog does not, so nothing typed
    // into it is lost by a stray click.
    egui::Modal::new(egui::Id::unique("dialog")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading(title);
        ui.add_space(6.0);
        match dialog {
            Dialog::Invite { link } => invite(ui, link.as_deref(), actions),
            Dialog::Accept {
                link,
                name,
                error,
                busy,
            } => accept(ui, link, name, error.as_deref(), *busy, actions),
            Dialog::Safety {
                contact,
                number,
                typed,
                outcome,
            } => {
                let row = contacts.iter().find(|r| &r.contact.id == contact);
                let name = row.map(|r| contact_name(&r.contact)).unwrap_or_default();
                let verified = row.is_some_and(|r| r.contact.verified);
                ui.label(format!(
                    "Compare these numbers with {name}, in person or on a call you trust. If they \
                     match, nobody is in the middle of your conversation."
                ));
                ui.add_space(6.0);
                match number {
                    None => {
                        ui.spinner();
                    }
                    Some(number) => {
                        let groups = number.digit_groups();
                        egui::Grid::new("safety-digits").show(ui, |ui| {
                            for (i, group) in groups.iter().enumerate() {
                                ui.label(RichText::new(*group).monospace().size(18.0));
                                if i % 4 == 3 {
                                    ui.end_row();
                                }
                            }
                        });
                        ui.add_space(6.0);
                        if let Ok(code) = QrCode::encode(number.scannable()) {
                            super::qr::draw(ui, &code, 200.0, "Safety number QR code");
                        }
                        if ui.button("Save QR image…").clicked() {
                            actions.push(Action::SaveSafetyQr);
                        }
                    }
                }
                ui.add_space(6.0);
                let label = ui.label("Their number (type it to compare)");
                ui.add(egui::TextEdit::singleline(typed).desired_width(420.0))
                    .labelled_by(label.id);
                ui.horizontal(|ui| {
                    if ui.button("Compare").clicked() {
                        actions.push(Action::CompareTyped);
                    }
                    if ui.button("Compare with a QR image…").clicked() {
                        actions.push(Action::CompareImage);
                    }
                });
                match outcome {
                    Some(Ok(Comparison::Match)) => {
                        ui.label(RichText::new("The numbers match.").color(Color32::from_rgb(40, 150, 70)));
                    }
                    Some(Ok(Comparison::Mismatch)) => {
                        ui.colored_label(ui.visuals().error_fg_color, "The numbers do not match. Do not mark this contact verified.");
                    }
                    Some(Ok(Comparison::DifferentVersion { .. })) => {
                        ui.colored_label(ui.visuals().error_fg_color, "That code comes from another version of Sotto; one of you must update.");
                    }
                    Some(Err(error)) => {
                        ui.colored_label(ui.visuals().error_fg_color, error.as_str());
                    }
                    None => {}
                }
                ui.add_space(6.0);
                if verified {
                    ui.label(RichText::new("✔ Verified").color(Color32::from_rgb(40, 150, 70)));
                } else if ui.button("Mark verified").clicked() {
                    actions.push(Action::MarkVerified(contact.clone()));
                }
            }
            Dialog::Settings(form) => super::settings::show(ui, form, theme, actions),
        }
        ui.add_space(8.0);
        if ui.button("Close").clicked() {
            actions.push(Action::CloseDialog);
        }
    });
}

fn invite(ui: &mut egui::Ui, link: Option<&str>, actions: &mut Vec<Action>) {
    let Some(link) = link else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Making an invitation…");
        });
        return;
    };
    ui.label("Show this code to the person you invite, or send them the link. It works once, for 48 hours.");
    ui.add_space(6.0);
    if let Ok(code) = QrCode::encode(link.as_bytes()) {
        super::qr::draw(ui, &code, 260.0, "Invitation QR code");
    }
    ui.add_space(6.0);
    ui.add(egui::Label::new(RichText::new(link).monospace().small()).wrap());
    ui.horizontal(|ui| {
        if ui.button("Copy link").clicked() {
            ui.ctx().copy_text(link.to_owned());
        }
        if ui.button("Save QR image…").clicked() {
            actions.push(Action::SaveInvitationQr(link.to_owned()));
        }
    });
}

fn accept(
    ui: &mut egui::Ui,
    link: &mut String,
    name: &mut String,
    error: Option<&str>,
    busy: bool,
    actions: &mut Vec<Action>,
) {
    ui.label("Paste the link you were sent, or open a picture of the QR code.");
    let label = ui.label("Their name (invitations carry none; only you see it)");
    ui.add(egui::TextEdit::singleline(name).desired_width(460.0))
        .labelled_by(label.id);
    let label = ui.label("Invitation link");
    ui.add(
        egui::TextEdit::singleline(link)
            .hint_text("sotto://invite/…")
            .desired_width(460.0),
    )
    .labelled_by(label.id);
    if let Some(error) = error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
    ui.horizontal(|ui| {
        if busy {
            ui.spinner();
            ui.label("Accepting…");
        } else {
            if ui.button("Accept").clicked() {
                actions.push(Action::Accept);
            }
            if ui.button("Open QR image…").clicked() {
                actions.push(Action::AcceptFromImage);
            }
        }
    });
}
