"""Interoperability: a Python, a Kotlin, a C and a Rust profile, each a process of its own
on its language's shell of the SDK, meet by invitation through the same three relay
processes; every one of the six pairs exchanges a text each way and a file each way, and
every file arrives byte for byte.

usage: python interop.py <sotto-relay binary> <name>=<peer command> ...
(bindings/tests/interop/run.sh prepares the four peers and calls it.)"""

import itertools
import os
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PATIENCE = 120


class Peer:
    """One peer process and its line protocol (see peer.py)."""

    def __init__(self, name: str, command: list, folder: Path, relays: list):
        self.name = name
        self.process = subprocess.Popen(
            command + [str(folder / name)] + relays,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(folder / f"{name}.log", "wb"),
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.identity = self.expect("ready")[0]

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.split())
        self.lines.put(None)

    def expect(self, word: str) -> list:
        try:
            answer = self.lines.get(timeout=PATIENCE)
        except queue.Empty:
            raise AssertionError(f"{self.name}: no answer within {PATIENCE} s") from None
        if answer is None:
            raise AssertionError(f"{self.name} exited ({self.process.wait()})")
        if answer[0] != word:
            raise AssertionError(f"{self.name} answered {answer}, not {word!r}")
        return answer[1:]

    def ask(self, answer_word: str, *words) -> list:
        self.process.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.process.stdin.flush()
        return self.expect(answer_word)


def start_relay(binary: str, folder: Path, name: str):
    process = subprocess.Popen(
        [binary, "--data-dir", str(folder / name), "--listen", "127.0.0.1:0", "--allow-private-hops",
         "--operator-listen", "127.0.0.1:0", "--log-level", "warn"],
        stdout=subprocess.PIPE,
        stderr=open(folder / f"{name}.log", "wb"),
        text=True,
    )
    line = process.stdout.readline()
    return process, next(w for w in line.split() if w.startswith("sotto://"))


def main(relay_binary: str, specs: list) -> None:
    with tempfile.TemporaryDirectory(prefix="sotto-interop-") as root:
        folder = Path(root)
        relays = [start_relay(relay_binary, folder, f"relay-{n}") for n in range(3)]
        addresses = [address for _, address in relays]
        peers = []
        try:
            for spec in specs:
                name, command = spec.split("=", 1)
                peers.append(Peer(name, shlex.split(command), folder, addresses))
            for a, b in itertools.combinations(peers, 2):
                pair(a, b, folder)
                print(f"interop: {a.name} and {b.name} exchanged texts and files both ways", flush=True)
            for peer in peers:
                peer.ask("bye", "quit")
                assert peer.process.wait(timeout=PATIENCE) == 0, f"{peer.name} failed"
        finally:
            for peer in peers:
                peer.process.kill()
            for process, _ in relays:
                process.kill()
    print(f"interop: all {len(peers)} shells talked with each other")


def pair(a: Peer, b: Peer, folder: Path) -> None:
    link = a.ask("link", "invite")[0]
    a_at_b = b.ask("contact", "accept", link)[0]
    b_at_a = a.ask("contact", "await-contact")[0]
    for sender, receiver, to, frm in ((a, b, b_at_a, a_at_b), (b, a, a_at_b, b_at_a)):
        text = f"from-{sender.name}-to-{receiver.name}"
        sender.ask("sent", "send", to, text)
        receiver.ask("got", "expect", frm, text)
        name = f"{sender.name}-for-{receiver.name}.bin"
        source = folder / f"source-{name}"
        data = os.urandom(100_000 + len(name))
        source.write_bytes(data)
        sender.ask("sent", "send-file", to, source, name)
        target = folder / f"received-{name}"
        size = int(receiver.ask("got", "expect-file", frm, name, target)[0])
        assert size == len(data) and target.read_bytes() == data, f"{name} differs"


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
