// Pictures and QR codes in the page: an image's size and its thumbnail (sent with it), a
// QR code read from a picture or a camera frame (jsQR), a link drawn as a QR code (qrcode).
import jsQR from "jsqr";
import QRCode from "qrcode";
import { constants } from "sotto";

/** Whether the browser can show `file` as a picture. */
export function isImage(file: Blob): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(file.type);
}

/** An image's size and a thumbnail of at most 1 KiB (JPEG), or null if it does not decode. */
export async function imageInfo(file: Blob): Promise<{ width: number; height: number; thumbnail: Uint8Array } | null> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return null;
  }
  const { width, height } = bitmap;
  let thumbnail = new Uint8Array();
  for (const [side, quality] of [[48, 0.6], [32, 0.5], [24, 0.4]] as const) {
    const scale = side / Math.max(width, height, 1);
    const canvas = new OffscreenCanvas(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)));
    canvas.getContext("2d")?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const jpeg = new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality })).arrayBuffer());
    if (jpeg.length <= constants.maxThumbnailBytes) {
      thumbnail = jpeg;
      break;
    }
  }
  bitmap.close();
  return { width, height, thumbnail };
}

/** What a QR code holds: its text and its bytes. */
export interface Scanned {
  text: string;
  bytes: Uint8Array;
}

/** Reads the QR code in a picture's pixels, or null. */
export function scanPixels(pixels: ImageData): Scanned | null {
  const code = jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: "attemptBoth" });
  return code ? { text: code.data, bytes: Uint8Array.from(code.binaryData) } : null;
}

/** Reads the QR code in a picture file, or null. */
export async function scanImage(file: Blob): Promise<Scanned | null> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return null;
  }
  // Large photos are read at most 1600 pixels across: enough for a code, and fast.
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) return null;
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return scanPixels(context.getImageData(0, 0, canvas.width, canvas.height));
}

/** A QR code of `text` as an `<img>` source (a blob: URL of an SVG). */
export async function qrImage(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: "svg", errorCorrectionLevel: "M", margin: 4 });
  return URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
}

/** An SVG document as an `<img>` source. */
export function svgImage(svg: string): string {
  return URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
}
