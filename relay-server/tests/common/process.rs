//! A `sotto-relay` process on an ephemeral loopback port, as an operator starts it.

#![allow(dead_code)] // Each test file uses its own share of these helpers.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use sotto_core::relay::RelayAddress;

/// The relay binary of this package.
pub const BINARY: &str = env!("CARGO_BIN_EXE_sotto-relay");

/// Starts the relay on `data_dir` listening on 127.0.0.1:0 with `extra` flags (and its
/// operator's endpoints on any free loopback port), and reads the address it prints on its
/// first line (the line is returned too; [`operator_url`] finds the operator's address).
pub fn spawn_relay(
    data_dir: &Path,
    extra: &[&str],
    stderr: Stdio,
) -> (Child, RelayAddress, String) {
    spawn_relay_on(data_dir, "127.0.0.1:0", extra, stderr)
}

/// As [`spawn_relay`], listening on `listen` (to restart a relay at its address).
pub fn spawn_relay_on(
    data_dir: &Path,
    listen: &str,
    extra: &[&str],
    stderr: Stdio,
) -> (Child, RelayAddress, String) {
    spawn_relay_with_env(data_dir, listen, extra, stderr, &[])
}

/// The tests' observed relay (`examples/sotto-relay-observed.rs`): `sotto-relay` plus the
/// test knobs `SOTTO_RELAY_OBSERVATIONS` and `SOTTO_RELAY_CLOCK_AHEAD_SECONDS`, built by
/// `cargo test` into `target/<profile>/examples/`, beside the test binaries' `deps/`.
pub fn observed_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    profile.join("examples").join(format!(
        "sotto-relay-observed{}",
        std::env::consts::EXE_SUFFIX
    ))
}

/// As [`spawn_relay_on`], with these environment variables: on the tests' observed relay
/// ([`observed_binary`]), the only one that reads them, when there are any; on the shipped
/// binary otherwise.
pub fn spawn_relay_with_env(
    data_dir: &Path,
    listen: &str,
    extra: &[&str],
    stderr: Stdio,
    env: &[(&str, &std::ffi::OsStr)],
) -> (Child, RelayAddress, String) {
    let binary = if env.is_empty() {
        Path::new(BINARY).to_owned()
    } else {
        observed_binary()
    };
    spawn_binary(&binary, data_dir, listen, extra, stderr, env)
}

/// Starts the relay binary `binary` (as [`spawn_relay_on`]) with environment variables.
pub fn spawn_binary(
    binary: &Path,
    data_dir: &Path,
    listen: &str,
    extra: &[&str],
    stderr: Stdio,
    env: &[(&str, &std::ffi::OsStr)],
) -> (Child, RelayAddress, String) {
    let mut child = Command::new(binary)
        .envs(env.iter().copied())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", listen])
        .args(["--operator-listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{} starts: {e} (the observed relay is built by `cargo test` without a \
                 target filter, or by `cargo build --example sotto-relay-observed`)",
                binary.display()
            )
        });
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the relay prints its address");
    let address = line
        .split_whitespace()
        .find(|word| word.starts_with("sotto://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let address = RelayAddress::parse(address).expect("a relay address");
    (child, address, line)
}

/// The URL of the operator's endpoints (`http://ip:port`) in a relay's first line.
pub fn operator_url(line: &str) -> String {
    line.split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no operator address in {line:?}"))
        .to_owned()
}

/// `GET path` on a relay's operator's endpoints at `operator` (`http://ip:port`, plain HTTP,
/// one request per connection): the status and the body.
pub fn operator_get(operator: &str, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let host = operator.strip_prefix("http://").expect("an http:// URL");
    let mut stream = std::net::TcpStream::connect(host).expect("the operator's port answers");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("HTTP headers");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

/// A relay process on a data directory of its own (deleted afterwards), killed on drop.
pub struct RunningRelay {
    child: Child,
    /// The address it printed.
    pub address: RelayAddress,
    /// The URL of its WebSocket tunnels, when it was started with `--websocket-listen`.
    pub websocket: Option<String>,
    /// The URL of its operator's endpoints (`/metrics`), plain HTTP on loopback.
    pub operator: String,
    /// Its standard error: the log.
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl RunningRelay {
    /// Starts a relay with `extra` flags.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", extra)
    }

    /// Starts a relay listening on (and sending from) `listen` with `extra` flags.
    pub fn start_on(listen: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join("relay.log");
        let stderr = std::fs::File::create(&log).expect("the relay's log file");
        let (child, address, line) = spawn_relay_on(
            &dir.path().join("relay"),
            listen,
            extra,
            Stdio::from(stderr),
        );
        let websocket = line
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .map(str::to_owned);
        Self {
            child,
            address,
            websocket,
            operator: operator_url(&line),
            log,
            _dir: dir,
        }
    }

    /// What it logged so far (its standard error).
    pub fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
