// The unlock screen: the passphrase opens the profile; a wrong one is refused and changes
// nothing.
import { busy, isError, type App } from "../app";
import { h, reason } from "../dom";

/** Shows the unlock screen, with `notice` above the form. */
export function showUnlock(app: App, notice?: string): void {
  const passphrase = h("input", {
    id: "passphrase",
    type: "password",
    autocomplete: "current-password",
    required: true,
    autofocus: true,
  });
  const problem = h("p", { class: "problem", role: "alert" });
  const status = h("div");
  const button = h("button", { type: "submit", class: "primary" }, "Unlock");
  const form = h(
    "form",
    {
      class: "card narrow",
      "aria-labelledby": "unlock-title",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        problem.textContent = "";
        button.disabled = true;
        status.replaceChildren(busy("Opening your profile…"));
        try {
          await app.open(passphrase.value);
        } catch (error) {
          button.disabled = false;
          status.replaceChildren();
          problem.textContent = isError(error, "KeyError")
            ? "That passphrase does not open this profile."
            : `The profile did not open: ${reason(error)}`;
          passphrase.select();
        }
      },
    },
    h("h1", { id: "unlock-title" }, "Unlock Sotto"),
    notice ? h("p", { class: "notice" }, notice) : null,
    h(
      "p",
      { class: "hint" },
      "Your messages and keys are kept encrypted in this browser. Only your passphrase opens them; it is never stored or sent."
    ),
    h("label", { for: "passphrase" }, "Passphrase"),
    passphrase,
    problem,
    h("div", { class: "actions" }, button),
    status
  );
  app.show("Unlock", h("div", { class: "center" }, form));
}
