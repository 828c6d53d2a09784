// What the page remembers between visits in localStorage: nothing secret. The profile's
// name (where its encrypted files are), the network settings (relay addresses are public)
// and the idle time after which the profile locks. Keys, contacts and messages live only in
// the encrypted profile.
import type { NetworkOptions } from "sotto";

/** The page's remembered choices. */
export interface Prefs {
  /** The profile's name in the origin private file system, once made. */
  profile: string | null;
  /** The network settings to open the profile with. */
  network: NetworkOptions | null;
  /** Minutes without input before the profile locks (0: never). */
  idleMinutes: number;
}

const KEY = "sotto.prefs";
const DEFAULTS: Prefs = { profile: null, network: null, idleMinutes: 10 };

/** The remembered choices, defaults filled in. */
export function loadPrefs(): Prefs {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<Prefs>;
    return { ...DEFAULTS, ...stored };
  } catch {
    return { ...DEFAULTS };
  }
}

/** Remembers `changes` on top of what is stored. */
export function savePrefs(changes: Partial<Prefs>): Prefs {
  const prefs = { ...loadPrefs(), ...changes };
  localStorage.setItem(KEY, JSON.stringify(prefs));
  return prefs;
}
