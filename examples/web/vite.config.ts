// Builds the web client into dist/: static files any web server can serve (under any path:
// every URL is relative). Two steps of our own follow Vite's:
// - Subresource Integrity: every script and stylesheet index.html loads carries the
//   SHA-384 of its content, so a tampered file on the server or on the way is refused;
// - the service worker (sw.js), made from service-worker.js with the list of the built
//   files, which it caches as the app shell (never messages: those live in the encrypted
//   profile) so that the app starts offline.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";

type Output = { type: "chunk"; code: string } | { type: "asset"; source: string | Uint8Array };

function contentOf(output: Output): string | Uint8Array {
  return output.type === "chunk" ? output.code : output.source;
}

function sri(content: string | Uint8Array): string {
  return `sha384-${createHash("sha384").update(content).digest("base64")}`;
}

/** Adds `integrity` to each `<script src>` and `<link href>` of index.html that is ours. */
function subresourceIntegrity(): Plugin {
  return {
    name: "sotto-subresource-integrity",
    enforce: "post",
    apply: "build",
    generateBundle(_, bundle) {
      const html = bundle["index.html"] as Output | undefined;
      if (!html || html.type !== "asset") this.error("index.html is missing from the build");
      const page = String(html.source).replace(
        /<(script|link)\b([^>]*?)\b(src|href)="\.\/([^"]+)"([^>]*)>/g,
        (tag, element, before, attribute, file, after) => {
          const output = bundle[file] as Output | undefined;
          if (!output || /\bintegrity=/.test(tag)) return tag;
          const crossorigin = /\bcrossorigin\b/.test(tag) ? "" : " crossorigin";
          return `<${element}${before}${attribute}="./${file}"${after.replace(/\s*\/?$/, "")} integrity="${sri(contentOf(output))}"${crossorigin}>`;
        }
      );
      html.source = page;
    },
  };
}

/** Writes sw.js: the service worker with the app shell's files and a version naming them. */
function serviceWorker(): Plugin {
  return {
    name: "sotto-service-worker",
    enforce: "post",
    apply: "build",
    generateBundle(_, bundle) {
      const files = Object.keys(bundle).filter((file) => !file.endsWith(".map")).sort();
      const version = createHash("sha256");
      for (const file of files) version.update(file).update(contentOf(bundle[file] as Output));
      const shell = ["./", ...files.map((file) => `./${file}`), "./manifest.webmanifest", "./icon.svg", "./icon-192.png", "./icon-512.png"];
      const source = readFileSync(new URL("./service-worker.js", import.meta.url), "utf8")
        .replace("__SHELL__", JSON.stringify(shell))
        .replace("__VERSION__", JSON.stringify(version.digest("hex").slice(0, 16)));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

export default defineConfig({
  base: "./",
  // The package's worker loads its WebAssembly beside itself: serve it as it is.
  optimizeDeps: { exclude: ["sotto"] },
  worker: { format: "es" },
  build: {
    target: "es2022",
    // Nothing inlined as a data: URL (the policy allows scripts from this origin only).
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  plugins: [subresourceIntegrity(), serviceWorker()],
});
