// Sotto for browsers and bundlers (Vite, webpack 5, esbuild): every `Messenger` runs in a
// dedicated worker of its own (web/worker.js, with the WebAssembly beside it; bundlers
// follow `new Worker(new URL(…, import.meta.url))`), where a persistent profile's SQLCipher
// files can live in the origin private file system. This module forwards each call there;
// the API is the same as in Node.

import { FORWARDED } from "./calls.js";

// The core's limits and defaults, written into the package when it is made (from the Node
// build's `coreConstants()`): a page needs them before any worker runs.
export { constants } from "./constants.js";

/** A rejection with the package's stable name and code. */
function coded({ name, code, message }) {
  return Object.assign(new Error(message), { name, code });
}

/** The page's end of one worker: calls by message, answered in any order. */
class Remote {
  // Written in the one form bundlers recognise (Vite, webpack 5): they then bundle the
  // worker with its imports and emit the WebAssembly beside it.
  #worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "sotto" });
  #pending = new Map();
  #next = 1;
  #closed = false;

  constructor() {
    this.#worker.onmessage = ({ data: { id, value, error } }) => {
      const call = this.#pending.get(id);
      if (!call) return;
      this.#pending.delete(id);
      if (error) call.reject(coded(error));
      else call.resolve(value);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.close(coded({ name: "InternalError", code: 51, message: `sotto's worker failed: ${event.message}` }));
    };
  }

  call(method, ...args) {
    if (this.#closed) {
      return method === "next"
        ? Promise.resolve(null)
        : Promise.reject(coded({ name: "ShutDownError", code: 50, message: "the messenger has shut down" }));
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /** Ends the worker: waiting `next()` calls end with `null`, other calls reject. */
  close(reason) {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    for (const { method, resolve, reject } of this.#pending.values()) {
      if (method === "next") resolve(null);
      else reject(reason ?? coded({ name: "ShutDownError", code: 50, message: "the messenger has shut down" }));
    }
    this.#pending.clear();
  }
}

/**
 * Asks the browser to keep this origin's storage (a persistent profile) even under storage
 * pressure: `true` when granted, `false` when refused (the browser may then evict the
 * profile; tell the user), `null` when this browser cannot say.
 */
async function askToPersist() {
  try {
    return typeof navigator.storage?.persist === "function" ? await navigator.storage.persist() : null;
  } catch {
    return null;
  }
}

/** One profile on the network (see the package's README and index.d.ts). */
export class Messenger {
  #remote;

  /**
   * For a persistent profile: whether the browser agreed to keep its storage
   * (`navigator.storage.persist()`); `false` means it may be evicted. `null` otherwise.
   */
  storagePersisted = null;

  /** Use `Messenger.create` or `Messenger.open`. */
  constructor(remote) {
    if (!(remote instanceof Remote)) throw new TypeError("use Messenger.create or Messenger.open");
    this.#remote = remote;
  }

  static async #begin(how, options) {
    const remote = new Remote();
    try {
      await remote.call(how, options);
    } catch (error) {
      remote.close();
      throw error;
    }
    const messenger = new Messenger(remote);
    if (options?.profile) messenger.storagePersisted = await askToPersist();
    return messenger;
  }

  /** A new identity and profile (persistent with `options.profile`). */
  static create(options) {
    return Messenger.#begin("create", options);
  }

  /** The persistent profile `options.profile` again. */
  static open(options) {
    return Messenger.#begin("open", options);
  }

  static {
    for (const method of FORWARDED) {
      Object.defineProperty(Messenger.prototype, method, {
        value(...args) {
          return this.#remote.call(method, ...args);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  subscribe() {
    return new Subscription(this.#remote, this.#remote.call("subscribe"));
  }

  /**
   * Calls `callback` with every event from now on, in order, until the messenger shuts
   * down or the returned function is called. An exception thrown by the callback is
   * reported (`reportError`) and the next events still come.
   */
  onEvent(callback) {
    const subscription = this.subscribe();
    let stopped = false;
    (async () => {
      for await (const event of subscription) {
        if (stopped) return;
        try {
          callback(event);
        } catch (error) {
          reportError(error);
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }

  /** Finishes the calls made, stops the background work, closes the profile and the worker. */
  async shutdown() {
    try {
      await this.#remote.call("shutdown");
    } finally {
      this.#remote.close();
    }
  }

  /** Ends the worker at once (`shutdown` is the orderly way). */
  free() {
    this.#remote.close();
  }

  [Symbol.dispose]() {
    this.free();
  }
}

/** The events of a messenger from the moment of subscribing, in order. */
export class Subscription {
  #remote;
  #id;

  constructor(remote, id) {
    this.#remote = remote;
    this.#id = id;
    id.catch(() => {});
  }

  /** The next event, or `null` once the messenger has shut down. One call at a time. */
  async next() {
    return this.#remote.call("next", await this.#id);
  }

  async *[Symbol.asyncIterator]() {
    for (;;) {
      const event = await this.next();
      if (event === null) return;
      yield event;
    }
  }

  free() {}

  [Symbol.dispose]() {}
}
