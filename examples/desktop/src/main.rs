//! `sotto-desktop [--profile DIR] [--relays FILE] [--voice-from FILE.wav]`: the desktop
//! messenger in a window.

use std::path::PathBuf;

use eframe::egui;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, Keychain, ProfileDirectory};
use sotto_desktop::audio::{Microphone, Speakers};
use sotto_desktop::platform::{NativeFilePicker, SystemNotifier, VoiceInput, WavVoiceInput};
use sotto_desktop::{Options, SottoApp};

const USAGE: &str = "usage: sotto-desktop [--profile DIR] [--relays FILE] [--voice-from FILE.wav]

  --profile DIR         the profile's folder (default: sotto/desktop in your data folder)
  --relays FILE         relays offered on first run, one sotto:// address per line
                        (default: sotto/relays.txt in your config folder, if it exists)
  --voice-from FILE     record voice clips from a 16 kHz mono WAV file instead of the
                        microphone";

struct Args {
    profile: Option<PathBuf>,
    relays: Option<PathBuf>,
    voice_from: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        profile: None,
        relays: None,
        voice_from: None,
    };
    let mut given = std::env::args_os().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || {
            given
                .next()
                .map(PathBuf::from)
                .ok_or(format!("{} needs a value", flag.to_string_lossy()))
        };
        match flag.to_str() {
            Some("--profile") => args.profile = Some(value()?),
            Some("--relays") => args.relays = Some(value()?),
            Some("--voice-from") => args.voice_from = Some(value()?),
            Some("--help" | "-h") => return Err(String::new()),
            _ => return Err(format!("unknown argument {}", flag.to_string_lossy())),
        }
    }
    Ok(args)
}

/// The relays file: one address per line, `#` comments.
fn read_relays(path: &std::path::Path) -> Result<Vec<RelayAddress>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| RelayAddress::parse(l).map_err(|e| format!("{}: {l}: {e}", path.display())))
        .collect()
}

fn config_relays_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let file = config.join("sotto").join("relays.txt");
    file.exists().then_some(file)
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("sotto-desktop: {error}");
            }
            eprintln!("{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let Some(profile) = args.profile.or_else(sotto_desktop::app::default_profile) else {
        eprintln!("sotto-desktop: no data folder is known for this user: give --profile DIR");
        return std::process::ExitCode::from(2);
    };
    let default_relays = match args.relays.or_else(config_relays_file) {
        Some(file) => match read_relays(&file) {
            Ok(relays) => relays,
            Err(error) => {
                eprintln!("sotto-desktop: {error}");
                return std::process::ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let voice: Box<dyn VoiceInput> = match args.voice_from {
        Some(path) => Box::new(WavVoiceInput::new(path)),
        None => Box::new(Microphone::new()),
    };
    let options = Options {
        profile: ProfileDirectory::new(profile),
        default_relays,
        files: Box::new(NativeFilePicker),
        voice,
        speakers: Box::new(Speakers::default()),
        notifier: Box::new(SystemNotifier),
        argon2: Argon2Params::default(),
        keychain: Keychain::platform().ok(),
    };
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Sotto")
            .with_app_id("sotto-desktop")
            .with_inner_size([1000.0, 680.0])
            .with_min_inner_size([640.0, 420.0]),
        ..eframe::NativeOptions::default()
    };
    let ran = eframe::run_native(
        "Sotto",
        native,
        Box::new(|creation| Ok(Box::new(SottoApp::new(&creation.egui_ctx, options)))),
    );
    match ran {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sotto-desktop: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
