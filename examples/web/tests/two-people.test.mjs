// Two people, each a browser context of their own, meet by invitation through three real
// relay processes (the QR code one shows, photographed and given to the other's file
// picker), exchange a text, a picture, a file and a voice clip (Chromium's fake microphone
// speaking a WAV made by espeak-ng), see delivered and read, compare safety numbers by a
// picture of the QR code; a reload keeps everything, a wrong passphrase is refused; the
// idle lock closes the profile. Every screen is photographed (target/web/) and checked by
// axe-core for serious or critical violations.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Person, accessibilityProblems, launch, playableSeconds, serveApp, speechWav } from "./people.mjs";

let browser;
let served;
before(async () => {
  browser = await launch(speechWav("Hello from the browser. This is a voice clip."));
  served = await serveApp();
});
after(async () => {
  await browser?.close();
  served?.server.close();
});

/** Photographs the screen and checks it with axe-core. */
async function screen(person, name) {
  await person.shot(name);
  assert.deepEqual(await accessibilityProblems(person.page), [], `axe on the ${name} screen`);
}

test("two browser people meet by QR code and talk with every kind of message", { timeout: 300_000 }, async () => {
  const alice = await Person.arrive(browser, served.origin, "Alice");
  const bob = await Person.arrive(browser, served.origin, "Bob");
  await screen(alice, "welcome");
  await alice.createProfile();
  await bob.createProfile();
  await screen(alice, "empty");

  // Alice shows her invitation; Bob gives a photograph of its QR code to his file picker.
  await alice.page.getByRole("button", { name: "Invite" }).click();
  const qr = alice.page.locator("#invitation-qr");
  await qr.waitFor();
  await alice.page.waitForFunction(() => document.querySelector("#invitation-qr")?.complete);
  await screen(alice, "invite");
  const photo = await qr.screenshot();
  await bob.page.getByRole("button", { name: "Accept invitation" }).click();
  await bob.page.locator("#accept-picture").setInputFiles({ name: "invitation.png", mimeType: "image/png", buffer: photo });
  await bob.page.waitForFunction(() => document.querySelector("#accept-link")?.value.startsWith("sotto:"));
  await bob.page.getByLabel("Their name (optional)").fill("Alice");
  await screen(bob, "accept");
  await bob.page.getByRole("button", { name: "Accept", exact: true }).click();
  // Both sides land in the conversation: Alice's invitation closes when Bob arrives.
  await bob.page.getByRole("heading", { level: 2, name: /^Alice/ }).waitFor();
  await alice.page.getByRole("heading", { level: 2, name: /^Bob/ }).waitFor({ timeout: 60_000 });

  // Text, with delivered and read receipts.
  await bob.sendText("Hello Alice, it's Bob in a browser");
  await alice.page.bringToFront();
  await alice.sees("Hello Alice, it's Bob in a browser");
  await bob.lastStatusIs("Read");
  await alice.sendText("Hi Bob!\nTwo lines, and <b>no markup</b>");
  await bob.page.bringToFront();
  await bob.sees("no markup");
  assert.equal(await bob.page.locator("li.message b").count(), 0, "a message is text, never markup");
  await alice.lastStatusIs("Read");

  // A picture: shown at once as a preview, in full when asked.
  const picture = readFileSync(new URL("../public/icon-512.png", import.meta.url));
  await bob.page.locator("#attach").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: picture });
  const received = alice.messages().filter({ has: alice.page.locator("figure.picture") }).last();
  await received.waitFor({ timeout: 60_000 });
  await received.getByRole("button", { name: "Show picture" }).click();
  const full = received.locator("img.full");
  await full.waitFor({ timeout: 60_000 });
  assert.equal(await full.evaluate((img) => img.decode().then(() => img.naturalWidth)), 512);

  // A file, saved where the user chooses, byte for byte.
  const report = randomBytes(1_500_000);
  await alice.page.locator("#attach").setInputFiles({ name: "report.bin", mimeType: "application/octet-stream", buffer: report });
  const file = bob.messages().filter({ hasText: "report.bin" }).last();
  await file.waitFor({ timeout: 60_000 });
  const [download] = await Promise.all([
    bob.page.waitForEvent("download", { timeout: 60_000 }),
    file.getByRole("button", { name: "Download report.bin" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "report.bin");
  assert.deepEqual(readFileSync(await download.path()), report);

  // A file dropped on the conversation is sent too.
  const dropped = await bob.page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["dropped on the window"], "notes.txt", { type: "text/plain" }));
    return transfer;
  });
  await bob.page.locator("section.conversation").dispatchEvent("drop", { dataTransfer: dropped });
  await alice.messages().filter({ hasText: "notes.txt" }).last().waitFor({ timeout: 60_000 });

  // A voice clip from the microphone, in the project's one format; Chromium plays it.
  await alice.page.getByRole("button", { name: "Record a voice clip" }).click();
  await alice.page.getByText(/Recording 0:0[2-9]/).waitFor({ timeout: 20_000 });
  await alice.page.getByRole("button", { name: "Stop and send the voice clip" }).click();
  const clip = bob.messages().filter({ has: bob.page.locator(".voice") }).last();
  await clip.waitFor({ timeout: 60_000 });
  await screen(bob, "conversation");
  await clip.getByRole("button", { name: "Play voice clip" }).click();
  const audio = clip.locator("audio");
  await audio.waitFor({ timeout: 60_000 });
  const seconds = await playableSeconds(audio);
  assert.ok(seconds >= 1.4 && seconds < 30, `the clip lasts ${seconds} s`);

  // Safety numbers: Bob compares with a photograph of Alice's code, and marks her verified.
  await alice.page.getByRole("button", { name: "Safety number" }).click();
  const aliceCode = alice.page.locator("#safety-qr");
  await aliceCode.waitFor();
  await alice.page.waitForFunction(() => document.querySelector("#safety-qr")?.complete);
  await screen(alice, "safety-number");
  const codePhoto = await aliceCode.screenshot();
  const aliceDigits = await alice.page.getByRole("list", { name: "Safety number" }).innerText();
  await alice.page.getByRole("button", { name: "Close" }).click();
  await bob.page.getByRole("button", { name: "Safety number" }).click();
  const bobDigits = await bob.page.getByRole("list", { name: "Safety number" }).innerText();
  assert.equal(bobDigits.replace(/\s/g, ""), aliceDigits.replace(/\s/g, ""));
  await bob.page.locator("#safety-picture").setInputFiles({ name: "code.png", mimeType: "image/png", buffer: codePhoto });
  await bob.page.getByText("The numbers match").waitFor();
  await bob.page.getByRole("button", { name: "Mark as verified" }).click();
  await bob.page.getByRole("heading", { level: 2, name: /Alice ✓ Verified/ }).waitFor();
  // Typed digits that differ are called out.
  await bob.page.getByRole("button", { name: "Safety number" }).click();
  await bob.page.getByLabel("Their 60 digits").fill("1".repeat(60));
  await bob.page.getByText("These digits differ").waitFor();
  await bob.page.keyboard.press("Escape");

  // Settings: the privacy level and cover traffic's price.
  await alice.page.getByRole("button", { name: "Settings" }).click();
  await alice.page.getByLabel("Privacy level").selectOption("balanced");
  await alice.page.getByText(/About \d+ MB a day/).waitFor();
  await screen(alice, "settings");
  await alice.page.keyboard.press("Escape");

  // A reload keeps everything behind the passphrase; a wrong one is refused.
  await bob.page.reload();
  await bob.page.getByRole("heading", { name: "Unlock Sotto" }).waitFor();
  await screen(bob, "unlock");
  await bob.page.getByLabel("Passphrase").fill("not the passphrase");
  await bob.page.getByRole("button", { name: "Unlock" }).click();
  await bob.page.getByText("That passphrase does not open this profile.").waitFor({ timeout: 60_000 });
  await bob.page.getByLabel("Passphrase").fill(bob.passphrase);
  await bob.page.getByRole("button", { name: "Unlock" }).click();
  await bob.open("Alice");
  await bob.sees("Hello Alice, it's Bob in a browser");
  await bob.sees("report.bin");
  assert.equal(await bob.page.getByRole("heading", { level: 2, name: /Alice ✓ Verified/ }).count(), 1);
  // Still talking after the reload.
  await alice.page.bringToFront();
  await alice.sendText("Still there after your reload?");
  await bob.page.bringToFront();
  await bob.sees("Still there after your reload?");

  // Nothing secret in localStorage: no passphrase, no message.
  const stored = await bob.page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!stored.includes(bob.passphrase) && !stored.includes("Hello Alice"), stored);

  // The idle lock, chosen in the settings and kept (not secret) in localStorage.
  await bob.page.getByRole("button", { name: "Settings" }).click();
  await bob.page.getByLabel("Lock the profile").selectOption("1");
  await bob.page.getByRole("button", { name: "Save" }).click();
  await bob.page.getByRole("dialog").waitFor({ state: "detached" });
  assert.equal(await bob.page.evaluate(() => JSON.parse(localStorage.getItem("sotto.prefs")).idleMinutes), 1);
  // A shorter time than the settings offer (6 s), so the test need not wait a minute.
  await bob.page.evaluate(() => {
    const prefs = JSON.parse(localStorage.getItem("sotto.prefs"));
    localStorage.setItem("sotto.prefs", JSON.stringify({ ...prefs, idleMinutes: 0.1 }));
  });
  await bob.page.reload();
  await bob.page.getByLabel("Passphrase").fill(bob.passphrase);
  await bob.page.getByRole("button", { name: "Unlock" }).click();
  await bob.page.getByRole("button", { name: "Invite" }).waitFor({ timeout: 60_000 });
  // Untouched, it locks; its messages are then out of the page.
  await bob.page.getByText("Locked.").waitFor({ timeout: 30_000 });
  assert.equal(await bob.messages().count(), 0);
  // While it was locked, Alice wrote: the unlocked profile shows it as unread.
  await alice.sendText("A message while you were away");
  // Sent to his queue on the relays; delivered only when his profile opens again.
  await alice.lastStatusIs("Sent");
  await bob.page.getByLabel("Passphrase").fill(bob.passphrase);
  await bob.page.getByRole("button", { name: "Unlock" }).click();
  await bob.page.getByRole("button", { name: /^Alice.*1 unread/ }).waitFor({ timeout: 60_000 });
  await screen(bob, "unread");

  assert.deepEqual([...alice.errors, ...bob.errors], []);
});
