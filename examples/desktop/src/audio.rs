//! Sound: the microphone voice clips are recorded from and the speakers they play on,
//! through cpal (ALSA on Linux), behind the [`VoiceInput`] and [`VoiceOutput`] traits so
//! that tests stand in for both. Encoding and decoding are the core's (`sotto_core::voice`):
//! here samples are only moved, mixed to mono and resampled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use sotto_core::voice::{self, DecodedClip, VoiceClip, VoiceRecorder};

use crate::platform::VoiceInput;

/// Where decoded clips are played.
pub trait VoiceOutput {
    /// Plays `clip` from its start (stopping whatever plays).
    ///
    /// # Errors
    /// Why it cannot play (no output device), for people.
    fn play(&mut self, clip: DecodedClip) -> Result<(), String>;
    /// Stops playing.
    fn stop(&mut self);
    /// Whether a clip is still playing.
    fn playing(&self) -> bool;
}

/// `samples` at `from` Hz as `to` Hz, by linear interpolation (speech, not music: no
/// filter is needed for the rates sound cards use).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() || from == 0 || to == 0 {
        return samples.to_vec();
    }
    let out_len = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let at = i as f64 * step;
            let left = at.floor() as usize;
            let right = (left + 1).min(samples.len() - 1);
            let fraction = (at - left as f64) as f32;
            samples[left] * (1.0 - fraction) + samples[right] * fraction
        })
        .collect()
}

fn f32_to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16
}

/// The default microphone, recorded at its own rate and channels, mixed to mono and
/// resampled to the recorder's 16 kHz when the recording stops.
pub struct Microphone {
    stream: Option<cpal::Stream>,
    captured: Arc<Mutex<Vec<f32>>>,
    rate: u32,
}

impl Microphone {
    /// A microphone not recording yet.
    pub fn new() -> Self {
        Self {
            stream: None,
            captured: Arc::new(Mutex::new(Vec::new())),
            rate: voice::SAMPLE_RATE,
        }
    }
}

impl Default for Microphone {
    fn default() -> Self {
        Self::new()
    }
}

impl VoiceInput for Microphone {
    fn start(&mut self) -> Result<(), String> {
        let host = cpal::default_host();
        let device = host
            .default_input_device()
            .ok_or("no microphone was found")?;
        let config = device
            .default_input_config()
            .map_err(|e| format!("the microphone cannot record: {e}"))?;
        let channels = usize::from(config.channels()).max(1);
        self.rate = config.sample_rate();
        let captured = Arc::clone(&self.captured);
        if let Ok(mut captured) = captured.lock() {
            captured.clear();
        }
        let limit = voice::MAX_DURATION_MS as usize / 1000 * self.rate as usize;
        let error = |e: cpal::Error| eprintln!("sotto-desktop: microphone: {e}");
        let stream = match config.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream(
                config.into(),
                move |data: &[f32], _: &cpal::InputCallbackInfo| {
                    keep_mono(&captured, data.iter().copied(), channels, limit);
                },
                error,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream(
                config.into(),
                move |data: &[i16], _: &cpal::InputCallbackInfo| {
                    let samples = data.iter().map(|&s| f32::from(s) / f32::from(i16::MAX));
                    keep_mono(&captured, samples, channels, limit);
                },
                error,
                None,
            ),
            other => {
                return Err(format!(
                    "the microphone's sample format {other} is not supported"
                ));
            }
        }
        .map_err(|e| format!("the microphone cannot record: {e}"))?;
        stream
            .play()
            .map_err(|e| format!("the microphone cannot record: {e}"))?;
        self.stream = Some(stream);
        Ok(())
    }

    fn stop(&mut self) -> Result<VoiceClip, String> {
        let stream = self.stream.take().ok_or("nothing was recorded")?;
        drop(stream);
        let captured = std::mem::take(&mut *self.captured.lock().map_err(|_| "recording lost")?);
        let at_16k = resample(&captured, self.rate, voice::SAMPLE_RATE);
        let pcm: Vec<i16> = at_16k.into_iter().map(f32_to_i16).collect();
        let mut recorder = VoiceRecorder::new().map_err(|e| e.to_string())?;
        recorder.push(&pcm).map_err(|e| e.to_string())?;
        recorder.finish().map_err(|e| e.to_string())
    }
}

/// Mixes interleaved `samples` of `channels` channels to mono into `captured`, up to
/// `limit` samples (the longest clip).
fn keep_mono(
    captured: &Mutex<Vec<f32>>,
    samples: impl Iterator<Item = f32>,
    channels: usize,
    limit: usize,
) {
    let Ok(mut captured) = captured.lock() else {
        return;
    };
    let mut frame = Vec::with_capacity(channels);
    for sample in samples {
        frame.push(sample);
        if frame.len() == channels {
            if captured.len() < limit {
                captured.push(frame.iter().sum::<f32>() / channels as f32);
            }
            frame.clear();
        }
    }
}

/// The default output device.
#[derive(Default)]
pub struct Speakers {
    stream: Option<cpal::Stream>,
    position: Arc<AtomicUsize>,
    length: usize,
}

impl VoiceOutput for Speakers {
    fn play(&mut self, clip: DecodedClip) -> Result<(), String> {
        self.stop();
        let host = cpal::default_host();
        let device = host
            .default_output_device()
            .ok_or("no speakers were found")?;
        let config = device
            .default_output_config()
            .map_err(|e| format!("the speakers cannot play: {e}"))?;
        if config.sample_format() != cpal::SampleFormat::F32 {
            return Err(format!(
                "the speakers' sample format {} is not supported",
                config.sample_format()
            ));
        }
        let channels = usize::from(config.channels()).max(1);
        let mono: Vec<f32> = clip
            .samples
            .iter()
            .map(|&s| f32::from(s) / f32::from(i16::MAX))
            .collect();
        let samples = Arc::new(resample(&mono, voice::PLAYBACK_RATE, config.sample_rate()));
        self.length = samples.len();
        self.position = Arc::new(AtomicUsize::new(0));
        let position = Arc::clone(&self.position);
        let stream = device
            .build_output_stream(
                config.into(),
                move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    for frame in out.chunks_mut(channels) {
                        let at = position.fetch_add(1, Ordering::Relaxed);
                        let value = samples.get(at).copied().unwrap_or(0.0);
                        frame.fill(value);
                    }
                },
                |e| eprintln!("sotto-desktop: speakers: {e}"),
                None,
            )
            .map_err(|e| format!("the speakers cannot play: {e}"))?;
        stream
            .play()
            .map_err(|e| format!("the speakers cannot play: {e}"))?;
        self.stream = Some(stream);
        Ok(())
    }

    fn stop(&mut self) {
        self.stream = None;
    }

    fn playing(&self) -> bool {
        self.stream.is_some() && self.position.load(Ordering::Relaxed) < self.length
    }
}

/// Clips "played" into a list, for tests.
#[derive(Debug, Default, Clone)]
pub struct RecordingOutput {
    /// Every clip played so far.
    pub played: Arc<Mutex<Vec<DecodedClip>>>,
}

impl VoiceOutput for RecordingOutput {
    fn play(&mut self, clip: DecodedClip) -> Result<(), String> {
        self.played
            .lock()
            .map_err(|_| "the list is gone".to_owned())?
            .push(clip);
        Ok(())
    }

    fn stop(&mut self) {}

    fn playing(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_length_in_time_and_the_shape() {
        let tone: Vec<f32> = (0..44_100)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 44_100.0).sin())
            .collect();
        let down = resample(&tone, 44_100, 16_000);
        assert_eq!(down.len(), 16_000);
        let expected = (100.0 * 440.0 * std::f32::consts::TAU / 16_000.0).sin();
        assert!(
            (down[100] - expected).abs() < 0.02,
            "{} vs {expected}",
            down[100]
        );
        assert_eq!(resample(&tone, 48_000, 48_000).len(), tone.len());
        assert!(resample(&[], 8_000, 48_000).is_empty());
    }
}
