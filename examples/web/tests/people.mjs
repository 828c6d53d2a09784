// What the web client's tests share: the built app served with its headers, Debian's
// chromium driven by playwright-core (with a fake microphone that speaks a WAV file), and a
// person: one browser context using the app as a user does, by labels and roles.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import { parseRelayList, serve } from "../serve.mjs";

/** The relays scripts/web started. */
export const relays = parseRelayList(process.env.SOTTO_TEST_RELAYS);

/** Where screenshots of every screen go (scripts/web: target/web/). */
export const screenshots = process.env.SOTTO_WEB_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "sotto-web-shots-"));
mkdirSync(screenshots, { recursive: true });

/** A WAV of speech for Chromium's fake microphone (espeak-ng). */
export function speechWav(text) {
  const file = join(mkdtempSync(join(tmpdir(), "sotto-speech-")), "speech.wav");
  execFileSync("espeak-ng", ["-w", file, text]);
  return file;
}

/** Debian's chromium, headless, its microphone and camera fake and allowed. */
export function launch(audioFile) {
  return chromium.launch({
    executablePath: process.env.SOTTO_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      ...(audioFile ? [`--use-file-for-fake-audio-capture=${audioFile}`] : []),
    ],
  });
}

/** The app, built in dist/, served on loopback with its headers and relays.json. */
export function serveApp(extraPages = {}) {
  return serve({ relays, extraPages });
}

/** Serious and critical accessibility violations on the page as it is now. */
export async function accessibilityProblems(page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** One person: a browser context of their own (their own storage) on the app. */
export class Person {
  constructor(name, passphrase, context, page) {
    this.name = name;
    this.passphrase = passphrase;
    this.context = context;
    this.page = page;
    this.errors = [];
    page.on("pageerror", (error) => this.errors.push(String(error)));
  }

  static async arrive(browser, origin, name) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, acceptDownloads: true });
    await context.grantPermissions(["microphone", "camera", "clipboard-read", "clipboard-write"], { origin });
    const page = await context.newPage();
    await page.goto(origin);
    return new Person(name, `${name}'s passphrase, long enough`, context, page);
  }

  /** Saves a screenshot of the page as target/web/`name`.png. */
  async shot(name) {
    await this.page.screenshot({ path: join(screenshots, `${name}.png`) });
  }

  /** The first run: name, the relays served by the host, passphrase; no cover traffic. */
  async createProfile({ cover = false } = {}) {
    const page = this.page;
    await page.getByLabel("Your name").fill(this.name);
    // The host's relays.json fills the relays in.
    await assert.doesNotReject(page.waitForFunction(() => document.querySelector("#relays")?.value.includes("sotto://")));
    await page.getByLabel("Passphrase", { exact: true }).fill(this.passphrase);
    await page.getByLabel("Passphrase again").fill(this.passphrase);
    if (!cover) await page.getByLabel(/cover traffic/).uncheck();
    await page.getByRole("button", { name: "Create my profile" }).click();
    await page.getByRole("button", { name: "Invite" }).waitFor({ timeout: 60_000 });
  }

  /** Opens the conversation with `name`. */
  async open(name) {
    await this.page.getByRole("navigation", { name: "Contacts" }).getByRole("button", { name: new RegExp(`^${name}`) }).click();
    await this.page.getByRole("heading", { level: 2, name: new RegExp(`^${name}`) }).waitFor();
  }

  /** The message rows of the open conversation. */
  messages() {
    return this.page.locator("ol.messages > li");
  }

  /** Sends a text from the open conversation's composer. */
  async sendText(text) {
    await this.page.getByLabel("Message", { exact: true }).fill(text);
    await this.page.getByLabel("Message", { exact: true }).press("Enter");
  }

  /** Waits until the open conversation shows a message with `text`. */
  async sees(text, timeout = 60_000) {
    await this.messages().filter({ hasText: text }).last().waitFor({ timeout });
  }

  /** The status of my last message reaches `status`. */
  async lastStatusIs(status, timeout = 60_000) {
    await this.page.locator("li.message.outgoing").last().locator(".status", { hasText: status }).waitFor({ timeout });
  }
}

/** The length in seconds Chromium reads from an `<audio>` element's clip (it can play it). */
export function playableSeconds(audio) {
  return audio.evaluate(
    (element) =>
      new Promise((resolve, reject) => {
        if (element.readyState >= 1) return resolve(element.duration);
        element.addEventListener("loadedmetadata", () => resolve(element.duration));
        element.addEventListener("error", () => reject(new Error(`Chromium cannot play it: ${element.error?.message}`)));
      })
  );
}
