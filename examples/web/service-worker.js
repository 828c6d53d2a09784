// Sotto's service worker: the app shell (the built page, its scripts, the WebAssembly,
// icons) is cached at install, so the app starts without a network and then syncs. Nothing
// else is cached: messages and keys live in the encrypted profile, and the relays are
// reached over WebSockets, which a service worker never sees. The build writes the shell's
// files and its version in (vite.config.ts).
const SHELL = __SHELL__;
const CACHE = `sotto-shell-${__VERSION__}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("sotto-shell-") && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

// The shell from the cache first (it changes only with a new build, which brings a new
// worker); anything else from the network, untouched.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const url = new URL(request.url);
      const key = request.mode === "navigate" ? "./" : url.pathname === new URL("./", self.location).pathname ? "./" : request;
      const cached = await cache.match(key, { ignoreSearch: request.mode === "navigate" });
      return cached ?? fetch(request);
    })
  );
});
