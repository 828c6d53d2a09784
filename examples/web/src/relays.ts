// The relays a profile starts with, as people type them: one relay a line, its `sotto://`
// address and the WebSocket gateway browsers reach it through (`wss://…`), separated by a
// space. A host may serve a default list as relays.json beside index.html (README.md).
import type { NetworkOptions } from "sotto";

/** One relay as the package takes it. */
export type Relay = NetworkOptions["relays"][number];

/** Parses the relays typed in a text box; throws with the line at fault. */
export function parseRelays(text: string): Relay[] {
  const relays: Relay[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const [address, gateway, extra] = line.split(/\s+/);
    if (!address.startsWith("sotto://") || !gateway || !/^wss?:\/\//.test(gateway) || extra) {
      throw new Error(`line ${index + 1}: write a relay as "sotto://KEY@HOST:PORT wss://GATEWAY"`);
    }
    relays.push({ address, gateway });
  });
  if (relays.length === 0) throw new Error("name at least one relay (three for 3-hop onion routes)");
  return relays;
}

/** Relays as lines for the text box. */
export function formatRelays(relays: readonly Relay[]): string {
  return relays.map(({ address, gateway }) => `${address} ${gateway ?? ""}`.trim()).join("\n");
}

/** The host's default relays (relays.json beside the page), or none. */
export async function defaultRelays(): Promise<Relay[]> {
  try {
    const response = await fetch("relays.json", { cache: "no-store" });
    if (!response.ok) return [];
    const relays = (await response.json()) as unknown;
    return Array.isArray(relays) ? relays.filter((r): r is Relay => typeof r?.address === "string") : [];
  } catch {
    return [];
  }
}
