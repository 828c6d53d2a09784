// The npm package against the native SDK: a Node profile (the package installed from its
// tarball) and a native Rust profile (the core's Messenger in a SQLCipher profile
// directory, `sotto-test-peer`, which SOTTO_TEST_PEER names) meet by invitation through the
// same three relays and exchange a text, an image, a file and a voice clip each way, with
// delivery receipts and events. Node reaches the relays through WebSocket tunnels, the
// native side through CONNECT: the same protocol on both paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const { Messenger } = require("sotto");

const relays = process.env.SOTTO_TEST_RELAYS.split(";").map((relay) => {
  const [address, gateway] = relay.split(" ");
  return { address, gateway };
});

/** The native profile: commands in, JSON lines out. */
class NativePeer {
  lines = [];
  #waiters = [];

  constructor(folder) {
    this.child = spawn(process.env.SOTTO_TEST_PEER, [folder, ...relays.map((r) => r.address)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.lines.push(JSON.parse(line));
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** The first line (from `from` on) matching `wanted`. */
  async until(wanted, from = 0) {
    for (;;) {
      const found = this.lines.slice(from).find(wanted);
      if (found) return found;
      await new Promise((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Runs a command; its answer (the next line that is not an event). */
  async call(command) {
    const from = this.lines.length;
    this.child.stdin.write(`${command}\n`);
    const answer = await this.until((line) => line.event === undefined, from);
    assert.equal(answer.error, undefined, `${command}: ${JSON.stringify(answer.error)}`);
    return answer;
  }

  async quit() {
    this.child.stdin.end("quit\n");
    await new Promise((resolve) => this.child.on("exit", resolve));
  }
}

async function until(events, wanted) {
  for await (const event of events) if (wanted(event)) return event;
  assert.fail("the messenger ended before the event came");
}

function sample(length, seed) {
  return new Uint8Array(length).map((_, i) => (i * 13 + seed) & 0xff);
}

test("a Node profile and a native profile exchange every kind of message both ways", { timeout: 180_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), "sotto-native-peer-"));
  const peer = new NativePeer(join(folder, "profile"));
  const node = await Messenger.create({ relays, displayName: "node" });
  const events = node.subscribe();
  try {
    await peer.until((line) => line.ready);
    await node.start();
    const { contact: nodeAtNative } = await peer.call(`accept ${await node.createInvitation()}`);
    const nativeAtNode = (await until(events, (e) => e.type === "contactAdded")).contact;
    await peer.until((line) => line.event === "contactReady");

    // Node to native: a text and three attachments, each delivered (a receipt) and opened.
    const photo = sample(70_000, 1);
    const report = sample(200_000, 2);
    const clip = sample(9_000, 3);
    const sent = [
      await node.sendText(nativeAtNode, "from Node"),
      await node.sendAttachment(nativeAtNode, new Blob([photo], { type: "image/png" }), { type: "image", width: 32, height: 16 }),
      await node.sendAttachment(nativeAtNode, new File([report], "report.pdf", { type: "application/pdf" }), { type: "file" }),
      await node.sendAttachment(nativeAtNode, new Blob([clip]), { type: "voiceClip", durationMs: 1500, codec: "opus" }),
    ];
    const received = [];
    for (const id of sent) received.push(await peer.until((l) => l.event === "messageReceived" && l.messageId === id));
    assert.deepEqual(received.map((m) => m.kind), ["text", "image", "file", "voiceClip"]);
    assert.equal(received[0].detail, "from Node");
    assert.deepEqual(received[2].detail, { name: "report.pdf", mime: "application/pdf", size: report.length });
    for (const [i, bytes] of [[1, photo], [2, report], [3, clip]]) {
      const path = join(folder, `from-node-${i}`);
      const { downloaded } = await peer.call(`download ${nodeAtNative} ${sent[i]} ${path}`);
      assert.equal(downloaded, bytes.length);
      assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
    }
    const delivered = new Set();
    for await (const event of events) {
      if (event.type === "statusChanged" && event.status === "delivered") event.messageIds.forEach((id) => delivered.add(id));
      if (sent.every((id) => delivered.has(id))) break;
    }

    // Native to Node: the same four kinds, from files.
    const files = { image: sample(50_000, 4), file: sample(300_000, 5), voiceClip: sample(8_000, 6) };
    const back = [(await peer.call(`text ${nodeAtNative} from native`)).sent];
    for (const [kind, bytes] of Object.entries(files)) {
      const path = join(folder, `${kind}.bin`);
      writeFileSync(path, bytes);
      back.push((await peer.call(`attach ${nodeAtNative} ${kind} ${path}`)).sent);
    }
    const arrived = new Map();
    for await (const event of events) {
      if (event.type === "messageReceived") arrived.set(event.messageId, event);
      if (back.every((id) => arrived.has(id))) break;
    }
    const [text, image, file, voice] = back.map((id) => arrived.get(id));
    assert.equal(text.text, "from native");
    assert.deepEqual([image.kind, file.kind, voice.kind], ["image", "file", "voiceClip"]);
    assert.deepEqual(image.attachment, { size: files.image.length, mime: "image/png", width: 32, height: 16, thumbnail: new Uint8Array() });
    assert.equal(file.attachment.name, "file.bin");
    assert.equal(voice.attachment.codec, "opus");
    for (const [message, bytes] of [[image, files.image], [file, files.file], [voice, files.voiceClip]]) {
      const blob = await node.downloadAttachment(nativeAtNode, message.messageId);
      assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), bytes);
    }
    for (const id of back) {
      await peer.until((l) => l.event === "statusChanged" && l.status === "delivered" && l.messageIds.includes(id));
    }
  } finally {
    await node.shutdown();
    await peer.quit();
    rmSync(folder, { recursive: true, force: true });
  }
});
