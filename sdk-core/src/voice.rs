//! Voice clips in the project's one format (`docs/PROTOCOL.md` §8.1): Ogg Opus (RFC 7845),
//! mono, encoded from 16 kHz speech at 24 kbit/s in 20 ms frames, so that every client
//! records what every other one plays (browsers play Ogg Opus natively).
//!
//! Here because every client needs the same encoder and the core builds for every target:
//! the encoder is `opus-rs`, a pure-Rust port of libopus (no C, so it builds for wasm32 as
//! it does natively), and the container is written by the `ogg` crate. Debian's `opusinfo`
//! and `opusdec` accept what [`VoiceRecorder`] makes (tested).
//!
//! - [`VoiceRecorder`] takes PCM as it is captured and gives back the clip's bytes, its
//!   length and a waveform for drawing it.
//! - [`inspect`] reads an Ogg Opus file's headers and length without decoding audio (for a
//!   clip made elsewhere, e.g. `opusenc`): the length is the last page's granule position
//!   less the pre-skip.
//! - [`decode`] turns a clip into PCM for playing it: mono, 48 kHz (Opus's own rate, which
//!   every sound card plays), the pre-skip dropped and the end trimmed to the stream's
//!   length, as RFC 7845 asks. A clip is the sender's data: a packet the decoder refuses,
//!   or one that makes it panic, ends decoding with an error, never the app.

use ogg::{PacketReader, PacketWriteEndInfo, PacketWriter};
use opus_rs::{Application, OpusDecoder, OpusEncoder};

/// The codec name voice clips carry in their message.
pub const CODEC: &str = "opus";
/// The MIME type of a voice clip's file.
pub const MEDIA_TYPE: &str = "audio/ogg; codecs=opus";
/// The sample rate [`VoiceRecorder`] takes.
pub const SAMPLE_RATE: u32 = 16_000;
/// The longest clip a recorder makes (and the longest [`inspect`] accepts): 30 minutes.
pub const MAX_DURATION_MS: u64 = 30 * 60 * 1000;
/// Samples per 20 ms frame at [`SAMPLE_RATE`].
const FRAME: usize = 320;
/// Opus's granule positions count 48 kHz samples whatever the input rate.
const GRANULE_PER_FRAME: u64 = 960;
/// The encoder's lookahead at 48 kHz (libopus's 6.5 ms), which players skip.
const PRE_SKIP: u16 = 312;
/// Bits per second of speech.
const BITRATE: i32 = 24_000;
/// Packets per Ogg page (one second of audio).
const PACKETS_PER_PAGE: usize = 50;
/// Bars in a clip's waveform (at most [`crate::content::MAX_WAVEFORM_SAMPLES`]).
const WAVEFORM_BARS: usize = 64;
/// The stream serial of clips made here (one logical stream per file).
const SERIAL: u32 = 0x5077_0001;
/// The rate [`decode`] gives PCM at.
pub const PLAYBACK_RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_PACKET_SAMPLES: usize = 5760;
/// Longest file [`inspect`] reads (30 minutes at well over the bitrate).
const MAX_INSPECTED_BYTES: usize = 64 * 1024 * 1024;

/// Why a voice clip could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceError {
    /// The encoder refused its settings or a frame.
    #[error("voice encoding failed: {0}")]
    Encoder(&'static str),
    /// The recording passed [`MAX_DURATION_MS`].
    #[error("a voice clip is at most {} minutes", MAX_DURATION_MS / 60_000)]
    TooLong,
    /// The bytes are not an Ogg Opus stream this client reads.
    #[error("not an Ogg Opus voice clip: {0}")]
    NotOpus(String),
}

/// A finished voice clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceClip {
    /// The Ogg Opus file.
    pub bytes: Vec<u8>,
    /// Its length in milliseconds.
    pub duration_ms: u32,
    /// Loudness over the clip, 0 to 255 per bar (for drawing it; empty when unknown).
    pub waveform: Vec<u8>,
}

/// Encodes a voice clip as it is recorded: 16 kHz mono PCM in, Ogg Opus out.
pub struct VoiceRecorder {
    encoder: OpusEncoder,
    writer: PacketWriter<'static, Vec<u8>>,
    /// Samples not yet making a whole frame.
    pending: Vec<i16>,
    /// The encoded packet waiting to be written (the last one ends the stream).
    held: Option<Vec<u8>>,
    frames: u64,
    /// Each frame's peak, for the waveform.
    peaks: Vec<u16>,
    /// The last page's granule position, once known.
    end_granule: Option<u64>,
}

impl std::fmt::Debug for VoiceRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceRecorder")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl VoiceRecorder {
    /// A recorder with the stream's two header packets written.
    ///
    /// # Errors
    /// [`VoiceError::Encoder`] if the encoder cannot be made.
    pub fn new() -> Result<Self, VoiceError> {
        let mut encoder = OpusEncoder::new(SAMPLE_RATE as i32, 1, Application::Voip)
            .map_err(VoiceError::Encoder)?;
        encoder.bitrate_bps = BITRATE;
        let mut writer = PacketWriter::new(Vec::new());
        let written = writer
            .write_packet(opus_head(), SERIAL, PacketWriteEndInfo::EndPage, 0)
            .and_then(|()| {
                writer.write_packet(opus_tags(), SERIAL, PacketWriteEndInfo::EndPage, 0)
            });
        written.map_err(|_| VoiceError::Encoder("writing the stream's headers"))?;
        Ok(Self {
            encoder,
            writer,
            pending: Vec::with_capacity(FRAME),
            held: None,
            frames: 0,
            peaks: Vec::new(),
            end_granule: None,
        })
    }

    /// Milliseconds recorded so far.
    pub fn duration_ms(&self) -> u64 {
        (self.frames * FRAME as u64 + self.pending.len() as u64) * 1000 / u64::from(SAMPLE_RATE)
    }

    /// Adds captured samples (16 kHz, mono, any count).
    ///
    /// # Errors
    /// [`VoiceError::TooLong`] past [`MAX_DURATION_MS`] (what came before stays);
    /// [`VoiceError::Encoder`] if a frame cannot be encoded.
    pub fn push(&mut self, mut samples: &[i16]) -> Result<(), VoiceError> {
        if self.duration_ms() + samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)
            > MAX_DURATION_MS
        {
            return Err(VoiceError::TooLong);
        }
        while !samples.is_empty() {
            let take = (FRAME - self.pending.len()).min(samples.len());
            self.pending.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.pending.len() == FRAME {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    fn encode_pending(&mut self) -> Result<(), VoiceError> {
        self.pending.resize(FRAME, 0);
        let peak = self
            .pending
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        self.peaks.push(peak);
        let mut packet = vec![0u8; 1500];
        let len = self
            .encoder
            .encode_i16(&self.pending, FRAME, &mut packet)
            .map_err(VoiceError::Encoder)?;
        packet.truncate(len);
        self.pending.clear();
        self.write_held(PacketWriteEndInfo::NormalPacket)?;
        self.held = Some(packet);
        self.frames += 1;
        Ok(())
    }

    /// Writes the packet held back, ending its page every second or the stream as told.
    fn write_held(&mut self, end: PacketWriteEndInfo) -> Result<(), VoiceError> {
        let Some(packet) = self.held.take() else {
            return Ok(());
        };
        let end = match end {
            PacketWriteEndInfo::NormalPacket
                if self.frames.is_multiple_of(PACKETS_PER_PAGE as u64) =>
            {
                PacketWriteEndInfo::EndPage
            }
            other => other,
        };
        // The last page's granule position is the stream's true end (RFC 7845 §4): the
        // pre-skip plus what was recorded, so players drop the padding.
        let granule = match (end, self.end_granule) {
            (PacketWriteEndInfo::EndStream, Some(end)) => end,
            _ => self.frames * GRANULE_PER_FRAME,
        };
        self.writer
            .write_packet(packet, SERIAL, end, granule)
            .map_err(|_| VoiceError::Encoder("writing a page"))
    }

    /// Ends the clip: the last partial frame is padded with silence, the stream closed.
    ///
    /// # Errors
    /// [`VoiceError::Encoder`] if the last frame cannot be encoded.
    pub fn finish(mut self) -> Result<VoiceClip, VoiceError> {
        // What was recorded, before the padding.
        let duration_ms = u32::try_from(self.duration_ms()).unwrap_or(u32::MAX);
        let recorded = self.frames * FRAME as u64 + self.pending.len() as u64;
        if !self.pending.is_empty() || self.frames == 0 {
            self.encode_pending()?;
        }
        // The stream must decode to at least the pre-skip plus what was recorded: when the
        // padded last frame falls short (the encoder's lookahead), one frame of silence
        // more. The end granule then lies in the last packet, which trims it (RFC 7845 §4).
        let end = u64::from(PRE_SKIP) + recorded * (48_000 / u64::from(SAMPLE_RATE));
        if self.frames * GRANULE_PER_FRAME < end {
            self.encode_pending()?;
            self.peaks.pop();
        }
        self.end_granule = Some(end);
        self.write_held(PacketWriteEndInfo::EndStream)?;
        let waveform = waveform(&self.peaks);
        Ok(VoiceClip {
            bytes: self.writer.into_inner(),
            duration_ms,
            waveform,
        })
    }
}

/// The peaks of every frame folded into [`WAVEFORM_BARS`] bars of 0 to 255.
fn waveform(peaks: &[u16]) -> Vec<u8> {
    if peaks.is_empty() {
        return Vec::new();
    }
    let bars = WAVEFORM_BARS.min(peaks.len());
    (0..bars)
        .map(|bar| {
            let from = bar * peaks.len() / bars;
            let to = ((bar + 1) * peaks.len() / bars).max(from + 1);
            let peak = peaks[from..to].iter().copied().max().unwrap_or(0);
            u8::try_from(u32::from(peak) * 255 / 32768).unwrap_or(u8::MAX)
        })
        .collect()
}

fn opus_head() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&PRE_SKIP.to_le_bytes());
    head.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family: mono or stereo
    head
}

fn opus_tags() -> Vec<u8> {
    let vendor = b"sotto";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes()); // no comments
    tags
}

/// What [`inspect`] learns from a clip's container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipInfo {
    /// Its length in milliseconds.
    pub duration_ms: u32,
    /// Channels (1 or 2).
    pub channels: u8,
}

/// Reads an Ogg Opus file's identification header and its length, without decoding audio.
///
/// # Errors
/// [`VoiceError::NotOpus`] for bytes that are not an Ogg stream, whose first packet is not
/// an `OpusHead` of version 0 to 15 with 1 or 2 channels, that has no `OpusTags`, or that
/// is larger than 64 MiB; [`VoiceError::TooLong`] past [`MAX_DURATION_MS`].
pub fn inspect(bytes: &[u8]) -> Result<ClipInfo, VoiceError> {
    if bytes.len() > MAX_INSPECTED_BYTES {
        return Err(VoiceError::NotOpus("larger than 64 MiB".into()));
    }
    let not_opus = |why: &str| VoiceError::NotOpus(why.to_owned());
    let mut packets = PacketReader::new(std::io::Cursor::new(bytes));
    let mut next = || {
        packets
            .read_packet()
            .map_err(|e| VoiceError::NotOpus(e.to_string()))
    };
    let head = next()?.ok_or_else(|| not_opus("empty"))?;
    let data = &head.data;
    if data.len() < 19 || &data[..8] != b"OpusHead" {
        return Err(not_opus("no OpusHead"));
    }
    if data[8] > 15 {
        return Err(not_opus("an OpusHead version this client does not read"));
    }
    let channels = data[9];
    if !(1..=2).contains(&channels) {
        return Err(not_opus("a voice clip has one or two channels"));
    }
    let pre_skip = u64::from(u16::from_le_bytes([data[10], data[11]]));
    let serial = head.stream_serial();
    let tags = next()?.ok_or_else(|| not_opus("no OpusTags"))?;
    if tags.data.len() < 8 || &tags.data[..8] != b"OpusTags" {
        return Err(not_opus("no OpusTags"));
    }
    let mut last_granule = 0;
    while let Some(packet) = next()? {
        if packet.stream_serial() != serial {
            return Err(not_opus("more than one logical stream"));
        }
        if packet.last_in_page() {
            last_granule = packet.absgp_page();
        }
    }
    let duration_ms = last_granule.saturating_sub(pre_skip) / 48;
    if duration_ms > MAX_DURATION_MS {
        return Err(VoiceError::TooLong);
    }
    Ok(ClipInfo {
        duration_ms: u32::try_from(duration_ms).unwrap_or(u32::MAX),
        channels,
    })
}

/// A clip decoded for playing: mono PCM at [`PLAYBACK_RATE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedClip {
    /// The samples.
    pub samples: Vec<i16>,
}

impl DecodedClip {
    /// Its length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(PLAYBACK_RATE)
    }
}

/// Decodes a clip to mono PCM at [`PLAYBACK_RATE`] (stereo clips are mixed down).
///
/// # Errors
/// As [`inspect`]; [`VoiceError::NotOpus`] for a packet that does not decode.
pub fn decode(bytes: &[u8]) -> Result<DecodedClip, VoiceError> {
    let info = inspect(bytes)?;
    let mut decoder = OpusDecoder::new(PLAYBACK_RATE as i32, 1).map_err(VoiceError::Encoder)?;
    let mut packets = PacketReader::new(std::io::Cursor::new(bytes));
    let mut next = || {
        packets
            .read_packet()
            .map_err(|e| VoiceError::NotOpus(e.to_string()))
    };
    let head = next()?.ok_or_else(|| VoiceError::NotOpus("empty".into()))?;
    let pre_skip = usize::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    next()?; // OpusTags, checked by `inspect`
    // The stream's length (inspect's), plus what the pre-skip drops.
    let wanted = info.duration_ms as usize * (PLAYBACK_RATE as usize / 1000) + pre_skip;
    let mut samples = Vec::with_capacity(wanted.min(PLAYBACK_RATE as usize * 600));
    let mut frame = vec![0f32; MAX_PACKET_SAMPLES];
    while let Some(packet) = next()? {
        if samples.len() >= wanted {
            break;
        }
        let data = packet.data;
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decoder.decode(&data, MAX_PACKET_SAMPLES, &mut frame)
        }));
        let count = match decoded {
            Ok(Ok(count)) => count.min(MAX_PACKET_SAMPLES),
            Ok(Err(why)) => {
                return Err(VoiceError::NotOpus(format!(
                    "a packet does not decode: {why}"
                )));
            }
            Err(_) => {
                return Err(VoiceError::NotOpus(
                    "a packet the decoder cannot read".into(),
                ));
            }
        };
        samples.extend(
            frame[..count]
                .iter()
                .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16),
        );
    }
    samples.truncate(wanted);
    let samples = samples.split_off(pre_skip.min(samples.len()));
    Ok(DecodedClip { samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tone with a rising and falling loudness, like a word.
    fn speech_like(samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                let envelope = (t * std::f64::consts::PI * 2.0).sin().abs();
                (envelope * 12_000.0 * (t * 2.0 * std::f64::consts::PI * 220.0).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn a_recording_decodes_to_its_length_and_its_sound() {
        let mut recorder = VoiceRecorder::new().unwrap();
        let pcm = speech_like(2 * SAMPLE_RATE as usize);
        recorder.push(&pcm).unwrap();
        let clip = recorder.finish().unwrap();
        let decoded = decode(&clip.bytes).unwrap();
        assert_eq!(decoded.duration_ms(), u64::from(clip.duration_ms));
        // The tone comes back: the decoded loudness is close to the input's.
        let rms = |s: &[i16], step: usize| {
            let picked: Vec<f64> = s.iter().step_by(step).map(|&v| f64::from(v)).collect();
            (picked.iter().map(|v| v * v).sum::<f64>() / picked.len() as f64).sqrt()
        };
        let (sent, played) = (rms(&pcm, 1), rms(&decoded.samples, 3));
        assert!(
            (played / sent - 1.0).abs() < 0.35,
            "loudness sent {sent:.0}, played {played:.0}"
        );
    }

    #[test]
    fn a_damaged_clip_is_refused_or_decoded_never_a_panic() {
        let mut recorder = VoiceRecorder::new().unwrap();
        recorder.push(&speech_like(SAMPLE_RATE as usize)).unwrap();
        let clip = recorder.finish().unwrap();
        assert!(decode(&clip.bytes[..clip.bytes.len() / 2]).is_err());
        assert!(decode(b"OggS not really").is_err());
        // Every byte of the audio pages flipped in turn (the headers' damage is `inspect`'s).
        let audio_start = clip.bytes.len() / 3;
        for at in (audio_start..clip.bytes.len()).step_by(7) {
            let mut damaged = clip.bytes.clone();
            damaged[at] ^= 0x5a;
            let _ = decode(&damaged);
        }
    }

    #[test]
    fn a_recording_reads_back_with_its_length_and_a_waveform() {
        let mut recorder = VoiceRecorder::new().unwrap();
        // Pushed in uneven pieces, as a capture callback delivers them.
        let pcm = speech_like(3 * SAMPLE_RATE as usize + 123);
        for piece in pcm.chunks(1000) {
            recorder.push(piece).unwrap();
        }
        let clip = recorder.finish().unwrap();
        assert_eq!(clip.duration_ms, 3007);
        assert_eq!(clip.waveform.len(), WAVEFORM_BARS);
        assert!(
            clip.waveform.iter().any(|&bar| bar > 50),
            "{:?}",
            clip.waveform
        );
        let info = inspect(&clip.bytes).unwrap();
        assert_eq!(info.channels, 1);
        // The end granule is the recording's true end: its padding is trimmed by players.
        assert_eq!(info.duration_ms, clip.duration_ms);
    }

    #[test]
    fn an_empty_recording_is_one_silent_frame() {
        let clip = VoiceRecorder::new().unwrap().finish().unwrap();
        assert_eq!(clip.duration_ms, 0);
        assert!(inspect(&clip.bytes).is_ok());
    }

    #[test]
    fn a_recording_stops_at_the_longest_clip() {
        let mut recorder = VoiceRecorder::new().unwrap();
        recorder.push(&[0; 1000]).unwrap();
        let too_much = vec![0i16; (MAX_DURATION_MS * u64::from(SAMPLE_RATE) / 1000) as usize];
        assert_eq!(recorder.push(&too_much), Err(VoiceError::TooLong));
        // What came before stays.
        assert_eq!(recorder.finish().unwrap().duration_ms, 62);
    }

    #[test]
    fn what_is_not_ogg_opus_is_refused() {
        let clip = VoiceRecorder::new().unwrap().finish().unwrap();
        let mut not_opus = clip.bytes.clone();
        // The OpusHead magic, on the first page after its 28-byte header and 1 lacing byte.
        let at = not_opus.windows(8).position(|w| w == b"OpusHead").unwrap();
        not_opus[at] = b'X';
        for bytes in [&b""[..], b"OggS", &clip.bytes[..40], &not_opus[..]] {
            assert!(
                matches!(inspect(bytes), Err(VoiceError::NotOpus(_))),
                "{bytes:?}"
            );
        }
    }
}
