//! Speech from a WAV file recorded into a clip (`record_wav`, the desktop's `--voice-from`
//! and its tests' microphone): Debian's `opusinfo` accepts the clip and the core decodes it
//! to the speech's length. Malformed input is refused with a typed error.

use std::process::Command;

use sotto_media::{MediaError, record_wav};

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/setup installs it)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{program} {args:?}: {text}");
    text
}

#[test]
fn speech_from_a_wav_file_becomes_a_clip_other_programs_play() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.wav");
    let speech = dir.path().join("speech.wav");
    run(
        "espeak-ng",
        &[
            "-w",
            raw.to_str().unwrap(),
            "A voice clip recorded from a file.",
        ],
    );
    run(
        "sox",
        &[
            raw.to_str().unwrap(),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            speech.to_str().unwrap(),
        ],
    );
    let clip = record_wav(&speech).unwrap();
    let file = dir.path().join("clip.ogg");
    std::fs::write(&file, &clip.bytes).unwrap();
    let report = run("opusinfo", &[file.to_str().unwrap()]);
    assert!(report.contains("Playback length"), "{report}");
    let spoken = u64::from(hound::WavReader::open(&speech).unwrap().duration()) * 1000 / 16_000;
    assert!(u64::from(clip.duration_ms).abs_diff(spoken) <= 1);
    let decoded = sotto_core::voice::decode(&clip.bytes).unwrap();
    assert_eq!(decoded.duration_ms(), u64::from(clip.duration_ms));

    // Not 16 kHz mono: refused, saying what it takes.
    assert!(matches!(record_wav(&raw), Err(MediaError::Invalid { .. })));
    std::fs::write(dir.path().join("bad.wav"), b"RIFF....WAVEfmt nonsense").unwrap();
    assert!(matches!(
        record_wav(&dir.path().join("bad.wav")),
        Err(MediaError::Unreadable { .. })
    ));
}
