//! Finding, unlocking and opening the profile: the same way for every command.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use sotto_core::messenger::OwnedProtection;
use sotto_core::store::{
    Argon2Params, Keychain, KeychainStore, ProfileDirectory, SqlCipherStore, StoreError,
};
use sotto_core::{ClientSettings, Messenger};
use zeroize::Zeroizing;

use crate::args::{KeychainChoice, PassphraseSource};
use crate::output::{Class, Failure};

/// The messenger of one open profile.
pub type Handle = Messenger<SqlCipherStore>;

/// The profile directory: `--profile DIR`, else `sotto/profile` in the user's data
/// directory (`$XDG_DATA_HOME`, else `~/.local/share`; `~/Library/Application Support` on
/// macOS; `%APPDATA%` on Windows).
pub fn directory(chosen: Option<PathBuf>) -> Result<ProfileDirectory, Failure> {
    if let Some(path) = chosen {
        return Ok(ProfileDirectory::new(path));
    }
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
    data.map(|data| ProfileDirectory::new(data.join("sotto").join("profile")))
        .ok_or_else(|| {
            Failure::new(
                Class::NotFound,
                "no data directory is known for this user: give --profile DIR",
            )
        })
}

/// The passphrase from where the options say, if they name a source.
pub fn given_passphrase(source: &PassphraseSource) -> Result<Option<Zeroizing<String>>, Failure> {
    if let Some(variable) = &source.passphrase_env {
        let value = std::env::var(variable).map_err(|_| {
            Failure::new(
                Class::Locked,
                format!("the environment variable {variable} holds no passphrase"),
            )
        })?;
        return Ok(Some(Zeroizing::new(value)));
    }
    if source.passphrase_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::new(Class::Locked, format!("reading the passphrase: {e}")))?;
        let trimmed = line.trim_end_matches(['\n', '\r']).to_owned();
        return Ok(Some(Zeroizing::new(trimmed)));
    }
    Ok(None)
}

/// The passphrase to unlock a profile: from the options, else asked on the terminal.
fn unlock_passphrase(source: &PassphraseSource) -> Result<Zeroizing<String>, Failure> {
    if let Some(passphrase) = given_passphrase(source)? {
        return Ok(passphrase);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            Class::Locked,
            "this profile needs its passphrase: give --passphrase-env VAR or --passphrase-stdin",
        ));
    }
    rpassword::prompt_password("Passphrase: ")
        .map(Zeroizing::new)
        .map_err(|e| Failure::new(Class::Locked, format!("reading the passphrase: {e}")))
}

/// Opens the profile in `directory` on the network settings saved with it.
pub async fn open(
    directory: &ProfileDirectory,
    source: &PassphraseSource,
) -> Result<Handle, Failure> {
    let info = match directory.key_info() {
        Err(sotto_core::Error::Store(StoreError::NotFound { .. })) => {
            return Err(Failure::new(
                Class::NotFound,
                format!(
                    "no profile in {}: make one with `sotto init`",
                    directory.root().display()
                ),
            ));
        }
        other => other?,
    };
    let passphrase = if info.needs_passphrase() {
        Some(unlock_passphrase(source)?)
    } else {
        None
    };
    let settings = ClientSettings::new(Vec::new(), "");
    Ok(Messenger::open(
        directory.clone(),
        passphrase.map(|p| p.as_str().to_owned()),
        settings,
    )
    .await?)
}

/// How a new profile's key is protected: a passphrase when one is given, else the
/// keychain chosen.
pub fn protection(
    source: &PassphraseSource,
    keychain: KeychainChoice,
) -> Result<OwnedProtection, Failure> {
    if let Some(passphrase) = given_passphrase(source)? {
        if passphrase.is_empty() {
            return Err(Failure::new(Class::Invalid, "the passphrase is empty"));
        }
        return Ok(OwnedProtection::Passphrase {
            passphrase,
            params: Argon2Params::default(),
        });
    }
    let kind = match keychain {
        KeychainChoice::Keyutils => KeychainStore::Keyutils,
        KeychainChoice::Platform => Keychain::platform()
            .map_err(|e| {
                Failure::new(
                    Class::Locked,
                    format!(
                        "no keychain to seal the profile's key in ({e}): give a passphrase with \
                         --passphrase-env VAR or --passphrase-stdin, or --keychain keyutils"
                    ),
                )
            })?
            .kind(),
    };
    Ok(OwnedProtection::Keychain(kind))
}

/// A new passphrase: from the environment variable `variable`, else typed twice on the
/// terminal (the two must agree). Never empty.
pub fn new_passphrase(variable: Option<&str>) -> Result<Zeroizing<String>, Failure> {
    let passphrase = match variable {
        Some(variable) => Zeroizing::new(std::env::var(variable).map_err(|_| {
            Failure::new(
                Class::Invalid,
                format!("the environment variable {variable} holds no passphrase"),
            )
        })?),
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(Failure::new(
                    Class::Invalid,
                    "give the new passphrase with --new-passphrase-env VAR (no terminal to ask on)",
                ));
            }
            let ask = |prompt: &str| {
                rpassword::prompt_password(prompt)
                    .map(Zeroizing::new)
                    .map_err(|e| Failure::new(Class::Other, format!("reading the passphrase: {e}")))
            };
            let first = ask("New passphrase: ")?;
            if *ask("The same again: ")? != *first {
                return Err(Failure::new(Class::Invalid, "the two passphrases differ"));
            }
            first
        }
    };
    if passphrase.is_empty() {
        return Err(Failure::new(Class::Invalid, "the new passphrase is empty"));
    }
    Ok(passphrase)
}
