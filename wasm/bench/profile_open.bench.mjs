// Benchmark: a persistent profile in Chromium (scripts/bench runs it against the installed
// npm package; docs/BENCHMARKS.md records the figures). Creating and opening a persistent
// profile derive its key from the passphrase with Argon2id (64 MiB, 3 passes, one lane,
// in WebAssembly on one thread) and create or open its SQLCipher store in OPFS. The
// baseline, measured in the same run and page: creating an in-memory profile (a worker,
// the WebAssembly, a new identity; no key derivation, no files).
import { launch, newPage, serve, testRelays } from "./chromium.mjs";

const rounds = process.env.SOTTO_BENCH_QUICK === "1" ? 1 : 5;
const relays = testRelays();
const { server, origin } = await serve(process.cwd());
const browser = await launch();

/** Milliseconds `how` (create or open) takes in the page, and then shuts it down. */
function timed(page, how, options) {
  return page.evaluate(
    async ([how, options]) => {
      const start = performance.now();
      const messenger = await harness.Messenger[how](options);
      const elapsed = performance.now() - start;
      await messenger.shutdown();
      return elapsed;
    },
    [how, options]
  );
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const samples = { memory: [], create: [], open: [] };
try {
  const page = await newPage(browser, origin);
  for (let round = 0; round < rounds; round++) {
    const profile = { name: `bench-${round}`, passphrase: "a passphrase for the benchmark" };
    samples.memory.push(await timed(page, "create", { relays }));
    samples.create.push(await timed(page, "create", { relays, profile }));
    samples.open.push(await timed(page, "open", { relays, profile }));
  }
} finally {
  await browser.close();
  server.close();
}

const baseline = median(samples.memory);
console.log(`persistent profile in headless Chromium, median of ${rounds} round(s)${rounds === 1 ? " (quick mode)" : ""}`);
console.log(`  in-memory profile created (baseline)               ${baseline.toFixed(0).padStart(6)} ms`);
for (const [what, label] of [
  ["create", "persistent profile created (Argon2id + SQLCipher)"],
  ["open", "persistent profile opened (Argon2id + SQLCipher)"],
]) {
  const ms = median(samples[what]);
  console.log(`  ${label.padEnd(50)} ${ms.toFixed(0).padStart(6)} ms  (${(ms / baseline).toFixed(2)}x the baseline)`);
}
