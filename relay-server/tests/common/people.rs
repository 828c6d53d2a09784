//! People and relays for end-to-end tests: relay processes that can be killed and
//! restarted at the same address, a clock the test moves, `Client`s with SQLCipher profile
//! directories, and the steps every conversation test takes (meet, settle, read events).
//! Included with `#[path]` (`common/process.rs` must be included as `process` too).

#![allow(dead_code)] // Each test file uses its own part.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sotto_core::client::{AttachmentKind, ClientEvent, Clock, SendRoute};
use sotto_core::contacts::ContactId;
use sotto_core::content::{Body, MessageId};
use sotto_core::invitation::InvitationLink;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, Protection, SqlCipherStore};
use sotto_core::{Client, ClientSettings};

use super::process::{operator_get, operator_url, spawn_relay_with_env};

/// A relay process that can be killed and restarted at the same address.
pub struct Relay {
    pub child: Option<Child>,
    pub address: RelayAddress,
    /// The URL of its operator's endpoints (`/metrics`), plain HTTP on loopback.
    pub operator: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    /// Where the relay records what it saw (`SOTTO_RELAY_OBSERVATIONS`), if it does.
    pub observations: Option<PathBuf>,
    extra: Vec<String>,
    /// How far ahead of the system's clock the relay's clock runs, in seconds (the
    /// test-only `SOTTO_RELAY_CLOCK_AHEAD_SECONDS`).
    clock_ahead: u64,
}

impl Relay {
    /// A relay logging at `debug` into `<root>/<name>.log`.
    pub fn start(root: &Path, name: &str) -> Self {
        Self::start_with(root, name, &[])
    }

    /// The same, with extra flags.
    pub fn start_with(root: &Path, name: &str, extra: &[&str]) -> Self {
        Self::start_full(root, name, "127.0.0.1", extra, None)
    }

    /// A relay listening on (and sending from) `ip`, another loopback address than the
    /// clients' 127.0.0.1.
    pub fn start_with_ip(root: &Path, name: &str, ip: &str, extra: &[&str]) -> Self {
        Self::start_full(root, name, ip, extra, None)
    }

    /// A relay listening on `ip` (another loopback address than the clients' 127.0.0.1)
    /// that records what it saw into `<root>/<name>.seen` (the test-only observation
    /// record, `src/observe.rs`).
    pub fn start_observed(root: &Path, name: &str, ip: &str, extra: &[&str]) -> Self {
        let seen = root.join(format!("{name}.seen"));
        Self::start_full(root, name, ip, extra, Some(seen))
    }

    fn start_full(
        root: &Path,
        name: &str,
        ip: &str,
        extra: &[&str],
        observations: Option<PathBuf>,
    ) -> Self {
        let data_dir = root.join(name);
        let log = root.join(format!("{name}.log"));
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let listen = format!("{ip}:0");
        let (child, address, operator) =
            Self::spawn(&data_dir, &log, &listen, &extra, observations.as_deref(), 0);
        Self {
            child: Some(child),
            address,
            operator,
            data_dir,
            log,
            observations,
            extra,
            clock_ahead: 0,
        }
    }

    fn spawn(
        data_dir: &Path,
        log: &Path,
        listen: &str,
        extra: &[String],
        observations: Option<&Path>,
        clock_ahead: u64,
    ) -> (Child, RelayAddress, String) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut flags = vec!["--log-level", "debug"];
        flags.extend(extra.iter().map(String::as_str));
        let ahead = clock_ahead.to_string();
        let mut env: Vec<(&str, &std::ffi::OsStr)> = observations
            .map(|path| ("SOTTO_RELAY_OBSERVATIONS", path.as_os_str()))
            .into_iter()
            .collect();
        if clock_ahead > 0 {
            env.push(("SOTTO_RELAY_CLOCK_AHEAD_SECONDS", ahead.as_ref()));
        }
        let (child, address, line) =
            spawn_relay_with_env(data_dir, listen, &flags, Stdio::from(log), &env);
        (child, address, operator_url(&line))
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Kills the relay (if running) and starts it again on the same data and port, with
    /// these extra flags from now on.
    pub fn restart_with(&mut self, extra: &[&str]) {
        self.extra = extra.iter().map(|s| (*s).to_owned()).collect();
        self.restart();
    }

    /// Kills the relay (if running) and starts it again on the same data and port, its
    /// clock running `ahead` of the system's from now on (a test that moves its clients'
    /// clock by days moves the relays' with it).
    pub fn restart_ahead(&mut self, ahead: Duration) {
        self.clock_ahead = ahead.as_secs();
        self.restart();
    }

    /// Kills the relay (if running) and starts it again on the same data and port.
    pub fn restart(&mut self) {
        self.kill();
        let listen = format!("{}:{}", self.address.host(), self.address.port());
        let (child, address, operator) = Self::spawn(
            &self.data_dir,
            &self.log,
            &listen,
            &self.extra,
            self.observations.as_deref(),
            self.clock_ahead,
        );
        assert_eq!(address, self.address, "a restarted relay keeps its address");
        self.child = Some(child);
        self.operator = operator;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A clock the test moves forward (to make the outbox's retry time come).
#[derive(Default)]
pub struct TestClock {
    ahead: Mutex<Duration>,
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        *self.ahead.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *self.ahead.lock().unwrap()
    }
}

pub type Person = Client<SqlCipherStore>;

/// Settings for `name` over `relays` with the test's clock and `route`.
pub fn settings(
    relays: &[&Relay],
    name: &str,
    clock: &Arc<TestClock>,
    route: SendRoute,
) -> ClientSettings {
    let mut settings =
        ClientSettings::new(relays.iter().map(|r| r.address.clone()).collect(), name)
            .with_route(route);
    settings.clock = clock.clone();
    settings
}

pub fn protection(name: &str) -> Protection<'_> {
    Protection::Passphrase {
        passphrase: name,
        params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
    }
}

/// A new profile `<root>/<name>` (its passphrase is its name).
pub async fn create(root: &Path, name: &str, settings: ClientSettings) -> Person {
    let directory = ProfileDirectory::new(root.join(name));
    Client::create(&directory, protection(name), settings)
        .await
        .unwrap()
}

/// The profile `<root>/<name>` opened again.
pub async fn reopen(root: &Path, name: &str, settings: ClientSettings) -> Person {
    let directory = ProfileDirectory::new(root.join(name));
    Client::open(&directory, Some(name), settings)
        .await
        .unwrap()
}

/// Syncs `person` until an event matching `wanted` shows up (packets may still be
/// crossing their hops); returns every event taken meanwhile.
pub async fn sync_until(
    person: &mut Person,
    wanted: impl Fn(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut events = Vec::new();
    loop {
        person.sync().await.unwrap();
        events.extend(person.take_events());
        if events.iter().any(&wanted) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "no wanted event within 60 s: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Inviter and invitee meet; returns (invitee at inviter, inviter at invitee).
pub async fn meet(inviter: &mut Person, invitee: &mut Person) -> (ContactId, ContactId) {
    // The short link, as people hand it over (the full invitation is fetched from the
    // inviter's relay).
    let link = inviter.create_invitation().await.unwrap().link();
    let invitation = InvitationLink::parse(&link).unwrap();
    assert!(matches!(invitation, InvitationLink::Short(_)), "{link}");
    let inviter_at_invitee = invitee.accept_link(&invitation).await.unwrap();

    let events = sync_until(inviter, |e| matches!(e, ClientEvent::ContactJoined { .. })).await;
    let joined: Vec<_> = events
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::ContactJoined {
                contact,
                display_name,
            } => Some((contact, display_name)),
            _ => None,
        })
        .collect();
    assert_eq!(joined.len(), 1, "one acceptance answered");
    let (invitee_at_inviter, _) = joined.into_iter().next().unwrap();

    let accepted = ClientEvent::ContactAccepted {
        contact: inviter_at_invitee.clone(),
    };
    sync_until(invitee, |e| *e == accepted).await;
    (invitee_at_inviter, inviter_at_invitee)
}

/// Texts of the message events, in order.
pub fn texts(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Message { content, .. } => match &content.body {
                Body::Text(text) => Some(text.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Every message id a `Delivered` event acknowledged.
pub fn delivered(events: &[ClientEvent]) -> HashSet<MessageId> {
    events
        .iter()
        .flat_map(|e| match e {
            ClientEvent::Delivered { message_ids, .. } => message_ids.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// Syncs both sides until neither has had anything to do for `quiet` (zero: one idle
/// round, enough when packets go straight to their queues; onion packets need a moment to
/// cross their hops); returns their events.
pub async fn settle(
    a: &mut Person,
    b: &mut Person,
    quiet: Duration,
) -> (Vec<ClientEvent>, Vec<ClientEvent>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last_activity = Instant::now();
    loop {
        let ra = a.sync().await.unwrap();
        let rb = b.sync().await.unwrap();
        ea.extend(a.take_events());
        eb.extend(b.take_events());
        if ra.received + ra.sent + rb.received + rb.sent > 0 {
            last_activity = Instant::now();
        } else if last_activity.elapsed() >= quiet {
            return (ea, eb);
        }
        assert!(
            Instant::now() < deadline,
            "the conversation did not settle in 120 s"
        );
        if !quiet.is_zero() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `sender` sends `bytes` as a file attachment to `recipient` (`to_recipient` at the
/// sender, `to_sender` at the recipient), who syncs until its message arrives and
/// downloads it; checks that the same bytes came out.
pub async fn attachment_round_trip(
    root: &Path,
    sender: &mut Person,
    recipient: &mut Person,
    (to_recipient, to_sender): (&ContactId, &ContactId),
    bytes: &[u8],
) {
    let source = root.join("attachment.bin");
    std::fs::write(&source, bytes).unwrap();
    let id = sender
        .send_attachment(
            to_recipient,
            &source,
            AttachmentKind::File {
                name: "attachment.bin".into(),
                mime: "application/octet-stream".into(),
            },
        )
        .await
        .unwrap();
    sync_until(
        recipient,
        |e| matches!(e, ClientEvent::Message { content, .. } if content.id == id),
    )
    .await;
    let target = root.join("attachment.received");
    recipient
        .download_attachment(to_sender, &id, &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
}

/// One counter from a relay's `/metrics`, on its operator's port.
pub async fn metric(relay: &Relay, name: &str) -> u64 {
    operator_metric(&relay.operator, name).await
}

/// One counter from the `/metrics` of the operator's endpoints at `operator`.
pub async fn operator_metric(operator: &str, name: &str) -> u64 {
    let operator = operator.to_owned();
    let (_, text) = tokio::task::spawn_blocking(move || operator_get(&operator, "/metrics"))
        .await
        .unwrap();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {name} in the metrics"))
}

pub fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}
