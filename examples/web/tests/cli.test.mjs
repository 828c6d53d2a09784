// A browser person and a CLI person (`sotto`, the project's command-line client) meet by
// invitation through the same three relays (the browser through their WebSocket gateways,
// the CLI over TLS) and exchange texts and voice clips both ways: the browser's clip,
// recorded from Chromium's fake microphone, is accepted by Debian's opusinfo on the CLI's
// side; the CLI's clip (opusenc's Ogg Opus) plays in Chromium. Then Carol's identity key
// changes, and the browser shows the warning until Dave accepts the new key.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Person, accessibilityProblems, launch, playableSeconds, relays, serveApp, speechWav } from "./people.mjs";

const SOTTO = process.env.SOTTO_CLI ?? "sotto";
// The test tool that writes to Dave as Carol under a new identity (examples/src/bin).
const KEY_CHANGE = process.env.SOTTO_KEY_CHANGE ?? "sotto-key-change";
const work = mkdtempSync(join(tmpdir(), "sotto-web-cli-"));
const env = { ...process.env, CAROL_PASS: "carol's long passphrase" };

/** Runs `sotto` as Carol; the JSON lines it prints. */
function carol(...args) {
  const out = execFileSync(SOTTO, ["--profile", join(work, "carol"), "--passphrase-env", "CAROL_PASS", "--json", ...args], {
    env,
    cwd: work,
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** Carol receives until a line satisfies `wanted` (each call waits up to 10 s). */
function carolReceives(wanted, ...args) {
  const seen = [];
  for (let round = 0; round < 12; round++) {
    const lines = carol("receive", "--wait", "10", ...args);
    seen.push(...lines);
    const found = lines.find(wanted);
    if (found) return found;
  }
  assert.fail(`Carol never received it; she saw ${JSON.stringify(seen)}`);
}

let browser;
let served;
before(async () => {
  browser = await launch(speechWav("This clip was recorded in a web browser."));
  served = await serveApp();
});
after(async () => {
  await browser?.close();
  served?.server.close();
});

test("a browser person and a CLI person talk and trade voice clips both ways", { timeout: 300_000 }, async () => {
  carol("init", "--name", "Carol", ...relays.flatMap(({ address }) => ["--relay", address]));
  const dave = await Person.arrive(browser, served.origin, "Dave");
  await dave.createProfile();

  // Dave invites; Carol accepts his link on the command line.
  await dave.page.getByRole("button", { name: "Invite" }).click();
  const link = await dave.page.locator("#invitation-link").inputValue();
  carol("accept", link, "--name", "Dave");
  await dave.page.getByRole("heading", { level: 2, name: /^Carol/ }).waitFor({ timeout: 60_000 });
  carolReceives((line) => line.event === "contact_ready");

  // Texts both ways, with Carol's receipts.
  await dave.sendText("Hello Carol, from a browser tab");
  const text = carolReceives((line) => line.event === "message" && line.body?.text === "Hello Carol, from a browser tab");
  assert.equal(text.body.type, "text");
  carol("send", "Dave", "Hello Dave, from a terminal");
  await dave.sees("Hello Dave, from a terminal");
  // Her receipts leave with her next commands (the CLI's outbox): delivered, then read.
  const mine = dave.messages().filter({ hasText: "Hello Carol, from a browser tab" });
  for (let round = 0; round < 20 && !(await mine.locator(".status", { hasText: "Read" }).count()); round++) {
    carol("receive", "--wait", "1");
  }
  await mine.locator(".status", { hasText: "Read" }).waitFor({ timeout: 10_000 });

  // Dave's voice clip: recorded in Chromium, a valid Ogg Opus file for the CLI.
  await dave.page.getByRole("button", { name: "Record a voice clip" }).click();
  await dave.page.getByText(/Recording 0:0[2-9]/).waitFor({ timeout: 20_000 });
  await dave.page.getByRole("button", { name: "Stop and send the voice clip" }).click();
  const downloads = join(work, "downloads");
  mkdirSync(downloads);
  const clip = carolReceives(
    (line) => line.event === "message" && line.body?.type === "voice_clip",
    "--download-dir",
    downloads
  );
  assert.equal(clip.body.codec, "opus");
  assert.ok(clip.body.duration_ms >= 1_400, `${clip.body.duration_ms} ms`);
  const [file] = readdirSync(downloads).filter((name) => name.endsWith(".ogg"));
  assert.ok(file, `no clip in ${readdirSync(downloads)}`);
  const info = execFileSync("opusinfo", [join(downloads, file)], { encoding: "utf8" });
  assert.match(info, /Opus/);

  // Carol's clip (opusenc's Ogg Opus from espeak-ng's speech) plays in Dave's browser.
  const wav = speechWav("And this one comes from the command line.");
  execFileSync("opusenc", ["--quiet", wav, join(work, "carol.opus")]);
  carol("send-file", "Dave", join(work, "carol.opus"), "--voice");
  const row = dave.messages().filter({ has: dave.page.locator(".voice") }).filter({ hasNot: dave.page.locator(".status") }).last();
  await row.waitFor({ timeout: 60_000 });
  await row.getByRole("button", { name: "Play voice clip" }).click();
  const seconds = await playableSeconds(row.locator("audio"));
  assert.ok(seconds > 1, `the clip lasts ${seconds} s`);

  // Carol comes back under a new identity (as after a reinstall) and writes to Dave into
  // her old queue, with his bundle from a fresh invitation of his: his page warns, and
  // holds his messages to her, until he accepts the new key.
  await dave.page.getByRole("button", { name: "Invite" }).click();
  const fresh = await dave.page.locator("#invitation-link").inputValue();
  await dave.page.keyboard.press("Escape");
  execFileSync(KEY_CHANGE, [join(work, "carol"), "CAROL_PASS", "Dave", fresh, "New computer, same Carol"], { env });
  const banner = dave.page.getByRole("alert").filter({ hasText: "Carol's safety number has changed" });
  await banner.waitFor({ timeout: 60_000 });
  await dave.shot("key-change");
  assert.deepEqual(await accessibilityProblems(dave.page), [], "axe on the key-change screen");
  await banner.getByRole("button", { name: "Accept the new key" }).click();
  await banner.waitFor({ state: "detached", timeout: 10_000 });
  assert.deepEqual(dave.errors, []);
});
