//! The `sotto-relay` binary as an operator runs it, here behind the plain-HTTP test flag so
//! that raw bytes can be written to the socket: refusing bad settings, shrugging off
//! garbage, stopping cleanly on SIGTERM, and keeping messages across a restart. Serving
//! over TLS is tested in `tls_relay.rs`.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sotto_core::relay::{
    AUTH_HEADER, CreateQueue, Endpoint, QueueCreated, QueueKeyPair, RelayAddress,
};

#[path = "common/process.rs"]
mod process;
use process::{BINARY, spawn_relay};

/// A relay process on an ephemeral loopback port.
struct Running {
    child: Child,
    address: RelayAddress,
    socket: SocketAddr,
}

impl Running {
    fn start(data_dir: &Path) -> Self {
        let (child, address, _) = spawn_relay(
            data_dir,
            &["--insecure-plain-http", "--log-level", "debug"],
            Stdio::piped(),
        );
        let socket = SocketAddr::from(([127, 0, 0, 1], address.port()));
        Self {
            child,
            address,
            socket,
        }
    }

    /// Sends SIGTERM and returns the exit status and everything logged.
    fn terminate(self) -> (std::process::ExitStatus, String) {
        self.send_sigterm();
        self.wait_for_exit()
    }

    /// Sends SIGTERM.
    fn send_sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits (at most 20 s) for the relay to exit; its status and everything logged.
    fn wait_for_exit(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the relay did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        (status, logs)
    }

    /// One HTTP/1.1 request on a fresh connection: `(status, body)`.
    fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        parse_answer(&self.raw(&bytes, false)).expect("an HTTP answer")
    }

    /// Writes raw bytes (then half-closes if asked) and reads until the relay closes.
    fn raw(&self, bytes: &[u8], half_close: bool) -> Vec<u8> {
        let mut stream = TcpStream::connect(self.socket).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // The relay may answer and close before reading everything: not an error here.
        let _ = stream.write_all(bytes);
        if half_close {
            let _ = stream.shutdown(Shutdown::Write);
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    }

    /// Creates a queue through the API: its recipient and sender keys and its ids.
    fn create_queue(&self) -> (QueueKeyPair, QueueKeyPair, QueueCreated) {
        let mut rng = rand::rng();
        let recipient = QueueKeyPair::generate(&mut rng);
        let sender = QueueKeyPair::generate(&mut rng);
        let create = CreateQueue {
            recipient_key: recipient.public(),
            sender_key: sender.public(),
        }
        .to_json();
        let (status, body) = self.signed(
            &recipient,
            "POST",
            "/v1/queues",
            Some("application/json"),
            &create,
        );
        assert_eq!(status, 201);
        (recipient, sender, QueueCreated::from_json(&body).unwrap())
    }

    fn signed(
        &self,
        key: &QueueKeyPair,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let auth = key
            .sign(
                self.address.key(),
                unix_now(),
                method,
                path,
                body,
                &mut rand::rng(),
            )
            .unwrap()
            .encode();
        let mut headers = vec![(AUTH_HEADER, auth)];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type.to_owned()));
        }
        self.http(method, path, &headers, body)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn parse_answer(bytes: &[u8]) -> Option<(u16, Vec<u8>)> {
    let text = std::str::from_utf8(bytes.get(..12)?).ok()?;
    let status = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((status, bytes[split + 4..].to_vec()))
}

#[test]
fn bad_settings_are_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, "max_mesage_bytes = 10\n").unwrap();
    for extra in [
        vec!["--config".to_owned(), config.display().to_string()],
        vec!["--max-queue-messages".to_owned(), "0".to_owned()],
        vec!["--no-such-flag".to_owned()],
    ] {
        let output = Command::new(BINARY)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(&extra)
            .arg("--insecure-plain-http")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
    }
    let output = Command::new(BINARY).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "--data-dir is required");
}

#[test]
fn the_relay_serves_survives_garbage_stops_on_sigterm_and_keeps_messages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let relay = Running::start(&data);
    assert_eq!(
        relay.http("GET", "/health", &[], b""),
        (200, b"ok".to_vec())
    );

    let mut rng = rand::rng();
    let (recipient, sender, queue) = relay.create_queue();
    let send = Endpoint::Send(queue.sender_id).path();
    let (status, _) = relay.signed(
        &sender,
        "POST",
        &send,
        Some("application/octet-stream"),
        b"across the restart",
    );
    assert_eq!(status, 201);

    // Garbage on the socket: never a 5xx, and the relay stays up.
    let garbage: [(&[u8], bool); 5] = [
        (b"GARBAGE\r\n\r\n", false),
        (b"POST /v1/queues HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", false),
        (
            b"POST /v1/queues HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"recip",
            true,
        ),
        (b"POST /v1/send/AAAA HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true),
        (&[0xff; 64], true),
    ];
    for (bytes, half_close) in garbage {
        let answer = relay.raw(bytes, half_close);
        if let Some((status, _)) = parse_answer(&answer) {
            assert!((400..500).contains(&status), "{status} for {bytes:?}");
        }
    }
    // A declared length over the limit is refused before any of the body is read.
    let auth = sender
        .sign(
            relay.address.key(),
            unix_now(),
            "POST",
            &send,
            b"",
            &mut rng,
        )
        .unwrap()
        .encode();
    let head = format!(
        "POST {send} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n\
         {AUTH_HEADER}: {auth}\r\nContent-Length: 100000\r\n\r\n"
    );
    let answer = parse_answer(&relay.raw(head.as_bytes(), true));
    assert_eq!(answer.map(|(status, _)| status), Some(413));
    assert_eq!(
        relay.http("GET", "/health", &[], b""),
        (200, b"ok".to_vec())
    );

    let (status, logs) = relay.terminate();
    assert!(
        status.success(),
        "clean exit on SIGTERM: {status:?}\n{logs}"
    );
    assert!(logs.contains("store closed"), "{logs}");
    assert!(
        !data.join("relay.sqlite-wal").exists(),
        "the database was closed cleanly"
    );
    for secret in [queue.recipient_id.to_text(), queue.sender_id.to_text()] {
        assert!(!logs.contains(&secret), "an id in the logs:\n{logs}");
    }
    assert!(
        !logs.contains("127.0.0.1"),
        "an address in the logs:\n{logs}"
    );

    // A new process on the same data directory still has the message.
    let relay = Running::start(&data);
    let next = Endpoint::Next(queue.recipient_id).path();
    let (status, body) = relay.signed(&recipient, "POST", &next, None, b"");
    assert_eq!((status, &body[..]), (200, &b"across the restart"[..]));
    let (status, _) = relay.terminate();
    assert!(status.success());
}

/// `systemd-analyze` on the shipped unit, with its `ExecStart` pointed at this build.
fn analyze(unit: &Path, args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze runs (the systemd package)")
}

#[test]
fn the_systemd_unit_verifies_and_its_sandbox_leaves_little_exposed() {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("sotto-relay.service");
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sotto-relay.service"),
    )
    .unwrap();
    assert!(shipped.contains("ExecStart=/usr/local/bin/sotto-relay --data-dir ${STATE_DIRECTORY}"));
    std::fs::write(&unit, shipped.replace("/usr/local/bin/sotto-relay", BINARY)).unwrap();
    let verified = analyze(&unit, &["verify", "--man=no"]);
    assert!(
        verified.status.success() && verified.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    // systemd's own score of what the service could still reach, 0 to 10: at most 2
    // (systemd calls below 2.0 "OK").
    let security = analyze(&unit, &["security", "--offline=yes", "--threshold=20"]);
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(security.status.success(), "{report}");
    assert!(report.contains("Overall exposure level"), "{report}");
}

#[test]
fn a_write_in_flight_when_sigterm_arrives_is_finished_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let relay = Running::start(&data);
    let mut rng = rand::rng();
    let (recipient, sender, queue) = relay.create_queue();

    // A send whose body is half on the wire when SIGTERM arrives.
    let send = Endpoint::Send(queue.sender_id).path();
    let message = vec![7u8; 8000];
    let auth = sender
        .sign(
            relay.address.key(),
            unix_now(),
            "POST",
            &send,
            &message,
            &mut rng,
        )
        .unwrap()
        .encode();
    let head = format!(
        "POST {send} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n\
         {AUTH_HEADER}: {auth}\r\nContent-Length: {}\r\n\r\n",
        message.len()
    );
    let mut stream = TcpStream::connect(relay.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&message[..4000]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    relay.send_sigterm();
    std::thread::sleep(Duration::from_millis(500));
    stream.write_all(&message[4000..]).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(
        parse_answer(&answer).map(|(status, _)| status),
        Some(201),
        "the write in flight is answered: {:?}",
        String::from_utf8_lossy(&answer)
    );
    let (status, logs) = relay.wait_for_exit();
    assert!(status.success(), "{status:?}\n{logs}");
    assert!(logs.contains("finishing requests in flight"), "{logs}");

    // It was durable: the restarted relay hands it out.
    let relay = Running::start(&data);
    let next = Endpoint::Next(queue.recipient_id).path();
    let (status, body) = relay.signed(&recipient, "POST", &next, None, b"");
    assert_eq!((status, body), (200, message));
    relay.terminate();
}
