//! The relay's settings: command-line flags over an optional TOML file over defaults.
//!
//! Only `--data-dir` is required. Every other setting has a default, may be written in the
//! file given by `--config` (unknown keys are refused, so a typo is never silently
//! ignored), and may be overridden by its flag. `--insecure-plain-http` is a flag only: it
//! cannot be switched on by a file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use serde::Deserialize;
use sotto_core::relay::{Host, RelayAddress, RelayKey};

use sotto_core::relay::PART_BYTES;

use crate::storage::{ChunkPolicy, Policy};

/// Default listen address: loopback only, so a fresh relay is not exposed by accident.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7443);
/// Default address of the operator's endpoints (`/metrics`, `/health`): loopback only, a
/// port of its own (7444 is the WebSocket example's), so nobody on the network reads them.
pub const DEFAULT_OPERATOR_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7445);
/// Default largest message body: one 4096-byte packet with room to spare.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 8192;
/// Default most messages in one queue.
pub const DEFAULT_MAX_QUEUE_MESSAGES: u64 = 10_000;
/// Default most message bytes in one queue (64 MiB).
pub const DEFAULT_MAX_QUEUE_BYTES: u64 = 64 * 1024 * 1024;
/// Default days a message is kept, and a queue after its last use.
pub const DEFAULT_MESSAGE_EXPIRY_DAYS: u64 = 21;
/// The largest `max_message_bytes` a relay accepts as a setting (1 MiB): larger content
/// travels as attachments, never as one message.
pub const MAX_MESSAGE_BYTES_LIMIT: u64 = 1024 * 1024;
/// The longest expiry a relay accepts as a setting, in days.
pub const MAX_EXPIRY_DAYS: u64 = 3650;
/// Default largest chunk body: one attachment part.
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = PART_BYTES;
/// Default most chunk bytes the store holds (10 GiB).
pub const DEFAULT_MAX_CHUNK_STORE_BYTES: u64 = 10 * 1024 * 1024 * 1024;
/// Default hours a chunk is kept.
pub const DEFAULT_CHUNK_EXPIRY_HOURS: u64 = 48;
/// The largest `max_chunk_bytes` a relay accepts as a setting (64 MiB).
pub const MAX_CHUNK_BYTES_LIMIT: u64 = 64 * 1024 * 1024;
/// The longest chunk expiry a relay accepts as a setting, in hours (a year).
pub const MAX_CHUNK_EXPIRY_HOURS: u64 = 8760;

/// Command-line flags of `sotto-relay`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sotto-relay",
    version,
    about = "Sotto's relay: mailbox queues for end-to-end encrypted messages and a chunk store for encrypted attachments."
)]
pub struct Args {
    /// Directory of the relay's data (created if missing): relay.sqlite, chunks/, the
    /// identity key.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// TOML file with settings (flags override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:7443].
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<SocketAddr>,
    /// Also serve WebSocket tunnels (browsers' way in, `GET /v1/tunnel`) as plain HTTP on
    /// this address and port [default: off]. Offer it to browsers as `wss://` through a
    /// TLS-terminating proxy in front (the relay's README).
    #[arg(long, value_name = "IP:PORT")]
    pub websocket_listen: Option<SocketAddr>,
    /// Address and port of the operator's endpoints, `/metrics` and `/health`, served as
    /// plain HTTP and never on the public port [default: 127.0.0.1:7445]. Keep it on
    /// loopback or a private network; port 0 takes any free port (printed at start).
    #[arg(long, value_name = "IP:PORT")]
    pub operator_listen: Option<SocketAddr>,
    /// Host name or IP clients reach the relay at, for the printed relay address
    /// [default: the listen IP, or `localhost` when listening on all interfaces].
    #[arg(long, value_name = "HOST")]
    pub public_host: Option<String>,
    /// Largest message body, in bytes [default: 8192].
    #[arg(long, value_name = "BYTES")]
    pub max_message_bytes: Option<u64>,
    /// Most messages one queue holds [default: 10000].
    #[arg(long, value_name = "COUNT")]
    pub max_queue_messages: Option<u64>,
    /// Most message bytes one queue holds [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub max_queue_bytes: Option<u64>,
    /// Days a message is kept, and a queue after its last use [default: 21].
    #[arg(long, value_name = "DAYS")]
    pub message_expiry_days: Option<u64>,
    /// Largest chunk (attachment part) body, in bytes, at least 4194304 [default: 4194304].
    #[arg(long, value_name = "BYTES")]
    pub max_chunk_bytes: Option<u64>,
    /// Most chunk bytes the whole chunk store holds [default: 10737418240].
    #[arg(long, value_name = "BYTES")]
    pub max_chunk_store_bytes: Option<u64>,
    /// Hours a chunk is kept after the hour it was stored [default: 48].
    #[arg(long, value_name = "HOURS")]
    pub chunk_expiry_hours: Option<u64>,
    /// Least severe log events written to stderr [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
    /// Length of a Sphinx key epoch, in seconds (60 to 604800) [default: 3600].
    #[arg(long, value_name = "SECONDS")]
    pub sphinx_epoch_seconds: Option<u64>,
    /// How long a Sphinx key still opens packets after its epoch ended, in seconds
    /// (at most one epoch) [default: 600].
    #[arg(long, value_name = "SECONDS")]
    pub sphinx_grace_seconds: Option<u64>,
    /// Forward onion packets to, and proxy for, loopback and private addresses too. For test
    /// networks on one machine only.
    #[arg(long)]
    pub allow_private_hops: bool,
    /// Serve plain HTTP without TLS. For tests on loopback only: clients cannot pin the
    /// relay's key, and everything on the wire is readable.
    #[arg(long)]
    pub insecure_plain_http: bool,
}

/// How much the relay logs. No level logs ids, keys, nonces or addresses; `debug` and
/// `trace` log one event per request (with its time), so they are for debugging only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Failures of the relay itself.
    Error,
    /// Failures and warnings.
    Warn,
    /// Start, stop, sweeps: no per-request events.
    Info,
    /// Also one event per request (its kind and outcome).
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The matching `tracing` level.
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Trace => tracing::Level::TRACE,
        }
    }
}

/// The settings file: every key optional, unknown keys refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// See [`Args::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Args::websocket_listen`].
    pub websocket_listen: Option<SocketAddr>,
    /// See [`Args::operator_listen`].
    pub operator_listen: Option<SocketAddr>,
    /// See [`Args::public_host`].
    pub public_host: Option<String>,
    /// See [`Args::max_message_bytes`].
    pub max_message_bytes: Option<u64>,
    /// See [`Args::max_queue_messages`].
    pub max_queue_messages: Option<u64>,
    /// See [`Args::max_queue_bytes`].
    pub max_queue_bytes: Option<u64>,
    /// See [`Args::message_expiry_days`].
    pub message_expiry_days: Option<u64>,
    /// See [`Args::max_chunk_bytes`].
    pub max_chunk_bytes: Option<u64>,
    /// See [`Args::max_chunk_store_bytes`].
    pub max_chunk_store_bytes: Option<u64>,
    /// See [`Args::chunk_expiry_hours`].
    pub chunk_expiry_hours: Option<u64>,
    /// See [`Args::log_level`].
    pub log_level: Option<LogLevel>,
    /// Length of a Sphinx key epoch, in seconds.
    pub sphinx_epoch_seconds: Option<u64>,
    /// How long a Sphinx key outlives its epoch, in seconds.
    pub sphinx_grace_seconds: Option<u64>,
    /// Forward to loopback and private addresses (test networks).
    pub allow_private_hops: Option<bool>,
}

impl FileSettings {
    /// Parses a settings file's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File(e.to_string()))
    }

    /// Reads and parses a settings file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::File(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }
}

/// The limits a relay enforces and announces in `/v1/info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message body, in bytes.
    pub max_message_bytes: u64,
    /// Most messages one queue holds.
    pub max_queue_messages: u64,
    /// Most message bytes one queue holds.
    pub max_queue_bytes: u64,
    /// Days a message is kept after the day it was stored, and a queue after the last day
    /// it was used.
    pub message_expiry_days: u64,
    /// Largest chunk body, in bytes (at least one attachment part).
    pub max_chunk_bytes: u64,
    /// Most bytes of unexpired chunks the chunk store holds.
    pub max_chunk_store_bytes: u64,
    /// Hours a chunk is kept after the hour it was stored.
    pub chunk_expiry_hours: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_queue_messages: DEFAULT_MAX_QUEUE_MESSAGES,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            message_expiry_days: DEFAULT_MESSAGE_EXPIRY_DAYS,
            max_chunk_bytes: DEFAULT_MAX_CHUNK_BYTES,
            max_chunk_store_bytes: DEFAULT_MAX_CHUNK_STORE_BYTES,
            chunk_expiry_hours: DEFAULT_CHUNK_EXPIRY_HOURS,
        }
    }
}

impl Limits {
    /// Refuses limits that cannot work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |text: String| Err(ConfigError::Invalid(text));
        if !(1..=MAX_MESSAGE_BYTES_LIMIT).contains(&self.max_message_bytes) {
            return invalid(format!(
                "max_message_bytes must be from 1 to {MAX_MESSAGE_BYTES_LIMIT}"
            ));
        }
        if self.max_queue_messages == 0 {
            return invalid("max_queue_messages must be at least 1".into());
        }
        if self.max_queue_bytes < self.max_message_bytes {
            return invalid("max_queue_bytes must be at least max_message_bytes".into());
        }
        if !(1..=MAX_EXPIRY_DAYS).contains(&self.message_expiry_days) {
            return invalid(format!(
                "message_expiry_days must be from 1 to {MAX_EXPIRY_DAYS}"
            ));
        }
        if !(PART_BYTES..=MAX_CHUNK_BYTES_LIMIT).contains(&self.max_chunk_bytes) {
            return invalid(format!(
                "max_chunk_bytes must be from {PART_BYTES} (one attachment part) to {MAX_CHUNK_BYTES_LIMIT}"
            ));
        }
        if self.max_chunk_store_bytes < self.max_chunk_bytes {
            return invalid("max_chunk_store_bytes must be at least max_chunk_bytes".into());
        }
        if !(1..=MAX_CHUNK_EXPIRY_HOURS).contains(&self.chunk_expiry_hours) {
            return invalid(format!(
                "chunk_expiry_hours must be from 1 to {MAX_CHUNK_EXPIRY_HOURS}"
            ));
        }
        Ok(())
    }

    /// The chunk store policy these limits make.
    pub fn chunk_policy(&self) -> ChunkPolicy {
        ChunkPolicy {
            max_store_bytes: self.max_chunk_store_bytes,
            expiry_hours: self.chunk_expiry_hours,
        }
    }

    /// The storage policy these limits make.
    pub fn policy(&self) -> Policy {
        Policy {
            max_queue_messages: self.max_queue_messages,
            max_queue_bytes: self.max_queue_bytes,
            expiry_days: self.message_expiry_days,
        }
    }
}

/// Everything the relay runs with, resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where to serve WebSocket tunnels, if anywhere.
    pub websocket_listen: Option<SocketAddr>,
    /// Where to serve the operator's endpoints.
    pub operator_listen: SocketAddr,
    /// The host in the printed relay address.
    pub public_host: Host,
    /// Limits and expiry.
    pub limits: Limits,
    /// Log verbosity.
    pub log_level: LogLevel,
    /// Serve plain HTTP (tests only).
    pub insecure_plain_http: bool,
    /// Onion routing: key epochs and where packets may be forwarded.
    pub mix: MixSettings,
}

/// Shortest Sphinx key epoch a relay accepts, in seconds.
pub const MIN_SPHINX_EPOCH_SECONDS: u64 = 60;
/// Longest Sphinx key epoch a relay accepts, in seconds (a week).
pub const MAX_SPHINX_EPOCH_SECONDS: u64 = 604_800;

/// How the relay routes onion packets (`docs/PROTOCOL.md` §19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixSettings {
    /// Length of a Sphinx key epoch, in seconds.
    pub epoch_seconds: u64,
    /// How long a key still opens packets after its epoch ended (packets in flight,
    /// senders' clocks), in seconds.
    pub grace_seconds: u64,
    /// Forward to loopback and private addresses (a test network on one machine).
    pub allow_private_hops: bool,
}

impl Default for MixSettings {
    fn default() -> Self {
        Self {
            epoch_seconds: 3600,
            grace_seconds: 600,
            allow_private_hops: false,
        }
    }
}

impl MixSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(MIN_SPHINX_EPOCH_SECONDS..=MAX_SPHINX_EPOCH_SECONDS).contains(&self.epoch_seconds) {
            return Err(ConfigError::Invalid(format!(
                "sphinx_epoch_seconds must be {MIN_SPHINX_EPOCH_SECONDS} to {MAX_SPHINX_EPOCH_SECONDS}"
            )));
        }
        if self.grace_seconds > self.epoch_seconds {
            return Err(ConfigError::Invalid(
                "sphinx_grace_seconds must not exceed sphinx_epoch_seconds".into(),
            ));
        }
        Ok(())
    }
}

/// Why the settings could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The settings file is unreadable or not valid TOML of known keys.
    #[error("settings file: {0}")]
    File(String),
    /// A value is out of range or does not fit with another.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl Settings {
    /// Resolves flags over the file they name (if any) over defaults.
    pub fn from_args(args: Args) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => FileSettings::read(path)?,
            None => FileSettings::default(),
        };
        Self::resolve(args, file)
    }

    /// Resolves flags over an already parsed file over defaults.
    pub fn resolve(args: Args, file: FileSettings) -> Result<Self, ConfigError> {
        let defaults = Limits::default();
        let limits = Limits {
            max_message_bytes: args
                .max_message_bytes
                .or(file.max_message_bytes)
                .unwrap_or(defaults.max_message_bytes),
            max_queue_messages: args
                .max_queue_messages
                .or(file.max_queue_messages)
                .unwrap_or(defaults.max_queue_messages),
            max_queue_bytes: args
                .max_queue_bytes
                .or(file.max_queue_bytes)
                .unwrap_or(defaults.max_queue_bytes),
            message_expiry_days: args
                .message_expiry_days
                .or(file.message_expiry_days)
                .unwrap_or(defaults.message_expiry_days),
            max_chunk_bytes: args
                .max_chunk_bytes
                .or(file.max_chunk_bytes)
                .unwrap_or(defaults.max_chunk_bytes),
            max_chunk_store_bytes: args
                .max_chunk_store_bytes
                .or(file.max_chunk_store_bytes)
                .unwrap_or(defaults.max_chunk_store_bytes),
            chunk_expiry_hours: args
                .chunk_expiry_hours
                .or(file.chunk_expiry_hours)
                .unwrap_or(defaults.chunk_expiry_hours),
        };
        limits.validate()?;
        let listen = args.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN);
        let public_host = match args.public_host.or(file.public_host) {
            Some(text) => parse_host(&text)?,
            None => default_host(listen.ip()),
        };
        if args.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid("--data-dir must not be empty".into()));
        }
        let default_mix = MixSettings::default();
        let mix = MixSettings {
            epoch_seconds: args
                .sphinx_epoch_seconds
                .or(file.sphinx_epoch_seconds)
                .unwrap_or(default_mix.epoch_seconds),
            grace_seconds: args
                .sphinx_grace_seconds
                .or(file.sphinx_grace_seconds)
                .unwrap_or(default_mix.grace_seconds),
            allow_private_hops: args.allow_private_hops
                || file
                    .allow_private_hops
                    .unwrap_or(default_mix.allow_private_hops),
        };
        mix.validate()?;
        let websocket_listen = args.websocket_listen.or(file.websocket_listen);
        let operator_listen = args
            .operator_listen
            .or(file.operator_listen)
            .unwrap_or(DEFAULT_OPERATOR_LISTEN);
        let taken = [Some(listen), websocket_listen];
        if operator_listen.port() != 0 && taken.contains(&Some(operator_listen)) {
            return Err(ConfigError::Invalid(
                "operator_listen must be another address than listen and websocket_listen: \
                 the operator's endpoints are never on a public port"
                    .into(),
            ));
        }
        Ok(Self {
            data_dir: args.data_dir,
            listen,
            websocket_listen,
            operator_listen,
            public_host,
            limits,
            log_level: args.log_level.or(file.log_level).unwrap_or(LogLevel::Info),
            insecure_plain_http: args.insecure_plain_http,
            mix,
        })
    }

    /// The relay's address for clients, `sotto://<key>@<public host>:<port>`.
    pub fn relay_address(&self, key: RelayKey, port: u16) -> Result<RelayAddress, ConfigError> {
        RelayAddress::new(key, self.public_host.clone(), port)
            .map_err(|e| ConfigError::Invalid(format!("relay address: {e}")))
    }
}

/// Parses a host name, an IPv4 address, or an IPv6 address (bare or in brackets).
pub fn parse_host(text: &str) -> Result<Host, ConfigError> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(match ip {
            IpAddr::V4(ip) => Host::V4(ip),
            IpAddr::V6(ip) => Host::V6(ip),
        });
    }
    let probe = RelayKey::from_bytes([0; 32]);
    RelayAddress::new(probe, Host::Name(text.to_ascii_lowercase()), 1)
        .map(|address| address.host().clone())
        .map_err(|_| {
            ConfigError::Invalid(format!(
                "public_host {text:?} is not a DNS name or an IP address"
            ))
        })
}

fn default_host(ip: IpAddr) -> Host {
    match ip {
        ip if ip.is_unspecified() => Host::Name("localhost".into()),
        IpAddr::V4(ip) => Host::V4(ip),
        IpAddr::V6(ip) => Host::V6(ip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["sotto-relay", "--data-dir", "data"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).expect("flags parse")
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = Settings::resolve(args(&[]), FileSettings::default()).unwrap();
        assert_eq!(settings.listen, DEFAULT_LISTEN);
        assert_eq!(
            settings.websocket_listen, None,
            "no WebSocket listener unless asked"
        );
        assert_eq!(settings.operator_listen, DEFAULT_OPERATOR_LISTEN);
        assert!(settings.operator_listen.ip().is_loopback());
        assert_ne!(settings.operator_listen, settings.listen);
        assert_eq!(settings.public_host, Host::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(settings.limits, Limits::default());
        assert_eq!(settings.limits.message_expiry_days, 21);
        assert_eq!(settings.limits.chunk_expiry_hours, 48);
        assert_eq!(settings.limits.max_chunk_bytes, PART_BYTES);
        assert_eq!(settings.log_level, LogLevel::Info);
        assert!(!settings.insecure_plain_http);
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file = FileSettings::parse(
            "listen = \"0.0.0.0:9000\"\nwebsocket_listen = \"127.0.0.1:9001\"\n\
             operator_listen = \"127.0.0.1:9002\"\n\
             max_message_bytes = 5000\nmax_queue_messages = 7\n\
             log_level = \"warn\"\nchunk_expiry_hours = 24\nmax_chunk_store_bytes = 100000000\n",
        )
        .unwrap();
        let settings = Settings::resolve(
            args(&[
                "--max-message-bytes",
                "6000",
                "--public-host",
                "Relay.Example.org",
            ]),
            file,
        )
        .unwrap();
        assert_eq!(settings.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(
            settings.websocket_listen,
            Some("127.0.0.1:9001".parse().unwrap())
        );
        assert_eq!(settings.operator_listen, "127.0.0.1:9002".parse().unwrap());
        assert_eq!(settings.limits.max_message_bytes, 6000);
        assert_eq!(settings.limits.max_queue_messages, 7);
        assert_eq!(settings.log_level, LogLevel::Warn);
        assert_eq!(settings.limits.chunk_expiry_hours, 24);
        assert_eq!(settings.limits.max_chunk_store_bytes, 100_000_000);
        assert_eq!(settings.public_host, Host::Name("relay.example.org".into()));
    }

    #[test]
    fn unknown_keys_bad_values_and_missing_data_dir_are_refused() {
        for text in [
            "listen = \"nowhere\"",
            "max_messages = 3",
            "insecure_plain_http = true",
            "max_message_bytes = -1",
            "log_level = \"loud\"",
            "[section]\nx = 1",
        ] {
            assert!(
                matches!(FileSettings::parse(text), Err(ConfigError::File(_))),
                "{text}"
            );
        }
        for flags in [
            &["--max-message-bytes", "0"][..],
            &["--max-message-bytes", "2000000"],
            &["--max-queue-messages", "0"],
            &["--max-queue-bytes", "100"],
            &["--message-expiry-days", "0"],
            &["--max-chunk-bytes", "1000"],
            &["--max-chunk-bytes", "1000000000"],
            &["--max-chunk-store-bytes", "1000"],
            &["--chunk-expiry-hours", "0"],
            // The operator's endpoints never share the public port or the tunnels' one.
            &["--operator-listen", "127.0.0.1:7443"],
            &[
                "--websocket-listen",
                "127.0.0.1:7450",
                "--operator-listen",
                "127.0.0.1:7450",
            ],
            &["--chunk-expiry-hours", "100000"],
            &["--public-host", "bad_host"],
        ] {
            assert!(
                matches!(
                    Settings::resolve(args(flags), FileSettings::default()),
                    Err(ConfigError::Invalid(_))
                ),
                "{flags:?}"
            );
        }
        assert!(Args::try_parse_from(["sotto-relay"]).is_err());
        assert!(Args::try_parse_from(["sotto-relay", "--data-dir", "d", "--listen", "x"]).is_err());
    }

    #[test]
    fn listening_everywhere_prints_localhost_unless_told_and_ipv6_hosts_parse() {
        let settings =
            Settings::resolve(args(&["--listen", "[::]:7443"]), FileSettings::default()).unwrap();
        assert_eq!(settings.public_host, Host::Name("localhost".into()));
        assert_eq!(
            parse_host("[::1]").unwrap(),
            Host::V6("::1".parse().unwrap())
        );
        assert_eq!(parse_host("::1").unwrap(), Host::V6("::1".parse().unwrap()));
        let address = settings
            .relay_address(RelayKey::from_bytes([1; 32]), 7443)
            .unwrap();
        assert_eq!(RelayAddress::parse(&address.to_string()), Ok(address));
    }
}
