// Cover traffic's price, as the settings and the first-run screen show it.
import type { CoverOptions } from "sotto";

/** The package's default rates (its README): what "on" means on the first run. */
export const DEFAULT_COVER: Required<Omit<CoverOptions, "loopTimeoutSeconds">> = {
  payloadPerSecond: 0.2,
  loopPerSecond: 0.05,
  dropPerSecond: 0.05,
};

/**
 * Bytes of every packet on the wire before a profile exists to ask (the core's
 * onion::PACKET_BYTES; a running messenger tells it as `networkSettings().packetBytes`,
 * which the settings use).
 */
export const PACKET_BYTES = 4_700;

/** Megabytes a day that `cover` sends, with packets of `packetBytes`. */
export function megabytesPerDay(cover: CoverOptions | null, packetBytes = PACKET_BYTES): number {
  if (!cover) return 0;
  const rate = (cover.payloadPerSecond ?? 0) + (cover.loopPerSecond ?? 0) + (cover.dropPerSecond ?? 0);
  return (rate * packetBytes * 86_400) / 1e6;
}
