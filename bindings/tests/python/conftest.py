"""Fixtures for the Python binding's tests: real `sotto-relay` processes on loopback
(the binary named by SOTTO_RELAY_BIN) and fresh profile folders.

The tests run against the installed wheel: `scripts/package python --check` makes a fresh
virtual environment, installs the wheel and pytest there, and runs these files from their
own folder (no build tree on the path)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

RELAYS = 3


def _start_relay(root: Path, name: str) -> tuple[subprocess.Popen, str]:
    binary = os.environ.get("SOTTO_RELAY_BIN")
    if not binary:
        raise RuntimeError("SOTTO_RELAY_BIN names the sotto-relay binary to test against")
    data = root / name
    log = open(root / f"{name}.log", "wb")
    process = subprocess.Popen(
        [binary, "--data-dir", str(data), "--listen", "127.0.0.1:0", "--allow-private-hops",
         "--operator-listen", "127.0.0.1:0", "--log-level", "warn"],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    address = next((w for w in line.split() if w.startswith("sotto://")), None)
    if address is None:
        process.kill()
        raise RuntimeError(f"the relay printed no address: {line!r}")
    return process, address


@pytest.fixture(scope="session")
def relays():
    """Three relay processes for the whole session; their addresses."""
    with tempfile.TemporaryDirectory(prefix="sotto-relays-") as root:
        started = [_start_relay(Path(root), f"relay-{n}") for n in range(RELAYS)]
        try:
            yield [address for _, address in started]
        finally:
            for process, _ in started:
                process.kill()
                process.wait()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A fresh folder for this test's profiles and files."""
    return tmp_path
