// Benchmark: the web client in headless Chromium against three local relays (scripts/web
// --bench; scripts/bench runs it; docs/BENCHMARKS.md records the figures).
//
// - First load: the built app, served gzipped from loopback with a cold cache (HTTP cache
//   and service worker cleared), to its unlock screen (navigation timing, bytes on the
//   wire), then unlocked (Argon2id and SQLCipher in the worker) to a conversation of 1,000
//   messages on screen. Baseline in the same run: the same load with a warm cache (the
//   service worker's).
// - Scrolling: the conversation grown to 10,000 messages, scrolled back from the newest to
//   the oldest with the mouse wheel, the history paged in as it goes. Long tasks (over
//   50 ms) on the page's thread are counted, and frame intervals measured; baseline in the
//   same page: frame intervals while nothing scrolls.
//
// The messages are real: a Node profile (the same npm package) sends them through the
// relays to the browser profile, which receives, decrypts and stores each one.
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { parseRelayList, serve } from "../serve.mjs";

const require = createRequire(import.meta.url);
const { Messenger } = require("sotto");

const quick = process.env.SOTTO_BENCH_QUICK === "1";
const FIRST = Number(process.env.SOTTO_WEB_BENCH_FIRST ?? (quick ? 40 : 1_000));
// SOTTO_WEB_BENCH_TOTAL: another size for the scrolled conversation (the browser profile
// receives a few messages a second, so 10,000 take most of an hour: docs/BENCHMARKS.md).
const TOTAL = Number(process.env.SOTTO_WEB_BENCH_TOTAL ?? (quick ? 120 : 10_000));
const relays = parseRelayList(process.env.SOTTO_TEST_RELAYS);
const passphrase = "the benchmark's passphrase";

const served = await serve({ relays });
const browser = await chromium.launch({
  executablePath: process.env.SOTTO_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const bob = await Messenger.create({ relays, displayName: "Bob", hops: 3, meanDelayMs: 0 });

/** Progress on standard error, so the figures on standard output stay a table. */
function step(what) {
  console.error(`[${(performance.now() / 1000).toFixed(0)}s] ${what}`);
}

function ms(value) {
  return `${value.toFixed(0).padStart(7)} ms`;
}

/** Bob sends texts numbered `from`..`to` (exclusive), a few in flight at a time. */
async function send(contact, from, to) {
  const started = performance.now();
  const inFlight = new Set();
  const ids = [];
  for (let n = from; n < to; n++) {
    const sent = bob.sendText(contact, `Message ${n + 1}: ${"lorem ipsum dolor sit amet ".repeat(1 + (n % 5))}`);
    sent.then((id) => ids.push(id));
    inFlight.add(sent);
    sent.finally(() => inFlight.delete(sent));
    if (inFlight.size >= 16) await Promise.race(inFlight);
    if ((n + 1 - from) % 1000 === 0) step(`${n + 1 - from} sent`);
  }
  await Promise.all(inFlight);
  return { ids, ms: performance.now() - started };
}

/** Messages the browser profile has received: Bob's delivery receipts name them. */
const delivered = new Set();
let lastReceipt = performance.now();
bob.onEvent((event) => {
  if (event.type === "statusChanged") lastReceipt = performance.now();
  if (event.type === "statusChanged" && (event.status === "delivered" || event.status === "read")) {
    for (const id of event.messageIds) delivered.add(id);
  }
});

/** Waits until every one of `ids` has reached the browser profile. */
async function received(ids) {
  for (let waited = 0; !ids.every((id) => delivered.has(id)); waited += 1) {
    if (waited % 60 === 0) step(`${ids.filter((id) => delivered.has(id)).length} of ${ids.length} received`);
    if (waited > 3600) throw new Error("the page never received them all");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Waits until the browser profile has sent every receipt (none reached Bob for 5 s): a
 * profile closed with receipts in its outbox sends them first when it opens again, which
 * is not what a first load measures.
 */
async function settled() {
  while (performance.now() - lastReceipt < 5_000) await new Promise((resolve) => setTimeout(resolve, 500));
}

/** Loads the app with the cache as it is; the navigation's timing and bytes, and unlocks. */
async function load(page, { cold }) {
  // Closed in order first (Lock): a tab killed while receiving leaves work for its next
  // opening (see docs/BENCHMARKS.md), which is not what a first load measures.
  await page.getByRole("button", { name: "Lock" }).click();
  await page.getByRole("heading", { name: "Unlock Sotto" }).waitFor();
  if (cold) {
    await page.evaluate(async () => {
      for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister();
      for (const key of await caches.keys()) await caches.delete(key);
    });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.clearBrowserCache");
    await cdp.detach();
  }
  const before = { ...served.sent };
  await page.goto(served.origin);
  await page.getByRole("heading", { name: "Unlock Sotto" }).waitFor();
  const timing = await page.evaluate(() => {
    const [navigation] = performance.getEntriesByType("navigation");
    return { unlockScreen: performance.now(), domContentLoaded: navigation.domContentLoadedEventEnd };
  });
  const start = Date.now();
  await page.getByLabel("Passphrase").fill(passphrase);
  const clicked = await page.evaluate(() => performance.now());
  await page.getByRole("button", { name: "Unlock" }).click();
  try {
    await page.getByRole("button", { name: /^Bob/ }).click({ timeout: 600_000 });
    step(`unlocked in ${Date.now() - start} ms`);
    await page.locator("ol.messages > li").last().waitFor({ timeout: 600_000 });
  } catch (error) {
    await page.screenshot({ path: `${process.env.SOTTO_WEB_SCREENSHOTS ?? "."}/bench-failure.png` });
    throw error;
  }
  const unlocked = Date.now() - start;
  // Where the unlock's time went: the app's marks (src/app.ts, src/screens/home.ts).
  await page.waitForFunction(() => performance.getEntriesByName("sotto:started").length > 0, null, { timeout: 600_000 });
  const phases = await page.evaluate((clicked) => {
    const at = (name) => performance.getEntriesByName(name)[0].startTime - clicked;
    return { opened: at("sotto:opened"), homeShown: at("sotto:home-shown"), started: at("sotto:started") };
  }, clicked);
  // What the server sent for it: the page, its scripts, the worker and its WebAssembly.
  const files = served.sent.files - before.files;
  const bytes = served.sent.bytes - before.bytes;
  return { ...timing, ...phases, unlocked, files, bytes };
}

try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.on("console", (message) => message.type() === "error" && step(`page: ${message.text()}`));
  page.on("pageerror", (error) => step(`page error: ${error}`));
  await page.goto(served.origin);
  await page.getByLabel("Your name").fill("Alice");
  await page.waitForFunction(() => document.querySelector("#relays")?.value.includes("sotto://"));
  await page.getByLabel("Passphrase", { exact: true }).fill(passphrase);
  await page.getByLabel("Passphrase again").fill(passphrase);
  await page.getByLabel(/cover traffic/).uncheck();
  await page.getByRole("button", { name: "Create my profile" }).click();
  // Filling a long conversation takes longer than the idle lock's 10 minutes without use:
  // the profile stays unlocked, as a user sitting through it would choose in Settings.
  await page.getByRole("button", { name: "Settings" }).click();
  await page.getByLabel("Lock the profile").selectOption("0");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("dialog", { name: "Settings" }).waitFor({ state: "hidden" });
  await page.getByRole("button", { name: "Invite" }).click();
  const link = await page.locator("#invitation-link").inputValue();
  step("profile made; Bob accepts the invitation");
  const events = bob.subscribe();
  await bob.start();
  const alice = await bob.acceptInvitation(link);
  for await (const event of events) if (event.type === "contactReady" && event.contact === alice) break;
  await page.getByRole("heading", { level: 2, name: /^Bob/ }).waitFor({ timeout: 60_000 });

  step(`sending ${FIRST} messages`);
  const sending = await send(alice, 0, FIRST);
  step("sent; waiting for the page to receive them");
  await received(sending.ids);
  await settled();
  console.log(`web client in headless Chromium${quick ? " (quick mode: fewer messages)" : ""}`);
  console.log(`  ${FIRST} messages sent by a Node profile and received by the page: ${(FIRST / (sending.ms / 1000)).toFixed(0)} messages/s sending`);

  const cold = await load(page, { cold: true });
  const warm = await load(page, { cold: false });
  console.log(`first load, cold cache, gzip on loopback: ${cold.files} files, ${(cold.bytes / 1e6).toFixed(2)} MB on the wire (warm cache: ${warm.files} files, ${(warm.bytes / 1e6).toFixed(2)} MB)`);
  console.log(`  DOMContentLoaded                         ${ms(cold.domContentLoaded)}   warm cache (baseline) ${ms(warm.domContentLoaded)}   ${(cold.domContentLoaded / warm.domContentLoaded).toFixed(2)}x`);
  console.log(`  unlock screen shown                      ${ms(cold.unlockScreen)}   warm cache (baseline) ${ms(warm.unlockScreen)}   ${(cold.unlockScreen / warm.unlockScreen).toFixed(2)}x`);
  console.log(`  unlocked to ${FIRST} messages on screen   ${ms(cold.unlocked)}   warm cache (baseline) ${ms(warm.unlocked)}   ${(cold.unlocked / warm.unlocked).toFixed(2)}x`);
  console.log(`    of which: profile opened               ${ms(cold.opened)}   warm cache (baseline) ${ms(warm.opened)}`);
  console.log(`              contacts shown               ${ms(cold.homeShown)}   warm cache (baseline) ${ms(warm.homeShown)}`);
  console.log(`              first sync done              ${ms(cold.started)}   warm cache (baseline) ${ms(warm.started)}`);

  // Grow the conversation, then open it afresh and scroll it back to its first message.
  step(`sending ${TOTAL - FIRST} more`);
  const more = await send(alice, FIRST, TOTAL);
  step("sent; waiting for the page to receive them");
  await received(more.ids);
  await settled();
  await page.getByRole("button", { name: "Lock" }).click();
  await page.getByLabel("Passphrase").fill(passphrase);
  await page.getByRole("button", { name: "Unlock" }).click();
  await page.getByRole("button", { name: /^Bob/ }).click({ timeout: 600_000 });
  await page.locator("ol.messages > li").last().waitFor({ timeout: 600_000 });
  // What the last session left on the relays (the sender's retries of messages the page
  // had not yet acknowledged) is read by the catch-up of `start`: wait for its end, so
  // that the scrolling's history pages never wait for one of its batches.
  await page.waitForFunction(() => performance.getEntriesByName("sotto:started").length > 0, null, { timeout: 1_800_000 });
  const frames = (scrolling) =>
    page.evaluate(
      (scrolling) =>
        new Promise((resolve) => {
          const list = document.querySelector("ol.messages");
          const intervals = [];
          const longTasks = [];
          const observer = new PerformanceObserver((entries) => longTasks.push(...entries.getEntries().map((e) => e.duration)));
          observer.observe({ type: "longtask" });
          let last = performance.now();
          const started = last;
          const frame = (now) => {
            intervals.push(now - last);
            last = now;
            const done = scrolling ? list.firstElementChild?.textContent.includes("Message 1:") && list.scrollTop === 0 : now - started > 3000;
            if (done || now - started > 600_000) {
              observer.disconnect();
              resolve({ intervals, longTasks, seconds: (now - started) / 1000, rows: list.children.length });
              return;
            }
            if (scrolling) list.scrollBy(0, -600);
            requestAnimationFrame(frame);
          };
          requestAnimationFrame(frame);
        }),
      scrolling
    );
  step("scrolling");
  const idle = await frames(false);
  const scroll = await frames(true);
  const p = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))];
  console.log(`scrolling ${TOTAL} messages back to the first (${scroll.rows} rows loaded, ${scroll.seconds.toFixed(1)} s, ${scroll.intervals.length} frames):`);
  console.log(`  long tasks over 50 ms                    ${String(scroll.longTasks.length).padStart(7)}      (longest ${ms(Math.max(0, ...scroll.longTasks))})`);
  console.log(`  frame interval p50                       ${ms(p(scroll.intervals, 0.5))}   idle (baseline) ${ms(p(idle.intervals, 0.5))}   ${(p(scroll.intervals, 0.5) / p(idle.intervals, 0.5)).toFixed(2)}x`);
  console.log(`  frame interval p99                       ${ms(p(scroll.intervals, 0.99))}   idle (baseline) ${ms(p(idle.intervals, 0.99))}   ${(p(scroll.intervals, 0.99) / p(idle.intervals, 0.99)).toFixed(2)}x`);
  await context.close();
} finally {
  await bob.shutdown();
  await browser.close();
  served.server.close();
}
