// The package's types, the same for Node (node/) and browsers (web/): the classes and
// types wasm-bindgen generated, without its loader functions (the package loads itself).
export { Messenger, Subscription } from "./sotto_wasm";
export type {
  AttachmentInfo,
  AttachmentKind,
  Contact,
  CoverOptions,
  HistoryMessage,
  MessageKind,
  MessengerOptions,
  NetworkOptions,
  NetworkSettings,
  SafetyNumber,
  SottoEvent,
  VoiceClip,
} from "./sotto_wasm";
import { CoverOptions, Subscription, SottoEvent } from "./sotto_wasm";

declare module "./sotto_wasm" {
  interface Messenger {
    /**
     * Browsers, persistent profiles: whether the browser agreed to keep the profile's
     * storage (`navigator.storage.persist()`). `false`: it may evict it under storage
     * pressure, so tell the user. `null` when unknown or not a persistent profile; absent
     * in Node.
     */
    readonly storagePersisted?: boolean | null;
    /**
     * Calls `callback` with every event from now on, in order, until the messenger shuts
     * down or the returned function is called (an exception thrown by the callback is
     * reported, and the next events still come).
     */
    onEvent(callback: (event: SottoEvent) => void): () => void;
  }
  interface Subscription {
    /** The events until the messenger shuts down. */
    [Symbol.asyncIterator](): AsyncIterator<SottoEvent>;
  }
}

/**
 * The core's limits and defaults, for what an app shows before a messenger runs (cover
 * traffic's price on a first-run screen, a thumbnail's size). A running messenger reports
 * the settings in force with `networkSettings()`.
 */
export declare const constants: SottoConstants;

/** See `constants`. */
export interface SottoConstants {
  /** Bytes of every packet on the wire, real or cover. */
  readonly packetBytes: number;
  /** Longest text message, in UTF-8 bytes. */
  readonly maxTextBytes: number;
  /** Largest thumbnail an image message carries, in bytes. */
  readonly maxThumbnailBytes: number;
  /** Hops per onion path when the options name none. */
  readonly hops: number;
  /** Mean delay per hop (ms) when the options name none. */
  readonly meanDelayMs: number;
  /** The rates an empty `cover: {}` turns on (the desktop rates). */
  readonly cover: Readonly<Required<CoverOptions>>;
}

/** What every rejected promise of this package carries. */
export interface SottoError extends Error {
  /** `TransportError`, `UnknownContactError`, `InvalidArgumentError`, … */
  name: string;
  /** The stable number of the error (docs/PROTOCOL.md §11; 104: an invalid argument). */
  code: number;
}
