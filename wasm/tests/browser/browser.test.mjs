// The npm package's browser build in a real browser: Debian's chromium, driven through
// playwright-core, loads the package installed from its tarball (no bundler, the ES module
// as shipped) from a page on a loopback HTTP server. Two browser contexts (two separate
// origins' worth of storage, like two people's browsers) meet by invitation and talk through
// three real relays: onion paths, reads through a proxy relay, TLS pinned to each relay's key
// inside WebSocket tunnels. Run by `scripts/package npm --check`, which starts the relays and
// names them in SOTTO_TEST_RELAYS.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, loaded, newPage as pageOf, serve, testRelays } from "./chromium.mjs";

const relays = testRelays();
let server;
let browser;
let origin;

before(async () => {
  ({ server, origin } = await serve(process.cwd()));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A page of a fresh browser context (or of `context`), with the package loaded. */
function newPage(context) {
  return pageOf(browser, origin, context);
}

/** Waits until messenger `name` on `page` has an event matching `wanted`; returns it. */
async function until(page, name, wanted) {
  const handle = await page.waitForFunction(
    ([name, wanted]) => window.harness.events(name).find(new Function("e", `return ${wanted}`)),
    [name, wanted],
    { timeout: 90_000, polling: 50 }
  );
  return handle.jsonValue();
}

const limit = { timeout: 180_000 };

test("two browsers meet by invitation and talk through the relays", limit, async () => {
  const alicePage = await newPage();
  const bobPage = await newPage();
  assert.match(await alicePage.evaluate(() => navigator.userAgent), /Chrome/);
  await alicePage.evaluate((relays) => harness.create("alice", { relays, displayName: "alice" }), relays);
  await bobPage.evaluate((relays) => harness.create("bob", { relays, displayName: "bob" }), relays);

  const link = await alicePage.evaluate(() => harness.messenger("alice").createInvitation());
  assert.match(link, /^sotto:/);
  const aliceAtBob = await bobPage.evaluate((link) => harness.messenger("bob").acceptInvitation(link), link);
  const added = await until(alicePage, "alice", `e.type === "contactAdded"`);
  assert.equal(added.displayName, "bob");
  await until(bobPage, "bob", `e.type === "contactReady" && e.contact === "${aliceAtBob}"`);

  const sent = await bobPage.evaluate(
    (contact) => harness.messenger("bob").sendText(contact, "hello from a browser"),
    aliceAtBob
  );
  const received = await until(alicePage, "alice", `e.type === "messageReceived"`);
  assert.equal(received.text, "hello from a browser");
  assert.equal(received.contact, added.contact);
  await until(
    bobPage,
    "bob",
    `e.type === "statusChanged" && e.status === "delivered" && e.messageIds.includes("${sent}")`
  );

  await alicePage.evaluate(
    (contact) => harness.messenger("alice").sendText(contact, "hello back"),
    added.contact
  );
  const back = await until(bobPage, "bob", `e.type === "messageReceived"`);
  assert.equal(back.text, "hello back");

  // An attachment: a File made in the page goes up slice by slice from the worker and
  // comes down into a Blob, byte for byte, with progress both ways.
  const photoId = await alicePage.evaluate((contact) => {
    const bytes = new Uint8Array(5_000_000).map((_, i) => (i * 7 + 3) & 0xff);
    const file = new File([bytes], "beach.png", { type: "image/png" });
    return harness.messenger("alice").sendAttachment(contact, file, { type: "image", width: 4000, height: 3000 });
  }, added.contact);
  await until(alicePage, "alice", `e.type === "transferProgress" && e.messageId === "${photoId}" && e.done === e.total`);
  await until(alicePage, "alice", `e.type === "statusChanged" && e.status === "sent" && e.messageIds.includes("${photoId}")`);
  const photo = await until(bobPage, "bob", `e.type === "messageReceived" && e.messageId === "${photoId}"`);
  assert.equal(photo.kind, "image");
  assert.equal(photo.attachment.mime, "image/png");
  assert.equal(photo.attachment.size, 5_000_000);
  const download = await bobPage.evaluate(
    async ([contact, id]) => {
      const blob = await harness.messenger("bob").downloadAttachment(contact, id);
      const bytes = new Uint8Array(await blob.arrayBuffer());
      const wrong = bytes.findIndex((b, i) => b !== ((i * 7 + 3) & 0xff));
      return { size: blob.size, type: blob.type, wrong };
    },
    [aliceAtBob, photoId]
  );
  assert.deepEqual(download, { size: 5_000_000, type: "image/png", wrong: -1 });
  await until(bobPage, "bob", `e.type === "transferProgress" && e.direction === "download" && e.messageId === "${photoId}" && e.done === e.total`);

  // The network settings through the worker: cover traffic turned on while running, and
  // a text still goes through in its payload slots.
  const network = await alicePage.evaluate(() => harness.messenger("alice").networkSettings());
  assert.equal(network.cover, null);
  assert.deepEqual(network.relays, relays);
  const covered = await alicePage.evaluate(async (network) => {
    const alice = harness.messenger("alice");
    await alice.setNetworkSettings({ ...network, cover: { payloadPerSecond: 4 } });
    return (await alice.networkSettings()).cover;
  }, network);
  assert.deepEqual(covered, { payloadPerSecond: 4, loopPerSecond: 0.05, dropPerSecond: 0.05, loopTimeoutSeconds: 60 });
  await alicePage.evaluate((contact) => harness.messenger("alice").sendText(contact, "under cover"), added.contact);
  await until(bobPage, "bob", `e.type === "messageReceived" && e.text === "under cover"`);

  for (const [page, name] of [[alicePage, "alice"], [bobPage, "bob"]]) {
    await page.evaluate((name) => harness.messenger(name).shutdown(), name);
    await page.context().close();
  }
});

test("a relay presenting another key than its address names is refused", limit, async () => {
  const page = await newPage();
  // The second relay's host and gateway under the first relay's key: a valid address, but
  // the relay behind it cannot prove that key inside the tunnel.
  const [first, second] = relays;
  const impostor = {
    address: first.address.replace(/@.*$/, second.address.slice(second.address.indexOf("@"))),
    gateway: second.gateway,
  };
  await page.evaluate(
    (impostor) => harness.create("carol", { relays: [impostor], displayName: "carol", hops: 1 }),
    impostor
  );
  const failure = await page.evaluate(() =>
    harness.failure(() => harness.messenger("carol").createInvitation())
  );
  assert.deepEqual(
    { name: failure?.name, code: failure?.code },
    { name: "RelayKeyMismatchError", code: 19 },
    JSON.stringify(failure)
  );
  await page.evaluate(() => harness.messenger("carol").shutdown());
  await page.context().close();
});

test("a persistent profile survives a reload, refuses a wrong passphrase and a second tab", limit, async () => {
  const alicePage = await newPage();
  const bobPage = await newPage();
  const profile = { name: "alice", passphrase: "correct horse battery staple" };
  await alicePage.evaluate(
    ([relays, profile]) => harness.create("alice", { relays, displayName: "alice", profile }),
    [relays, profile]
  );
  await bobPage.evaluate((relays) => harness.create("bob", { relays, displayName: "bob" }), relays);
  // The browser was asked to keep the storage; its answer reaches the app.
  const persisted = await alicePage.evaluate(() => harness.messenger("alice").storagePersisted);
  assert.equal(typeof persisted, "boolean");
  assert.equal(await bobPage.evaluate(() => harness.messenger("bob").storagePersisted), null);
  const link = await alicePage.evaluate(() => harness.messenger("alice").createInvitation());
  const aliceAtBob = await bobPage.evaluate((link) => harness.messenger("bob").acceptInvitation(link), link);
  const added = await until(alicePage, "alice", `e.type === "contactAdded"`);
  await until(bobPage, "bob", `e.type === "contactReady"`);
  await bobPage.evaluate((c) => harness.messenger("bob").sendText(c, "before the reload"), aliceAtBob);
  await until(alicePage, "alice", `e.type === "messageReceived"`);
  const sent = await alicePage.evaluate((c) => harness.messenger("alice").sendText(c, "a reply"), added.contact);
  await until(
    alicePage,
    "alice",
    `e.type === "statusChanged" && e.status === "delivered" && e.messageIds.includes("${sent}")`
  );
  const contacts = await alicePage.evaluate(() => harness.messenger("alice").contacts());
  const history = await alicePage.evaluate((c) => harness.messenger("alice").history(c), added.contact);
  assert.deepEqual(
    contacts.map((c) => [c.contact, c.displayName]),
    [[added.contact, "bob"]]
  );
  assert.deepEqual(
    history.map((m) => [m.direction, m.text, m.status]),
    [
      ["outgoing", "a reply", "delivered"],
      ["incoming", "before the reload", "received"],
    ]
  );

  // While the profile is open here, another tab of the same browser may not open it.
  const secondTab = await newPage(alicePage.context());
  const refused = await secondTab.evaluate(
    ([relays, profile]) => harness.failure(() => harness.open("alice", { relays, profile })),
    [relays, profile]
  );
  assert.equal(refused?.name, "StoreError", JSON.stringify(refused));
  await secondTab.close();

  // The page goes away without shutting down (a reload), and comes back.
  await alicePage.reload();
  await loaded(alicePage);
  const wrong = await alicePage.evaluate(
    ([relays, name]) =>
      harness.failure(() => harness.open("alice", { relays, profile: { name, passphrase: "wrong" } })),
    [relays, profile.name]
  );
  assert.deepEqual({ name: wrong?.name, code: wrong?.code }, { name: "KeyError", code: 17 }, JSON.stringify(wrong));
  await alicePage.evaluate(
    ([relays, profile]) => harness.open("alice", { relays, profile }),
    [relays, profile]
  );
  assert.deepEqual(await alicePage.evaluate(() => harness.messenger("alice").contacts()), contacts);
  assert.deepEqual(
    await alicePage.evaluate((c) => harness.messenger("alice").history(c), added.contact),
    history
  );
  console.log(`  navigator.storage.persist() answered ${persisted} in headless Chromium`);
  // The sessions came back too: the conversation goes on.
  await bobPage.evaluate((c) => harness.messenger("bob").sendText(c, "after the reload"), aliceAtBob);
  const after = await until(alicePage, "alice", `e.type === "messageReceived"`);
  assert.equal(after.text, "after the reload");

  for (const [page, name] of [[alicePage, "alice"], [bobPage, "bob"]]) {
    await page.evaluate((name) => harness.messenger(name).shutdown(), name);
    await page.context().close();
  }
});
