// The npm package as users get it (installed from the tarball into a scratch project):
// two Node profiles meet by invitation through three real relays (onion paths, reads
// through a proxy relay, TLS pinned inside WebSocket tunnels) and talk with pushed events;
// errors carry their name and code. Run by `scripts/package npm --check`, which starts the
// relays and names them in SOTTO_TEST_RELAYS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Messenger } = require("sotto");

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

test("a persistent profile is refused in Node, never kept in memory in silence", async () => {
  await assert.rejects(
    Messenger.create({ relays, profile: { name: "alice", passphrase: "secret" } }),
    (error) => {
      assert.equal(error.name, "InvalidArgumentError");
      assert.match(error.message, /dedicated worker/);
      return true;
    }
  );
});
