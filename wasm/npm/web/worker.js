// Sotto's dedicated worker: the messenger of one page-side `Messenger` (web/index.js) runs
// here, because only a dedicated worker may hold the origin private file system's sync
// access handles that a persistent profile's SQLCipher files need. The page calls by
// message: `{ id, method, args }`, answered by `{ id, value }` or `{ id, error }`.
import init, { Messenger } from "./sotto_wasm.js";
import { FORWARDED } from "./calls.js";

const ready = init();
let messenger = null;
let releaseProfile = null;
const subscriptions = new Map();
let nextSubscription = 1;

/** A rejection with the package's stable name and code. */
function coded(name, code, message) {
  return Object.assign(new Error(message), { name, code });
}

/**
 * Holds a Web Lock on the profile's name while it is open, so that two tabs never open one
 * profile at once: the second is refused at once (its files are held by the first anyway).
 */
async function lockProfile(options) {
  const name = options?.profile?.name;
  if (typeof name !== "string" || !navigator.locks) return;
  await new Promise((resolve, reject) => {
    navigator.locks
      .request(`sotto-profile:${name}`, { ifAvailable: true }, (lock) => {
        if (!lock) {
          reject(coded("StoreError", 16, `profile ${name} is open in another tab or window`));
          return undefined;
        }
        resolve();
        return new Promise((release) => {
          releaseProfile = release;
        });
      })
      .catch(reject);
  });
}

function unlockProfile() {
  releaseProfile?.();
  releaseProfile = null;
}

async function begin(how, options) {
  if (messenger) throw coded("InvalidArgumentError", 104, "this worker already runs a messenger");
  await lockProfile(options);
  try {
    messenger = await Messenger[how](options);
  } catch (error) {
    unlockProfile();
    throw error;
  }
}

const calls = {
  create: (options) => begin("create", options),
  open: (options) => begin("open", options),
  subscribe() {
    const id = nextSubscription++;
    subscriptions.set(id, messenger.subscribe());
    return id;
  },
  async next(id) {
    const event = await subscriptions.get(id).next();
    if (event === null) subscriptions.delete(id);
    return event;
  },
  async shutdown() {
    try {
      await messenger.shutdown();
    } finally {
      unlockProfile();
    }
  },
};

// The calls that go straight to the messenger.
for (const method of FORWARDED) {
  calls[method] = (...args) => messenger[method](...args);
}

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    await ready;
    if (!Object.hasOwn(calls, method)) throw coded("InvalidArgumentError", 104, `no call ${method}`);
    self.postMessage({ id, value: await calls[method](...args) });
  } catch (error) {
    self.postMessage({
      id,
      error: {
        name: error?.name ?? "Error",
        code: error?.code,
        message: error?.message ?? String(error),
      },
    });
  }
};
