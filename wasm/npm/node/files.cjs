// Persistent profiles in Node: the part of the browser's origin private file system (OPFS)
// that the SQLCipher store's VFS uses ("sahpool": directories, files and their synchronous
// access handles), over node:fs in a folder the app names. The store, its VFS and its
// files' layout are exactly the browser's; only the files underneath are Node's.
//
// Every write goes to the file at once (`fs.writeSync`) and `flush()` is `fs.fsyncSync`, so
// a change is on disk when SQLite's commit returns, as natively. One process at a time may
// hold a profile's folder: its pool lock (`.lock`) is taken with an owner file beside it
// (`.lock.owner`, the holder's process id), and a second process is refused until the
// first shuts down or exits.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

/** A `DOMException`-like error with the name the VFS expects. */
function domError(name, message) {
  return Object.assign(new Error(message), { name });
}

/** Whether process `pid` is alive (signal 0 only asks). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/**
 * Takes the owner file of a pool lock for this process, or throws when another live process
 * holds it. A holder that died without releasing it (a crash) is replaced.
 */
function takeOwnership(owner) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(owner, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      const holder = Number.parseInt(fs.readFileSync(owner, "utf8"), 10);
      if (holder === process.pid || (Number.isInteger(holder) && alive(holder))) {
        throw domError(
          "NoModificationAllowedError",
          `the profile folder is held by process ${holder}`
        );
      }
      fs.rmSync(owner, { force: true });
    }
  }
  throw domError("NoModificationAllowedError", "the profile folder's lock could not be taken");
}

/** `FileSystemSyncAccessHandle`: positioned reads and writes on an open file. */
class SyncAccessHandle {
  #fd;
  #release;

  constructor(fd, release) {
    this.#fd = fd;
    this.#release = release;
  }

  #open() {
    if (this.#fd === null) throw domError("InvalidStateError", "the access handle is closed");
    return this.#fd;
  }

  read(buffer, options = {}) {
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let done = 0;
    while (done < view.length) {
      const n = fs.readSync(this.#open(), view, done, view.length - done, (options.at ?? 0) + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(buffer, options = {}) {
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let done = 0;
    while (done < view.length) {
      done += fs.writeSync(this.#open(), view, done, view.length - done, (options.at ?? 0) + done);
    }
    return done;
  }

  truncate(size) {
    fs.ftruncateSync(this.#open(), size);
  }

  getSize() {
    return fs.fstatSync(this.#open()).size;
  }

  flush() {
    fs.fsyncSync(this.#open());
  }

  close() {
    if (this.#fd === null) return;
    fs.closeSync(this.#fd);
    this.#fd = null;
    this.#release?.();
  }
}

/** `FileSystemFileHandle`. */
class FileHandle {
  kind = "file";

  constructor(file) {
    this.name = path.basename(file);
    this.path = file;
  }

  async createSyncAccessHandle() {
    let release = null;
    // The pool's lock file stands for the whole folder.
    if (this.name === ".lock") {
      const owner = `${this.path}.owner`;
      takeOwnership(owner);
      release = () => fs.rmSync(owner, { force: true });
    }
    return new SyncAccessHandle(fs.openSync(this.path, "r+"), release);
  }
}

/** `FileSystemDirectoryHandle`. */
class DirectoryHandle {
  kind = "directory";

  constructor(directory) {
    this.name = path.basename(directory);
    this.path = directory;
  }

  #child(name) {
    if (typeof name !== "string" || name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
      throw new TypeError(`not a file name: ${name}`);
    }
    return path.join(this.path, name);
  }

  async getDirectoryHandle(name, options = {}) {
    const directory = this.#child(name);
    if (options.create) fs.mkdirSync(directory, { recursive: true });
    else if (!fs.statSync(directory, { throwIfNoEntry: false })?.isDirectory()) {
      throw domError("NotFoundError", `no folder ${name}`);
    }
    return new DirectoryHandle(directory);
  }

  async getFileHandle(name, options = {}) {
    const file = this.#child(name);
    if (options.create) fs.closeSync(fs.openSync(file, "a"));
    else if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      throw domError("NotFoundError", `no file ${name}`);
    }
    return new FileHandle(file);
  }

  async removeEntry(name) {
    fs.rmSync(this.#child(name));
  }

  async *entries() {
    for (const entry of fs.readdirSync(this.path, { withFileTypes: true })) {
      const full = path.join(this.path, entry.name);
      if (entry.isDirectory()) yield [entry.name, new DirectoryHandle(full)];
      else if (entry.isFile()) yield [entry.name, new FileHandle(full)];
    }
  }

  async *values() {
    for await (const [, handle] of this.entries()) yield handle;
  }

  async *keys() {
    for await (const [name] of this.entries()) yield name;
  }
}

let root = null;

/**
 * Makes `directory` (created if missing) this process's origin private file system, where
 * persistent profiles live. Once per process: a second, different folder is refused.
 */
function useDirectory(directory) {
  if (typeof directory !== "string" || directory === "") {
    throw Object.assign(
      new Error("options.profile.directory names the folder Node keeps profiles in"),
      { name: "InvalidArgumentError", code: 104 }
    );
  }
  const resolved = path.resolve(directory);
  if (root !== null) {
    if (root === resolved) return;
    throw Object.assign(
      new Error(`this process keeps its profiles in ${root}; one folder per process`),
      { name: "InvalidArgumentError", code: 104 }
    );
  }
  fs.mkdirSync(resolved, { recursive: true });
  root = resolved;
  const storage = { getDirectory: async () => new DirectoryHandle(resolved) };
  if (globalThis.navigator) {
    Object.defineProperty(globalThis.navigator, "storage", { value: storage, configurable: true });
  } else {
    globalThis.navigator = { storage };
  }
  // The VFS asks for these by name; this process plays the dedicated worker that holds them.
  globalThis.FileSystemFileHandle ??= FileHandle;
  globalThis.FileSystemSyncAccessHandle ??= SyncAccessHandle;
  globalThis.DedicatedWorkerGlobalScope ??= class DedicatedWorkerGlobalScope {
    static [Symbol.hasInstance](value) {
      return value === globalThis;
    }
  };
}

module.exports = { useDirectory };
