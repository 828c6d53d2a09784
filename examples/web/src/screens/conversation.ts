// One conversation: its messages (paged from the profile as the user scrolls back), their
// statuses and transfers, and the composer (text, attachments by picker or drag and drop,
// voice clips from the microphone).
import type { AttachmentInfo, Contact, HistoryMessage, Messenger } from "sotto";
import { duration, h, icon, reason, replace, size, when } from "../dom";
import { imageInfo, isImage } from "../media";
import { Recording } from "../voice";

/** Messages read from the profile at a time. */
const PAGE = 50;

const STATUS_TEXT: Record<string, string> = {
  sending: "Sending…",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};

/** How far along each status is. */
const RANK: Record<string, number> = { sending: 0, sent: 1, delivered: 2, read: 3, received: 0 };

/** The conversation with one contact, drawn into `element`. */
export class Conversation {
  readonly element: HTMLElement;
  readonly contact: Contact;
  #messenger: Messenger;
  #list = h("ol", { class: "messages", "aria-label": "Messages", tabindex: 0 });
  #rows = new Map<string, HTMLElement>();
  #messages = new Map<string, HistoryMessage>();
  #oldest: string | null = null;
  #complete = false;
  #loading = false;
  /** Attachments this page holds as blob: URLs (downloaded, or sent from here). */
  #urls = new Map<string, string>();
  #problem = h("p", { class: "problem", role: "alert" });
  #recording: Recording | null = null;
  /** Whether the list follows its end (the user has not scrolled back). */
  #stick = true;
  /** Called when this conversation marks messages read. */
  onRead: () => void = () => {};

  constructor(messenger: Messenger, contact: Contact, header: Node, banner: Node | null) {
    this.#messenger = messenger;
    this.contact = contact;
    this.element = h(
      "section",
      { class: "conversation", "aria-label": `Conversation with ${contact.displayName ?? "contact"}` },
      header,
      banner,
      this.#list,
      this.#composer()
    );
    this.#list.addEventListener("scroll", () => {
      this.#stick = this.#list.scrollHeight - this.#list.scrollTop - this.#list.clientHeight < 80;
      if (this.#list.scrollTop < 200) void this.#loadOlder();
    });
    // A picture that loads after its row is placed keeps the end in view.
    this.#list.addEventListener("load", () => this.#followEnd(), true);
    this.element.addEventListener("dragover", (event) => {
      event.preventDefault();
      this.element.classList.add("dropping");
    });
    this.element.addEventListener("dragleave", () => this.element.classList.remove("dropping"));
    this.element.addEventListener("drop", (event) => {
      event.preventDefault();
      this.element.classList.remove("dropping");
      for (const file of event.dataTransfer?.files ?? []) void this.sendFile(file);
    });
  }

  /** Loads the newest page and scrolls to the end. */
  async load(): Promise<void> {
    const page = await this.#messenger.history(this.contact.contact, PAGE);
    this.#complete = page.length < PAGE;
    for (const message of [...page].reverse()) this.#add(message, "end");
    this.#oldest = page.at(-1)?.messageId ?? null;
    this.#followEnd();
    if (this.#list.scrollHeight <= this.#list.clientHeight) void this.#loadOlder();
  }

  async #loadOlder(): Promise<void> {
    if (this.#loading || this.#complete || !this.#oldest) return;
    this.#loading = true;
    try {
      const page = await this.#messenger.history(this.contact.contact, PAGE, this.#oldest);
      this.#complete = page.length < PAGE;
      const before = this.#list.scrollHeight;
      for (const message of page) this.#add(message, "start");
      this.#oldest = page.at(-1)?.messageId ?? this.#oldest;
      this.#list.scrollTop += this.#list.scrollHeight - before;
    } finally {
      this.#loading = false;
    }
  }

  /**
   * The newest messages again from the profile (after sending or receiving): pages back
   * until one already shown, so a burst of any size is all added.
   */
  async refresh(): Promise<HistoryMessage[]> {
    const page = await this.#messenger.history(this.contact.contact, PAGE);
    while (page.length > 0 && page.length % PAGE === 0 && !page.some((m) => this.#messages.has(m.messageId))) {
      const older = await this.#messenger.history(this.contact.contact, PAGE, page.at(-1)!.messageId);
      page.push(...older);
      if (older.length < PAGE) break;
    }
    // Newest first: what comes before the first message shown is new.
    const firstKnown = page.findIndex((m) => this.#messages.has(m.messageId));
    const added = (firstKnown < 0 ? page : page.slice(0, firstKnown)).reverse();
    for (const message of page) if (this.#messages.has(message.messageId)) this.#update(message);
    for (const message of added) this.#add(message, "end");
    if (added.some((m) => m.direction === "outgoing")) this.#stick = true;
    this.#followEnd();
    return added;
  }

  #followEnd(): void {
    if (this.#stick) this.#list.scrollTop = this.#list.scrollHeight;
  }

  /** The incoming messages shown, newest first (for marking them read). */
  incoming(): string[] {
    return [...this.#messages.values()].filter((m) => m.direction === "incoming").map((m) => m.messageId).reverse();
  }

  /** A message's new status. */
  setStatus(ids: string[], status: string): void {
    for (const id of ids) {
      const message = this.#messages.get(id);
      if (!message) continue;
      if (status !== "failed") message.status = status as HistoryMessage["status"];
      const label = this.#rows.get(id)?.querySelector(".status");
      if (label) label.textContent = STATUS_TEXT[status] ?? status;
    }
  }

  /** A transfer's progress. */
  setProgress(id: string, done: number, total: number): void {
    const bar = this.#rows.get(id)?.querySelector("progress");
    if (!bar) return;
    bar.max = total;
    bar.value = done;
    bar.hidden = done >= total;
  }

  /** Drops the blob: URLs this conversation made. */
  close(): void {
    void this.#recording?.cancel();
    for (const url of this.#urls.values()) URL.revokeObjectURL(url);
    this.#urls.clear();
  }

  #add(message: HistoryMessage, where: "start" | "end"): void {
    this.#messages.set(message.messageId, message);
    const row = this.#row(message);

    this.#rows.set(message.messageId, row);
    if (where === "end") this.#list.append(row);
    else this.#list.prepend(row);
  }

  /**
   * A message read again from the profile. Its status only moves forward: the profile
   * tells "sending" until a receipt comes, while the events have already said "sent".
   */
  #update(message: HistoryMessage): void {
    const known = this.#messages.get(message.messageId)!;
    if (RANK[message.status] > RANK[known.status]) this.setStatus([message.messageId], message.status);
  }

  #row(message: HistoryMessage): HTMLElement {
    const outgoing = message.direction === "outgoing";
    const status = outgoing ? h("span", { class: "status" }, STATUS_TEXT[message.status] ?? message.status) : null;
    return h(
      "li",
      { class: `message ${outgoing ? "outgoing" : "incoming"}`, "data-id": message.messageId, "data-kind": message.kind },
      h(
        "div",
        { class: "bubble" },
        this.#body(message),
        h("div", { class: "meta" }, h("time", { datetime: new Date(message.at).toISOString() }, when(message.at)), status)
      )
    );
  }

  #body(message: HistoryMessage): Node {
    const attachment = message.attachment;
    if (message.kind === "text" || !attachment) return h("p", { class: "text" }, message.text ?? "");
    const progress = h("progress", { hidden: true, "aria-label": "Transfer" });
    if (message.kind === "image") return this.#image(message, attachment, progress);
    if (message.kind === "voiceClip") return this.#voice(message, attachment, progress);
    return this.#file(message, attachment, progress);
  }

  /** The attachment's bytes as a blob: URL: from this page's memory, else downloaded. */
  async #url(message: HistoryMessage): Promise<string> {
    const known = this.#urls.get(message.messageId);
    if (known) return known;
    if (message.direction === "outgoing") throw new Error("sent from another session: only its receiver can download it");
    const blob = await this.#messenger.downloadAttachment(this.contact.contact, message.messageId);
    const url = URL.createObjectURL(blob);
    this.#urls.set(message.messageId, url);
    return url;
  }

  #image(message: HistoryMessage, attachment: AttachmentInfo, progress: HTMLProgressElement): Node {
    const figure = h("figure", { class: "picture" });
    const alt = `Picture, ${attachment.width}×${attachment.height}`;
    const full = async () => {
      button.disabled = true;
      try {
        const url = await this.#url(message);
        replace(figure, h("img", { src: url, alt, class: "full", width: attachment.width, height: attachment.height }));
      } catch (error) {
        button.disabled = false;
        this.#problem.textContent = `The picture did not download: ${reason(error)}`;
      }
    };
    const button = h("button", { type: "button", onclick: full }, "Show picture");
    const local = this.#urls.get(message.messageId);
    if (local) {
      figure.append(h("img", { src: local, alt, class: "full", width: attachment.width, height: attachment.height }));
      return h("div", {}, figure, progress);
    }
    if (attachment.thumbnail?.length) {
      const url = URL.createObjectURL(new Blob([attachment.thumbnail as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }));
      this.#urls.set(`${message.messageId}:thumbnail`, url);
      figure.append(h("img", { src: url, alt: `${alt} (preview)`, class: "thumbnail" }));
    }
    figure.append(h("figcaption", {}, `${alt}, ${size(attachment.size)} `, message.direction === "incoming" ? button : null));
    return h("div", {}, figure, progress);
  }

  #file(message: HistoryMessage, attachment: AttachmentInfo, progress: HTMLProgressElement): Node {
    const name = attachment.name ?? "file";
    const save = async () => {
      button.disabled = true;
      try {
        const link = h("a", { href: await this.#url(message), download: name, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
      } catch (error) {
        this.#problem.textContent = `The file did not download: ${reason(error)}`;
      } finally {
        button.disabled = false;
      }
    };
    const button = h("button", { type: "button", onclick: save, "aria-label": `Download ${name}` }, "Download");
    return h(
      "div",
      { class: "file" },
      icon("file"),
      h("span", { class: "file-name" }, name),
      h("span", { class: "hint" }, size(attachment.size)),
      message.direction === "incoming" ? button : null,
      progress
    );
  }

  #voice(message: HistoryMessage, attachment: AttachmentInfo, progress: HTMLProgressElement): Node {
    const canvas = h("canvas", { class: "waveform", width: 160, height: 32, "aria-hidden": "true" });
    drawWaveform(canvas, attachment.waveform ?? new Uint8Array());
    const holder = h("div", { class: "voice" });
    const play = async () => {
      button.disabled = true;
      try {
        const audio = h("audio", { src: await this.#url(message), controls: true, "aria-label": "Voice clip" });
        replace(holder, audio);
        await audio.play().catch(() => {});
      } catch (error) {
        button.disabled = false;
        this.#problem.textContent = `The voice clip did not download: ${reason(error)}`;
      }
    };
    const button = h("button", { type: "button", onclick: play, "aria-label": "Play voice clip" }, icon("play"), "Play");
    holder.append(button, canvas, h("span", { class: "hint" }, duration(attachment.durationMs ?? 0)));
    return h("div", {}, holder, progress);
  }

  #composer(): HTMLElement {
    const text = h("textarea", { id: "composer", rows: 1, placeholder: "Write a message", "aria-label": "Message", autofocus: true });
    const picker = h("input", { type: "file", id: "attach", multiple: true, class: "visually-hidden" });
    const record = h("button", { type: "button", "aria-label": "Record a voice clip", title: "Record a voice clip" }, icon("mic"));
    const recordState = h("span", { class: "hint", role: "status" });
    const send = async () => {
      const body = text.value.trim();
      if (!body) return;
      text.value = "";
      try {
        await this.#messenger.sendText(this.contact.contact, body);
        await this.refresh();
      } catch (error) {
        text.value = body;
        this.#problem.textContent = `Not sent: ${reason(error)}`;
      }
    };
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void send();
      }
    });
    picker.addEventListener("change", () => {
      for (const file of picker.files ?? []) void this.sendFile(file);
      picker.value = "";
    });
    record.addEventListener("click", async () => {
      if (this.#recording) {
        const recording = this.#recording;
        this.#recording = null;
        record.replaceChildren(icon("mic"));
        record.classList.remove("recording");
        record.setAttribute("aria-label", "Record a voice clip");
        recordState.textContent = "Encoding…";
        await this.#sendVoice(await recording.stop());
        recordState.textContent = "";
        return;
      }
      try {
        this.#recording = await Recording.start();
      } catch (error) {
        this.#problem.textContent = `The microphone is not available: ${reason(error)}`;
        return;
      }
      this.#recording.onProgress = (ms) => (recordState.textContent = `Recording ${duration(ms)}`);
      record.replaceChildren(icon("stop"));
      record.classList.add("recording");
      record.setAttribute("aria-label", "Stop and send the voice clip");
      recordState.textContent = "Recording 0:00";
    });
    return h(
      "div",
      { class: "composer" },
      this.#problem,
      h(
        "div",
        { class: "row" },
        h("label", { for: "attach", class: "button", title: "Attach files (or drop them here)" }, icon("attach"), h("span", { class: "visually-hidden" }, "Attach files")),
        picker,
        text,
        record,
        h("button", { type: "button", class: "primary", onclick: send }, "Send")
      ),
      recordState
    );
  }

  /** Sends a file: a picture if the browser can show it, else a file. */
  async sendFile(file: File): Promise<void> {
    this.#problem.textContent = "";
    try {
      const image = isImage(file) ? await imageInfo(file) : null;
      const id = image
        ? await this.#messenger.sendAttachment(this.contact.contact, file, { type: "image", mime: file.type, ...image })
        : await this.#messenger.sendAttachment(this.contact.contact, file, {
            type: "file",
            name: file.name,
            mime: file.type || "application/octet-stream",
          });
      this.#urls.set(id, URL.createObjectURL(file));
      await this.refresh();
    } catch (error) {
      this.#problem.textContent = `${file.name} was not sent: ${reason(error)}`;
    }
  }

  async #sendVoice(pcm: Int16Array): Promise<void> {
    try {
      const clip = await this.#messenger.encodeVoiceClip(pcm);
      const blob = new Blob([clip.bytes], { type: clip.mime });
      const id = await this.#messenger.sendAttachment(this.contact.contact, blob, {
        type: "voiceClip",
        durationMs: clip.durationMs,
        codec: clip.codec,
        waveform: clip.waveform,
      });
      this.#urls.set(id, URL.createObjectURL(blob));
      await this.refresh();
    } catch (error) {
      this.#problem.textContent = `The voice clip was not sent: ${reason(error)}`;
    }
  }
}

/** Draws a clip's loudness bars. */
function drawWaveform(canvas: HTMLCanvasElement, waveform: Uint8Array): void {
  const context = canvas.getContext("2d");
  if (!context || waveform.length === 0) return;
  context.fillStyle = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#2f5d50";
  const bar = canvas.width / waveform.length;
  waveform.forEach((level, i) => {
    const height = Math.max(2, (level / 255) * canvas.height);
    context.fillRect(i * bar, (canvas.height - height) / 2, Math.max(1, bar - 1), height);
  });
}
