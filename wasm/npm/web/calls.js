// The calls the page's `Messenger` (web/index.js) forwards as they are to its worker
// (web/worker.js), which hands them to the WebAssembly messenger; each resolves to the
// messenger's answer. index.d.ts says what each does.
export const FORWARDED = [
  "start",
  "createInvitation",
  "acceptInvitation",
  "sendText",
  "sendAttachment",
  "downloadAttachment",
  "contacts",
  "history",
  "search",
  "unreadCounts",
  "markRead",
  "deleteMessage",
  "forgetContact",
  "renameContact",
  "safetyNumber",
  "compareSafetyCode",
  "markVerified",
  "acceptIdentityKey",
  "networkSettings",
  "setNetworkSettings",
  "encodeVoiceClip",
];
