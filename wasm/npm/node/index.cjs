// Sotto for Node: the wasm-bindgen module, plus what JavaScript expects of it.
"use strict";

if (typeof globalThis.WebSocket !== "function") {
  throw new Error(
    "sotto: this Node has no WebSocket. Node 22 has one built in; on Node 20 start node with " +
      "--experimental-websocket (relays are reached through WebSocket tunnels)."
  );
}

const sotto = require("./sotto_wasm.js");
const { useDirectory } = require("./files.cjs");

// A persistent profile lives in `options.profile.directory`: that folder becomes this
// process's origin private file system before the profile is created or opened.
for (const how of ["create", "open"]) {
  const original = sotto.Messenger[how];
  sotto.Messenger[how] = async function persistentOrNot(options) {
    if (options?.profile) useDirectory(options.profile.directory);
    return original.call(this, options);
  };
}

/** `for await (const event of subscription)`: the events until the messenger shuts down. */
sotto.Subscription.prototype[Symbol.asyncIterator] = async function* events() {
  for (;;) {
    const event = await this.next();
    if (event === null) return;
    yield event;
  }
};

/**
 * Calls `callback` with every event from now on, in order, until the messenger shuts down
 * or the returned function is called. An exception thrown by the callback is printed and
 * the next events still come.
 */
sotto.Messenger.prototype.onEvent = function onEvent(callback) {
  const subscription = this.subscribe();
  let stopped = false;
  (async () => {
    for await (const event of subscription) {
      if (stopped) return;
      try {
        callback(event);
      } catch (error) {
        console.error("sotto: an onEvent callback threw:", error);
      }
    }
  })();
  return () => {
    stopped = true;
  };
};

/** The core's limits and defaults (index.d.ts: `SottoConstants`), the web build's too. */
sotto.constants = freeze(sotto.coreConstants());

/** `value` and the objects in it, frozen. */
function freeze(value) {
  for (const inner of Object.values(value)) if (typeof inner === "object" && inner !== null) freeze(inner);
  return Object.freeze(value);
}

module.exports = sotto;
