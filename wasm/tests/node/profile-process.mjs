// One Node process using a persistent profile, for messenger.test.mjs (which starts it and
// reads the one JSON line it prints): `create <dir> <passphrase> <invitation>` makes the
// profile, accepts the invitation and sends a text; `open <dir> <passphrase>` reopens it,
// reports its contacts and history and sends another; `hold <dir> <passphrase>` keeps it
// open until its standard input closes. Failures print `{ error: { name, code } }`.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Messenger } = require("sotto");

const [mode, directory, passphrase, invitation] = process.argv.slice(2);
const relays = process.env.SOTTO_TEST_RELAYS.split(";").map((relay) => {
  const [address, gateway] = relay.split(" ");
  return { address, gateway };
});
const profile = { name: "node-profile", passphrase, directory };

/** Sends `text` and waits until the contact's device confirms it. */
async function sendDelivered(messenger, events, contact, text) {
  const id = await messenger.sendText(contact, text);
  for await (const event of events) {
    if (event.type === "statusChanged" && event.status === "delivered" && event.messageIds.includes(id)) return;
  }
}

function report(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

try {
  if (mode === "create") {
    const messenger = await Messenger.create({ relays, displayName: "node", profile });
    const events = messenger.subscribe();
    await messenger.start();
    const contact = await messenger.acceptInvitation(invitation);
    for await (const event of events) if (event.type === "contactReady") break;
    await sendDelivered(messenger, events, contact, "before the restart");
    await messenger.shutdown();
    report({ contact });
  } else if (mode === "open") {
    const messenger = await Messenger.open({ relays, profile });
    const events = messenger.subscribe();
    await messenger.start();
    const contacts = await messenger.contacts();
    const history = await messenger.history(contacts[0].contact);
    await sendDelivered(messenger, events, contacts[0].contact, "after the restart");
    await messenger.shutdown();
    report({ contacts, history: history.map((m) => [m.direction, m.text]) });
  } else if (mode === "hold") {
    const messenger = await Messenger.open({ relays, profile });
    report({ held: true });
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on("end", resolve));
    await messenger.shutdown();
  }
} catch (error) {
  report({ error: { name: error.name, code: error.code, message: error.message } });
}
