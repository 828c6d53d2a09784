//! Reading QR codes back as a scanning device does (rqrr on the rendered PNG).

#![allow(dead_code)]

/// What a scanning device does: read the PNG's pixels, find the QR code, take its raw bytes.
pub fn scan_png(png_bytes: &[u8]) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut pixels).expect("PNG frame");
    assert_eq!(frame.color_type, png::ColorType::Grayscale);
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    assert_eq!(frame.width, frame.height, "QR images are square");
    let (width, line) = (frame.width as usize, frame.line_size);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, frame.height as usize, |x, y| {
            pixels[y * line + x]
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code in the image");
    let mut bytes = Vec::new();
    grids[0].decode_to(&mut bytes).expect("QR decodes");
    bytes
}
