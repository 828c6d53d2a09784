// The npm package as users get it (installed from the tarball into a scratch project):
// two Node profiles meet by invitation through three real relays (onion paths, reads
// through a proxy relay, TLS pinned inside WebSocket tunnels) and talk with pushed events;
// errors carry their name and code. Run by `scripts/package npm --check`, which starts the
// relays and names them in SOTTO_TEST_RELAYS.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { Messenger, constants } = require("sotto");

const relays = process.env.SOTTO_TEST_RELAYS.split(";").map((relay) => {
  const [address, gateway] = relay.split(" ");
  return { address, gateway };
});

/** Takes events until one satisfies `wanted` (the test's timeout bounds the wait). */
async function until(events, wanted) {
  for await (const event of events) {
    if (wanted(event)) return event;
  }
  assert.fail("the messenger ended before the event came");
}

// A hung relay or a lost event fails the test instead of holding the suite.
const limit = { timeout: 120_000 };

test("two Node profiles meet by invitation and talk, with receipts and events", limit, async () => {
  const alice = await Messenger.create({ relays, displayName: "alice" });
  const bob = await Messenger.create({ relays, displayName: "bob" });
  const aliceEvents = alice.subscribe();
  const bobEvents = bob.subscribe();
  // The same events through a callback.
  const bobSeen = [];
  const stop = bob.onEvent((event) => bobSeen.push(event.type));
  await alice.start();
  await bob.start();

  const link = await alice.createInvitation();
  assert.match(link, /^sotto:/);
  const aliceAtBob = await bob.acceptInvitation(link);
  assert.match(aliceAtBob, /^[0-9a-f]{32}$/);
  const added = await until(aliceEvents, (e) => e.type === "contactAdded");
  assert.equal(added.displayName, "bob");
  await until(bobEvents, (e) => e.type === "contactReady" && e.contact === aliceAtBob);

  const sent = await bob.sendText(aliceAtBob, "hello from Node");
  const received = await until(aliceEvents, (e) => e.type === "messageReceived");
  assert.equal(received.text, "hello from Node");
  assert.equal(received.kind, "text");
  assert.equal(received.contact, added.contact);
  await until(
    bobEvents,
    (e) => e.type === "statusChanged" && e.status === "delivered" && e.messageIds.includes(sent)
  );

  const reply = await alice.sendText(received.contact, "hello from Node too");
  const back = await until(bobEvents, (e) => e.type === "messageReceived");
  assert.equal(back.text, "hello from Node too");
  assert.match(reply, /^[0-9a-f]{32}$/);

  // The callback's copy of the events may come a moment after the subscription's.
  for (let wait = 0; !bobSeen.includes("messageReceived") && wait < 100; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(bobSeen.includes("contactReady"), bobSeen.join(", "));
  assert.ok(bobSeen.includes("messageReceived"), bobSeen.join(", "));
  stop();
  await alice.shutdown();
  await bob.shutdown();
  // A subscription ends after its last event once its messenger shut down.
  while ((await aliceEvents.next()) !== null);
});

test("errors carry a stable name and a numeric code", limit, async () => {
  await assert.rejects(Messenger.create({ relays: [] }), (error) => {
    assert.equal(error.name, "InvalidArgumentError");
    assert.equal(error.code, 104);
    return true;
  });
  await assert.rejects(Messenger.create({ relays, hops: 9 }), {
    name: "InvalidArgumentError",
    code: 104,
  });
  const carol = await Messenger.create({ relays, displayName: "carol" });
  await assert.rejects(carol.sendText("not an id", "hi"), {
    name: "InvalidArgumentError",
    code: 104,
  });
  await assert.rejects(carol.sendText("0".repeat(32), "hi"), {
    name: "UnknownContactError",
    code: 30,
  });
  await assert.rejects(carol.acceptInvitation("sotto:not-an-invitation"), {
    name: "InvitationError",
    code: 40,
  });
  await carol.shutdown();
  await assert.rejects(carol.createInvitation(), { name: "ShutDownError", code: 50 });
});

test("the package loads as an ES module too, with the same classes", async () => {
  const esm = await import("sotto");
  assert.equal(esm.Messenger, Messenger);
  assert.equal(typeof esm.Subscription.prototype[Symbol.asyncIterator], "function");
});

/** Deterministic bytes: `length` of them, from `seed`. */
function sample(length, seed) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

// A test that fails half way leaves its messengers running, which would keep this file's
// process alive: every messenger of `pair()` is shut down at the end whatever happened.
const paired = [];
after(async () => {
  for (const messenger of paired) await messenger.shutdown().catch(() => {});
});

/** Two started Node profiles that know each other: `[alice, bob, bobAtAlice, aliceAtBob]`. */
async function pair() {
  const alice = await Messenger.create({ relays, displayName: "alice" });
  const bob = await Messenger.create({ relays, displayName: "bob" });
  paired.push(alice, bob);
  const aliceEvents = alice.subscribe();
  const bobEvents = bob.subscribe();
  await alice.start();
  await bob.start();
  const aliceAtBob = await bob.acceptInvitation(await alice.createInvitation());
  const added = await until(aliceEvents, (e) => e.type === "contactAdded");
  await until(bobEvents, (e) => e.type === "contactReady" && e.contact === aliceAtBob);
  return { alice, bob, aliceEvents, bobEvents, bobAtAlice: added.contact, aliceAtBob };
}

test("an image, a file and a voice clip travel as Blobs, with progress", limit, async () => {
  const { alice, bob, aliceEvents, bobEvents, bobAtAlice, aliceAtBob } = await pair();
  const photo = sample(300_000, 1);
  // Over 4 MiB: two parts of ciphertext, so progress comes in steps.
  const report = sample(4_500_000, 2);
  const clip = sample(20_000, 3);
  const sends = [
    [new Blob([photo], { type: "image/jpeg" }), { type: "image", width: 640, height: 480, thumbnail: sample(64, 4) }],
    [new File([report], "report.pdf", { type: "application/pdf" }), { type: "file" }],
    [new Blob([clip]), { type: "voiceClip", durationMs: 2_500, codec: "opus", waveform: sample(16, 5) }],
  ];
  const ids = [];
  for (const [blob, kind] of sends) ids.push(await alice.sendAttachment(bobAtAlice, blob, kind));

  const uploads = new Map();
  const sent = new Set();
  for await (const event of aliceEvents) {
    if (event.type === "transferProgress") {
      assert.equal(event.direction, "upload");
      uploads.set(event.messageId, [...(uploads.get(event.messageId) ?? []), event.done / event.total]);
    }
    if (event.type === "statusChanged" && event.status === "sent") event.messageIds.forEach((id) => sent.add(id));
    if (ids.every((id) => sent.has(id))) break;
  }
  assert.deepEqual(uploads.get(ids[1]).slice(-1), [1]);
  assert.ok(uploads.get(ids[1]).length >= 2, `${uploads.get(ids[1])}`);

  const received = new Map();
  while (received.size < 3) {
    const event = await until(bobEvents, (e) => e.type === "messageReceived");
    received.set(event.messageId, event);
  }
  const [image, file, voice] = ids.map((id) => received.get(id));
  assert.equal(image.kind, "image");
  assert.deepEqual(
    { ...image.attachment, thumbnail: [...image.attachment.thumbnail] },
    { size: photo.length, mime: "image/jpeg", width: 640, height: 480, thumbnail: [...sample(64, 4)] }
  );
  assert.equal(file.kind, "file");
  assert.deepEqual(file.attachment, { size: report.length, mime: "application/pdf", name: "report.pdf" });
  assert.equal(voice.kind, "voiceClip");
  assert.equal(voice.attachment.durationMs, 2_500);
  assert.equal(voice.attachment.codec, "opus");
  assert.deepEqual([...voice.attachment.waveform], [...sample(16, 5)]);

  for (const [id, bytes, type] of [
    [ids[0], photo, "image/jpeg"],
    [ids[1], report, "application/pdf"],
    [ids[2], clip, ""],
  ]) {
    const blob = await bob.downloadAttachment(aliceAtBob, id);
    assert.ok(blob instanceof Blob);
    assert.equal(blob.type, type);
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), bytes);
  }
  const downloaded = await until(
    bobEvents,
    (e) => e.type === "transferProgress" && e.direction === "download" && e.messageId === ids[2]
  );
  assert.equal(downloaded.done, downloaded.total);
  // The history shows what each message carries.
  const history = await alice.history(bobAtAlice);
  assert.equal(history.find((m) => m.messageId === ids[1]).attachment.name, "report.pdf");

  // Bad arguments are refused with their name and code, before anything is sent.
  const invalid = { name: "InvalidArgumentError", code: 104 };
  await assert.rejects(alice.sendAttachment(bobAtAlice, "not a blob", { type: "file", name: "x" }), invalid);
  await assert.rejects(alice.sendAttachment(bobAtAlice, new Blob([photo]), { type: "sticker" }), invalid);
  await assert.rejects(alice.sendAttachment(bobAtAlice, new Blob([photo]), { type: "file" }), invalid);
  await assert.rejects(
    alice.sendAttachment(bobAtAlice, new Blob([photo]), { type: "image", width: -1, height: 2 }),
    invalid
  );
  await assert.rejects(
    alice.sendAttachment(bobAtAlice, new Blob([photo]), { type: "image", mime: "text/plain", width: 1, height: 1 }),
    { name: "ContentError" }
  );
  await assert.rejects(bob.downloadAttachment(aliceAtBob, "not an id"), invalid);
  // A text has no attachment; a downloaded attachment is gone from the relay.
  const text = await alice.sendText(bobAtAlice, "no attachment");
  await until(bobEvents, (e) => e.type === "messageReceived" && e.messageId === text);
  await assert.rejects(bob.downloadAttachment(aliceAtBob, text), { name: "AttachmentError" });
  await assert.rejects(bob.downloadAttachment(aliceAtBob, ids[0]), { name: "TransportError" });

  await alice.shutdown();
  await bob.shutdown();
});

test("a recording becomes a voice clip in the project's one format (Ogg Opus)", async () => {
  const alice = await Messenger.create({ relays, displayName: "alice" });
  // 1.5 s of a 440 Hz tone at 16 kHz, louder in its second half.
  const samples = Int16Array.from({ length: 24_000 }, (_, i) =>
    Math.round(Math.sin((2 * Math.PI * 440 * i) / 16_000) * (i < 12_000 ? 2_000 : 16_000))
  );
  const clip = await alice.encodeVoiceClip(samples);
  assert.equal(new TextDecoder().decode(clip.bytes.subarray(0, 4)), "OggS");
  assert.equal(new TextDecoder().decode(clip.bytes.subarray(28, 36)), "OpusHead");
  assert.equal(clip.mime, "audio/ogg; codecs=opus");
  assert.equal(clip.codec, "opus");
  assert.equal(clip.durationMs, 1_500);
  assert.ok(clip.waveform.length > 0);
  const half = clip.waveform.length / 2;
  assert.ok(clip.waveform[Math.floor(half * 1.5)] > clip.waveform[Math.floor(half / 2)], `${clip.waveform}`);
  // 24 kbit/s: about 4.5 KB for 1.5 s, headers included.
  assert.ok(clip.bytes.length < 8_000, `${clip.bytes.length} bytes`);
  // Anything but 16-bit PCM is refused.
  const invalid = { name: "InvalidArgumentError", code: 104 };
  await assert.rejects(alice.encodeVoiceClip(new Float32Array(16)), invalid);
  await assert.rejects(alice.encodeVoiceClip("noise"), invalid);
  await alice.shutdown();
});

/** Starts `profile-process.mjs` with `args`; resolves to the first JSON line it prints. */
function profileProcess(args, keep = false) {
  const child = spawn(process.execPath, ["--experimental-websocket", "profile-process.mjs", ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (data) => {
      out += data;
      if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
    });
    child.on("exit", (code) => reject(new Error(`the profile process ended (${code}) with ${out}`)));
  });
  if (!keep) child.stdin.end();
  return { child, line };
}

test("a Node profile in a folder survives a process restart, keyed by its passphrase", limit, async () => {
  const directory = mkdtempSync(join(tmpdir(), "sotto-node-profile-"));
  const passphrase = "correct horse battery staple";
  const bob = await Messenger.create({ relays, displayName: "bob" });
  const bobEvents = bob.subscribe();
  await bob.start();
  try {
    const created = await profileProcess(["create", directory, passphrase, await bob.createInvitation()]).line;
    assert.equal(created.error, undefined, JSON.stringify(created));
    const first = await until(bobEvents, (e) => e.type === "messageReceived");
    assert.equal(first.text, "before the restart");

    // Another process: the contact, the history and the session are all still there.
    const reopened = await profileProcess(["open", directory, passphrase]).line;
    assert.equal(reopened.error, undefined, JSON.stringify(reopened));
    assert.deepEqual(reopened.contacts.map((c) => c.contact), [created.contact]);
    assert.deepEqual(reopened.history, [["outgoing", "before the restart"]]);
    const second = await until(bobEvents, (e) => e.type === "messageReceived");
    assert.equal(second.text, "after the restart");

    // A wrong passphrase is refused; so is a second process while one holds the profile.
    const wrong = await profileProcess(["open", directory, "wrong passphrase"]).line;
    assert.deepEqual([wrong.error?.name, wrong.error?.code], ["KeyError", 17], JSON.stringify(wrong));
    const holder = profileProcess(["hold", directory, passphrase], true);
    assert.deepEqual(await holder.line, { held: true });
    const another = await profileProcess(["open", directory, passphrase]).line;
    assert.deepEqual([another.error?.name, another.error?.code], ["StoreError", 16], JSON.stringify(another));
    holder.child.stdin.end();
    await new Promise((resolve) => holder.child.on("exit", resolve));
    // The files are SQLCipher's: nothing of the history is readable in them.
    for (const file of readdirSync(join(directory, "sotto-node-profile", ".opaque"))) {
      const bytes = readFileSync(join(directory, "sotto-node-profile", ".opaque", file));
      assert.ok(!bytes.includes("before the restart"), file);
    }
  } finally {
    await bob.shutdown();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("a Node profile needs the folder it is kept in", async () => {
  await assert.rejects(
    Messenger.create({ relays, profile: { name: "nowhere", passphrase: "secret" } }),
    { name: "InvalidArgumentError", code: 104 }
  );
});

test("the rest of the handle: pages, search, unread counts, safety numbers, names, deletion", limit, async () => {
  const { alice, bob, aliceEvents, bobEvents, bobAtAlice, aliceAtBob } = await pair();
  const ids = [];
  for (const text of ["one apple", "two pears", "three apples"]) {
    ids.push(await alice.sendText(bobAtAlice, text));
    await until(bobEvents, (e) => e.type === "messageReceived" && e.text === text);
  }
  // Pages: the newest, then those before a message.
  assert.deepEqual((await bob.history(aliceAtBob, 2)).map((m) => m.text), ["three apples", "two pears"]);
  assert.deepEqual((await bob.history(aliceAtBob, 10, ids[1])).map((m) => m.text), ["one apple"]);
  assert.deepEqual((await bob.search(aliceAtBob, "apple")).map((m) => m.text), ["three apples", "one apple"]);
  // Unread until marked read; then Alice gets the read receipts.
  assert.deepEqual(await bob.unreadCounts(), [{ contact: aliceAtBob, count: 3 }]);
  await bob.markRead(aliceAtBob, ids);
  assert.deepEqual(await bob.unreadCounts(), []);
  await until(aliceEvents, (e) => e.type === "statusChanged" && e.status === "read" && e.messageIds.includes(ids[2]));

  // Safety numbers: the same digits on both sides; each side's code matches the other's.
  const atAlice = await alice.safetyNumber(bobAtAlice);
  const atBob = await bob.safetyNumber(aliceAtBob);
  assert.match(atAlice.digits, /^[0-9]{60}$/);
  assert.equal(atAlice.digits, atBob.digits);
  assert.equal(atAlice.groups.join(""), atAlice.digits);
  assert.ok(atAlice.scannable instanceof Uint8Array);
  assert.match(atAlice.qrSvg, /^<\?xml|^<svg/);
  assert.equal(await alice.compareSafetyCode(bobAtAlice, atBob.scannable), "match");
  assert.equal(await alice.compareSafetyCode(bobAtAlice, atAlice.scannable), "mismatch");
  await alice.markVerified(bobAtAlice);
  assert.equal((await alice.contacts())[0].verified, true);

  // Local names, deletion on this device, forgetting a contact.
  await alice.renameContact(bobAtAlice, "Bobby");
  assert.equal((await alice.contacts())[0].displayName, "Bobby");
  await bob.deleteMessage(aliceAtBob, ids[0]);
  assert.deepEqual((await bob.history(aliceAtBob)).map((m) => m.text), ["three apples", "two pears"]);
  await assert.rejects(bob.deleteMessage(aliceAtBob, "0".repeat(32)), { name: "UnknownMessageError", code: 34 });
  await assert.rejects(bob.markRead(aliceAtBob, ["not an id"]), { name: "InvalidArgumentError", code: 104 });
  await bob.forgetContact(aliceAtBob);
  assert.deepEqual(await bob.contacts(), []);
  await assert.rejects(bob.sendText(aliceAtBob, "still there?"), { name: "UnknownContactError", code: 30 });
  await alice.shutdown();
  await bob.shutdown();
});

test("the network settings change while running; settings that cannot work change nothing", limit, async () => {
  const alice = await Messenger.create({ relays, displayName: "alice" });
  const bob = await Messenger.create({ relays, displayName: "bob", hops: 2, meanDelayMs: 0 });
  paired.push(alice, bob);
  const aliceEvents = alice.subscribe();
  const bobEvents = bob.subscribe();
  await alice.start();
  await bob.start();
  const atStart = await alice.networkSettings();
  assert.deepEqual(atStart.relays, relays);
  assert.equal(atStart.hops, 3);
  assert.equal(atStart.cover, null);
  // Every packet's size (the core's onion::PACKET_BYTES), for pricing cover traffic.
  assert.equal(atStart.packetBytes, 4_700);
  // The package's constants are the defaults a messenger runs with.
  assert.equal(constants.packetBytes, atStart.packetBytes);
  assert.equal(constants.hops, atStart.hops);
  assert.equal(constants.meanDelayMs, atStart.meanDelayMs);
  assert.ok(Object.isFrozen(constants) && Object.isFrozen(constants.cover));
  assert.equal((await bob.networkSettings()).hops, 2);
  assert.equal((await bob.networkSettings()).meanDelayMs, 0);

  // Cover traffic on, two hops, no mixing delay: read back as set, defaults filled in.
  await alice.setNetworkSettings({
    ...atStart,
    hops: 2,
    meanDelayMs: 0,
    cover: { payloadPerSecond: 4, loopPerSecond: 1, dropPerSecond: 0 },
  });
  const changed = await alice.networkSettings();
  assert.equal(changed.hops, 2);
  assert.equal(changed.meanDelayMs, 0);
  assert.deepEqual(changed.cover, {
    payloadPerSecond: 4,
    loopPerSecond: 1,
    dropPerSecond: 0,
    loopTimeoutSeconds: 60,
  });
  assert.deepEqual(changed.relays, relays);

  // Settings that cannot work: refused with their name and code, nothing changed.
  const refusals = [
    [{ ...changed, hops: 4 }, "TransportError", 18], // more hops than relays
    [{ ...changed, hops: 0 }, "InvalidArgumentError", 104],
    [{ ...changed, meanDelayMs: -1 }, "InvalidArgumentError", 104],
    [{ ...changed, meanDelayMs: 30_001 }, "InvalidArgumentError", 104],
    [{ ...changed, cover: { loopPerSecond: -1 } }, "InvalidArgumentError", 104],
    [{ ...changed, cover: { loopTimeoutSeconds: 0 } }, "InvalidArgumentError", 104],
    [{ ...changed, cover: "on" }, "InvalidArgumentError", 104],
    [{ ...changed, relays: [] }, "InvalidArgumentError", 104],
    [{ ...changed, relays: relays.map(({ address }) => ({ address })) }, "InvalidArgumentError", 104],
    [{ ...changed, relays: [{ address: "sotto://nope", gateway: relays[0].gateway }] }, "InvalidArgumentError", 104],
  ];
  for (const [settings, name, code] of refusals) {
    await assert.rejects(alice.setNetworkSettings(settings), { name, code }, JSON.stringify(settings));
  }
  assert.deepEqual(await alice.networkSettings(), changed);

  // Messages flow in the new settings: Alice's in her cover traffic's payload slots.
  const link = await alice.createInvitation();
  const aliceAtBob = await bob.acceptInvitation(link);
  const added = await until(aliceEvents, (e) => e.type === "contactAdded");
  await until(bobEvents, (e) => e.type === "contactReady" && e.contact === aliceAtBob);
  await bob.sendText(aliceAtBob, "to a messenger with cover traffic");
  assert.equal((await until(aliceEvents, (e) => e.type === "messageReceived")).text, "to a messenger with cover traffic");
  await alice.sendText(added.contact, "from its payload slots");
  assert.equal((await until(bobEvents, (e) => e.type === "messageReceived")).text, "from its payload slots");

  // An empty cover turns on the rates the constants name.
  await alice.setNetworkSettings({ ...changed, cover: {} });
  assert.deepEqual((await alice.networkSettings()).cover, { ...constants.cover });

  // And off again.
  await alice.setNetworkSettings({ ...changed, cover: null });
  assert.equal((await alice.networkSettings()).cover, null);
  await alice.shutdown();
  await bob.shutdown();
});
