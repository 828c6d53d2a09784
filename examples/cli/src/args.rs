//! The command line: global options and one subcommand per thing a person does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sotto's command-line messenger: end-to-end encrypted, metadata-private messages, images,
/// files and voice clips through Sotto relays.
#[derive(Debug, Parser)]
#[command(name = "sotto", version, about, max_term_width = 100)]
pub struct Cli {
    /// The profile directory [default: the user's data directory, sotto/profile].
    #[arg(long, global = true, value_name = "DIR")]
    pub profile: Option<PathBuf>,
    /// Print results as JSON (one object per line) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub passphrase: PassphraseSource,
    #[command(subcommand)]
    pub command: Command,
}

/// Where a passphrase comes from. Never from the command line itself: other users of the
/// machine can read a process's arguments.
#[derive(Debug, Args)]
pub struct PassphraseSource {
    /// Read the passphrase from this environment variable.
    #[arg(
        long,
        global = true,
        value_name = "VAR",
        conflicts_with = "passphrase_stdin"
    )]
    pub passphrase_env: Option<String>,
    /// Read the passphrase from the first line of standard input.
    #[arg(long, global = true)]
    pub passphrase_stdin: bool,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a new profile (a new identity). Its key is sealed in the OS keychain, or derived
    /// from a passphrase given with --passphrase-env or --passphrase-stdin.
    Init {
        /// The name offered to contacts you meet (they may rename you).
        #[arg(long)]
        name: Option<String>,
        /// A relay to make your queues on (`sotto://KEY@HOST:PORT`); give at least as many
        /// as --hops.
        #[arg(long = "relay", value_name = "ADDRESS", required = true)]
        relays: Vec<String>,
        /// Relays on each message's onion path (1 to 5; 0 sends straight to the mailbox
        /// relay, which then sees your address).
        #[arg(long, default_value_t = 3, value_name = "N")]
        hops: usize,
        /// Mean mixing delay per hop, in milliseconds.
        #[arg(long, value_name = "MS")]
        delay_ms: Option<u64>,
        /// Send cover traffic at the default rates while `receive --follow` runs.
        #[arg(long)]
        cover: bool,
        /// Without a passphrase: the keychain that seals the key (`platform` is the Secret
        /// Service on Linux; `keyutils` is the kernel's, forgotten at reboot).
        #[arg(long, value_enum, default_value_t = KeychainChoice::Platform)]
        keychain: KeychainChoice,
    },
    /// The relays this profile makes its queues on.
    Relay {
        #[command(subcommand)]
        action: RelayAction,
    },
    /// Make a one-time invitation: prints the link and its QR code.
    Invite {
        /// Also write the QR code as a PNG image to FILE.
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
    },
    /// Accept someone's invitation link: they become a contact once they answer (when
    /// their `sotto receive` runs).
    Accept {
        /// The invitation link (`sotto:` ...).
        link: String,
        /// Your name for the new contact.
        #[arg(long)]
        name: Option<String>,
    },
    /// List contacts with their unread counts.
    Contacts,
    /// Give a contact a name of your own (local, never sent).
    Rename {
        /// The contact: a name or an id.
        contact: String,
        /// The new name.
        name: String,
    },
    /// Send a text.
    Send {
        /// The contact: a name or an id.
        contact: String,
        /// The text.
        text: String,
    },
    /// Send a file, an image (--image) or a voice clip (--voice, Ogg Opus).
    SendFile {
        /// The contact: a name or an id.
        contact: String,
        /// The file.
        path: PathBuf,
        /// Send it as an image (shown inline, with a preview).
        #[arg(long, conflicts_with = "voice")]
        image: bool,
        /// Send it as a voice clip (an Ogg Opus file).
        #[arg(long)]
        voice: bool,
    },
    /// Fetch what arrived: prints messages and events, downloads attachments, sends
    /// receipts.
    Receive {
        /// Keep running and print messages as they arrive (until interrupted).
        #[arg(long)]
        follow: bool,
        /// When nothing has arrived yet, wait up to SECS for the first message (messages
        /// cross the mixes with a delay of their own).
        #[arg(long, value_name = "SECS", conflicts_with = "follow")]
        wait: Option<u64>,
        /// Where attachments are downloaded.
        #[arg(long, value_name = "DIR", default_value = ".")]
        download_dir: PathBuf,
        /// Do not download attachments (they can be fetched later with `download`).
        #[arg(long)]
        no_download: bool,
        /// Do not mark the messages read (no read receipts).
        #[arg(long)]
        keep_unread: bool,
    },
    /// Download the attachment of a received message.
    Download {
        /// The contact: a name or an id.
        contact: String,
        /// The message id.
        message: String,
        /// Where to write it (a folder, or a file name).
        #[arg(long, value_name = "PATH", default_value = ".")]
        to: PathBuf,
    },
    /// Show a conversation, oldest first.
    History {
        /// The contact: a name or an id.
        contact: String,
        /// How many messages.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
        /// The messages before this one (scrolling back), instead of the latest.
        #[arg(long, value_name = "MESSAGE")]
        before: Option<String>,
    },
    /// Search a conversation's texts and file names, newest first.
    Search {
        /// The contact: a name or an id.
        contact: String,
        /// What to look for.
        query: String,
        /// At most this many messages.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
    },
    /// Delete a message on this device (the contact keeps their copy).
    Delete {
        /// The contact: a name or an id.
        contact: String,
        /// The message id.
        message: String,
    },
    /// Forget a contact: their queues on the relays, then everything stored for them.
    Forget {
        /// The contact: a name or an id.
        contact: String,
    },
    /// Show or change how messages travel: onion hops, mixing delay, cover traffic.
    Route {
        /// Relays on each message's onion path (1 to 5; 0 sends straight to the mailbox
        /// relay, which then sees your address).
        #[arg(long, value_name = "N")]
        hops: Option<usize>,
        /// Mean mixing delay per hop, in milliseconds.
        #[arg(long, value_name = "MS")]
        delay_ms: Option<u64>,
        /// Cover traffic at the default rates while `receive --follow` runs: on or off.
        #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
        cover: Option<String>,
    },
    /// Protect the profile with a new passphrase (the current one unlocks it as usual),
    /// read from --new-passphrase-env VAR, else asked twice on the terminal.
    ChangePassphrase {
        /// Read the new passphrase from this environment variable.
        #[arg(long, value_name = "VAR")]
        new_passphrase_env: Option<String>,
    },
    /// Show the safety number you compare with a contact (60 digits and a QR code).
    Safety {
        /// The contact: a name or an id.
        contact: String,
        /// Also write the QR code as a PNG image to FILE.
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
    },
    /// Compare the safety number the contact reads out to you and mark them verified if it
    /// matches.
    Verify {
        /// The contact: a name or an id.
        contact: String,
        /// The 60 digits, as shown on the contact's screen (spaces allowed).
        code: String,
    },
    /// Accept a contact's new identity key (after checking it): held messages flow again.
    AcceptKey {
        /// The contact: a name or an id.
        contact: String,
    },
}

/// Which keychain seals a new profile's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeychainChoice {
    /// The platform's own (Secret Service, Apple Keychain, Windows Credential Manager).
    Platform,
    /// The Linux kernel's keyutils (for servers without a login session).
    Keyutils,
}

/// Changes to the relay list.
#[derive(Debug, Subcommand)]
pub enum RelayAction {
    /// Add a relay (`sotto://KEY@HOST:PORT`).
    Add {
        /// The relay's address.
        address: String,
    },
    /// Remove a relay (queues already on it stay until their contacts move).
    Remove {
        /// The relay's address.
        address: String,
    },
    /// List the relays, with the route and cover traffic in force.
    List,
}
