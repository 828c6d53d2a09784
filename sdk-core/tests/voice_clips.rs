//! Voice clips as other programs see them: speech made by `espeak-ng` (resampled to 16 kHz
//! by `sox`) recorded through `VoiceRecorder`, then read by Debian's `opusinfo` and decoded by
//! `opusdec` (the Opus reference tools), for a short clip and a 10-minute one. scripts/setup
//! installs the tools.

#![cfg(all(feature = "voice", not(target_arch = "wasm32")))]

use std::path::Path;
use std::process::Command;

use sotto_core::voice::{self, SAMPLE_RATE, VoiceClip, VoiceRecorder};

/// Runs a tool; it must succeed. Returns its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); scripts/setup installs it"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A sentence spoken by espeak-ng, as 16 kHz mono PCM.
fn speech(folder: &Path) -> Vec<i16> {
    let wav = folder.join("speech.wav");
    let raw = folder.join("speech.raw");
    let (wav, raw) = (wav.to_str().unwrap(), raw.to_str().unwrap());
    run(
        "espeak-ng",
        &[
            "-w",
            wav,
            "Hello Bob. This voice clip was recorded for Sotto's tests.",
        ],
    );
    run(
        "sox",
        &[
            wav,
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
            raw,
        ],
    );
    std::fs::read(raw)
        .unwrap()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn record(pcm: &[i16]) -> VoiceClip {
    let mut recorder = VoiceRecorder::new().unwrap();
    // In 20 ms pieces of 441 samples, as an audio callback might deliver them.
    for piece in pcm.chunks(441) {
        recorder.push(piece).unwrap();
    }
    recorder.finish().unwrap()
}

/// The playback length opusinfo reports, in milliseconds.
fn opusinfo_length_ms(file: &str) -> u64 {
    let report = run("opusinfo", &[file]);
    let length = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("Playback length: "))
        .unwrap_or_else(|| panic!("no playback length in: {report}"));
    // "0m:04.953s"
    let (minutes, seconds) = length.trim_end_matches('s').split_once("m:").unwrap();
    minutes.parse::<u64>().unwrap() * 60_000 + (seconds.parse::<f64>().unwrap() * 1000.0) as u64
}

#[test]
fn the_reference_tools_read_and_decode_a_recorded_clip() {
    let folder = tempfile::tempdir().unwrap();
    let pcm = speech(folder.path());
    let clip = record(&pcm);
    let expected_ms = pcm.len() as u64 * 1000 / u64::from(SAMPLE_RATE);
    assert_eq!(u64::from(clip.duration_ms), expected_ms);
    assert!(!clip.waveform.is_empty());

    let file = folder.path().join("clip.opus");
    std::fs::write(&file, &clip.bytes).unwrap();
    let file = file.to_str().unwrap();
    let reported = opusinfo_length_ms(file);
    assert!(
        reported.abs_diff(expected_ms) <= 20,
        "{reported} ms against {expected_ms}"
    );
    let inspected = u64::from(voice::inspect(&clip.bytes).unwrap().duration_ms);
    assert!(
        inspected.abs_diff(expected_ms) <= 20,
        "inspect: {inspected} ms"
    );

    // Decoded by the reference decoder: as long as the speech, and not silence.
    let decoded = folder.path().join("decoded.raw");
    run(
        "opusdec",
        &[
            "--quiet",
            "--rate",
            "16000",
            file,
            decoded.to_str().unwrap(),
        ],
    );
    let samples: Vec<i16> = std::fs::read(&decoded)
        .unwrap()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        (samples.len() as i64 - pcm.len() as i64).abs() <= 320,
        "{} samples decoded, {} recorded",
        samples.len(),
        pcm.len()
    );
    let energy = |s: &[i16]| s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64;
    let ratio = energy(&samples) / energy(&pcm);
    assert!(
        (0.25..4.0).contains(&ratio),
        "decoded energy {ratio:.2}x the original"
    );
}

#[test]
fn a_ten_minute_clip_is_accepted_whole() {
    let folder = tempfile::tempdir().unwrap();
    let sentence = speech(folder.path());
    let ten_minutes = 10 * 60 * SAMPLE_RATE as usize;
    let pcm: Vec<i16> = sentence.iter().copied().cycle().take(ten_minutes).collect();
    let clip = record(&pcm);
    assert_eq!(clip.duration_ms, 600_000);
    let file = folder.path().join("long.opus");
    std::fs::write(&file, &clip.bytes).unwrap();
    let reported = opusinfo_length_ms(file.to_str().unwrap());
    assert!(reported.abs_diff(600_000) <= 20, "{reported} ms");
    // About 24 kbit/s: some 1.8 MB for ten minutes.
    assert!(clip.bytes.len() < 2_500_000, "{} bytes", clip.bytes.len());
}
