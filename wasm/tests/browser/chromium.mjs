// What the browser tests and benchmarks share: a loopback HTTP server for this folder (the
// page, and the package installed in node_modules) and Debian's chromium, headless.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

/** Serves `root` on 127.0.0.1 (`/` is page.html); resolves to the server and its origin. */
export async function serve(root) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, "http://localhost").pathname;
    const file = normalize(join(root, path === "/" ? "page.html" : path));
    if (!file.startsWith(root)) return response.writeHead(403).end();
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  // http://127.0.0.1 is a secure context, and may open ws:// tunnels to loopback relays.
  return { server, origin: `http://127.0.0.1:${server.address().port}/` };
}

/** Debian's chromium (never a browser downloaded by playwright), headless, as root. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.SOTTO_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}

/** Waits until `page` has loaded the package (page.html sets `data-ready`). */
export async function loaded(page, problems = []) {
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 30_000 }).catch((error) => {
    throw new Error(`the page did not load the package: ${problems.join("; ") || error}`);
  });
}

/** A page of a fresh browser context (or of `context`), with the package loaded. */
export async function newPage(browser, origin, context) {
  context ??= await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error));
  await page.goto(origin);
  await loaded(page, problems);
  return page;
}

/** The relays `scripts/package npm` started, from SOTTO_TEST_RELAYS. */
export function testRelays() {
  return process.env.SOTTO_TEST_RELAYS.split(";").map((relay) => {
    const [address, gateway] = relay.split(" ");
    return { address, gateway };
  });
}
