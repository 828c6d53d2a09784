// Debian's chromium driven over the DevTools protocol directly, for what playwright-core
// hides: playwright keeps every page it drives "visible" (it emulates focus), so a tab put
// in the background by another tab never becomes hidden under it. Here a tab behind
// another in the same window is hidden, as in a person's browser (hidden_tab.bench.mjs).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A headless Chromium (with `extraArgs`) and a DevTools connection to it. */
export async function launchDevtools(extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), "sotto-devtools-"));
  const child = spawn(
    process.env.SOTTO_CHROMIUM ?? "/usr/bin/chromium",
    [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-sync",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      ...extraArgs,
      "about:blank",
    ],
    { stdio: "ignore" }
  );
  // Chromium writes the port it chose, and the browser's DevTools path, into the profile.
  let endpoint;
  for (let attempt = 0; !endpoint; attempt++) {
    if (attempt === 300) throw new Error("chromium did not open its DevTools port in 30 s");
    await sleep(100);
    try {
      const [port, path] = readFileSync(join(profile, "DevToolsActivePort"), "utf8").split("\n");
      if (path) endpoint = `ws://127.0.0.1:${port}${path}`;
    } catch {}
  }
  const socket = new WebSocket(endpoint);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", () => reject(new Error("no DevTools connection")), { once: true });
  });
  return new Devtools(socket, () => {
    socket.close();
    child.kill();
    // Chromium's helper processes may still write into the profile while they exit. The
    // profile is a temporary folder: when it cannot be removed yet, it goes with the
    // temporary folder of whoever ran the bench (scripts/package removes its own).
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (error) {
      if (error.code !== "ENOTEMPTY" && error.code !== "EBUSY") throw error;
    }
  });
}

/** A DevTools connection: commands to the browser, and tabs as flat sessions. */
class Devtools {
  #socket;
  #close;
  #next = 0;
  #pending = new Map();

  constructor(socket, close) {
    this.#socket = socket;
    this.#close = close;
    socket.addEventListener("message", ({ data }) => {
      const reply = JSON.parse(data);
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.error) pending.reject(new Error(`DevTools: ${reply.error.message}`));
      else pending.resolve(reply.result);
    });
  }

  /** Sends `method` to the browser, or to the tab of `sessionId`; resolves to its result. */
  send(method, params = {}, sessionId = undefined) {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  /** The tab Chromium started with, in the first window. */
  async first() {
    const { targetInfos } = await this.send("Target.getTargets");
    return this.#attach(targetInfos.find((target) => target.type === "page").targetId);
  }

  /** Opens `url` in a new tab, of a new window or of the current one; returns the tab. */
  async open(url, { newWindow }) {
    const { targetId } = await this.send("Target.createTarget", { url, newWindow });
    return this.#attach(targetId);
  }

  async #attach(targetId) {
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    return new Tab(this, targetId, sessionId);
  }

  close() {
    this.#close();
  }
}

/** One tab: expressions evaluated in its page. */
class Tab {
  constructor(devtools, targetId, sessionId) {
    this.devtools = devtools;
    this.targetId = targetId;
    this.sessionId = sessionId;
  }

  /** Evaluates `expression` in the page, awaits it, and returns its value as JSON data. */
  async evaluate(expression) {
    const { result, exceptionDetails } = await this.devtools.send(
      "Runtime.evaluate",
      { expression, awaitPromise: true, returnByValue: true },
      this.sessionId
    );
    if (exceptionDetails) {
      throw new Error(`in the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    }
    return result.value;
  }

  /** Waits until `expression` is truthy in the page (polled every 25 ms); returns it. */
  async until(expression, timeoutMs = 90_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate(expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
      await sleep(25);
    }
  }

  /** Loads `url` in this tab. */
  navigate(url) {
    return this.devtools.send("Page.navigate", { url }, this.sessionId);
  }

  /** Brings this tab to the front of its window. */
  activate() {
    return this.devtools.send("Target.activateTarget", { targetId: this.targetId });
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
