// The web client's entry: the app in #app, and the service worker that caches the app
// shell so that Sotto starts offline.
import { App } from "./app";

const root = document.getElementById("app");
if (root) new App(root).begin();

if (import.meta.env.PROD && "serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("sw.js", { scope: "./" }).catch((error) => console.warn("no offline start:", error));
}
