// The app: which screen shows, the messenger of the unlocked profile, and the idle lock.
// Screens draw into #app; each is a function of the app and returns nothing.
import { Messenger, type MessengerOptions, type SottoError } from "sotto";
import { h, replace } from "./dom";
import { loadPrefs, savePrefs, type Prefs } from "./prefs";
import { showHome } from "./screens/home";
import { showUnlock } from "./screens/unlock";
import { showWelcome } from "./screens/welcome";

/** The one profile a browser keeps for this page (its files in OPFS carry this name). */
export const PROFILE_NAME = "sotto-web";

/** The page's state and its screens. */
export class App {
  readonly root: HTMLElement;
  prefs: Prefs;
  /** The unlocked profile's messenger, or null while locked. */
  messenger: Messenger | null = null;
  #idleTimer: number | undefined;
  /** The last profile's shutdown: a new open waits for it (the profile is held until then). */
  #closing: Promise<void> = Promise.resolve();
  #lockListeners: (() => void)[] = [];

  constructor(root: HTMLElement) {
    this.root = root;
    this.prefs = loadPrefs();
    for (const type of ["pointerdown", "keydown", "wheel", "touchstart"]) {
      addEventListener(type, () => this.#restartIdleTimer(), { passive: true, capture: true });
    }
  }

  /** The first screen: a new profile, or the unlock screen for the one there is. */
  begin(): void {
    if (this.prefs.profile) showUnlock(this);
    else showWelcome(this);
  }

  /** Shows `title` in the tab and `content` in the page. */
  show(title: string, ...content: Node[]): void {
    document.title = title === "Sotto" ? title : `${title} · Sotto`;
    replace(this.root, ...content);
    const focus = this.root.querySelector<HTMLElement>("[autofocus]");
    focus?.focus();
  }

  /** Makes the profile: the first run. */
  async create(options: MessengerOptions): Promise<void> {
    const messenger = await Messenger.create({ ...options, profile: { name: PROFILE_NAME, passphrase: options.profile!.passphrase } });
    this.prefs = savePrefs({ profile: PROFILE_NAME, network: await messenger.networkSettings() });
    await this.#unlocked(messenger);
  }

  /** Opens the profile with `passphrase`; rejects with KeyError when it is wrong. */
  async open(passphrase: string): Promise<void> {
    await this.#closing;
    const network = this.prefs.network ?? { relays: [] };
    const messenger = await Messenger.open({ ...network, profile: { name: PROFILE_NAME, passphrase } });
    // Marks for the benchmark (bench/load.bench.mjs): where the time of an unlock goes.
    performance.mark("sotto:opened");
    await this.#unlocked(messenger);
  }

  async #unlocked(messenger: Messenger): Promise<void> {
    this.messenger = messenger;
    this.#restartIdleTimer();
    await showHome(this, messenger);
  }

  /** Remembers the network settings the messenger runs with, for the next unlock. */
  async rememberNetwork(): Promise<void> {
    if (this.messenger) this.prefs = savePrefs({ network: await this.messenger.networkSettings() });
  }

  /** Sets the idle time before the profile locks. */
  setIdleMinutes(minutes: number): void {
    this.prefs = savePrefs({ idleMinutes: minutes });
    this.#restartIdleTimer();
  }

  /** Calls `listener` whenever the profile locks (screens drop what they hold). */
  onLock(listener: () => void): void {
    this.#lockListeners.push(listener);
  }

  /** Closes the profile: the key leaves memory with the worker; the unlock screen shows. */
  async lock(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const messenger = this.messenger;
    this.messenger = null;
    for (const listener of this.#lockListeners.splice(0)) listener();
    showUnlock(this, "Locked. Your passphrase opens the profile again.");
    this.#closing = (async () => {
      try {
        await messenger?.shutdown();
      } catch {
        messenger?.free();
      }
    })();
    await this.#closing;
  }

  #restartIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    if (!this.messenger || this.prefs.idleMinutes <= 0) return;
    this.#idleTimer = window.setTimeout(() => void this.lock(), this.prefs.idleMinutes * 60_000);
  }
}

/** Whether `error` is the package's error with `name`. */
export function isError(error: unknown, name: string): error is SottoError {
  return error instanceof Error && error.name === name;
}

/** A busy indicator with a label. */
export function busy(label: string): HTMLElement {
  return h("p", { class: "busy", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), label);
}
