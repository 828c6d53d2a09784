//! What Sotto's example clients (the `sotto` CLI, the desktop app) learn from a file the
//! user picked before sending it: an image's size and preview, a voice clip's length, a
//! file's MIME type; and the invitation link in a picture of a QR code. Only files the
//! user chose pass through here; nothing that arrives from the network does.

use std::io::Cursor;
use std::path::Path;

use image::ImageFormat;
use sotto_core::client::AttachmentKind;
use sotto_core::content::MAX_THUMBNAIL_BYTES;
use sotto_core::voice::{self, VoiceClip, VoiceRecorder};

/// Why a picked file cannot be sent as asked.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file cannot be opened or read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not what it was picked as (not an image, not a clip, no QR code).
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl MediaError {
    fn unreadable(path: &Path, reason: impl std::fmt::Display) -> Self {
        MediaError::Unreadable {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    fn invalid(path: &Path, reason: impl std::fmt::Display) -> Self {
        MediaError::Invalid {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Decodes the picture at `path` (PNG, JPEG, GIF or WebP).
///
/// # Errors
/// [`MediaError::Unreadable`] if it cannot be read; [`MediaError::Invalid`] if it is not
/// a picture of those formats.
pub fn decode_image(path: &Path) -> Result<(ImageFormat, image::DynamicImage), MediaError> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| MediaError::unreadable(path, e))?
        .with_guessed_format()
        .map_err(|e| MediaError::unreadable(path, e))?;
    let format = reader
        .format()
        .ok_or_else(|| MediaError::invalid(path, "not an image this client reads"))?;
    let picture = reader
        .decode()
        .map_err(|e| MediaError::invalid(path, format!("not an image this client reads ({e})")))?;
    Ok((format, picture))
}

/// An image's kind: MIME type, size in pixels and a JPEG preview of at most
/// [`MAX_THUMBNAIL_BYTES`] (a blurred hint, shown until the image itself is downloaded).
///
/// # Errors
/// As [`decode_image`].
pub fn image_kind(path: &Path) -> Result<AttachmentKind, MediaError> {
    let (format, picture) = decode_image(path)?;
    let mut thumbnail = Vec::new();
    // Smaller until the preview fits the message.
    for side in [48, 40, 32, 24, 16] {
        let mut encoded = Vec::new();
        let small = picture.thumbnail(side, side).to_rgb8();
        image::DynamicImage::ImageRgb8(small)
            .write_to(&mut Cursor::new(&mut encoded), ImageFormat::Jpeg)
            .map_err(|e| MediaError::invalid(path, e))?;
        if encoded.len() <= MAX_THUMBNAIL_BYTES {
            thumbnail = encoded;
            break;
        }
    }
    Ok(AttachmentKind::Image {
        mime: format.to_mime_type().to_owned(),
        width: picture.width(),
        height: picture.height(),
        thumbnail,
    })
}

/// A voice clip's kind: its length read from the Ogg Opus container by the core
/// ([`voice::inspect`]); no waveform (that comes with recording).
///
/// # Errors
/// [`MediaError::Unreadable`]; [`MediaError::Invalid`] for anything but an Ogg Opus clip.
pub fn voice_kind(path: &Path) -> Result<AttachmentKind, MediaError> {
    let bytes = std::fs::read(path).map_err(|e| MediaError::unreadable(path, e))?;
    let info = voice::inspect(&bytes).map_err(|e| MediaError::invalid(path, e))?;
    Ok(AttachmentKind::VoiceClip {
        duration_ms: info.duration_ms,
        codec: voice::CODEC.to_owned(),
        waveform: Vec::new(),
    })
}

/// The kind of a recorded clip, with its length and waveform.
pub fn recorded_kind(clip: &VoiceClip) -> AttachmentKind {
    AttachmentKind::VoiceClip {
        duration_ms: clip.duration_ms,
        codec: voice::CODEC.to_owned(),
        waveform: clip.waveform.clone(),
    }
}

/// A file's kind: its name (without the path) and a MIME type guessed from the extension.
///
/// # Errors
/// [`MediaError::Invalid`] for a path without a (UTF-8) file name.
pub fn file_kind(path: &Path) -> Result<AttachmentKind, MediaError> {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| MediaError::invalid(path, "no file name"))?;
    Ok(AttachmentKind::File {
        name: name.to_owned(),
        mime: mime_of(path).to_owned(),
    })
}

/// A MIME type guessed from a file name's extension (`application/octet-stream` when
/// unknown).
pub fn mime_of(path: &Path) -> &'static str {
    ImageFormat::from_path(path)
        .map(|format| format.to_mime_type())
        .unwrap_or(match path.extension().and_then(|e| e.to_str()) {
            Some("txt") => "text/plain",
            Some("pdf") => "application/pdf",
            Some("ogg" | "opus") => "audio/ogg",
            _ => "application/octet-stream",
        })
}

/// Whether a file name looks like a picture this client reads (for dropped files).
pub fn looks_like_image(path: &Path) -> bool {
    matches!(
        ImageFormat::from_path(path),
        Ok(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)
    )
}

/// The bytes of the first QR code found in the picture at `path` (an invitation or a
/// safety number shown by another device, saved as an image), read as raw bytes: a safety
/// number's code is binary (see `sotto_core::qr`).
///
/// # Errors
/// As [`decode_image`]; [`MediaError::Invalid`] when no QR code can be read in it.
pub fn decode_qr(path: &Path) -> Result<Vec<u8>, MediaError> {
    let (_, picture) = decode_image(path)?;
    let grey = picture.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        grey.width() as usize,
        grey.height() as usize,
        |x, y| grey.get_pixel(x as u32, y as u32).0[0],
    );
    for grid in prepared.detect_grids() {
        let mut bytes = Vec::new();
        if grid.decode_to(&mut bytes).is_ok() {
            return Ok(bytes);
        }
    }
    Err(MediaError::invalid(
        path,
        "no QR code could be read in this picture",
    ))
}

/// Records a voice clip from a WAV file of 16-bit mono speech at 16 kHz, as a microphone
/// would deliver it (the tests' and scripts' audio source).
///
/// # Errors
/// [`MediaError::Unreadable`]; [`MediaError::Invalid`] for another sample format or rate,
/// or a clip the recorder refuses (longer than [`voice::MAX_DURATION_MS`]).
pub fn record_wav(path: &Path) -> Result<VoiceClip, MediaError> {
    let reader = hound::WavReader::open(path).map_err(|e| MediaError::unreadable(path, e))?;
    let spec = reader.spec();
    if spec.channels != 1
        || spec.sample_rate != voice::SAMPLE_RATE
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(MediaError::invalid(
            path,
            format!(
                "voice input is 16-bit mono PCM at {} Hz, this is {} channel(s) of {}-bit at {} Hz",
                voice::SAMPLE_RATE,
                spec.channels,
                spec.bits_per_sample,
                spec.sample_rate
            ),
        ));
    }
    let mut recorder = VoiceRecorder::new().map_err(|e| MediaError::invalid(path, e))?;
    let mut block = Vec::with_capacity(1600);
    for sample in reader.into_samples::<i16>() {
        block.push(sample.map_err(|e| MediaError::invalid(path, e))?);
        if block.len() == block.capacity() {
            recorder
                .push(&block)
                .map_err(|e| MediaError::invalid(path, e))?;
            block.clear();
        }
    }
    recorder
        .push(&block)
        .map_err(|e| MediaError::invalid(path, e))?;
    recorder.finish().map_err(|e| MediaError::invalid(path, e))
}
