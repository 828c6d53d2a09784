//! The desktop app with a long conversation: how long it takes to open, how long a frame
//! takes while the user scrolls back through it, and the process's memory.
//!
//! Each contender is the real app (`SottoApp`, headless in egui_kittest) on a real
//! SQLCipher profile, unlocked through its unlock screen. The conversation is written
//! into the profile's store directly (the setup: sending 100,000 messages through relays
//! would take hours), as the messages a conversation of that length leaves: texts of both
//! sides, read. The baseline is a conversation of 100 messages, measured first in the same
//! process the same way.
//!
//! A frame is what the app does per displayed frame on the CPU: egui's pass (our layout of
//! the visible messages, the contacts list, the composer) plus the tessellation of what it
//! drew; uploading the triangles to the GPU is not measured (there is no GPU here).
//! Scrolling: the mouse wheel moves the view 240 points up per frame, the speed of a fast
//! flick, for 600 frames; pages of 100 older messages load as the view nears the top.
//! Then the whole conversation is loaded and 300 more frames scroll through its middle.
//!
//!   scripts/bench sotto-desktop/conversation   (SOTTO_BENCH_QUICK=1: 20,000 messages)

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eframe::egui;
use egui_kittest::Harness;
use sotto_core::client::{ClientSettings, SendRoute};
use sotto_core::content::{Body, Content, MessageId};
use sotto_core::messenger::OwnedProtection;
use sotto_core::relay::{Host, RelayAddress, RelayKey};
use sotto_core::store::{
    Argon2Params, ChangeSet, MemoryStore, MessageDirection, MessageRecord, MessageStatus,
    ProfileDirectory, Store,
};
use sotto_core::{Messenger, Profile};
use sotto_desktop::app::Screen;
use sotto_desktop::platform::{NoVoiceInput, RecordingNotifier, ScriptedFilePicker};
use sotto_desktop::ui::Action;
use sotto_desktop::{Options, SottoApp};
use zeroize::Zeroizing;

const PASSPHRASE: &str = "bench passphrase";
/// Messages per change set while writing the conversation.
const BATCH: usize = 2_000;

fn fast() -> Argon2Params {
    Argon2Params::new(8 * 1024, 1, 1).unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A profile at `root` with one contact and a conversation of `count` messages.
fn make_profile(root: &Path, count: usize) -> Duration {
    let start = Instant::now();
    let directory = ProfileDirectory::new(root);
    // A relay nobody listens on: the bench never reaches the network.
    let relay = RelayAddress::new(
        RelayKey::from_bytes([7; 32]),
        Host::V4(std::net::Ipv4Addr::LOCALHOST),
        9,
    )
    .unwrap();
    let messenger = block_on(Messenger::create(
        directory.clone(),
        OwnedProtection::Passphrase {
            passphrase: Zeroizing::new(PASSPHRASE.into()),
            params: fast(),
        },
        ClientSettings::new(vec![relay], "Me").with_route(SendRoute::Direct),
    ))
    .unwrap();
    block_on(messenger.shutdown()).unwrap();
    drop(messenger);

    let them = block_on(Profile::create(
        MemoryStore::new(),
        None,
        SystemTime::now(),
        &mut rand::rng(),
    ))
    .unwrap();
    let store = directory.open(Some(PASSPHRASE)).unwrap();
    let profile = block_on(Profile::load(store)).unwrap();
    let contact =
        block_on(profile.add_contact(&them.identity().public(), Some("Them".into()))).unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let first_ms = now_ms - count as u64 * 60_000;
    let mut changes = ChangeSet::default();
    for n in 0..count {
        let incoming = n % 3 != 0;
        let sequence = n as u64 / 2 + 1;
        let at_ms = first_ms + n as u64 * 60_000;
        let length = 10 + (n * 37) % 180;
        let text: String = "the quick brown fox jumps over the lazy dog "
            .chars()
            .cycle()
            .take(length)
            .collect();
        let content = Content {
            id: MessageId::random(),
            sequence,
            timestamp_ms: at_ms,
            body: Body::Text(format!("{n}: {text}")),
        };
        changes.put_message(MessageRecord {
            contact: contact.as_str().to_owned(),
            direction: if incoming {
                MessageDirection::Incoming
            } else {
                MessageDirection::Outgoing
            },
            id: content.id.into(),
            sequence,
            at_ms,
            frame: content.encode(),
            status: MessageStatus::Read,
            deleted: false,
        });
        if changes.messages.len() == BATCH || n + 1 == count {
            block_on(profile.store().apply(std::mem::take(&mut changes))).unwrap();
        }
    }
    drop(profile);
    start.elapsed()
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// One frame: the app's pass and the tessellation of its shapes.
fn frame(harness: &mut Harness<'static, SottoApp>) -> Duration {
    let start = Instant::now();
    harness.step();
    let output = harness.output();
    let shapes = output.shapes.clone();
    let triangles = harness.ctx.tessellate(shapes, output.pixels_per_point);
    std::hint::black_box(triangles);
    start.elapsed()
}

struct Figures {
    messages: usize,
    open: Duration,
    scroll: Vec<Duration>,
    scroll_loaded: usize,
    full: Vec<Duration>,
    rss_open: f64,
    rss_full: f64,
}

fn percentile(times: &[Duration], p: f64) -> f64 {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() - 1) as f64 * p).round() as usize]
}

fn loaded(harness: &Harness<'static, SottoApp>) -> usize {
    harness
        .state()
        .session()
        .and_then(|s| s.timeline.as_ref())
        .map_or(0, |t| t.messages.len())
}

fn measure(root: &Path, count: usize) -> Figures {
    let setup = make_profile(root, count);
    println!(
        "  {count} messages written in {:.1} s (setup)",
        setup.as_secs_f64()
    );
    let options = Options {
        profile: ProfileDirectory::new(root),
        default_relays: Vec::new(),
        files: Box::new(ScriptedFilePicker::default()),
        voice: Box::new(NoVoiceInput),
        speakers: Box::new(sotto_desktop::audio::RecordingOutput::default()),
        notifier: Box::new(RecordingNotifier::default()),
        argon2: fast(),
        keychain: None,
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 700.0))
        .build_eframe(move |creation| SottoApp::new(&creation.egui_ctx, options));
    harness.step();
    if let Screen::Unlock(form) = &mut harness.state_mut().screen {
        *form.passphrase = PASSPHRASE.into();
    }
    harness.state_mut().perform(Action::Unlock);
    let contact = loop {
        harness.step();
        let row = harness
            .state()
            .session()
            .and_then(|s| s.contacts.first())
            .map(|r| r.contact.id.clone());
        if let Some(contact) = row {
            break contact;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Opening: from the click to the first frame that shows the conversation.
    let start = Instant::now();
    harness.state_mut().perform(Action::Select(contact));
    while loaded(&harness) == 0 {
        harness.step();
        std::thread::sleep(Duration::from_micros(200));
    }
    frame(&mut harness);
    let open = start.elapsed();
    for _ in 0..5 {
        frame(&mut harness);
    }
    let over_messages = egui::pos2(640.0, 300.0);
    harness.event(egui::Event::PointerMoved(over_messages));
    let wheel = egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 240.0),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    };
    let mut scroll = Vec::new();
    for _ in 0..600 {
        harness.event(wheel.clone());
        scroll.push(frame(&mut harness));
    }
    let scroll_loaded = loaded(&harness);
    let rss_open = rss_mib();
    // The whole conversation in memory, then scrolling through its middle.
    loop {
        let complete = harness
            .state()
            .session()
            .and_then(|s| s.timeline.as_ref())
            .is_some_and(|t| t.complete);
        if complete {
            break;
        }
        harness.state_mut().load_older();
        harness.step();
    }
    let middle = harness
        .state()
        .session()
        .and_then(|s| s.timeline.as_ref())
        .map_or(0.0, |t| t.total_height() / 2.0);
    if let Some(timeline) = harness
        .state_mut()
        .session_mut()
        .and_then(|s| s.timeline.as_mut())
    {
        timeline.scroll_to = Some(middle);
    }
    frame(&mut harness);
    let mut full = Vec::new();
    for _ in 0..300 {
        harness.event(wheel.clone());
        full.push(frame(&mut harness));
    }
    let rss_full = rss_mib();
    harness.state_mut().shut_down();
    Figures {
        messages: count,
        open,
        scroll,
        scroll_loaded,
        full,
        rss_open,
        rss_full,
    }
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name}: {} messages; open {:.1} ms; scrolling back ({} loaded after 600 frames): \
         frame p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; whole conversation loaded: p50 {:.2} ms, \
         p99 {:.2} ms; RSS {:.0} MiB open, {:.0} MiB with all loaded",
        f.messages,
        f.open.as_secs_f64() * 1e3,
        f.scroll_loaded,
        percentile(&f.scroll, 0.5),
        percentile(&f.scroll, 0.99),
        percentile(&f.scroll, 1.0),
        percentile(&f.full, 0.5),
        percentile(&f.full, 0.99),
        f.rss_open,
        f.rss_full,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var_os("SOTTO_BENCH_QUICK").is_some();
    let count = if quick { 20_000 } else { 100_000 };
    let work = tempfile::tempdir().unwrap();
    println!("desktop conversation bench (debug builds are slower; see docs/BENCHMARKS.md)");
    let base = measure(&work.path().join("baseline"), 100);
    report("baseline", &base);
    let long = measure(&work.path().join("long"), count);
    report("long", &long);
    println!(
        "ratio long/baseline: open {:.2}x, scrolling frame p99 {:.2}x, whole-conversation frame p99 {:.2}x",
        long.open.as_secs_f64() / base.open.as_secs_f64(),
        percentile(&long.scroll, 0.99) / percentile(&base.scroll, 0.99),
        percentile(&long.full, 0.99) / percentile(&base.full, 0.99),
    );
    println!(
        "targets (issue): open under 300 ms: {}; frame p99 under 16 ms: {}; memory under 200 MiB: {}",
        long.open < Duration::from_millis(300),
        percentile(&long.scroll, 0.99) < 16.0 && percentile(&long.full, 0.99) < 16.0,
        long.rss_full < 200.0
    );
}
