// The first run: the user's name, the relays, the passphrase that protects the profile, and
// cover traffic with what it costs.
import { constants } from "sotto";
import { busy, type App } from "../app";
import { megabytesPerDay } from "../cover";
import { h, reason } from "../dom";
import { defaultRelays, formatRelays, parseRelays } from "../relays";

/** Shows the first-run screen. */
export function showWelcome(app: App): void {
  const name = h("input", { id: "display-name", autocomplete: "nickname", required: true, maxlength: 64, autofocus: true });
  const relays = h("textarea", { id: "relays", rows: 4, wrap: "off", spellcheck: false, required: true, "aria-describedby": "relays-hint" });
  const passphrase = h("input", { id: "new-passphrase", type: "password", autocomplete: "new-password", required: true, minlength: 8, "aria-describedby": "key-hint" });
  const repeat = h("input", { id: "repeat-passphrase", type: "password", autocomplete: "new-password", required: true });
  const cover = h("input", { id: "cover", type: "checkbox", checked: true });
  const problem = h("p", { class: "problem", role: "alert" });
  const status = h("div");
  const button = h("button", { type: "submit", class: "primary" }, "Create my profile");
  void defaultRelays().then((list) => {
    if (!relays.value) relays.value = formatRelays(list);
  });

  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "welcome-title",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        problem.textContent = "";
        if (passphrase.value !== repeat.value) {
          problem.textContent = "The two passphrases differ.";
          repeat.focus();
          return;
        }
        let list;
        try {
          list = parseRelays(relays.value);
        } catch (error) {
          problem.textContent = reason(error);
          relays.focus();
          return;
        }
        button.disabled = true;
        status.replaceChildren(busy("Making your keys and your encrypted profile…"));
        try {
          await app.create({
            relays: list,
            hops: Math.min(3, list.length),
            displayName: name.value.trim(),
            cover: cover.checked ? { ...constants.cover } : null,
            profile: { name: "", passphrase: passphrase.value },
          });
        } catch (error) {
          button.disabled = false;
          status.replaceChildren();
          problem.textContent = `The profile could not be made: ${reason(error)}`;
        }
      },
    },
    h("h1", { id: "welcome-title" }, "Welcome to Sotto"),
    h(
      "p",
      { class: "lead" },
      "A private messenger: no phone number, no e-mail. You are a key made in this browser, and you meet people by sharing an invitation."
    ),
    h("label", { for: "display-name" }, "Your name"),
    h("p", { class: "hint", id: "name-hint" }, "People you invite see it when you meet. It never leaves your conversations."),
    name,
    h("label", { for: "relays" }, "Relays"),
    h(
      "p",
      { class: "hint", id: "relays-hint" },
      "One a line: the relay's sotto:// address, a space, and its wss:// gateway. Messages take onion routes through three of them."
    ),
    relays,
    h("label", { for: "new-passphrase" }, "Passphrase"),
    h(
      "p",
      { class: "hint", id: "key-hint" },
      "Your profile (keys, contacts, messages) is stored encrypted in this browser's private storage. Its key is derived from this passphrase (Argon2id) each time you unlock, and is never written anywhere: lose the passphrase and the profile cannot be opened."
    ),
    passphrase,
    h("label", { for: "repeat-passphrase" }, "Passphrase again"),
    repeat,
    h(
      "div",
      { class: "check" },
      cover,
      h(
        "label",
        { for: "cover" },
        `Send cover traffic, so that nobody watching the network can tell when you write (about ${megabytesPerDay(constants.cover).toFixed(0)} MB a day)`
      )
    ),
    problem,
    h("div", { class: "actions" }, button),
    status
  );
  app.show("Welcome", h("div", { class: "center" }, form));
}
