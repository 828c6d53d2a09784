//! The application: which screen is shown (first run, unlock, the messenger), the options
//! it was started with, and the glue between the UI and the [`Backend`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use sotto_core::client::CoverTraffic;
use sotto_core::messenger::OwnedProtection;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, Keychain, ProfileDirectory, StoreError};
use sotto_core::{ClientSettings, Messenger};
use zeroize::Zeroizing;

use crate::backend::{Backend, Handle, Reply};
use crate::platform::{FilePicker, Notifier, VoiceInput};
use crate::session::Session;

/// What the app is started with.
pub struct Options {
    /// The profile's directory.
    pub profile: ProfileDirectory,
    /// Relays offered on first run (from the relays file).
    pub default_relays: Vec<RelayAddress>,
    /// File dialogs.
    pub files: Box<dyn FilePicker>,
    /// Where voice clips are recorded from.
    pub voice: Box<dyn VoiceInput>,
    /// Where voice clips are played.
    pub speakers: Box<dyn crate::audio::VoiceOutput>,
    /// Desktop notifications.
    pub notifier: Box<dyn Notifier>,
    /// The cost of the passphrase's key derivation for new profiles.
    pub argon2: Argon2Params,
    /// Whether the OS keychain may seal a new profile's key (else a passphrase is required).
    pub keychain: Option<Keychain>,
}

/// The first-run form.
#[derive(Debug, Default)]
pub struct WelcomeForm {
    /// The name contacts see when they meet us.
    pub name: String,
    /// Relays, one address per line.
    pub relays: String,
    /// Whether the key is protected by a passphrase rather than the keychain.
    pub use_passphrase: bool,
    /// The passphrase.
    pub passphrase: Zeroizing<String>,
    /// The passphrase again.
    pub repeat: Zeroizing<String>,
    /// Cover traffic (on by default on the desktop).
    pub cover: bool,
    /// Whether an OS keychain can seal the key (else a passphrase is required).
    pub keychain_available: bool,
    /// Why the last try failed.
    pub error: Option<String>,
}

/// The unlock form of a passphrase profile.
#[derive(Debug, Default)]
pub struct UnlockForm {
    /// The passphrase typed.
    pub passphrase: Zeroizing<String>,
    /// Why the last try failed.
    pub error: Option<String>,
}

/// The screen shown.
pub enum Screen {
    /// No profile yet: make one.
    Welcome(WelcomeForm),
    /// A passphrase profile: unlock it.
    Unlock(UnlockForm),
    /// Opening or creating the profile.
    Opening(String),
    /// The messenger.
    Main(Box<Session>),
    /// Nothing can be done (for example the profile is used by another program).
    Stopped(String),
}

/// Light, dark, or as the system says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// As the system says.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The desktop messenger.
pub struct SottoApp {
    /// The screen shown.
    pub screen: Screen,
    /// How it was started.
    pub options: Options,
    /// The colour theme.
    pub theme: Theme,
    backend: Backend<SottoApp>,
    ctx: egui::Context,
}

impl SottoApp {
    /// The app on `options`, drawing in `ctx`: the first-run screen when the profile does
    /// not exist, the unlock screen for a passphrase profile, else it opens the profile.
    pub fn new(ctx: &egui::Context, options: Options) -> Self {
        let mut app = Self {
            screen: Screen::Opening("Opening your profile…".into()),
            backend: Backend::new(ctx),
            ctx: ctx.clone(),
            theme: Theme::System,
            options,
        };
        match app.options.profile.key_info() {
            Err(sotto_core::Error::Store(StoreError::NotFound { .. })) => {
                app.screen = Screen::Welcome(WelcomeForm {
                    relays: app
                        .options
                        .default_relays
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    use_passphrase: app.options.keychain.is_none(),
                    keychain_available: app.options.keychain.is_some(),
                    cover: true,
                    ..WelcomeForm::default()
                });
            }
            Err(error) => app.screen = Screen::Stopped(error.to_string()),
            Ok(info) if info.needs_passphrase() => {
                app.screen = Screen::Unlock(UnlockForm::default());
            }
            Ok(_) => app.open(None),
        }
        app
    }

    /// The egui context the app draws in.
    pub fn context(&self) -> &egui::Context {
        &self.ctx
    }

    /// The open session, if the profile is open.
    pub fn session(&self) -> Option<&Session> {
        match &self.screen {
            Screen::Main(session) => Some(session),
            _ => None,
        }
    }

    /// The open session, to change it.
    pub fn session_mut(&mut self) -> Option<&mut Session> {
        match &mut self.screen {
            Screen::Main(session) => Some(session),
            _ => None,
        }
    }

    /// Runs a job in the background; its reply is applied on the UI thread.
    pub fn backend_job<F>(&self, job: F)
    where
        F: Future<Output = Reply<SottoApp>> + Send + 'static,
    {
        self.backend.run(job);
    }

    /// Shows a desktop notification.
    pub fn notify(&mut self, title: &str, body: &str) {
        self.options.notifier.notify(title, body);
    }

    /// Applies the replies of finished jobs and the events that came in.
    pub fn apply_replies(&mut self) {
        for reply in self.backend.ready() {
            reply(self);
        }
    }

    /// Creates the profile the welcome form describes.
    pub fn create_profile(&mut self) {
        let Screen::Welcome(form) = &mut self.screen else {
            return;
        };
        let relays: Result<Vec<RelayAddress>, String> = form
            .relays
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| RelayAddress::parse(line).map_err(|e| format!("{line}: {e}")))
            .collect();
        let relays = match relays {
            Ok(relays) if relays.is_empty() => {
                form.error = Some("Add at least one relay (a sotto:// address).".into());
                return;
            }
            Ok(relays) => relays,
            Err(error) => {
                form.error = Some(format!("Not a relay address: {error}"));
                return;
            }
        };
        let protection = if form.use_passphrase || self.options.keychain.is_none() {
            if form.passphrase.is_empty() {
                form.error = Some("Choose a passphrase.".into());
                return;
            }
            if *form.passphrase != *form.repeat {
                form.error = Some("The two passphrases differ.".into());
                return;
            }
            OwnedProtection::Passphrase {
                passphrase: form.passphrase.clone(),
                params: self.options.argon2,
            }
        } else {
            match &self.options.keychain {
                Some(keychain) => OwnedProtection::Keychain(keychain.kind()),
                None => return,
            }
        };
        let mut settings = ClientSettings::new(relays, form.name.trim());
        settings.cover = form.cover.then(CoverTraffic::default);
        let directory = self.options.profile.clone();
        self.screen = Screen::Opening("Making your profile…".into());
        self.backend_job(async move {
            let made = Messenger::create(directory, protection, settings).await;
            opened(made, true)
        });
    }

    /// Unlocks a passphrase profile with the passphrase typed.
    pub fn unlock(&mut self) {
        let Screen::Unlock(form) = &mut self.screen else {
            return;
        };
        let passphrase = std::mem::take(&mut form.passphrase);
        self.screen = Screen::Opening("Unlocking…".into());
        self.open(Some(passphrase));
    }

    fn open(&mut self, passphrase: Option<Zeroizing<String>>) {
        let directory = self.options.profile.clone();
        self.backend_job(async move {
            let passphrase = passphrase.map(|p| p.as_str().to_owned());
            let settings = ClientSettings::new(Vec::new(), "");
            let unlocked = passphrase.is_some();
            let made = Messenger::open(directory, passphrase, settings).await;
            opened(made, unlocked)
        });
    }

    /// Shuts the messenger down (the store is closed and the profile unlocked for others).
    pub fn shut_down(&mut self) {
        if let Screen::Main(session) = &self.screen {
            let messenger = session.messenger.clone();
            if let Err(error) = self.backend.block_on(messenger.shutdown()) {
                eprintln!("sotto-desktop: shutting down: {error}");
            }
        }
        self.screen = Screen::Stopped("Closed.".into());
    }

    /// Draws one frame into `ui` (the whole window).
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        self.apply_replies();
        let still_playing = self.options.speakers.playing();
        if let Some(session) = self.session_mut()
            && let Some((_, started)) = session.playing
        {
            if started && !still_playing {
                session.playing = None;
            } else {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            }
        }
        ui.ctx().set_theme(match self.theme {
            Theme::System => egui::ThemePreference::System,
            Theme::Light => egui::ThemePreference::Light,
            Theme::Dark => egui::ThemePreference::Dark,
        });
        let title = self.title();
        if ui
            .ctx()
            .data(|d| d.get_temp::<&str>(egui::Id::unique("window-title")))
            != Some(title)
        {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Title(title.to_owned()));
            ui.ctx()
                .data_mut(|d| d.insert_temp(egui::Id::unique("window-title"), title));
        }
        crate::ui::show(self, ui);
    }

    /// The window's title: the app's name and the screen shown (window managers, task
    /// switchers and screen readers show it).
    pub fn title(&self) -> &'static str {
        match self.screen {
            Screen::Welcome(_) => "Sotto - Welcome",
            Screen::Unlock(_) => "Sotto - Unlock",
            Screen::Opening(_) => "Sotto - Opening",
            Screen::Main(_) => "Sotto",
            Screen::Stopped(_) => "Sotto - Stopped",
        }
    }
}

/// What opening or creating the profile did: the messenger started and followed, or
/// the screen that explains why not.
fn opened(made: sotto_core::Result<Handle>, passphrase: bool) -> Reply<SottoApp> {
    Box::new(move |app: &mut SottoApp| match made {
        Ok(messenger) => {
            let messenger = Arc::new(messenger);
            app.backend.follow(&messenger, Session::apply_event);
            let starting = messenger.clone();
            app.backend_job(async move {
                let started = starting.start().await;
                Box::new(move |app: &mut SottoApp| {
                    if let Err(error) = started
                        && let Some(session) = app.session_mut()
                    {
                        session.failure("Starting the network", error);
                    }
                }) as Reply<SottoApp>
            });
            app.screen = Screen::Main(Box::new(Session::new(messenger)));
            app.reload_contacts();
        }
        Err(error) => {
            let wrong_key = matches!(
                error,
                sotto_core::Error::Store(StoreError::WrongKey) | sotto_core::Error::Key(_)
            );
            app.screen = if passphrase && wrong_key {
                Screen::Unlock(UnlockForm {
                    error: Some("Wrong passphrase.".into()),
                    ..UnlockForm::default()
                })
            } else {
                Screen::Stopped(format!("The profile cannot be opened: {error}"))
            };
        }
    })
}

impl eframe::App for SottoApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shut_down();
    }
}

/// The default place of the profile: `sotto/desktop` in the user's data directory.
pub fn default_profile() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|home| home.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|home| home.join(".local/share")))
    };
    data.map(|data| data.join("sotto").join("desktop"))
}
