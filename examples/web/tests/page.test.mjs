// The page itself: its Content-Security-Policy blocks an injected inline script and the
// violation is reported; Subresource Integrity refuses a tampered script; the app installs
// as a Progressive Web App and starts offline from its service worker's cache, then syncs;
// the first run works from the keyboard alone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { Person, accessibilityProblems, launch, serveApp } from "./people.mjs";

const dist = new URL("../dist/", import.meta.url);
const index = readFileSync(new URL("index.html", dist), "utf8");

let browser;
before(async () => {
  browser = await launch();
});
after(() => browser?.close());

test("an injected inline script is blocked and the violation reported", async () => {
  const probe = index.replace("</head>", "<script>window.injected = true;</script></head>");
  const served = await serveApp({ "/probe.html": probe });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = [];
    await page.exposeFunction("violation", (v) => violations.push(v));
    await page.addInitScript(() =>
      document.addEventListener("securitypolicyviolation", (e) => window.violation(`${e.effectiveDirective} ${e.blockedURI}`))
    );
    await page.goto(`${served.origin}probe.html`);
    // The app itself still runs: its scripts come from the origin, with their integrity.
    await page.getByRole("heading", { name: "Welcome to Sotto" }).waitFor();
    assert.equal(await page.evaluate(() => window.injected), undefined);
    assert.ok(violations.some((v) => v.startsWith("script-src-elem inline")), JSON.stringify(violations));
    // The browser reported it to the host's endpoint (the header's report-uri).
    for (let i = 0; i < 50 && served.reports.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const report = served.reports[0]?.["csp-report"];
    assert.ok(report, `no report: ${JSON.stringify(served.reports)}`);
    assert.equal(report["blocked-uri"], "inline");
    assert.match(report["violated-directive"], /^script-src/);
    await context.close();
  } finally {
    served.server.close();
  }
});

test("the policy allows no eval, no inline style, nothing from other origins", () => {
  const policy = /content="([^"]+)"/.exec(index.slice(index.indexOf("Content-Security-Policy")))[1];
  const directives = Object.fromEntries(policy.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives["default-src"], ["'none'"]);
  assert.deepEqual(directives["script-src"], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives["style-src"], ["'self'"]);
  // Only the relays' gateways beyond the origin (wss: anywhere, ws: on loopback only).
  assert.deepEqual(directives["connect-src"], ["'self'", "wss:", "ws://127.0.0.1:*", "ws://localhost:*"]);
  // The built page has no inline script or style, and every script and stylesheet is pinned.
  assert.doesNotMatch(index, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(index, /<style|style=/);
  const pinned = [...index.matchAll(/<(?:script|link rel="stylesheet")[^>]*>/g)].map(([tag]) => tag);
  assert.ok(pinned.length >= 2);
  for (const tag of pinned) assert.match(tag, /integrity="sha384-[A-Za-z0-9+/]+=*"/, tag);
});

test("a tampered script is refused by its integrity hash", async () => {
  const script = readdirSync(new URL("assets/", dist)).find((f) => /^index-.*\.js$/.test(f));
  const served = await serveApp({
    [`/assets/${script}`]: { type: "text/javascript", body: `${readFileSync(new URL(`assets/${script}`, dist), "utf8")}\n;window.tampered = true;` },
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    await page.goto(served.origin);
    await page.waitForTimeout(1500);
    assert.equal(await page.evaluate(() => window.tampered), undefined);
    assert.equal(await page.getByRole("heading", { name: "Welcome to Sotto" }).count(), 0);
    assert.ok(errors.some((e) => /integrity/i.test(e)), JSON.stringify(errors));
    await context.close();
  } finally {
    served.server.close();
  }
});

test("installable: the manifest and the service worker; it starts offline, then syncs", { timeout: 180_000 }, async () => {
  const served = await serveApp();
  try {
    const erin = await Person.arrive(browser, served.origin, "Erin");
    const page = erin.page;
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector('link[rel="manifest"]');
      return (await fetch(link.href)).json();
    });
    assert.equal(manifest.display, "standalone");
    assert.ok(manifest.icons.some((icon) => icon.sizes === "512x512"));
    // The first run from the keyboard alone: the name field has the focus.
    await page.keyboard.type("Erin");
    await page.waitForFunction(() => document.querySelector("#relays")?.value.includes("sotto://"));
    await page.keyboard.press("Tab"); // the relays, as the host gave them
    await page.keyboard.press("Tab");
    await page.keyboard.type(erin.passphrase);
    await page.keyboard.press("Tab");
    await page.keyboard.type(erin.passphrase);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space"); // no cover traffic
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Invite" }).waitFor({ timeout: 60_000 });
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("sotto.prefs")).network.cover), null);
    // The keyboard reaches the actions, and Escape closes a dialog.
    await page.keyboard.press("Control+k");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "contact-search");
    await page.getByRole("button", { name: "Settings" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog", { name: "Settings" }).waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });

    // The service worker has cached the shell: offline, the page still starts and unlocks.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(async () => (await caches.keys()).some((k) => k.startsWith("sotto-shell-")));
    await erin.context.setOffline(true);
    await page.reload();
    await page.getByRole("heading", { name: "Unlock Sotto" }).waitFor();
    await page.getByLabel("Passphrase").fill(erin.passphrase);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("button", { name: "Invite" }).waitFor({ timeout: 60_000 });
    // Online again, it reaches the relays: an invitation needs them.
    await erin.context.setOffline(false);
    await page.getByRole("button", { name: "Invite" }).click();
    await page.locator("#invitation-link").waitFor({ timeout: 60_000 });
    assert.match(await page.locator("#invitation-link").inputValue(), /^sotto:/);
    assert.deepEqual(erin.errors, []);
  } finally {
    served.server.close();
  }
});

test("the loopback host answers malformed and misdirected requests and keeps serving", async () => {
  const served = await serveApp();
  try {
    const status = async (path, init) => (await fetch(new URL(path, served.origin), init)).status;
    assert.equal(await status("%E0%A4%A"), 400);
    assert.equal(await status("no/such/file.js"), 404);
    assert.equal(await status("", { method: "DELETE" }), 405);
    assert.equal(await status("csp-report", { method: "POST", body: "not json" }), 204);
    assert.deepEqual(served.reports.at(-1), { unreadable: "not json" });
    const page = await fetch(served.origin, { headers: { "accept-encoding": "gzip" } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy"), /frame-ancestors 'none'; report-uri \/csp-report$/);
  } finally {
    served.server.close();
  }
});
