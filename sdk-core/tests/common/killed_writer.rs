//! A writer process to kill: the test re-runs its own binary, selecting one test function
//! (the writer) by name and handing it its task in an environment variable. The writer
//! prints `ack <payload>` for each write the API reported done; the parent SIGKILLs it
//! after a number of them and gets every payload it acknowledged.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts the test function `writer` of this test binary with `env = spec`, collects its
/// acknowledgements, kills it with SIGKILL after `kill_after` of them and returns every
/// payload it acknowledged before dying (in order). The writer's stderr goes to `log`.
/// Panics if the writer ends on its own or stalls for a minute.
pub fn run_and_kill(
    writer: &str,
    env: &str,
    spec: &str,
    kill_after: usize,
    log: &Path,
) -> Vec<String> {
    run_and_kill_with_jitter(writer, env, spec, kill_after, Duration::ZERO, log)
}

/// [`run_and_kill`], with the SIGKILL sent a random time of up to `jitter` after the
/// `kill_after`th acknowledgement (so that it lands anywhere inside the next write, not
/// only at its start). Acknowledgements arriving meanwhile are collected too.
pub fn run_and_kill_with_jitter(
    writer: &str,
    env: &str,
    spec: &str,
    kill_after: usize,
    jitter: Duration,
    log: &Path,
) -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([writer, "--exact", "--nocapture", "--test-threads=1"])
        .env(env, spec)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut acked = Vec::new();
    let mut killed = false;
    loop {
        match received.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                if let Some(payload) = line.strip_prefix("ack ") {
                    acked.push(payload.to_owned());
                }
                if !killed && acked.len() >= kill_after {
                    if !jitter.is_zero() {
                        let micros = u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX);
                        std::thread::sleep(Duration::from_micros(
                            rand::random::<u64>() % micros.max(1),
                        ));
                    }
                    child.kill().expect("SIGKILL the writer");
                    killed = true;
                }
            }
            // The pipe closed: the writer is dead (or finished, which the check below catches).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "the writer stalled after {} acks; its stderr:\n{}",
                    acked.len(),
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
    }
    reader.join().expect("reader thread");
    let status = child.wait().expect("wait for the writer");
    assert!(
        killed && !status.success(),
        "the writer ended on its own ({status}) after {} acks; its stderr:\n{}",
        acked.len(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
    acked
}
