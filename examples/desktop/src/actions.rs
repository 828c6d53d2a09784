//! What the app does for each [`Action`] the user took.

use std::sync::Arc;

use sotto_core::messenger::OwnedProtection;
use sotto_core::qr::QrCode;

use crate::app::SottoApp;
use crate::backend::Reply;
use zeroize::Zeroizing;

use crate::session::{Dialog, UploadSource};
use crate::ui::Action;

impl SottoApp {
    /// Performs one action.
    pub fn perform(&mut self, action: Action) {
        match action {
            Action::CreateProfile => self.create_profile(),
            Action::Unlock => self.unlock(),
            Action::Select(contact) => self.open_conversation(contact),
            Action::Send => self.send_compose(),
            Action::Attach { images } => {
                let title = if images {
                    "Send pictures"
                } else {
                    "Send files"
                };
                for path in self.options.files.open(title, images) {
                    self.send_path(path, images);
                }
            }
            Action::Dropped(paths) => {
                if self.session().is_some_and(|s| s.selected.is_some()) {
                    for path in paths {
                        self.send_path(path, true);
                    }
                } else if let Some(session) = self.session_mut() {
                    session.notice("Open a conversation first, then drop files on it");
                }
            }
            Action::ToggleRecording => self.toggle_recording(),
            Action::LoadOlder => self.load_older(),
            Action::Save(contact, id, suggested) => {
                if let Some(destination) = self.options.files.save("Save attachment", &suggested) {
                    self.download(contact, id, destination, false);
                }
            }
            Action::ShowPicture(contact, id) => {
                let destination = self.options.profile.root().join(format!("shown-{id}"));
                self.download(contact, id, destination, true);
            }
            Action::Retry(id) => self.retry_upload(id),
            Action::Play(contact, id) => self.play(contact, id),
            Action::StopPlaying => {
                self.options.speakers.stop();
                if let Some(session) = self.session_mut() {
                    session.playing = None;
                }
            }
            Action::Invite => self.invite(),
            Action::SaveInvitationQr(link) => self.save_qr(link.as_bytes(), "sotto-invitation.png"),
            Action::OpenAccept => {
                if let Some(session) = self.session_mut() {
                    session.dialog = Some(Dialog::Accept {
                        link: String::new(),
                        name: String::new(),
                        error: None,
                        busy: false,
                    });
                }
            }
            Action::AcceptFromImage => self.accept_from_image(),
            Action::Accept => self.accept_invitation(),
            Action::Safety(contact) => self.show_safety(contact),
            Action::CompareTyped => self.compare_safety(None),
            Action::CompareImage => {
                if let Some(path) = self
                    .options
                    .files
                    .open("Their safety number's QR code", true)
                    .pop()
                {
                    match sotto_media::decode_qr(&path) {
                        Ok(bytes) => self.compare_safety(Some(bytes)),
                        Err(error) => self.safety_outcome(Err(error.to_string())),
                    }
                }
            }
            Action::SaveSafetyQr => {
                let code = match self.session().and_then(|s| s.dialog.as_ref()) {
                    Some(Dialog::Safety {
                        number: Some(number),
                        ..
                    }) => number.scannable().to_vec(),
                    _ => return,
                };
                self.save_qr(&code, "sotto-safety-number.png");
            }
            Action::MarkVerified(contact) => self.mark_verified(contact),
            Action::AcceptKey(contact) => self.accept_identity_key(contact),
            Action::Rename(contact, name) => self.rename_contact(contact, name),
            Action::OpenSettings => self.open_settings(),
            Action::SaveSettings => {
                let Some(session) = self.session_mut() else {
                    return;
                };
                let Some(Dialog::Settings(form)) = &mut session.dialog else {
                    return;
                };
                match form.network_settings() {
                    Ok(settings) => {
                        form.error = None;
                        form.loaded = Some(settings.clone());
                        self.save_network_settings(settings);
                    }
                    Err(error) => form.error = Some(error),
                }
            }
            Action::ChangePassphrase => self.change_passphrase(),
            Action::CloseDialog => {
                if let Some(session) = self.session_mut() {
                    session.dialog = None;
                }
            }
            Action::DismissNotices => {
                if let Some(session) = self.session_mut() {
                    session.notices.clear();
                }
            }
        }
    }

    fn save_qr(&mut self, bytes: &[u8], suggested: &str) {
        let Some(path) = self.options.files.save("Save QR image", suggested) else {
            return;
        };
        let written = QrCode::encode(bytes)
            .map_err(|e| e.to_string())
            .and_then(|code| code.to_png().map_err(|e| e.to_string()))
            .and_then(|png| std::fs::write(&path, png).map_err(|e| e.to_string()));
        if let Some(session) = self.session_mut() {
            match written {
                Ok(()) => session.notice(format!("Saved {}", path.display())),
                Err(error) => session.failure("Saving the QR image", error),
            }
        }
    }

    fn accept_from_image(&mut self) {
        let Some(path) = self
            .options
            .files
            .open("A picture of the invitation's QR code", true)
            .pop()
        else {
            return;
        };
        let read = sotto_media::decode_qr(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| "this QR code holds no link".to_owned())
            });
        let Some(session) = self.session_mut() else {
            return;
        };
        let Some(Dialog::Accept { link, error, .. }) = &mut session.dialog else {
            return;
        };
        match read {
            Ok(text) => {
                *link = text;
                *error = None;
                self.accept_invitation();
            }
            Err(why) => *error = Some(why),
        }
    }

    /// Compares the typed code, or `scanned` (a QR code's bytes), with the contact's.
    fn compare_safety(&mut self, scanned: Option<Vec<u8>>) {
        let Some(Dialog::Safety {
            number: Some(number),
            typed,
            ..
        }) = self.session().and_then(|s| s.dialog.as_ref())
        else {
            return;
        };
        let outcome = match scanned {
            Some(bytes) => number.compare_scanned(&bytes),
            None => number.compare_typed(typed),
        }
        .map_err(|e| e.to_string());
        self.safety_outcome(outcome);
    }

    fn safety_outcome(&mut self, result: Result<sotto_core::safety::Comparison, String>) {
        if let Some(Dialog::Safety { outcome, .. }) =
            self.session_mut().and_then(|s| s.dialog.as_mut())
        {
            *outcome = Some(result);
        }
    }

    fn open_settings(&mut self) {
        let Some(session) = self.session_mut() else {
            return;
        };
        session.dialog = Some(Dialog::Settings(Box::default()));
        let messenger = session.messenger.clone();
        self.backend_job(async move {
            let loaded = messenger.network_settings().await;
            Box::new(move |app: &mut SottoApp| {
                let Some(session) = app.session_mut() else {
                    return;
                };
                match loaded {
                    Ok(settings) => {
                        if let Some(Dialog::Settings(form)) = &mut session.dialog {
                            form.fill(settings);
                        }
                    }
                    Err(error) => {
                        session.dialog = None;
                        session.failure("Loading the settings", error);
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    fn change_passphrase(&mut self) {
        let argon2 = self.options.argon2;
        let Some(session) = self.session_mut() else {
            return;
        };
        let Some(Dialog::Settings(form)) = &mut session.dialog else {
            return;
        };
        if form.passphrase.is_empty() || *form.passphrase != *form.repeat {
            form.error = Some("Type the same new passphrase twice.".into());
            return;
        }
        let protection = OwnedProtection::Passphrase {
            passphrase: std::mem::take(&mut form.passphrase),
            params: argon2,
        };
        form.repeat = Default::default();
        let messenger = Arc::clone(&session.messenger);
        self.backend_job(async move {
            let changed = messenger.change_protection(protection).await;
            Box::new(move |app: &mut SottoApp| {
                if let Some(session) = app.session_mut() {
                    match changed {
                        Ok(()) => session.notice("Passphrase changed"),
                        Err(error) => session.failure("Changing the passphrase", error),
                    }
                }
            }) as Reply<SottoApp>
        });
    }

    fn toggle_recording(&mut self) {
        let recording = self.session().is_some_and(|s| s.recording);
        if !recording {
            let started = self.options.voice.start();
            if let Some(session) = self.session_mut() {
                match started {
                    Ok(()) => session.recording = true,
                    Err(error) => session.failure("Recording", error),
                }
            }
            return;
        }
        let clip = self.options.voice.stop();
        let Some(session) = self.session_mut() else {
            return;
        };
        session.recording = false;
        let clip = match clip {
            Ok(clip) => clip,
            Err(error) => {
                session.failure("Recording", error);
                return;
            }
        };
        // The clip goes out from memory: it never touches the disk unencrypted.
        let kind = sotto_media::recorded_kind(&clip);
        let label = format!("Voice clip {}", crate::ui::duration(clip.duration_ms));
        self.send_attachment(UploadSource::Bytes(Zeroizing::new(clip.bytes), label), kind);
    }
}
