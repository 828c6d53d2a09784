// Accepting an invitation with the camera: Chromium's fake camera plays a video of the
// inviter's QR code (a Y4M file made here from the link), the page reads it with jsQR from
// the camera's frames, and the two people meet.
import { after, test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import QRCode from "qrcode";
import { chromium } from "playwright-core";
import { Person, launch, serveApp } from "./people.mjs";

/** A Y4M video (4:2:0, a few identical frames) showing `text` as a QR code. */
function qrVideo(text) {
  const width = 640;
  const height = 480;
  const { modules } = QRCode.create(text, { errorCorrectionLevel: "M" });
  const quiet = 4;
  const scale = Math.floor(Math.min(width, height) / (modules.size + 2 * quiet));
  const left = Math.floor((width - scale * modules.size) / 2);
  const top = Math.floor((height - scale * modules.size) / 2);
  const luma = Buffer.alloc(width * height, 235);
  for (let y = 0; y < modules.size; y++) {
    for (let x = 0; x < modules.size; x++) {
      if (!modules.get(y, x)) continue;
      for (let dy = 0; dy < scale; dy++) luma.fill(16, (top + y * scale + dy) * width + left + x * scale, (top + y * scale + dy) * width + left + (x + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), luma, chroma, chroma]);
  const file = join(mkdtempSync(join(tmpdir(), "sotto-camera-")), "qr.y4m");
  writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`), frame, frame, frame]));
  return file;
}

const browsers = [];
after(() => Promise.all(browsers.map((browser) => browser.close())));

test("an invitation is accepted by scanning its QR code with the camera", { timeout: 180_000 }, async () => {
  const served = await serveApp();
  try {
    const inviterBrowser = await launch();
    browsers.push(inviterBrowser);
    const frank = await Person.arrive(inviterBrowser, served.origin, "Frank");
    await frank.createProfile();
    await frank.page.getByRole("button", { name: "Invite" }).click();
    const link = await frank.page.locator("#invitation-link").inputValue();

    // Grace's browser has a camera that sees Frank's code.
    const cameraBrowser = await chromium.launch({
      executablePath: process.env.SOTTO_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        `--use-file-for-fake-video-capture=${qrVideo(link)}`,
      ],
    });
    browsers.push(cameraBrowser);
    const grace = await Person.arrive(cameraBrowser, served.origin, "Grace");
    await grace.createProfile();
    await grace.page.getByRole("button", { name: "Accept invitation" }).click();
    await grace.page.getByRole("button", { name: "Scan with the camera" }).click();
    await grace.page.waitForFunction((wanted) => document.querySelector("#accept-link")?.value === wanted, link, { timeout: 30_000 });
    await grace.page.getByLabel("Their name (optional)").fill("Frank");
    await grace.page.getByRole("button", { name: "Accept", exact: true }).click();
    await grace.page.getByRole("heading", { level: 2, name: /^Frank/ }).waitFor({ timeout: 60_000 });
    await frank.page.getByRole("heading", { level: 2, name: /^Grace/ }).waitFor({ timeout: 60_000 });
  } finally {
    served.server.close();
  }
});
