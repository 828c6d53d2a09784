//! Drawing. Each screen draws from the state and returns what the user asked for as
//! [`Action`]s, which the app then performs: drawing never waits for anything.

pub mod conversation;
pub mod dialogs;
pub mod qr;
pub mod settings;
pub mod welcome;

use eframe::egui::{self, Align, Color32, Layout, RichText};
use sotto_core::contacts::ContactId;
use sotto_core::content::MessageId;

use crate::app::{Screen, SottoApp};
use crate::session::Session;

/// What the user asked for in a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the profile described in the welcome form.
    CreateProfile,
    /// Unlock with the passphrase typed.
    Unlock,
    /// Open a contact's conversation.
    Select(ContactId),
    /// Send the text written.
    Send,
    /// Pick files (or pictures) to send.
    Attach {
        /// Pictures only, sent as images.
        images: bool,
    },
    /// Send dropped files.
    Dropped(Vec<std::path::PathBuf>),
    /// Start or stop recording a voice clip.
    ToggleRecording,
    /// Load older messages.
    LoadOlder,
    /// Save a message's attachment (asks where).
    Save(ContactId, MessageId, String),
    /// Show a picture inline.
    ShowPicture(ContactId, MessageId),
    /// Play a voice clip.
    Play(ContactId, MessageId),
    /// Stop playing.
    StopPlaying,
    /// Send a failed upload again.
    Retry(MessageId),
    /// Show our invitation.
    Invite,
    /// Save the invitation's QR code as a picture (asks where).
    SaveInvitationQr(String),
    /// Show the accept dialog.
    OpenAccept,
    /// Read the invitation link from a picture of its QR code.
    AcceptFromImage,
    /// Accept the link in the accept dialog.
    Accept,
    /// Show a contact's safety number.
    Safety(ContactId),
    /// Compare the code typed in the safety dialog.
    CompareTyped,
    /// Compare with a picture of the contact's safety QR code.
    CompareImage,
    /// Save the safety number's QR code as a picture (asks where).
    SaveSafetyQr,
    /// Mark the contact verified.
    MarkVerified(ContactId),
    /// Accept a contact's new identity key.
    AcceptKey(ContactId),
    /// Give a contact another name (`None`: the name it gave itself).
    Rename(ContactId, Option<String>),
    /// Open the settings.
    OpenSettings,
    /// Save the settings form.
    SaveSettings,
    /// Change the passphrase to the one in the settings form.
    ChangePassphrase,
    /// Close the dialog.
    CloseDialog,
    /// Dismiss the notices.
    DismissNotices,
}

/// Draws the app and performs what the user asked for.
pub fn show(app: &mut SottoApp, ui: &mut egui::Ui) {
    let mut actions = Vec::new();
    let theme = &mut app.theme;
    match &mut app.screen {
        Screen::Welcome(form) => welcome::welcome(ui, form, &mut actions),
        Screen::Unlock(form) => welcome::unlock(ui, form, &mut actions),
        Screen::Opening(what) => {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() / 3.0);
                    ui.spinner();
                    ui.label(what.as_str());
                });
            });
        }
        Screen::Stopped(why) => {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() / 3.0);
                    ui.heading("Sotto");
                    ui.label(why.as_str());
                });
            });
        }
        Screen::Main(session) => main_screen(ui, session, theme, &mut actions),
    }
    for action in actions {
        app.perform(action);
    }
}

/// The messenger: the top bar, the contacts list, the conversation and any dialog.
fn main_screen(
    ui: &mut egui::Ui,
    session: &mut Session,
    theme: &mut crate::app::Theme,
    actions: &mut Vec<Action>,
) {
    session.focused = ui.ctx().input(|i| i.viewport().focused.unwrap_or(true));
    shortcuts(ui.ctx(), session, actions);
    egui::Panel::top("top").show(ui, |ui| top_bar(ui, session, actions));
    egui::Panel::left("contacts")
        .resizable(true)
        .default_size(280.0)
        .size_range(200.0..=420.0)
        .show(ui, |ui| contacts(ui, session, actions));
    egui::CentralPanel::default().show(ui, |ui| conversation::show(ui, session, actions));
    dialogs::show(ui.ctx(), session, theme, actions);
    let dropped: Vec<_> = ui.ctx().input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_owned())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    if !dropped.is_empty() {
        actions.push(Action::Dropped(dropped));
    }
}

/// Ctrl+K finds a contact; Escape closes a dialog.
fn shortcuts(ctx: &egui::Context, session: &Session, actions: &mut Vec<Action>) {
    if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::K)) {
        ctx.memory_mut(|m| m.request_focus(egui::Id::unique("contact-filter")));
    }
    if session.dialog.is_some()
        && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
    {
        actions.push(Action::CloseDialog);
    }
}

fn top_bar(ui: &mut egui::Ui, session: &Session, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.heading("Sotto");
        ui.separator();
        if ui
            .button("Invite")
            .on_hover_text("Show an invitation for someone to accept")
            .clicked()
        {
            actions.push(Action::Invite);
        }
        if ui.button("Accept invitation").clicked() {
            actions.push(Action::OpenAccept);
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button("Settings").clicked() {
                actions.push(Action::OpenSettings);
            }
            if session.unreachable.is_empty() {
                ui.label(RichText::new("Online").color(Color32::from_rgb(40, 150, 70)))
                    .on_hover_text("Every relay answers");
            } else {
                ui.label(RichText::new("Relays unreachable").color(Color32::from_rgb(200, 120, 0)))
                    .on_hover_text(format!(
                        "Not answering: {}\nNothing is lost: messages wait and go out later.",
                        session.unreachable.join(", ")
                    ));
            }
        });
    });
    if !session.notices.is_empty() {
        ui.horizontal_wrapped(|ui| {
            for notice in &session.notices {
                let color = if notice.error {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().strong_text_color()
                };
                ui.label(RichText::new(&notice.text).color(color));
            }
            if ui.small_button("Dismiss").clicked() {
                actions.push(Action::DismissNotices);
            }
        });
    }
}

fn contacts(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    ui.add_space(6.0);
    let label = ui.label("Find a contact (Ctrl+K, Enter opens)");
    // Read before the field takes the key (a single-line field gives up focus on Enter).
    let open_first = ui.memory(|m| m.has_focus(egui::Id::unique("contact-filter")))
        && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.add(
        egui::TextEdit::singleline(&mut session.filter)
            .id(egui::Id::unique("contact-filter"))
            .hint_text("Name")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    ui.separator();
    if session.contacts_loaded && session.contacts.is_empty() {
        ui.label("No contacts yet. Invite someone, or accept an invitation.");
        return;
    }
    let filter = session.filter.to_lowercase();
    let matches = |row: &&crate::session::ContactRow| {
        filter.is_empty() || row.name().to_lowercase().contains(&filter)
    };
    if open_first && let Some(row) = session.contacts.iter().find(matches) {
        actions.push(Action::Select(row.contact.id.clone()));
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        for row in session.contacts.iter().filter(matches) {
            let name = row.name();
            let selected = session.selected.as_ref() == Some(&row.contact.id);
            let mut text = name.clone();
            if row.contact.verified {
                text.push_str(" ✔");
            }
            if row.unread > 0 {
                text.push_str(&format!("  ({} unread)", row.unread));
            }
            let (preview, when) = match &row.last {
                Some((preview, at)) => (preview.clone(), time_of_day(*at)),
                None => ("No messages yet".to_owned(), String::new()),
            };
            let response = ui
                .add(
                    egui::Button::selectable(selected, format!("{text}\n{preview}"))
                        .right_text(when)
                        .min_size(egui::vec2(ui.available_width(), 40.0)),
                )
                .on_hover_text(format!("Open the conversation with {name}"));
            if response.clicked() {
                actions.push(Action::Select(row.contact.id.clone()));
            }
        }
    });
}

/// A length in milliseconds as `m:ss`.
pub fn duration(ms: u32) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// A size in bytes for people.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// A time as the hour and minute of the local day.
pub fn time_of_day(at: std::time::SystemTime) -> String {
    local(at).map_or_else(String::new, |t| t.strftime("%H:%M").to_string())
}

/// A time's local day, for day separators.
pub fn day_of(at: std::time::SystemTime) -> String {
    local(at).map_or_else(String::new, |t| t.strftime("%A, %-d %B %Y").to_string())
}

fn local(at: std::time::SystemTime) -> Option<jiff::ZonedDateTime> {
    let stamp = jiff::Timestamp::try_from(at).ok()?;
    Some(stamp.to_zoned_datetime(jiff::tz::TimeZone::system()))
}
