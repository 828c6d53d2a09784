// Cover traffic's price, as the settings and the first-run screen show it.
import { constants, type CoverOptions } from "sotto";

/** Megabytes a day that `cover` sends, with packets of `packetBytes`. */
export function megabytesPerDay(cover: CoverOptions | null, packetBytes = constants.packetBytes): number {
  if (!cover) return 0;
  const rate = (cover.payloadPerSecond ?? 0) + (cover.loopPerSecond ?? 0) + (cover.dropPerSecond ?? 0);
  return (rate * packetBytes * 86_400) / 1e6;
}
