// The Chromium side of kernels.bench.mjs: a dedicated worker (OPFS's sync access handles
// for the store kernel) running the benchmark kernels built from wasm/src/kernels.rs.
// Each request `{ messages, bytes, stored, rounds }` is answered with the best time of
// each kernel in milliseconds, measured here with performance.now().
import init, { SendPath, StorePath, attachmentRoundTrip } from "./kernels/sotto_wasm.js";

const ready = init();

async function best(rounds, run) {
  let fastest = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await run(round);
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

self.onmessage = async ({ data: { messages, bytes, stored, rounds } }) => {
  try {
    await ready;
    const send = await SendPath.prepare();
    const sendPathMs = await best(rounds, () => send.exchange(messages));
    const plaintext = new Uint8Array(bytes).map((_, i) => i % 251);
    const attachmentMs = await best(rounds, () => attachmentRoundTrip(plaintext));
    const stores = [];
    for (let round = 0; round < rounds; round++) {
      stores.push(await StorePath.prepare(`/store-${Date.now()}-${round}.sqlite`));
    }
    const storeMs = await best(rounds, (round) => stores[round].receive(stored));
    self.postMessage({ sendPathMs, attachmentMs, storeMs });
  } catch (error) {
    self.postMessage({ error: String(error?.message ?? error) });
  }
};
