// A TypeScript program using the whole public API of the package, compiled with
// `tsc --noEmit --strict` against the installed package's declarations, once as a bundler
// resolves it (the browser build) and once as Node does. Never run: it only has to type-check.
import { Messenger, Subscription, constants } from "sotto";
import type {
  AttachmentInfo,
  AttachmentKind,
  Contact,
  CoverOptions,
  HistoryMessage,
  MessengerOptions,
  NetworkOptions,
  NetworkSettings,
  SafetyNumber,
  SottoConstants,
  SottoError,
  VoiceClip,
  SottoEvent,
} from "sotto";

const limits: SottoConstants = constants;
const coverPerDay: number = (limits.cover.payloadPerSecond + limits.cover.loopPerSecond + limits.cover.dropPerSecond) * limits.packetBytes * 86_400;
const textFits: boolean = new TextEncoder().encode("hello").length <= limits.maxTextBytes;
const thumbnailLimit: number = limits.maxThumbnailBytes;

const options: MessengerOptions = {
  relays: [
    {
      address: "sotto://relay-key@203.0.113.7:7443",
      gateway: "wss://relay.example.org/v1/tunnel",
    },
  ],
  displayName: "alice",
  hops: 3,
  meanDelayMs: 50,
  cover: null,
};

/** Every event, by its type; the compiler checks that none is left out. */
function describe(event: SottoEvent): string {
  switch (event.type) {
    case "messageReceived":
      return `${event.contact} sent ${event.messageId} at ${event.sentAt}: ${event.text ?? event.kind}`;
    case "statusChanged":
      return `${event.messageIds.join(", ")} to ${event.contact} are ${event.status}`;
    case "transferProgress":
      return `${event.direction} of ${event.messageId}: ${event.done} of ${event.total}`;
    case "contactAdded":
      return `${event.displayName} (${event.contact}) was added`;
    case "contactReady":
    case "identityKeyChanged":
    case "queueGone":
      return `${event.type}: ${event.contact}`;
    case "packetRejected":
      return `a packet from ${event.contact ?? "someone unknown"} was refused: ${event.code} ${event.reason}`;
    case "networkChanged":
      return `${event.relay} ${event.reachable ? "reachable" : `unreachable (${event.code ?? "?"}: ${event.reason ?? ""})`}`;
    case "coverProblem":
      return `${event.loopsLost} cover loops lost`;
    case "backgroundProblem":
      return `background work failed: ${event.code} ${event.reason}`;
    case "missed":
      return `${event.count} events were missed`;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

export async function chat(link: string): Promise<void> {
  const messenger: Messenger = await Messenger.create(options);
  const events: Subscription = messenger.subscribe();
  const stop: () => void = messenger.onEvent((event) => console.log(describe(event)));
  await messenger.start();
  const invitation: string = await messenger.createInvitation();
  console.log(`show this to a friend: ${invitation}`);
  const contact: string = await messenger.acceptInvitation(link);
  const sent: string = await messenger.sendText(contact, "hello");
  const first: SottoEvent | null = await events.next();
  if (first !== null) console.log(describe(first));
  for await (const event of events) {
    console.log(describe(event));
    if (event.type === "statusChanged" && event.messageIds.includes(sent)) break;
  }
  // Attachments: a Blob or File in, a Blob out.
  const photo: AttachmentKind = { type: "image", width: 640, height: 480, thumbnail: new Uint8Array(8) };
  const pictureId: string = await messenger.sendAttachment(contact, new Blob([new Uint8Array(1000)], { type: "image/png" }), photo);
  await messenger.sendAttachment(contact, new File(["notes"], "notes.txt"), { type: "file" });
  await messenger.sendAttachment(contact, new Blob([]), { type: "voiceClip", durationMs: 1200, codec: "opus" });
  console.log(`sent picture ${pictureId}`);
  const contacts: Contact[] = await messenger.contacts();
  for (const known of contacts) {
    const name: string = known.displayName ?? known.contact;
    const verified: boolean = known.verified && !known.keyChangePending;
    const page: HistoryMessage[] = await messenger.history(known.contact, 50);
    for (const message of page) {
      const arrow = message.direction === "incoming" ? "<-" : "->";
      console.log(name, verified, arrow, message.status, message.at, message.sentAt, message.text ?? message.kind);
      const attachment: AttachmentInfo | undefined = message.attachment;
      if (attachment && message.direction === "incoming") {
        const blob: Blob = await messenger.downloadAttachment(known.contact, message.messageId);
        console.log(attachment.name ?? attachment.mime ?? attachment.codec, attachment.size, blob.size);
      }
    }
  }
  // Pages, search, unread counts, reading, names, safety numbers, deleting, forgetting.
  const older: HistoryMessage[] = await messenger.history(contact, 20, sent);
  const found: HistoryMessage[] = await messenger.search(contact, "hello", 10);
  const unread: { contact: string; count: number }[] = await messenger.unreadCounts();
  await messenger.markRead(contact, found.map((m) => m.messageId));
  await messenger.renameContact(contact, "Bob");
  await messenger.renameContact(contact, null);
  const safety: SafetyNumber = await messenger.safetyNumber(contact);
  console.log(older.length, unread.length, safety.groups.join(" "), safety.qrSvg.length);
  const comparison: "match" | "mismatch" | "differentVersion" = await messenger.compareSafetyCode(contact, safety.scannable);
  if (comparison === "match") await messenger.markVerified(contact);
  await messenger.acceptIdentityKey(contact);
  // A recording (16 kHz mono PCM) as a voice clip, sent as one.
  const clip: VoiceClip = await messenger.encodeVoiceClip(new Int16Array(16_000));
  await messenger.sendAttachment(contact, new Blob([clip.bytes], { type: clip.mime }), { type: "voiceClip", ...clip });
  // The network while running: cover traffic on at the default rates but one.
  const network: NetworkSettings = await messenger.networkSettings();
  const cover: CoverOptions = { loopPerSecond: 0.1 };
  const changed: NetworkOptions = { ...network, cover };
  await messenger.setNetworkSettings(changed);
  console.log(network.relays.map((r) => r.gateway ?? r.address), network.cover?.loopTimeoutSeconds);
  await messenger.deleteMessage(contact, sent);
  await messenger.forgetContact(contact);
  try {
    await messenger.sendText("not a contact", "hi");
  } catch (error) {
    const failure = error as SottoError;
    console.log(failure.name, failure.code, failure.message);
  }
  stop();
  await messenger.shutdown();
}

/** A persistent profile: made once, opened with its passphrase afterwards. */
export async function persistent(passphrase: string): Promise<Messenger> {
  const profile = { name: "alice", passphrase };
  try {
    return await Messenger.open({ ...options, profile });
  } catch (error) {
    if ((error as SottoError).name === "StoreError") {
      return Messenger.create({ ...options, profile });
    }
    throw error;
  }
}
