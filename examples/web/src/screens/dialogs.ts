// The modal dialogs: invite, accept an invitation, safety number, rename, settings. Each is
// a native <dialog> (focus kept inside, Escape closes), removed from the page once closed.
import type { Messenger, NetworkOptions } from "sotto";
import type { App } from "../app";
import { megabytesPerDay } from "../cover";
import { h, reason, type Child } from "../dom";
import { qrImage, scanImage, scanPixels, svgImage } from "../media";
import { formatRelays, parseRelays } from "../relays";

/** Opens a modal dialog titled `title` holding `body`; resolves when it closes. */
export function modal(title: string, build: (close: () => void) => Child[], id = title.toLowerCase().replace(/\W+/g, "-")): HTMLDialogElement {
  const dialog = h("dialog", { "aria-labelledby": `${id}-title`, id: `${id}-dialog` });
  const close = () => dialog.close();
  dialog.append(
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { id: `${id}-title` }, title),
      h("button", { type: "button", class: "icon", "aria-label": "Close", onclick: close }, "✕")
    ),
    ...build(close).filter((child): child is Node => child instanceof Node)
  );
  dialog.addEventListener("close", () => {
    dialog.dispatchEvent(new Event("closed"));
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector<HTMLElement>("[autofocus]")?.focus();
  return dialog;
}

/** The invitation: a QR code and a link, until the other side accepts. */
export async function inviteDialog(messenger: Messenger): Promise<HTMLDialogElement> {
  const link = await messenger.createInvitation();
  const qr = await qrImage(link);
  const copied = h("span", { class: "hint", role: "status" });
  const linkField = h("input", { id: "invitation-link", readonly: true, value: link, "aria-label": "Invitation link" });
  const dialog = modal("Invite someone", () => [
    h("p", {}, "Show this code to the person you want to talk to, or send them the link over a channel you trust. They appear in your contacts once they accept."),
    h("img", { src: qr, alt: "Invitation QR code", class: "qr", id: "invitation-qr", width: 280, height: 280 }),
    h("label", { for: "invitation-link" }, "Link"),
    linkField,
    h(
      "div",
      { class: "actions" },
      copied,
      h("a", { class: "button", href: qr, download: "sotto-invitation.svg" }, "Save QR image"),
      h(
        "button",
        {
          type: "button",
          class: "primary",
          autofocus: true,
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(link);
              copied.textContent = "Copied.";
            } catch {
              linkField.select();
              copied.textContent = "Select the link and copy it.";
            }
          },
        },
        "Copy link"
      )
    ),
  ], "invite");
  dialog.addEventListener("closed", () => URL.revokeObjectURL(qr));
  return dialog;
}

/** Accepting an invitation: pasted, from a picture of its QR code, or from the camera. */
export function acceptDialog(messenger: Messenger, accepted: (contact: string) => void): HTMLDialogElement {
  const link = h("textarea", { id: "accept-link", rows: 3, spellcheck: false, autofocus: true, placeholder: "sotto:…" });
  const name = h("input", { id: "accept-name", maxlength: 64, autocomplete: "off" });
  const picture = h("input", { id: "accept-picture", type: "file", accept: "image/*" });
  const video = h("video", { class: "camera", muted: true, playsinline: true, hidden: true, "aria-label": "Camera" });
  const problem = h("p", { class: "problem", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, "Accept");
  let stream: MediaStream | null = null;
  const stopCamera = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
  };
  picture.addEventListener("change", async () => {
    const file = picture.files?.[0];
    if (!file) return;
    const scanned = await scanImage(file);
    problem.textContent = scanned ? "" : "No QR code found in that picture.";
    if (scanned) link.value = scanned.text;
  });
  const camera = async () => {
    problem.textContent = "";
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (error) {
      problem.textContent = `The camera is not available: ${reason(error)}`;
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const canvas = new OffscreenCanvas(1, 1);
    const context = canvas.getContext("2d", { willReadFrequently: true })!;
    const scan = () => {
      if (!stream) return;
      if (video.videoWidth > 0) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0);
        const scanned = scanPixels(context.getImageData(0, 0, canvas.width, canvas.height));
        if (scanned) {
          link.value = scanned.text;
          stopCamera();
          button.focus();
          return;
        }
      }
      requestAnimationFrame(scan);
    };
    scan();
  };
  const dialog = modal("Accept an invitation", (close) => [
    h(
      "form",
      {
        onsubmit: async (event: Event) => {
          event.preventDefault();
          problem.textContent = "";
          button.disabled = true;
          try {
            const contact = await messenger.acceptInvitation(link.value.trim());
            if (name.value.trim()) await messenger.renameContact(contact, name.value.trim());
            close();
            accepted(contact);
          } catch (error) {
            problem.textContent = `That invitation did not work: ${reason(error)}`;
            button.disabled = false;
          }
        },
      },
      h("label", { for: "accept-link" }, "Invitation link"),
      link,
      h(
        "div",
        { class: "row" },
        h("label", { for: "accept-picture", class: "button" }, "Read a QR code from a picture…"),
        picture,
        h("button", { type: "button", onclick: camera }, "Scan with the camera")
      ),
      video,
      h("label", { for: "accept-name" }, "Their name (optional)"),
      h("p", { class: "hint" }, "Invitations carry no name: give them the one you know them by."),
      name,
      problem,
      h("div", { class: "actions" }, button)
    ),
  ], "accept");
  dialog.addEventListener("closed", stopCamera);
  return dialog;
}

/** The safety number: 60 digits and a QR code, compared by typing or by a picture. */
export async function safetyDialog(messenger: Messenger, contact: string, name: string, verified: () => void): Promise<HTMLDialogElement> {
  const safety = await messenger.safetyNumber(contact);
  const qr = svgImage(safety.qrSvg);
  const typed = h("input", { id: "safety-typed", inputmode: "numeric", autocomplete: "off", "aria-describedby": "safety-hint" });
  const picture = h("input", { id: "safety-picture", type: "file", accept: "image/*" });
  const result = h("p", { class: "result", role: "status", id: "safety-result" });
  const verify = h("button", { type: "button", class: "primary", hidden: true }, "Mark as verified");
  const matched = () => {
    result.textContent = `The numbers match: this is ${name}'s key.`;
    result.className = "result good";
    verify.hidden = false;
  };
  const mismatched = (why: string) => {
    result.textContent = why;
    result.className = "result bad";
    verify.hidden = true;
  };
  typed.addEventListener("input", () => {
    const digits = typed.value.replace(/\D/g, "");
    if (digits.length < 60) {
      result.textContent = digits.length ? `${digits.length} of 60 digits` : "";
      result.className = "result";
      return;
    }
    if (digits === safety.digits) matched();
    else mismatched("These digits differ: you may not be talking to who you think. Do not mark as verified.");
  });
  picture.addEventListener("change", async () => {
    const file = picture.files?.[0];
    if (!file) return;
    const scanned = await scanImage(file);
    if (!scanned) return mismatched("No QR code found in that picture.");
    const comparison = await messenger.compareSafetyCode(contact, scanned.bytes);
    if (comparison === "match") matched();
    else if (comparison === "differentVersion") mismatched("That code comes from a different version of the safety number: both of you should update.");
    else mismatched("That code differs: you may not be talking to who you think. Do not mark as verified.");
  });
  verify.addEventListener("click", async () => {
    await messenger.markVerified(contact);
    verified();
    dialog.close();
  });
  const dialog = modal(`Safety number with ${name}`, () => [
    h("p", {}, `Compare these with the ones ${name} sees, in person or over a call. If they match, nobody is in between.`),
    h("div", { class: "safety" },
      h("ol", { class: "digits", "aria-label": "Safety number" }, ...safety.groups.map((group) => h("li", {}, group))),
      h("img", { src: qr, alt: "Safety number QR code", class: "qr", id: "safety-qr", width: 220, height: 220 })
    ),
    h("label", { for: "safety-typed" }, "Their 60 digits"),
    h("p", { class: "hint", id: "safety-hint" }, "Type the digits their screen shows, or give a picture of their code."),
    typed,
    h("div", { class: "row" }, h("label", { for: "safety-picture", class: "button" }, "Compare with a picture of their code…"), picture),
    result,
    h("div", { class: "actions" }, verify),
  ], "safety");
  dialog.addEventListener("closed", () => URL.revokeObjectURL(qr));
  return dialog;
}

/** Renaming a contact (on this device only). */
export function renameDialog(messenger: Messenger, contact: string, current: string, renamed: () => void): HTMLDialogElement {
  const field = h("input", { id: "rename-field", value: current, maxlength: 64, autofocus: true });
  return modal("Rename", (close) => [
    h(
      "form",
      {
        onsubmit: async (event: Event) => {
          event.preventDefault();
          await messenger.renameContact(contact, field.value.trim() || null);
          close();
          renamed();
        },
      },
      h("label", { for: "rename-field" }, "Name (only you see it)"),
      field,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save"))
    ),
  ], "rename");
}

/** The privacy levels: shortcuts that fill the route and cover fields. */
const LEVELS: Record<string, { meanDelayMs: number; cover: boolean }> = {
  fast: { meanDelayMs: 0, cover: false },
  balanced: { meanDelayMs: 100, cover: true },
  strong: { meanDelayMs: 500, cover: true },
};

/** Settings: relays, route, privacy level, cover traffic with its cost, idle lock. */
export async function settingsDialog(app: App, messenger: Messenger): Promise<HTMLDialogElement> {
  const network = await messenger.networkSettings();
  const relays = h("textarea", { id: "settings-relays", rows: 4, wrap: "off", spellcheck: false, value: formatRelays(network.relays) });
  const hops = h("input", { id: "settings-hops", type: "number", min: 1, max: 5, value: network.hops });
  const delay = h("input", { id: "settings-delay", type: "number", min: 0, max: 30000, step: 50, value: Math.round(network.meanDelayMs) });
  const cover = h("input", { id: "settings-cover", type: "checkbox", checked: network.cover !== null });
  const coverCost = h("span", { class: "hint", id: "settings-cover-cost" });
  const level = h(
    "select",
    { id: "settings-level" },
    h("option", { value: "custom" }, "Custom"),
    h("option", { value: "fast" }, "Fast: no mixing delay, no cover traffic"),
    h("option", { value: "balanced" }, "Balanced: 0.1 s mixing per hop, cover traffic"),
    h("option", { value: "strong" }, "Strong: 0.5 s mixing per hop, cover traffic")
  );
  const idle = h(
    "select",
    { id: "settings-idle" },
    ...[0, 1, 5, 10, 30, 60].map((minutes) =>
      h("option", { value: minutes, selected: minutes === app.prefs.idleMinutes }, minutes === 0 ? "Never" : `After ${minutes} min without use`)
    )
  );
  const problem = h("p", { class: "problem", role: "alert" });
  const coverRates = network.cover ?? { payloadPerSecond: 0.2, loopPerSecond: 0.05, dropPerSecond: 0.05, loopTimeoutSeconds: 60 };
  const showCost = () => {
    coverCost.textContent = cover.checked
      ? `About ${megabytesPerDay(coverRates, network.packetBytes).toFixed(0)} MB a day`
      : "Off: an observer of your connection can tell when you send.";
  };
  const matchLevel = () => {
    const found = Object.entries(LEVELS).find(([, l]) => l.meanDelayMs === Number(delay.value) && l.cover === cover.checked);
    level.value = found ? found[0] : "custom";
  };
  level.addEventListener("change", () => {
    const chosen = LEVELS[level.value];
    if (!chosen) return;
    delay.value = String(chosen.meanDelayMs);
    cover.checked = chosen.cover;
    showCost();
  });
  cover.addEventListener("change", () => (showCost(), matchLevel()));
  delay.addEventListener("input", matchLevel);
  showCost();
  matchLevel();
  return modal("Settings", (close) => [
    h(
      "form",
      {
        onsubmit: async (event: Event) => {
          event.preventDefault();
          problem.textContent = "";
          try {
            const changed: NetworkOptions = {
              relays: parseRelays(relays.value),
              hops: Number(hops.value),
              meanDelayMs: Number(delay.value),
              cover: cover.checked ? coverRates : null,
            };
            await messenger.setNetworkSettings(changed);
            await app.rememberNetwork();
            app.setIdleMinutes(Number(idle.value));
            close();
          } catch (error) {
            problem.textContent = `Not saved: ${reason(error)}`;
          }
        },
      },
      h("label", { for: "settings-level" }, "Privacy level"),
      level,
      h("fieldset", {},
        h("legend", {}, "Route"),
        h("label", { for: "settings-hops" }, "Relays per onion route"),
        hops,
        h("label", { for: "settings-delay" }, "Mean mixing delay per relay (ms)"),
        delay
      ),
      h("div", { class: "check" }, cover, h("label", { for: "settings-cover" }, "Cover traffic")),
      coverCost,
      h("label", { for: "settings-relays" }, "Relays"),
      relays,
      h("label", { for: "settings-idle" }, "Lock the profile"),
      idle,
      problem,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save"))
    ),
  ], "settings");
}
