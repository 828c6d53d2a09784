//! What the app asks of the desktop around it, each behind a trait so that tests can
//! stand in for the person at the keyboard: file dialogs, the microphone and
//! notifications.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sotto_core::voice::VoiceClip;

/// Native file dialogs.
pub trait FilePicker: Send {
    /// Files to open (send, or read a QR code from); empty when the user cancels.
    fn open(&mut self, title: &str, images_only: bool) -> Vec<PathBuf>;
    /// Where to save a file named `suggested`; `None` when the user cancels.
    fn save(&mut self, title: &str, suggested: &str) -> Option<PathBuf>;
}

/// The system's dialogs (the xdg desktop portal, else `zenity`), through `rfd`.
#[derive(Debug, Default)]
pub struct NativeFilePicker;

impl FilePicker for NativeFilePicker {
    fn open(&mut self, title: &str, images_only: bool) -> Vec<PathBuf> {
        let mut dialog = rfd::FileDialog::new().set_title(title);
        if images_only {
            dialog = dialog.add_filter("Images", &["png", "jpg", "jpeg", "gif", "webp"]);
        }
        dialog.pick_files().unwrap_or_default()
    }

    fn save(&mut self, title: &str, suggested: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(suggested)
            .save_file()
    }
}

/// File choices a test makes ahead: each dialog takes the next answer.
#[derive(Debug, Default, Clone)]
pub struct ScriptedFilePicker {
    answers: Arc<Mutex<Vec<PathBuf>>>,
}

impl ScriptedFilePicker {
    /// The next dialog (open or save) answers `path`.
    pub fn will_choose(&self, path: impl AsRef<Path>) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.push(path.as_ref().to_owned());
        }
    }

    fn next(&self) -> Option<PathBuf> {
        let mut answers = self.answers.lock().ok()?;
        (!answers.is_empty()).then(|| answers.remove(0))
    }
}

impl FilePicker for ScriptedFilePicker {
    fn open(&mut self, _title: &str, _images_only: bool) -> Vec<PathBuf> {
        self.next().into_iter().collect()
    }

    fn save(&mut self, _title: &str, _suggested: &str) -> Option<PathBuf> {
        self.next()
    }
}

/// Where voice clips are recorded from.
pub trait VoiceInput {
    /// Starts recording.
    ///
    /// # Errors
    /// Why recording cannot start (no input device), for people.
    fn start(&mut self) -> Result<(), String>;
    /// Stops recording and returns the clip.
    ///
    /// # Errors
    /// Why no clip came of it, for people.
    fn stop(&mut self) -> Result<VoiceClip, String>;
}

/// Speech from a WAV file (16-bit mono at 16 kHz) as if spoken into a microphone: the
/// input of tests and of machines without a sound card (`--voice-from FILE`).
#[derive(Debug, Clone)]
pub struct WavVoiceInput {
    path: PathBuf,
}

impl WavVoiceInput {
    /// Records what `path` holds each time.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl VoiceInput for WavVoiceInput {
    fn start(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn stop(&mut self) -> Result<VoiceClip, String> {
        sotto_media::record_wav(&self.path).map_err(|e| e.to_string())
    }
}

/// No microphone: recording explains itself instead.
#[derive(Debug, Default)]
pub struct NoVoiceInput;

impl VoiceInput for NoVoiceInput {
    fn start(&mut self) -> Result<(), String> {
        Err(
            "no microphone is available to this build; start it with --voice-from FILE.wav \
             to send speech from a file"
                .into(),
        )
    }

    fn stop(&mut self) -> Result<VoiceClip, String> {
        Err("nothing was recorded".into())
    }
}

/// Desktop notifications.
pub trait Notifier: Send {
    /// Tells the user something arrived. `title` names the contact; the text of messages
    /// is never put in a notification (other programs can read them).
    fn notify(&mut self, title: &str, body: &str);
}

/// Notifications through the desktop's `notify-send`, when it is installed.
#[derive(Debug, Default)]
pub struct SystemNotifier;

impl Notifier for SystemNotifier {
    fn notify(&mut self, title: &str, body: &str) {
        // Best effort: a desktop without a notification daemon simply shows none.
        let _ = std::process::Command::new("notify-send")
            .args(["--app-name=Sotto", title, body])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

/// Notifications kept for a test to read.
#[derive(Debug, Default, Clone)]
pub struct RecordingNotifier {
    /// Every (title, body) shown so far.
    pub shown: Arc<Mutex<Vec<(String, String)>>>,
}

impl Notifier for RecordingNotifier {
    fn notify(&mut self, title: &str, body: &str) {
        if let Ok(mut shown) = self.shown.lock() {
            shown.push((title.to_owned(), body.to_owned()));
        }
    }
}
