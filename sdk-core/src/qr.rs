//! QR codes for out-of-band exchange: safety numbers now, invitations later.
//!
//! Any byte string becomes one QR symbol that a camera scan turns back into exactly the
//! same bytes. The symbol can be drawn as a PNG (for native shells) or an SVG (for the web
//! and for print).
//!
//! Encoding choices, pinned here and in `docs/PROTOCOL.md`:
//! - **One byte-mode segment, no ECI header.** The payload is binary (protobuf, key
//!   material), not text, so it is written as a single 8-bit byte segment and never
//!   re-encoded as UTF-8, numeric, alphanumeric or Kanji segments. A decoder reads the raw
//!   bytes back: with `rqrr`, `Grid::decode_to` into a `Vec<u8>` (`Grid::decode` rejects
//!   non-UTF-8 payloads); with ZXing, the `BYTE_SEGMENTS` result metadata or the ISO-8859-1
//!   character-set hint (one char per byte, lossless). A scanner left to guess a text
//!   encoding (UTF-8, Shift JIS) may corrupt binary payloads.
//! - **Error correction level M** (about 15% of the symbol recoverable). Q would survive
//!   more damage, but its largest symbol (version 40) holds only 1663 bytes, too few for an
//!   invitation, whose Kyber1024 prekey alone is 1569 bytes; M holds up to 2331 bytes.
//! - **The smallest version that fits** (1 to 40), so a code is as coarse, and as easy to
//!   scan, as its payload allows. The same bytes always give the same symbol.
//! - **Rendering**: a quiet zone of 4 modules on every side, 8 pixels per module, dark
//!   modules black on white. PNG images are 8-bit greyscale.

use std::fmt;

use qrcode::bits::Bits;
use qrcode::render::svg;
use qrcode::types::Mode;
use qrcode::{Color, EcLevel, Version};

/// The error-correction level of every Sotto QR code (see the module documentation).
const EC_LEVEL: EcLevel = EcLevel::M;

/// The largest payload, in bytes, that one QR code can carry at Sotto's error-correction
/// level (version 40, level M, byte mode).
pub const MAX_PAYLOAD_LEN: usize = 2331;

/// Light modules drawn around the symbol on every side, as the QR standard requires for
/// normal (non-micro) symbols so that scanners can find it.
pub const QUIET_ZONE_MODULES: u32 = 4;

/// Pixels per module, horizontally and vertically, in rendered images: large enough for a
/// phone camera to read a version-40 symbol off a screen.
pub const PIXELS_PER_MODULE: u32 = 8;

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The payload does not fit in the largest QR symbol at Sotto's error-correction level.
    #[error("data too long for a QR code: {len} bytes, at most {max} fit")]
    DataTooLong {
        /// Length of the payload that was refused.
        len: usize,
        /// The largest payload a code can carry ([`MAX_PAYLOAD_LEN`]).
        max: usize,
    },
    /// The QR encoder refused the payload for another reason (a bug if it ever happens).
    #[error("QR encoding failed: {0}")]
    Encode(String),
    /// The PNG encoder failed (a bug if it ever happens: the image is written to memory).
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// One QR symbol: its module matrix, ready to be drawn.
///
/// Build it with [`QrCode::encode`]; draw it with [`QrCode::to_png`] or
/// [`QrCode::to_svg`], or read the modules with [`QrCode::is_dark`] to draw it natively.
#[derive(Clone)]
pub struct QrCode {
    inner: qrcode::QrCode,
}

impl fmt::Debug for QrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrCode")
            .field("version", &self.version())
            .field("width", &self.width())
            .finish()
    }
}

impl QrCode {
    /// Encodes `data` as one byte-mode segment at level M in the smallest version that
    /// fits. Empty data is allowed (a version-1 symbol with an empty segment).
    pub fn encode(data: &[u8]) -> Result<Self, QrError> {
        let too_long = QrError::DataTooLong {
            len: data.len(),
            max: MAX_PAYLOAD_LEN,
        };
        if data.len() > MAX_PAYLOAD_LEN {
            return Err(too_long);
        }
        let version = (1..=40)
            .map(Version::Normal)
            .find(|&version| fits(data.len(), version))
            .ok_or(too_long)?;
        let mut bits = Bits::new(version);
        bits.push_byte_data(data).map_err(encode_error)?;
        bits.push_terminator(EC_LEVEL).map_err(encode_error)?;
        let inner = qrcode::QrCode::with_bits(bits, EC_LEVEL).map_err(encode_error)?;
        Ok(Self { inner })
    }

    /// The symbol version, 1 (21×21 modules) to 40 (177×177 modules).
    pub fn version(&self) -> u8 {
        match self.inner.version() {
            Version::Normal(v) | Version::Micro(v) => u8::try_from(v).unwrap_or(0),
        }
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.inner.width()
    }

    /// Whether the module in column `x`, row `y` (from the top-left, quiet zone excluded)
    /// is dark. Positions outside the symbol are light, like the quiet zone.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        let width = self.width();
        x < width && y < width && self.inner[(x, y)] == Color::Dark
    }

    /// Side length in pixels of the rendered image, quiet zone included.
    pub fn image_size(&self) -> u32 {
        // At most 177 modules (version 40): no truncation.
        let modules = self.width() as u32;
        (modules + 2 * QUIET_ZONE_MODULES) * PIXELS_PER_MODULE
    }

    /// Draws the symbol as a PNG image: 8-bit greyscale, black on white, 8 pixels per
    /// module, 4 modules of quiet zone on every side.
    pub fn to_png(&self) -> Result<Vec<u8>, QrError> {
        let size = self.image_size();
        let side = size as usize;
        let scale = PIXELS_PER_MODULE as usize;
        let quiet = QUIET_ZONE_MODULES as usize;
        let mut pixels = vec![u8::MAX; side * side];
        // Pixels in the quiet zone map to a module index below zero, which wraps to a huge
        // value that `is_dark` treats as outside the symbol, hence light.
        for (y, row) in pixels.chunks_exact_mut(side).enumerate() {
            let module_y = (y / scale).wrapping_sub(quiet);
            for (x, pixel) in row.iter_mut().enumerate() {
                let module_x = (x / scale).wrapping_sub(quiet);
                if self.is_dark(module_x, module_y) {
                    *pixel = 0;
                }
            }
        }

        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, size, size);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&pixels).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }

    /// Draws the symbol as a standalone SVG document (qrcode's renderer): black on white,
    /// one 8-unit square per module, 4 modules of quiet zone, `shape-rendering="crispEdges"`.
    pub fn to_svg(&self) -> String {
        self.inner
            .render::<svg::Color<'_>>()
            .quiet_zone(true)
            .module_dimensions(PIXELS_PER_MODULE, PIXELS_PER_MODULE)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build()
    }
}

/// Encodes `data` (see [`QrCode::encode`]) and draws it as a PNG (see [`QrCode::to_png`]).
pub fn render_png(data: &[u8]) -> Result<Vec<u8>, QrError> {
    QrCode::encode(data)?.to_png()
}

/// Encodes `data` (see [`QrCode::encode`]) and draws it as an SVG document (see
/// [`QrCode::to_svg`]).
pub fn render_svg(data: &[u8]) -> Result<String, QrError> {
    Ok(QrCode::encode(data)?.to_svg())
}

/// Whether a byte segment of `len` bytes fits in `version` at Sotto's level: mode indicator
/// (4 bits), length field, 8 bits per byte, within the version's data capacity.
fn fits(len: usize, version: Version) -> bool {
    let length_bits = Mode::Byte.length_bits_count(version);
    let Ok(capacity) = Bits::new(version).max_len(EC_LEVEL) else {
        return false;
    };
    len < (1 << length_bits) && 4 + length_bits + 8 * len <= capacity
}

fn encode_error(error: qrcode::types::QrError) -> QrError {
    QrError::Encode(error.to_string())
}

fn png_error(error: png::EncodingError) -> QrError {
    QrError::Png(error.to_string())
}
