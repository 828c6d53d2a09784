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

use sotto_core::onion::MAX_BATCH_PACKETS;
use sotto_core::relay::PART_BYTES;

use crate::storage::{ChunkPolicy, Policy};
use crate::throttle::{Rate, SourceLimits};

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
/// Default most queues the relay holds: about 2 GB of SQLite at a few hundred bytes each.
pub const DEFAULT_MAX_QUEUES: u64 = 10_000_000;
/// Default most replay tags kept per Sphinx key epoch (about 200 MB of memory and 128 MB
/// of disk when full; 1,100 packets a second for a whole hour's epoch).
pub const DEFAULT_MAX_REPLAY_TAGS: u64 = 4_000_000;
/// Default most connections one source holds open at once. Generous: another relay, a
/// proxy relay's clients and a household behind one address each come from one source.
pub const DEFAULT_MAX_CONNECTIONS_PER_SOURCE: u64 = 512;
/// Default tunnels (`CONNECT`, WebSocket) one source may open per minute.
pub const DEFAULT_TUNNELS_PER_SOURCE_PER_MINUTE: u64 = 120;
/// Default onion packets one source may post per second (a relay forwarding to this one
/// is one source for all its traffic).
pub const DEFAULT_PACKETS_PER_SOURCE_PER_SECOND: u64 = 2000;
/// Default queues one source may create per hour.
pub const DEFAULT_QUEUES_PER_SOURCE_PER_HOUR: u64 = 3600;
/// Default relays not checked yet that one source may ask the proxy for, per minute.
pub const DEFAULT_NEW_TARGETS_PER_SOURCE_PER_MINUTE: u64 = 10;
/// Default relays not checked yet that the relay checks per minute, for everyone (the
/// proxy and the forwarding of packets together).
pub const DEFAULT_NEW_TARGETS_PER_MINUTE: u64 = 120;
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
    /// Most queues the relay holds; a creation beyond is refused [default: 10000000].
    #[arg(long, value_name = "COUNT")]
    pub max_queues: Option<u64>,
    /// Most replay tags kept per Sphinx key epoch; packets beyond are dropped unopened
    /// [default: 4000000].
    #[arg(long, value_name = "COUNT")]
    pub max_replay_tags: Option<u64>,
    /// Most connections one source address (an IPv6 /64) holds open on the public port,
    /// 0 for no limit [default: 512].
    #[arg(long, value_name = "COUNT")]
    pub max_connections_per_source: Option<u64>,
    /// Tunnels (`CONNECT`, WebSocket) one source may open per minute, 0 for no limit
    /// [default: 120].
    #[arg(long, value_name = "COUNT")]
    pub tunnels_per_source_per_minute: Option<u64>,
    /// Onion packets one source may post per second, 0 for no limit or at least 64 (one
    /// full batch) [default: 2000].
    #[arg(long, value_name = "COUNT")]
    pub packets_per_source_per_second: Option<u64>,
    /// Queues one source may create per hour, 0 for no limit [default: 3600].
    #[arg(long, value_name = "COUNT")]
    pub queues_per_source_per_hour: Option<u64>,
    /// Relays not checked yet that one source may ask the proxy for per minute, 0 for no
    /// limit [default: 10].
    #[arg(long, value_name = "COUNT")]
    pub new_targets_per_source_per_minute: Option<u64>,
    /// Relays not checked yet that the relay checks per minute for everyone (proxy and
    /// forwarding), 0 for no limit [default: 120].
    #[arg(long, value_name = "COUNT")]
    pub new_targets_per_minute: Option<u64>,
    /// Source addresses never limited, comma-separated (a TLS-terminating proxy in front of
    /// the WebSocket listener) [default: 127.0.0.1,::1].
    #[arg(long, value_name = "IP,...", value_delimiter = ',')]
    pub limit_exempt_sources: Option<Vec<IpAddr>>,
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
    /// See [`Args::max_queues`].
    pub max_queues: Option<u64>,
    /// See [`Args::max_replay_tags`].
    pub max_replay_tags: Option<u64>,
    /// See [`Args::max_connections_per_source`].
    pub max_connections_per_source: Option<u64>,
    /// See [`Args::tunnels_per_source_per_minute`].
    pub tunnels_per_source_per_minute: Option<u64>,
    /// See [`Args::packets_per_source_per_second`].
    pub packets_per_source_per_second: Option<u64>,
    /// See [`Args::queues_per_source_per_hour`].
    pub queues_per_source_per_hour: Option<u64>,
    /// See [`Args::new_targets_per_source_per_minute`].
    pub new_targets_per_source_per_minute: Option<u64>,
    /// See [`Args::new_targets_per_minute`].
    pub new_targets_per_minute: Option<u64>,
    /// See [`Args::limit_exempt_sources`].
    pub limit_exempt_sources: Option<Vec<IpAddr>>,
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
    /// Most queues the store holds (not announced).
    pub max_queues: u64,
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
            max_queues: DEFAULT_MAX_QUEUES,
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
        if self.max_queues == 0 {
            return invalid("max_queues must be at least 1".into());
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
            max_queues: self.max_queues,
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
    /// Limits per source address ([`crate::throttle`]).
    pub sources: SourceLimits,
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
    /// Most replay tags kept per key epoch: packets beyond are dropped unopened (a packet
    /// whose tag cannot be kept could be replayed).
    pub max_replay_tags: u64,
}

impl Default for MixSettings {
    fn default() -> Self {
        Self {
            epoch_seconds: 3600,
            grace_seconds: 600,
            allow_private_hops: false,
            max_replay_tags: DEFAULT_MAX_REPLAY_TAGS,
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
        if self.max_replay_tags < MAX_BATCH_PACKETS as u64 {
            return Err(ConfigError::Invalid(format!(
                "max_replay_tags must be at least {MAX_BATCH_PACKETS} (one batch)"
            )));
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
            max_queues: args
                .max_queues
                .or(file.max_queues)
                .unwrap_or(defaults.max_queues),
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
            max_replay_tags: args
                .max_replay_tags
                .or(file.max_replay_tags)
                .unwrap_or(default_mix.max_replay_tags),
        };
        mix.validate()?;
        let count =
            |flag: Option<u64>, key: Option<u64>, default: u64| flag.or(key).unwrap_or(default);
        let sources = SourceLimits {
            max_connections: count(
                args.max_connections_per_source,
                file.max_connections_per_source,
                DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
            ),
            tunnels: Rate::per_minute(count(
                args.tunnels_per_source_per_minute,
                file.tunnels_per_source_per_minute,
                DEFAULT_TUNNELS_PER_SOURCE_PER_MINUTE,
            )),
            packets: Rate::per_second(count(
                args.packets_per_source_per_second,
                file.packets_per_source_per_second,
                DEFAULT_PACKETS_PER_SOURCE_PER_SECOND,
            )),
            queues: Rate::per_hour(count(
                args.queues_per_source_per_hour,
                file.queues_per_source_per_hour,
                DEFAULT_QUEUES_PER_SOURCE_PER_HOUR,
            )),
            new_targets: Rate::per_minute(count(
                args.new_targets_per_source_per_minute,
                file.new_targets_per_source_per_minute,
                DEFAULT_NEW_TARGETS_PER_SOURCE_PER_MINUTE,
            )),
            new_targets_total: Rate::per_minute(count(
                args.new_targets_per_minute,
                file.new_targets_per_minute,
                DEFAULT_NEW_TARGETS_PER_MINUTE,
            )),
            exempt: args
                .limit_exempt_sources
                .or(file.limit_exempt_sources)
                .unwrap_or_else(default_exempt_sources),
        };
        if (1..MAX_BATCH_PACKETS as u64).contains(&sources.packets.count) {
            return Err(ConfigError::Invalid(format!(
                "packets_per_source_per_second must be 0 (no limit) or at least {MAX_BATCH_PACKETS} (one batch)"
            )));
        }
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
            sources,
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

/// The sources never limited unless set otherwise: the machine itself (a TLS-terminating
/// proxy in front of the WebSocket listener, the relay's own WebSocket gateway).
pub fn default_exempt_sources() -> Vec<IpAddr> {
    vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    ]
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
        assert_eq!(settings.limits.max_queues, DEFAULT_MAX_QUEUES);
        assert_eq!(settings.mix.max_replay_tags, DEFAULT_MAX_REPLAY_TAGS);
        let sources = &settings.sources;
        assert_eq!(sources.max_connections, DEFAULT_MAX_CONNECTIONS_PER_SOURCE);
        assert_eq!(
            sources.packets,
            Rate::per_second(DEFAULT_PACKETS_PER_SOURCE_PER_SECOND)
        );
        assert_eq!(
            sources.tunnels,
            Rate::per_minute(DEFAULT_TUNNELS_PER_SOURCE_PER_MINUTE)
        );
        assert_eq!(
            sources.queues,
            Rate::per_hour(DEFAULT_QUEUES_PER_SOURCE_PER_HOUR)
        );
        assert_eq!(sources.exempt, default_exempt_sources());
    }

    #[test]
    fn limits_come_from_the_file_and_flags_and_zero_means_no_limit() {
        let file = FileSettings::parse(
            "max_queues = 5\nmax_replay_tags = 100\nmax_connections_per_source = 0\n\
             tunnels_per_source_per_minute = 7\npackets_per_source_per_second = 0\n\
             queues_per_source_per_hour = 9\nnew_targets_per_source_per_minute = 2\n\
             new_targets_per_minute = 30\nlimit_exempt_sources = [\"192.0.2.7\"]\n",
        )
        .unwrap();
        let settings = Settings::resolve(
            args(&[
                "--queues-per-source-per-hour",
                "11",
                "--limit-exempt-sources",
                "192.0.2.8,::1",
            ]),
            file,
        )
        .unwrap();
        assert_eq!(settings.limits.max_queues, 5);
        assert_eq!(settings.mix.max_replay_tags, 100);
        let sources = &settings.sources;
        assert_eq!(sources.max_connections, 0);
        assert_eq!(sources.tunnels, Rate::per_minute(7));
        assert_eq!(sources.packets, Rate::per_second(0));
        assert_eq!(sources.queues, Rate::per_hour(11), "the flag wins");
        assert_eq!(sources.new_targets, Rate::per_minute(2));
        assert_eq!(sources.new_targets_total, Rate::per_minute(30));
        assert_eq!(
            sources.exempt,
            [
                "192.0.2.8".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
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
            &["--max-queues", "0"],
            &["--max-replay-tags", "10"],
            // A full batch must be able to pass.
            &["--packets-per-source-per-second", "63"],
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
    fn the_sample_settings_file_sets_every_key_and_resolves() {
        let sample = FileSettings::parse(include_str!("../deploy/relay.toml")).unwrap();
        // No `..`: a new setting fails to compile here until the sample documents it.
        let FileSettings {
            listen,
            websocket_listen,
            operator_listen,
            public_host,
            max_message_bytes,
            max_queue_messages,
            max_queue_bytes,
            message_expiry_days,
            max_chunk_bytes,
            max_chunk_store_bytes,
            chunk_expiry_hours,
            log_level,
            sphinx_epoch_seconds,
            sphinx_grace_seconds,
            allow_private_hops,
            max_queues,
            max_replay_tags,
            max_connections_per_source,
            tunnels_per_source_per_minute,
            packets_per_source_per_second,
            queues_per_source_per_hour,
            new_targets_per_source_per_minute,
            new_targets_per_minute,
            limit_exempt_sources,
        } = sample.clone();
        let set = [
            listen.is_some(),
            websocket_listen.is_some(),
            operator_listen.is_some(),
            public_host.is_some(),
            max_message_bytes.is_some(),
            max_queue_messages.is_some(),
            max_queue_bytes.is_some(),
            message_expiry_days.is_some(),
            max_chunk_bytes.is_some(),
            max_chunk_store_bytes.is_some(),
            chunk_expiry_hours.is_some(),
            log_level.is_some(),
            sphinx_epoch_seconds.is_some(),
            sphinx_grace_seconds.is_some(),
            allow_private_hops.is_some(),
            max_queues.is_some(),
            max_replay_tags.is_some(),
            max_connections_per_source.is_some(),
            tunnels_per_source_per_minute.is_some(),
            packets_per_source_per_second.is_some(),
            queues_per_source_per_hour.is_some(),
            new_targets_per_source_per_minute.is_some(),
            new_targets_per_minute.is_some(),
            limit_exempt_sources.is_some(),
        ];
        assert!(set.iter().all(|s| *s), "{set:?}");
        // Apart from where it listens and what it is called, the sample is the defaults.
        let resolved = Settings::resolve(args(&[]), sample).unwrap();
        let defaults = Settings::resolve(args(&[]), FileSettings::default()).unwrap();
        assert_eq!(resolved.limits, defaults.limits);
        assert_eq!(resolved.mix, defaults.mix);
        assert_eq!(resolved.sources, defaults.sources);
        assert_eq!(resolved.operator_listen, defaults.operator_listen);
        assert_eq!(resolved.log_level, defaults.log_level);
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
