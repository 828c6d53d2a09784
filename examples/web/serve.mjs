// Serves the built web client (dist/) on loopback, as a careful host would: the page's
// Content-Security-Policy as a header too, with a report endpoint, and the headers that keep
// the page out of other sites' frames and sniffing; relays.json from the relays given.
//
//   node serve.mjs [--port N] [--relays "sotto://… ws://…;…"]   (scripts/web runs it)
//
// The tests import `serve` and read the violation reports it collects.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** What is sent gzipped to a browser that accepts it (images are compressed already). */
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".wasm", ".json", ".webmanifest", ".svg"]);

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** The policy of index.html's meta tag, as a header (with what only a header can carry). */
async function policy(root) {
  const html = await readFile(join(root, "index.html"), "utf8");
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
  if (!meta) throw new Error("index.html has no Content-Security-Policy");
  return `${meta[1]}; frame-ancestors 'none'; report-uri /csp-report`;
}

/**
 * Serves `root` on 127.0.0.1:`port` (0: any free port). `relays` ([{ address, gateway }])
 * becomes relays.json. `extraPages` maps a path to what is served there instead, under the
 * same headers: HTML as a string, or `{ type, body }` (the tests' probe pages and tampered
 * files). Resolves to `{ server, origin, reports, sent }`; `reports` fills with the CSP
 * violation reports browsers send, `sent` counts the files served and their bytes on the
 * wire (after compression).
 */
export async function serve({ root = join(fileURLToPath(new URL(".", import.meta.url)), "dist"), port = 0, relays = [], extraPages = {} } = {}) {
  const headers = {
    "content-security-policy": await policy(root),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(self), microphone=(self), geolocation=()",
  };
  const reports = [];
  const gzipped = new Map();
  const sent = { files: 0, bytes: 0 };
  const server = createServer(async (request, response) => {
    let path;
    try {
      path = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
    } catch {
      return response.writeHead(400, headers).end();
    }
    if (request.method === "POST" && path === "/csp-report") {
      let body = "";
      for await (const chunk of request) body += chunk;
      try {
        reports.push(JSON.parse(body));
      } catch {
        reports.push({ unreadable: body });
      }
      return response.writeHead(204).end();
    }
    if (request.method !== "GET" && request.method !== "HEAD") return response.writeHead(405, headers).end();
    if (path === "/relays.json") {
      return response.writeHead(200, { ...headers, "content-type": TYPES[".json"], "cache-control": "no-store" }).end(JSON.stringify(relays));
    }
    const extra = extraPages[path];
    if (extra !== undefined) {
      const { type, body } = typeof extra === "string" ? { type: TYPES[".html"], body: extra } : extra;
      return response.writeHead(200, { ...headers, "content-type": type, "cache-control": "no-store" }).end(body);
    }
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(root + sep)) return response.writeHead(403, headers).end();
    try {
      let body = await readFile(file);
      // Hashed assets never change; the page and the service worker are checked each time.
      const cache = path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
      const fileHeaders = { ...headers, "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": cache, vary: "accept-encoding" };
      if (COMPRESSIBLE.has(extname(file)) && /\bgzip\b/.test(request.headers["accept-encoding"] ?? "")) {
        if (!gzipped.has(file)) gzipped.set(file, gzipSync(body, { level: 9 }));
        body = gzipped.get(file);
        fileHeaders["content-encoding"] = "gzip";
      }
      response.writeHead(200, fileHeaders);
      response.end(request.method === "HEAD" ? undefined : body);
      sent.files += 1;
      sent.bytes += request.method === "HEAD" ? 0 : body.length;
    } catch {
      response.writeHead(404, headers).end();
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}/`, reports, sent };
}

/** Relays as SOTTO_TEST_RELAYS and scripts/web write them: "address gateway;…". */
export function parseRelayList(text) {
  return (text ?? "")
    .split(";")
    .filter(Boolean)
    .map((relay) => {
      const [address, gateway] = relay.split(" ");
      return { address, gateway };
    });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argument = (name) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : undefined;
  };
  const { origin } = await serve({ port: Number(argument("--port") ?? 0), relays: parseRelayList(argument("--relays")) });
  console.log(`sotto web: ${origin}`);
}
