// Benchmark: the core's work in Chromium (WebAssembly) against the same code native, in one
// run (scripts/bench; docs/BENCHMARKS.md records the figures). The kernels are
// wasm/src/kernels.rs, built twice: into a WebAssembly module of their own (never into the
// package), run in a dedicated worker of a Chromium page, and into the native program
// `sotto-kernels` (SOTTO_KERNELS names it). The same sizes, the best of the same rounds.
//
// - send path: seal + open of alternating texts (Signal ratchet, sealed sender, padding);
//   target at least 0.4x native;
// - attachments: encrypt + decrypt in memory (ChaCha20-Poly1305 STREAM, BLAKE3); target
//   at least 0.3x native;
// - store: received messages stored one change set each (SQLCipher: OPFS in Chromium, a
//   file natively); reported.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, newPage, serve } from "./chromium.mjs";

const quick = process.env.SOTTO_BENCH_QUICK === "1";
const work = quick
  ? { messages: 20, bytes: 1 << 20, stored: 50, rounds: 1 }
  : { messages: 500, bytes: 32 << 20, stored: 1000, rounds: 5 };

const folder = mkdtempSync(join(tmpdir(), "sotto-kernels-"));
let native;
try {
  const line = execFileSync(
    process.env.SOTTO_KERNELS,
    [work.messages, work.bytes, work.stored, work.rounds, folder].map(String),
    { encoding: "utf8" }
  );
  native = JSON.parse(line);
} finally {
  rmSync(folder, { recursive: true, force: true });
}

const { server, origin } = await serve(process.cwd());
const browser = await launch();
let chromium;
try {
  const page = await newPage(browser, origin);
  chromium = await page.evaluate(
    (work) =>
      new Promise((resolve) => {
        const worker = new Worker("/kernels-worker.js", { type: "module" });
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (event) => resolve({ error: event.message });
        worker.postMessage(work);
      }),
    work
  );
} finally {
  await browser.close();
  server.close();
}
if (chromium.error) throw new Error(`the kernels failed in Chromium: ${chromium.error}`);

console.log(
  `Chromium (WebAssembly) against native, the same code, best of ${work.rounds} round(s)${quick ? " (quick mode)" : ""}`
);
const rows = [
  ["send path: seal + open", "sendPathMs", work.messages, "messages", 0.4],
  ["attachment: encrypt + decrypt", "attachmentMs", work.bytes / (1 << 20), "MiB", 0.3],
  ["store: messages received", "storeMs", work.stored, "messages", null],
];
for (const [label, key, amount, unit, target] of rows) {
  const rate = (ms) => (amount / ms) * 1000;
  const ratio = native[key] / chromium[key];
  const verdict = target === null ? "" : ratio >= target ? `  target >= ${target}x: met` : `  target >= ${target}x: NOT MET`;
  console.log(
    `  ${label.padEnd(31)} native ${rate(native[key]).toFixed(1).padStart(9)} ${unit}/s` +
      `   Chromium ${rate(chromium[key]).toFixed(1).padStart(9)} ${unit}/s   ${ratio.toFixed(2)}x native${verdict}`
  );
}
