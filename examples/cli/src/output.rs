//! What the CLI prints: text for people or one JSON object per line for scripts, errors
//! with an exit code per class, progress bars on a terminal only, QR codes in the terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use sotto_core::qr::QrCode;
use sotto_core::store::{KeyError, StoreError};
use sotto_core::{Error, ErrorCode};

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON object per line on standard output.
    pub json: bool,
}

impl Output {
    /// Prints a result: `text` for people, `value` for scripts.
    pub fn result(&self, text: impl FnOnce() -> String, value: Value) {
        let mut stdout = std::io::stdout().lock();
        let line = if self.json { value.to_string() } else { text() };
        // A closed pipe (`sotto receive | head`) is not worth a panic.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }

    /// Prints something the user should know that is not a result (a refused packet,
    /// missed events): on standard error for people, as a JSON line on standard output
    /// for scripts.
    pub fn notice(&self, text: impl FnOnce() -> String, value: Value) {
        if self.json {
            self.result(String::new, value);
        } else {
            eprintln!("sotto: {}", text());
        }
    }

    /// A progress bar for `total` bytes on standard error: drawn only on a terminal and
    /// never in JSON mode, so nothing but results reaches a pipe.
    pub fn progress(&self, total: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if self.json || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }
}

/// An error of the CLI, with the class that chooses the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The class (and exit code).
    pub class: Class,
    /// What went wrong, for people.
    pub message: String,
    /// The core's stable error code, when the core reported it.
    pub code: Option<ErrorCode>,
}

/// Error classes, each its own exit code (0 is success, 2 a usage error from the argument
/// parser). Scripts can tell them apart without reading messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 3: the profile stays locked: wrong or missing passphrase, keychain entry missing.
    Locked,
    /// 4: no such profile, contact, message or file.
    NotFound,
    /// 5: input that cannot be used: a malformed link or address, a used invitation.
    Invalid,
    /// 6: the relays could not be reached (what was stored is sent later).
    Network,
    /// 7: the profile is open in another program.
    InUse,
    /// 8: a safety number did not match, or a contact's key changed and waits for you.
    Safety,
    /// 9: anything else: storage, I/O, internal errors.
    Other,
}

impl Class {
    /// The process exit code of this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Class::Locked => 3,
            Class::NotFound => 4,
            Class::Invalid => 5,
            Class::Network => 6,
            Class::InUse => 7,
            Class::Safety => 8,
            Class::Other => 9,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Class::Locked => "locked",
            Class::NotFound => "not_found",
            Class::Invalid => "invalid",
            Class::Network => "network",
            Class::InUse => "in_use",
            Class::Safety => "safety",
            Class::Other => "other",
        }
    }
}

impl Failure {
    /// A failure of the CLI's own (not reported by the core).
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            code: None,
        }
    }

    /// Prints the failure on standard error (as JSON on standard output in JSON mode, so
    /// a script reads every outcome from one stream) and returns the exit code.
    pub fn report(&self, output: Output) -> ExitCode {
        if output.json {
            output.result(
                String::new,
                json!({
                    "error": {
                        "class": self.class.name(),
                        "code": self.code.map(|code| code as u32),
                        "message": self.message,
                    }
                }),
            );
        } else {
            eprintln!("sotto: {}", self.message);
        }
        ExitCode::from(self.class.exit_code())
    }
}

impl From<sotto_media::MediaError> for Failure {
    fn from(error: sotto_media::MediaError) -> Self {
        let class = match error {
            sotto_media::MediaError::Unreadable { .. } => Class::NotFound,
            sotto_media::MediaError::Invalid { .. } => Class::Invalid,
        };
        Failure::new(class, error.to_string())
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let class = match &error {
            Error::Key(KeyError::PassphraseRequired) => {
                return Self {
                    class: Class::Locked,
                    message: "this profile needs its passphrase: give --passphrase-env VAR or \
                              --passphrase-stdin"
                        .into(),
                    code: Some(error.code()),
                };
            }
            Error::Key(_) | Error::Store(StoreError::WrongKey) => Class::Locked,
            Error::Store(StoreError::InUse { .. } | StoreError::Busy(_)) => Class::InUse,
            Error::Store(StoreError::NotFound { .. }) => Class::NotFound,
            Error::Store(StoreError::AlreadyExists { .. }) => Class::Invalid,
            Error::UnknownContact(_) | Error::UnknownMessage(_) => Class::NotFound,
            Error::Invitation(_) | Error::Content(_) | Error::Padding(_) => Class::Invalid,
            Error::Transport(_) => Class::Network,
            Error::IdentityKeyChanged { .. }
            | Error::IdentityKeyPending(_)
            | Error::NoIdentityKeyPending(_)
            | Error::Safety(_) => Class::Safety,
            _ => Class::Other,
        };
        Self {
            class,
            message: error.to_string(),
            code: Some(error.code()),
        }
    }
}

/// Draws a QR code for a terminal: two modules per character (upper and lower half
/// blocks), dark modules as the terminal's background on a light quiet zone, so phones
/// read it on dark and light themes alike.
pub fn terminal_qr(code: &QrCode) -> String {
    const QUIET: isize = 2;
    let width = code.width() as isize;
    let dark = |x: isize, y: isize| x >= 0 && y >= 0 && code.is_dark(x as usize, y as usize);
    let mut text = String::new();
    let mut y = -QUIET;
    while y < width + QUIET {
        for x in -QUIET..width + QUIET {
            // Light modules are drawn (a block), dark ones left as background.
            text.push(match (dark(x, y), dark(x, y + 1)) {
                (false, false) => '\u{2588}',
                (false, true) => '\u{2580}',
                (true, false) => '\u{2584}',
                (true, true) => ' ',
            });
        }
        text.push('\n');
        y += 2;
    }
    text
}
