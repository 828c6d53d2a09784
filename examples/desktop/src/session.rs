//! The open profile as the app shows it: contacts, the open conversation, transfers,
//! dialogs and notices; and the jobs that change it. Every change of the messenger's state
//! comes back through [`Session::apply_event`] or a job's reply, so what is shown is
//! always what the store holds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use sotto_core::client::{AttachmentKind, AttachmentSource, HistoryFrom, TransferDirection};
use sotto_core::contacts::{Contact, ContactId};
use sotto_core::content::{Body, MessageId};
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::{DeliveryStatus, Event, NetworkSettings};
use sotto_core::safety::{Comparison, SafetyNumber};

use crate::app::SottoApp;
use crate::backend::{Handle, Reply};
use crate::timeline::Timeline;

/// Messages loaded per page of history.
pub const PAGE: usize = 100;

/// One row of the contacts list.
#[derive(Debug, Clone)]
pub struct ContactRow {
    /// The contact.
    pub contact: Contact,
    /// Messages not read yet.
    pub unread: usize,
    /// The last message's preview and time.
    pub last: Option<(String, SystemTime)>,
}

impl ContactRow {
    /// The name shown for the contact.
    pub fn name(&self) -> String {
        contact_name(&self.contact)
    }
}

/// The name shown for a contact: the user's name for it, else the start of its id.
pub fn contact_name(contact: &Contact) -> String {
    contact
        .display_name
        .clone()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| {
            format!(
                "Contact {}",
                &contact.id.as_str()[..8.min(contact.id.as_str().len())]
            )
        })
}

/// One of ours being encrypted and uploaded (not in the history until it is sent).
#[derive(Debug, Clone)]
pub struct Upload {
    /// The message's id.
    pub id: MessageId,
    /// The contact it goes to.
    pub contact: ContactId,
    /// What is sent, for sending it again.
    pub source: UploadSource,
    /// Its kind, for sending it again.
    pub kind: AttachmentKind,
    /// Bytes uploaded and in all.
    pub progress: (u64, u64),
    /// Whether it failed (shown with a retry button).
    pub failed: bool,
}

/// What an attachment is sent from.
#[derive(Debug, Clone)]
pub enum UploadSource {
    /// A file the user picked.
    File(PathBuf),
    /// Bytes in memory (a recorded clip), with a name for people.
    Bytes(zeroize::Zeroizing<Vec<u8>>, String),
}

impl UploadSource {
    /// What the user sees while it uploads.
    pub fn label(&self) -> String {
        match self {
            UploadSource::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            UploadSource::Bytes(_, label) => label.clone(),
        }
    }

    fn size(&self) -> u64 {
        match self {
            UploadSource::File(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            UploadSource::Bytes(bytes, _) => bytes.len() as u64,
        }
    }
}

impl From<UploadSource> for AttachmentSource {
    fn from(source: UploadSource) -> Self {
        match source {
            UploadSource::File(path) => AttachmentSource::File(path),
            UploadSource::Bytes(bytes, _) => AttachmentSource::Bytes(bytes),
        }
    }
}

/// A picture shown in a conversation.
pub enum Picture {
    /// Being downloaded.
    Loading,
    /// Decoded, ready to draw.
    Ready(eframe::egui::TextureHandle),
    /// Why it cannot be shown.
    Failed(String),
}

/// A dialog over the main screen.
pub enum Dialog {
    /// Our invitation: link and QR code.
    Invite {
        /// The link, once made.
        link: Option<String>,
    },
    /// Accepting someone's invitation.
    Accept {
        /// The link typed or pasted.
        link: String,
        /// What the user calls the inviter (invitations carry no name).
        name: String,
        /// Why the last try failed.
        error: Option<String>,
        /// Whether an acceptance is under way.
        busy: bool,
    },
    /// The safety number of a contact.
    Safety {
        /// The contact.
        contact: ContactId,
        /// The number, once computed.
        number: Option<SafetyNumber>,
        /// The code typed to compare.
        typed: String,
        /// What the last comparison said.
        outcome: Option<Result<Comparison, String>>,
    },
    /// Settings.
    Settings(Box<crate::ui::settings::SettingsForm>),
}

/// A message for the user at the top of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// The state of the open profile.
pub struct Session {
    /// The messenger.
    pub messenger: Arc<Handle>,
    /// The contacts list.
    pub contacts: Vec<ContactRow>,
    /// Whether the contacts list was loaded once.
    pub contacts_loaded: bool,
    /// The contact whose conversation is open.
    pub selected: Option<ContactId>,
    /// The open conversation.
    pub timeline: Option<Timeline>,
    /// Attachments being uploaded.
    pub uploads: Vec<Upload>,
    /// Downloads under way: bytes done and in all.
    pub downloads: HashMap<MessageId, (u64, u64)>,
    /// Statuses of our messages learned from events since their page was loaded.
    pub statuses: HashMap<MessageId, DeliveryStatus>,
    /// Pictures shown inline.
    pub pictures: HashMap<MessageId, Picture>,
    /// Pictures' previews (from their messages), decoded once.
    pub previews: HashMap<MessageId, Option<eframe::egui::TextureHandle>>,
    /// The dialog shown, if any.
    pub dialog: Option<Dialog>,
    /// Messages for the user.
    pub notices: Vec<Notice>,
    /// The message being written.
    pub compose: String,
    /// The contacts filter (Ctrl+K).
    pub filter: String,
    /// Whether a voice clip is being recorded.
    pub recording: bool,
    /// The voice clip playing, and whether it started (else it is being fetched).
    pub playing: Option<(MessageId, bool)>,
    /// The new name being typed for the open contact, while renaming.
    pub renaming: Option<String>,
    /// Relays that do not answer now.
    pub unreachable: Vec<String>,
    /// Whether the window has the user's attention (messages shown are read).
    pub focused: bool,
}

impl Session {
    /// The state of a profile just opened.
    pub fn new(messenger: Arc<Handle>) -> Self {
        Self {
            messenger,
            contacts: Vec::new(),
            contacts_loaded: false,
            selected: None,
            timeline: None,
            uploads: Vec::new(),
            downloads: HashMap::new(),
            statuses: HashMap::new(),
            pictures: HashMap::new(),
            previews: HashMap::new(),
            dialog: None,
            notices: Vec::new(),
            compose: String::new(),
            filter: String::new(),
            recording: false,
            playing: None,
            renaming: None,
            unreachable: Vec::new(),
            focused: true,
        }
    }

    /// The selected contact's row.
    pub fn selected_row(&self) -> Option<&ContactRow> {
        let selected = self.selected.as_ref()?;
        self.contacts.iter().find(|row| &row.contact.id == selected)
    }

    /// Tells the user something.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.push_notice(text.into(), false);
    }

    /// Tells the user something failed.
    pub fn failure(&mut self, what: &str, error: impl std::fmt::Display) {
        self.push_notice(format!("{what}: {error}"), true);
    }

    fn push_notice(&mut self, text: String, error: bool) {
        self.notices.push(Notice { text, error });
        if self.notices.len() > 4 {
            self.notices.remove(0);
        }
    }

    /// What an event changes.
    pub fn apply_event(app: &mut SottoApp, event: Event) {
        let Some(session) = app.session_mut() else {
            return;
        };
        let mut reload_contacts = false;
        let mut notify = None;
        match event {
            Event::MessageReceived { contact, content } => {
                reload_contacts = true;
                let open = session.selected.as_ref() == Some(&contact);
                if let Some(row) = session.contacts.iter().find(|r| r.contact.id == contact) {
                    notify = Some((row.name(), describe(&content.body)));
                }
                if open {
                    let id = content.id;
                    app.backend_job(load_message(app_messenger(app), contact, id));
                }
            }
            Event::StatusChanged {
                message_ids,
                status,
                contact,
            } => {
                for id in &message_ids {
                    session.statuses.insert(*id, status);
                }
                let mut stored = Vec::new();
                for id in &message_ids {
                    if let Some(upload) = session.uploads.iter_mut().find(|u| u.id == *id) {
                        match status {
                            DeliveryStatus::Failed => upload.failed = true,
                            DeliveryStatus::Sending => {}
                            _ => stored.push(*id),
                        }
                    }
                }
                session.uploads.retain(|u| !stored.contains(&u.id));
                if session.selected.as_ref() == Some(&contact) {
                    let messenger = session.messenger.clone();
                    for id in stored {
                        app.backend_job(load_message(messenger.clone(), contact.clone(), id));
                    }
                }
            }
            Event::TransferProgress {
                message_id,
                direction,
                done,
                total,
            } => match direction {
                TransferDirection::Upload => {
                    if let Some(upload) = session.uploads.iter_mut().find(|u| u.id == message_id) {
                        upload.progress = (done, total);
                    }
                }
                TransferDirection::Download => {
                    session.downloads.insert(message_id, (done, total));
                }
            },
            Event::ContactAdded { display_name, .. } => {
                reload_contacts = true;
                let who = if display_name.is_empty() {
                    "Someone".to_owned()
                } else {
                    display_name
                };
                session.notice(format!("{who} accepted your invitation"));
            }
            Event::ContactReady { .. } | Event::IdentityKeyChanged { .. } => {
                reload_contacts = true;
            }
            Event::NetworkChanged {
                relay, reachable, ..
            } => {
                let relay = relay.to_string();
                session.unreachable.retain(|r| *r != relay);
                if !reachable {
                    session.unreachable.push(relay);
                }
            }
            Event::PacketRejected { reason, .. } => {
                session.failure("A packet could not be opened and was removed", reason);
            }
            Event::BackgroundProblem { reason, .. } => {
                session.failure("Background work failed (it is tried again)", reason);
            }
            Event::QueueGone { .. } | Event::CoverProblem { .. } => {}
            Event::Missed { .. } => {
                reload_contacts = true;
                if let Some(contact) = session.selected.clone() {
                    app.open_conversation(contact);
                }
            }
        }
        if let Some((title, body)) = notify
            && !app.session().is_some_and(|s| s.focused)
        {
            app.notify(&title, &body);
        }
        if reload_contacts {
            app.reload_contacts();
        }
    }
}

fn app_messenger(app: &SottoApp) -> Arc<Handle> {
    app.session()
        .map(|s| s.messenger.clone())
        .expect("events come to an open session")
}

/// What a message is, in a few words (for the contacts list and notifications).
pub fn describe(body: &Body) -> String {
    match body {
        Body::Text(text) => text
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect(),
        Body::Image(_) => "Picture".into(),
        Body::File(file) => format!("File: {}", file.name),
        Body::VoiceClip(clip) => format!("Voice clip, {}", crate::ui::duration(clip.duration_ms)),
        Body::Receipt(_) | Body::ContactAccept(_) => String::new(),
    }
}

/// Loads one message into the open conversation (it arrived or was stored).
pub async fn load_message(
    messenger: Arc<Handle>,
    contact: ContactId,
    id: MessageId,
) -> Reply<SottoApp> {
    let loaded = messenger.message(&contact, &id).await;
    Box::new(move |app: &mut SottoApp| {
        let Some(session) = app.session_mut() else {
            return;
        };
        match loaded {
            Ok(message) => {
                if session.selected.as_ref() == Some(&contact)
                    && let Some(timeline) = &mut session.timeline
                {
                    timeline.push_newest(message);
                }
                app.mark_shown_read();
            }
            Err(error) => session.failure("Loading a message", error),
        }
    })
}

/// The jobs of an open session.
impl SottoApp {
    /// Reloads the contacts list (contacts, unread counts, last messages).
    pub fn reload_contacts(&mut self) {
        let Some(session) = self.session() else {
            return;
        };
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let loaded = async {
                let contacts = messenger.contacts().await?;
                let unread: HashMap<ContactId, usize> =
                    messenger.unread_counts().await?.into_iter().collect();
                let mut rows = Vec::with_capacity(contacts.len());
                for contact in contacts {
                    let last = messenger
                        .history(&contact.id, HistoryFrom::Newest, 1)
                        .await?
                        .into_iter()
                        .next()
                        .map(|m| (describe(&m.content.body), m.at));
                    rows.push(ContactRow {
                        unread: unread.get(&contact.id).copied().unwrap_or(0),
                        contact,
                        last,
                    });
                }
                rows.sort_by(|a, b| {
                    let at = |r: &ContactRow| r.last.as_ref().map(|(_, at)| *at);
                    at(b).cmp(&at(a)).then_with(|| a.name().cmp(&b.name()))
                });
                Ok::<_, sotto_core::Error>(rows)
            }
            .await;
            Box::new(move |app: &mut SottoApp| {
                if let Some(session) = app.session_mut() {
                    match loaded {
                        Ok(rows) => {
                            session.contacts = rows;
                            session.contacts_loaded = true;
                        }
                        Err(error) => session.failure("Loading contacts", error),
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Opens a contact's conversation at its newest page.
    pub fn open_conversation(&mut self, contact: ContactId) {
        let Some(session) = self.session_mut() else {
            return;
        };
        session.selected = Some(contact.clone());
        session.timeline = None;
        session.renaming = None;
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let page = messenger.history(&contact, HistoryFrom::Newest, PAGE).await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                if session.selected.as_ref() != Some(&contact) {
                    return;
                }
                match page {
                    Ok(mut page) => {
                        page.reverse();
                        session.timeline = Some(Timeline::new(contact, page));
                        app.mark_shown_read();
                    }
                    Err(error) => session.failure("Loading the conversation", error),
                }
            }) as Reply<SottoApp>
        });
    }

    /// Loads the page before the oldest message shown.
    pub fn load_older(&mut self) {
        let Some(session) = self.session_mut() else {
            return;
        };
        let Some(timeline) = &mut session.timeline else {
            return;
        };
        let Some(oldest) = timeline.oldest_id() else {
            return;
        };
        if timeline.loading_older || timeline.complete {
            return;
        }
        timeline.loading_older = true;
        let contact = timeline.contact.clone();
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let page = messenger
                .history(&contact, HistoryFrom::Before(oldest), PAGE)
                .await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                let Some(timeline) = session.timeline.as_mut().filter(|t| t.contact == contact)
                else {
                    return;
                };
                timeline.loading_older = false;
                match page {
                    Ok(mut page) => {
                        page.reverse();
                        timeline.prepend(page, PAGE);
                    }
                    Err(error) => session.failure("Loading earlier messages", error),
                }
            }) as Reply<SottoApp>
        });
    }

    /// Marks the open conversation's unread messages read (when the window has focus).
    pub fn mark_shown_read(&mut self) {
        let Some(session) = self.session_mut() else {
            return;
        };
        if !session.focused {
            return;
        }
        let Some(timeline) = &mut session.timeline else {
            return;
        };
        let unread = timeline.take_unread();
        if unread.is_empty() {
            return;
        }
        let contact = timeline.contact.clone();
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let marked = messenger.mark_read(&contact, unread).await;
            Box::new(move |app: &mut SottoApp| match marked {
                Ok(()) => app.reload_contacts(),
                Err(error) => {
                    if let Some(session) = app.session_mut() {
                        session.failure("Marking messages read", error);
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Sends the text being written to the open conversation.
    pub fn send_compose(&mut self) {
        let Some(session) = self.session_mut() else {
            return;
        };
        let text = session.compose.trim().to_owned();
        let Some(contact) = session.selected.clone() else {
            return;
        };
        if text.is_empty() {
            return;
        }
        session.compose.clear();
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let sent = messenger.send_text(&contact, &text).await;
            let sent = match sent {
                Ok(id) => messenger.message(&contact, &id).await,
                Err(error) => Err(error),
            };
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                match sent {
                    Ok(message) => {
                        if let Some(timeline) =
                            session.timeline.as_mut().filter(|t| t.contact == contact)
                        {
                            timeline.push_newest(message);
                        }
                        app.reload_contacts();
                    }
                    Err(error) => {
                        // Give the text back so nothing typed is lost.
                        if session.compose.is_empty() {
                            session.compose = text;
                        }
                        session.failure("Sending", error);
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Sends a file the user picked or dropped: as a picture when it is one.
    pub fn send_path(&mut self, path: PathBuf, as_image: bool) {
        let kind = if as_image && sotto_media::looks_like_image(&path) {
            sotto_media::image_kind(&path)
        } else {
            sotto_media::file_kind(&path)
        };
        match kind {
            Ok(kind) => self.send_attachment(UploadSource::File(path), kind),
            Err(error) => {
                if let Some(session) = self.session_mut() {
                    session.failure("This file cannot be sent", error);
                }
            }
        }
    }

    /// Sends an attachment to the open conversation, showing its upload until it is sent.
    pub fn send_attachment(&mut self, source: UploadSource, kind: AttachmentKind) {
        let Some(session) = self.session_mut() else {
            return;
        };
        let Some(contact) = session.selected.clone() else {
            return;
        };
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let sent = messenger
                .send_attachment(&contact, source.clone(), kind.clone())
                .await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                match sent {
                    Ok(id) => {
                        let size = source.size();
                        // The upload may have finished before this reply arrived.
                        let done = session.statuses.get(&id).is_some_and(|s| {
                            !matches!(s, DeliveryStatus::Sending | DeliveryStatus::Failed)
                        });
                        if !done {
                            session.uploads.push(Upload {
                                id,
                                contact,
                                source,
                                failed: session.statuses.get(&id) == Some(&DeliveryStatus::Failed),
                                kind,
                                progress: (0, size),
                            });
                        }
                    }
                    Err(error) => session.failure("Sending the file", error),
                }
            }) as Reply<SottoApp>
        });
    }

    /// Sends a failed upload again.
    pub fn retry_upload(&mut self, id: MessageId) {
        let Some(session) = self.session_mut() else {
            return;
        };
        let Some(at) = session.uploads.iter().position(|u| u.id == id) else {
            return;
        };
        let upload = session.uploads.remove(at);
        self.send_attachment(upload.source, upload.kind);
    }

    /// Downloads a message's attachment to `destination`; a picture is then shown inline.
    pub fn download(
        &mut self,
        contact: ContactId,
        id: MessageId,
        destination: PathBuf,
        show: bool,
    ) {
        let Some(session) = self.session_mut() else {
            return;
        };
        session.downloads.insert(id, (0, 0));
        if show {
            session.pictures.insert(id, Picture::Loading);
        }
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let fetched = messenger
                .download_attachment(&contact, &id, &destination)
                .await;
            let picture = match (&fetched, show) {
                (Ok(_), true) => {
                    let decoded =
                        sotto_media::decode_image(&destination).map(|(_, p)| p.to_rgba8());
                    // Shown from memory only: the decrypted file does not stay.
                    let _ = std::fs::remove_file(&destination);
                    Some(decoded)
                }
                _ => None,
            };
            Box::new(move |app: &mut SottoApp| {
                let ctx = app.context().clone();
                let Some(session) = app.session_mut() else {
                    return;
                };
                session.downloads.remove(&id);
                match fetched {
                    Ok(_) if !show => session.notice(format!("Saved {}", destination.display())),
                    Ok(_) => {}
                    Err(error) => {
                        session.pictures.remove(&id);
                        session.failure("Downloading", error);
                    }
                }
                match picture {
                    Some(Ok(rgba)) => {
                        let size = [rgba.width() as usize, rgba.height() as usize];
                        let image =
                            eframe::egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw());
                        let texture =
                            ctx.load_texture(format!("picture-{id}"), image, Default::default());
                        session.pictures.insert(id, Picture::Ready(texture));
                    }
                    Some(Err(error)) => {
                        session
                            .pictures
                            .insert(id, Picture::Failed(error.to_string()));
                    }
                    None => {}
                }
            }) as Reply<SottoApp>
        });
    }

    /// Fetches a voice clip, decodes it and plays it.
    pub fn play(&mut self, contact: ContactId, id: MessageId) {
        let Some(session) = self.session_mut() else {
            return;
        };
        session.playing = Some((id, false));
        let messenger = session.messenger.clone();
        // Fetched into the profile's folder, read into memory and removed at once.
        let file = self
            .options
            .profile
            .root()
            .join(format!("playing-{id}.ogg"));
        self.backend_job(async move {
            let decoded = match messenger.download_attachment(&contact, &id, &file).await {
                Ok(_) => {
                    let bytes = std::fs::read(&file).map_err(|e| e.to_string());
                    let _ = std::fs::remove_file(&file);
                    bytes.and_then(|b| sotto_core::voice::decode(&b).map_err(|e| e.to_string()))
                }
                Err(error) => Err(error.to_string()),
            };
            Box::new(move |app: &mut SottoApp| {
                let played = decoded.and_then(|clip| app.options.speakers.play(clip));
                if let Some(session) = app.session_mut() {
                    match played {
                        Ok(()) => session.playing = Some((id, true)),
                        Err(error) => {
                            session.playing = None;
                            session.failure("Playing the voice clip", error);
                        }
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Makes an invitation and shows it.
    pub fn invite(&mut self) {
        let Some(session) = self.session_mut() else {
            return;
        };
        session.dialog = Some(Dialog::Invite { link: None });
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let made = messenger.create_invitation().await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                match made {
                    Ok(invitation) => {
                        if let Some(Dialog::Invite { link }) = &mut session.dialog {
                            *link = Some(invitation.link());
                        }
                    }
                    Err(error) => {
                        session.dialog = None;
                        session.failure("Making an invitation", error);
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Accepts the invitation link in the accept dialog.
    pub fn accept_invitation(&mut self) {
        let Some(session) = self.session_mut() else {
            return;
        };
        let Some(Dialog::Accept {
            link,
            name,
            error,
            busy,
        }) = &mut session.dialog
        else {
            return;
        };
        let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
        let parsed = match InvitationLink::parse(link.trim()) {
            Ok(parsed) => parsed,
            Err(e) => {
                *error = Some(format!("This is not an invitation link: {e}"));
                return;
            }
        };
        *busy = true;
        *error = None;
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let accepted = messenger.accept_link(&parsed).await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                match accepted {
                    Ok(contact) => {
                        session.dialog = None;
                        session
                            .notice("Invitation accepted: you can write as soon as it is answered");
                        if name.is_some() {
                            app.rename_contact(contact.clone(), name);
                        }
                        app.reload_contacts();
                        app.open_conversation(contact);
                    }
                    Err(e) => {
                        if let Some(Dialog::Accept { error, busy, .. }) = &mut session.dialog {
                            *busy = false;
                            *error = Some(e.to_string());
                        }
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Shows a contact's safety number.
    pub fn show_safety(&mut self, contact: ContactId) {
        let Some(session) = self.session_mut() else {
            return;
        };
        session.dialog = Some(Dialog::Safety {
            contact: contact.clone(),
            number: None,
            typed: String::new(),
            outcome: None,
        });
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let number = messenger.safety_number(&contact).await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                match number {
                    Ok(number) => {
                        if let Some(Dialog::Safety { number: shown, .. }) = &mut session.dialog {
                            *shown = Some(number);
                        }
                    }
                    Err(error) => {
                        session.dialog = None;
                        session.failure("Computing the safety number", error);
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    /// Marks a contact verified.
    pub fn mark_verified(&mut self, contact: ContactId) {
        self.contact_change("Marking verified", contact, |messenger, contact| {
            Box::pin(async move { messenger.mark_verified(&contact).await })
        });
    }

    /// Accepts a contact's new identity key (sending resumes).
    pub fn accept_identity_key(&mut self, contact: ContactId) {
        self.contact_change("Accepting the new key", contact, |messenger, contact| {
            Box::pin(async move { messenger.accept_identity_key(&contact).await })
        });
    }

    /// Renames a contact (`None` for the name it gave itself).
    pub fn rename_contact(&mut self, contact: ContactId, name: Option<String>) {
        self.contact_change("Renaming", contact, move |messenger, contact| {
            Box::pin(async move { messenger.rename_contact(&contact, name).await })
        });
    }

    /// Runs a change of one contact, then reloads the contacts list.
    fn contact_change<F>(&mut self, what: &'static str, contact: ContactId, change: F)
    where
        F: FnOnce(
                Arc<Handle>,
                ContactId,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = sotto_core::Result<()>> + Send>,
            > + Send
            + 'static,
    {
        let Some(session) = self.session() else {
            return;
        };
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let changed = change(messenger, contact).await;
            Box::new(move |app: &mut SottoApp| {
                if let Err(error) = changed
                    && let Some(session) = app.session_mut()
                {
                    session.failure(what, error);
                }
                app.reload_contacts();
            }) as Reply<SottoApp>
        });
    }

    /// Applies network settings the user saved.
    pub fn save_network_settings(&mut self, settings: NetworkSettings) {
        let Some(session) = self.session() else {
            return;
        };
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let saved = messenger.set_network_settings(settings).await;
            Box::new(move |app: &mut SottoApp| {
                if let Some(session) = app.session_mut() {
                    match saved {
                        Ok(()) => session.notice("Network settings saved"),
                        Err(error) => session.failure("Saving the network settings", error),
                    }
                }
            }) as Reply<SottoApp>
        });
    }
}
