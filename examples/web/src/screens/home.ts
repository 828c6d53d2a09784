// The main screen: contacts on the left (unread counts, last message), the open
// conversation on the right, the top bar's actions. Events from the messenger keep both
// current.
import type { Contact, HistoryMessage, Messenger, SottoEvent } from "sotto";
import type { App } from "../app";
import { h, icon, reason, replace, when } from "../dom";
import { Conversation } from "./conversation";
import { acceptDialog, inviteDialog, renameDialog, safetyDialog, settingsDialog } from "./dialogs";

/** A contact as the list shows it. */
interface Row {
  contact: Contact;
  unread: number;
  last: HistoryMessage | null;
}

/** Shows the main screen for the unlocked `messenger`. */
export async function showHome(app: App, messenger: Messenger): Promise<void> {
  const home = new Home(app, messenger);
  await home.reload();
  app.show("Chats", home.element);
  performance.mark("sotto:home-shown");
  app.onLock(() => home.close());
  home.listen();
  // The first sync reads every queue and sends what waits; the profile answers the page
  // after it, so say so while it runs.
  home.notice("Catching up with the relays…", "busy");
  try {
    await messenger.start();
    performance.mark("sotto:started");
    home.notice("");
  } catch (error) {
    home.notice(`Not connected: ${reason(error)}. Messages wait and go when the relays are back.`);
  }
}

class Home {
  readonly element: HTMLElement;
  #messenger: Messenger;
  #rows = new Map<string, Row>();
  #list = h("ul", { class: "contact-list" });
  #search = h("input", { id: "contact-search", type: "search", placeholder: "Find a contact (Ctrl+K)", "aria-label": "Find a contact", autocomplete: "off", autofocus: true });
  #pane = h("div", { class: "pane" });
  #network = h("span", { class: "network", role: "status" });
  #conversation: Conversation | null = null;
  #stop: (() => void) | null = null;
  #invite: HTMLDialogElement | null = null;
  /** Contacts whose row (and open conversation) waits to be read again from the profile. */
  #stale = new Set<string>();
  #staleTimer: number | undefined;

  constructor(app: App, messenger: Messenger) {
    this.#messenger = messenger;
    const button = (label: string, onclick: () => void, extra = {}) => h("button", { type: "button", onclick, ...extra }, label);
    this.element = h(
      "div",
      { class: "home" },
      h(
        "header",
        { class: "topbar" },
        h("h1", { class: "brand" }, "Sotto"),
        this.#network,
        h(
          "nav",
          { "aria-label": "Actions" },
          button("Invite", () => void this.#openInvite(), { class: "primary" }),
          button("Accept invitation", () => acceptDialog(messenger, (contact) => void this.#accepted(contact))),
          button("Settings", () => void settingsDialog(app, messenger)),
          button("Lock", () => void app.lock())
        )
      ),
      h("nav", { class: "contacts", "aria-label": "Contacts" }, this.#search, this.#list),
      this.#pane
    );
    this.#search.addEventListener("input", () => this.#drawContacts());
    this.#search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") this.#list.querySelector<HTMLButtonElement>("button")?.click();
    });
    this.#drawEmpty();
  }

  /** Shows `text` in the top bar's status (`kind` "busy": a quiet progress note). */
  notice(text: string, kind: "busy" | "problem" = "problem"): void {
    this.#network.textContent = text;
    this.#network.className = `network ${kind}`;
  }

  /** Every contact again from the profile. */
  async reload(): Promise<void> {
    const [contacts, unread] = await Promise.all([this.#messenger.contacts(), this.#messenger.unreadCounts()]);
    const counts = new Map(unread.map(({ contact, count }) => [contact, count]));
    this.#rows.clear();
    await Promise.all(
      contacts.map(async (contact) => {
        const [last] = await this.#messenger.history(contact.contact, 1);
        this.#rows.set(contact.contact, { contact, unread: counts.get(contact.contact) ?? 0, last: last ?? null });
      })
    );
    this.#drawContacts();
  }

  /** Ctrl+K (or ⌘K) finds a contact, wherever the focus is. */
  #shortcut = (event: KeyboardEvent): void => {
    if ((event.ctrlKey || event.metaKey) && event.key === "k") {
      event.preventDefault();
      this.#search.focus();
    }
  };

  /** Starts following the messenger's events and the keyboard. */
  listen(): void {
    this.#stop = this.#messenger.onEvent((event) => void this.#handle(event).catch((error) => console.error(error)));
    document.addEventListener("keydown", this.#shortcut);
    document.addEventListener("visibilitychange", this.#markRead);
    window.addEventListener("focus", this.#markRead);
  }

  close(): void {
    this.#stop?.();
    clearTimeout(this.#staleTimer);
    this.#stale.clear();
    document.removeEventListener("keydown", this.#shortcut);
    document.removeEventListener("visibilitychange", this.#markRead);
    window.removeEventListener("focus", this.#markRead);
    this.#conversation?.close();
    document.querySelectorAll("dialog").forEach((dialog) => dialog.close());
  }

  async #handle(event: SottoEvent): Promise<void> {
    switch (event.type) {
      case "messageReceived":
        this.#refreshSoon(event.contact);
        break;
      case "statusChanged":
        if (this.#conversation?.contact.contact === event.contact) this.#conversation.setStatus(event.messageIds, event.status);
        this.#refreshSoon(event.contact);
        break;
      case "transferProgress":
        this.#conversation?.setProgress(event.messageId, event.done, event.total);
        break;
      case "contactAdded":
        this.#invite?.close();
        await this.reload();
        await this.#open(event.contact);
        break;
      case "contactReady":
      case "identityKeyChanged":
        await this.reload();
        if (this.#conversation?.contact.contact === event.contact) await this.#open(event.contact);
        break;
      case "networkChanged":
        this.notice(event.reachable ? "" : "Some relays are out of reach; messages wait and go when they are back.");
        break;
      case "backgroundProblem":
        this.notice(event.reason);
        break;
      default:
        break;
    }
  }

  /**
   * Reads `contact`'s row (and its conversation, if open) again shortly: a burst of
   * messages costs one read of the profile, not one per message.
   */
  #refreshSoon(contact: string): void {
    this.#stale.add(contact);
    if (this.#staleTimer !== undefined) return;
    this.#staleTimer = window.setTimeout(async () => {
      const contacts = [...this.#stale];
      this.#stale.clear();
      try {
        const open = this.#conversation;
        if (open && contacts.includes(open.contact.contact)) await open.refresh();
        await this.#refreshRows(contacts);
        if (open && contacts.includes(open.contact.contact)) await this.#markRead();
      } catch (error) {
        console.error(error);
      } finally {
        this.#staleTimer = undefined;
        if (this.#stale.size) this.#refreshSoon([...this.#stale][0]);
      }
    }, 150);
  }

  async #refreshRows(contacts: string[]): Promise<void> {
    if (contacts.some((contact) => !this.#rows.has(contact))) return this.reload();
    const unread = await this.#messenger.unreadCounts();
    for (const contact of contacts) {
      const row = this.#rows.get(contact)!;
      const [last] = await this.#messenger.history(contact, 1);
      row.last = last ?? null;
      row.unread = unread.find((u) => u.contact === contact)?.count ?? 0;
    }
    this.#drawContacts();
  }

  #drawContacts(): void {
    const filter = this.#search.value.trim().toLowerCase();
    const rows = [...this.#rows.values()]
      .filter((row) => !filter || name(row.contact).toLowerCase().includes(filter))
      .sort((a, b) => (b.last?.at ?? 0) - (a.last?.at ?? 0));
    if (rows.length === 0) {
      replace(this.#list, h("li", { class: "hint empty" }, this.#rows.size ? "No contact by that name." : "No contacts yet: invite someone."));
      return;
    }
    replace(
      this.#list,
      ...rows.map((row) => {
        const current = this.#conversation?.contact.contact === row.contact.contact;
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "contact",
              "aria-current": current ? "true" : null,
              onclick: () => void this.#open(row.contact.contact),
            },
            h("span", { class: "contact-name" }, name(row.contact), row.contact.verified ? h("span", { class: "verified", title: "Verified" }, " ✓") : null),
            row.last ? h("time", { class: "hint" }, when(row.last.at)) : h("span"),
            h("span", { class: "preview" }, ...(row.last ? preview(row.last) : ["No messages yet"])),
            row.unread ? h("span", { class: "badge" }, String(row.unread), h("span", { class: "visually-hidden" }, " unread")) : null
          )
        );
      })
    );
  }

  #drawEmpty(): void {
    replace(
      this.#pane,
      h(
        "div",
        { class: "empty-pane" },
        h("h2", {}, "Start a conversation"),
        h("p", {}, "Invite someone with a QR code or a link, or accept the invitation they gave you.")
      )
    );
  }

  async #open(contact: string): Promise<void> {
    const row = this.#rows.get(contact);
    if (!row) return;
    this.#conversation?.close();
    const conversation = new Conversation(this.#messenger, row.contact, this.#header(row.contact), this.#banner(row.contact));
    this.#conversation = conversation;
    replace(this.#pane, conversation.element);
    this.#drawContacts();
    await conversation.load();
    conversation.element.querySelector<HTMLElement>("#composer")?.focus();
    await this.#markRead();
  }

  #header(contact: Contact): HTMLElement {
    return h(
      "header",
      { class: "conversation-head" },
      h("h2", {}, name(contact), contact.verified ? h("span", { class: "verified" }, " ✓ Verified") : null),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", onclick: () => void this.#safety(contact) }, "Safety number"),
        h("button", { type: "button", onclick: () => renameDialog(this.#messenger, contact.contact, contact.displayName ?? "", () => void this.reload().then(() => this.#open(contact.contact))) }, "Rename")
      )
    );
  }

  #banner(contact: Contact): HTMLElement | null {
    if (!contact.keyChangePending) return null;
    return h(
      "div",
      { class: "banner", role: "alert" },
      h("p", {}, `${name(contact)}'s safety number has changed. They may have reinstalled Sotto, or someone may be in between. Messages to them wait until you accept the new key; compare safety numbers first.`),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", onclick: () => void this.#safety(contact) }, "Compare safety numbers"),
        h(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: async () => {
              await this.#messenger.acceptIdentityKey(contact.contact);
              await this.reload();
              await this.#open(contact.contact);
            },
          },
          "Accept the new key"
        )
      )
    );
  }

  async #safety(contact: Contact): Promise<void> {
    try {
      await safetyDialog(this.#messenger, contact.contact, name(contact), () => void this.reload().then(() => this.#open(contact.contact)));
    } catch (error) {
      this.notice(`No safety number yet: ${reason(error)}`);
    }
  }

  async #openInvite(): Promise<void> {
    try {
      this.#invite = await inviteDialog(this.#messenger);
    } catch (error) {
      this.notice(`No invitation: ${reason(error)}`);
    }
  }

  async #accepted(contact: string): Promise<void> {
    await this.reload();
    await this.#open(contact);
  }

  /** Marks the open conversation's unread messages read while the page is seen. */
  #markRead = async (): Promise<void> => {
    const conversation = this.#conversation;
    if (!conversation || document.visibilityState !== "visible" || !document.hasFocus()) return;
    const row = this.#rows.get(conversation.contact.contact);
    if (!row || row.unread === 0) return;
    const ids = conversation.incoming().slice(0, row.unread);
    row.unread = 0;
    this.#drawContacts();
    if (ids.length) await this.#messenger.markRead(conversation.contact.contact, ids);
  };
}

function name(contact: Contact): string {
  return contact.displayName ?? `Contact ${contact.contact.slice(0, 8)}`;
}

function preview(message: HistoryMessage): (string | Node)[] {
  const mine = message.direction === "outgoing" ? "You: " : "";
  switch (message.kind) {
    case "text":
      return [mine + (message.text ?? "")];
    case "image":
      return [mine, icon("picture"), "Picture"];
    case "voiceClip":
      return [mine, icon("voice"), "Voice clip"];
    default:
      return [mine, icon("file"), message.attachment?.name ?? "File"];
  }
}
