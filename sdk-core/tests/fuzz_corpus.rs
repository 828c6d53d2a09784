//! Every fuzz corpus, replayed on the stable toolchain: the seed inputs in
//! `sdk-core/fuzz/corpus/<target>/` and the minimised crashes in
//! `sdk-core/fuzz/regressions/<target>/` go through the same decoder calls as the fuzz
//! targets, and none of them may panic. The fuzzers themselves need nightly (scripts/fuzz);
//! this test keeps their findings checked on every `cargo test`.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The fuzz target bodies, shared with `sdk-core/fuzz/fuzz_targets/`.
#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

/// What a fuzz target does with one input.
type TargetBody = fn(&[u8]);

/// One entry per cargo-fuzz target: its name (the bin and corpus folder) and its body.
const TARGETS: &[(&str, TargetBody)] = &[
    ("content_frame", fuzz_targets::content_frame),
    ("unpad", fuzz_targets::unpad),
    ("attachment_pointer", fuzz_targets::attachment_pointer),
    ("identity_import", fuzz_targets::identity_import),
    ("sealed_open", fuzz_targets::sealed_open),
    ("key_info", fuzz_targets::key_info),
    ("relay_request", fuzz_targets::relay_request),
    ("invitation", fuzz_targets::invitation),
    ("invitation_link", fuzz_targets::invitation_link),
    #[cfg(feature = "voice")]
    ("voice_clip", fuzz_targets::voice_clip),
    ("chunk_location", fuzz_targets::chunk_location),
    ("onion_packet", fuzz_targets::onion_packet),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted by name; none when the folder does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable corpus folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_string())
}

/// Feeds every corpus and regression file of `target` to `body`; fails naming each file that
/// panicked.
fn replay(target: &str) {
    let body = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .expect("target listed in TARGETS");
    let corpus = files_in(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ has no seed files"
    );
    let regressions = files_in(&fuzz_dir().join("regressions").join(target));

    let mut panicked = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = fs::read(file).expect("readable corpus file");
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| body(&data))) {
            panicked.push(format!("{}: {}", file.display(), panic_message(&*payload)));
        }
    }
    assert!(
        panicked.is_empty(),
        "{target}: {} of {} inputs panicked:\n  {}",
        panicked.len(),
        corpus.len() + regressions.len(),
        panicked.join("\n  ")
    );
}

#[test]
fn content_frame_corpus_never_panics() {
    replay("content_frame");
}

#[test]
fn unpad_corpus_never_panics() {
    replay("unpad");
}

#[test]
fn attachment_pointer_corpus_never_panics() {
    replay("attachment_pointer");
}

#[test]
fn identity_import_corpus_never_panics() {
    replay("identity_import");
}

#[test]
fn sealed_open_corpus_never_panics() {
    replay("sealed_open");
}

#[test]
fn key_info_corpus_never_panics() {
    replay("key_info");
}

#[test]
fn relay_request_corpus_never_panics() {
    replay("relay_request");
}

#[test]
fn invitation_corpus_never_panics() {
    replay("invitation");
}

#[test]
fn invitation_link_corpus_never_panics() {
    replay("invitation_link");
}

#[cfg(feature = "voice")]
#[test]
fn voice_clip_corpus_never_panics() {
    replay("voice_clip");
}

#[test]
fn chunk_location_corpus_never_panics() {
    replay("chunk_location");
}

#[test]
fn onion_packet_corpus_never_panics() {
    replay("onion_packet");
}

/// A target added to the fuzz crate, or a corpus folder added by hand, must be replayed here
/// too: the names in fuzz/Cargo.toml, fuzz/corpus/ and TARGETS agree.
#[test]
fn every_fuzz_target_has_a_corpus_and_a_replay() {
    let mut listed: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    // Replayed only where the core is built with voice clips (the workspace's tests are).
    if !cfg!(feature = "voice") {
        listed.push("voice_clip");
    }
    listed.sort_unstable();

    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut bins: Vec<String> = manifest
        .lines()
        .filter_map(|line| line.trim().strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "sotto-core-fuzz")
        .map(str::to_string)
        .collect();
    bins.sort();
    assert_eq!(bins, listed, "fuzz/Cargo.toml [[bin]] names vs TARGETS");

    assert_eq!(
        folder_names(&fuzz_dir().join("corpus")),
        listed,
        "fuzz/corpus/ folders vs TARGETS"
    );
    for name in folder_names(&fuzz_dir().join("regressions")) {
        assert!(
            listed.contains(&name.as_str()),
            "fuzz/regressions/{name}/ names no fuzz target"
        );
    }
}

/// The names of the folders in `dir`, sorted; none when `dir` does not exist.
fn folder_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|entry| entry.expect("readable fuzz folder").path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
