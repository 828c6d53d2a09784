// Sotto for browsers and bundlers (Vite, webpack 5, esbuild): an ES module that loads its
// WebAssembly beside it (`new URL("sotto_wasm_bg.wasm", import.meta.url)`, which bundlers
// rewrite to the emitted asset) before anything is exported, so every export is ready to use.
import init, { Messenger, Subscription } from "./sotto_wasm.js";

await init();

/** `for await (const event of subscription)`: the events until the messenger shuts down. */
Subscription.prototype[Symbol.asyncIterator] = async function* events() {
  for (;;) {
    const event = await this.next();
    if (event === null) return;
    yield event;
  }
};

export { Messenger, Subscription };
