"""A profile outlives its process; opening and closing it does not leak."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import sotto
from helpers import meet, next_event, protection, received, settings

# How much the resident memory may grow over 1,000 open/close cycles after a warm-up of
# 50, in bytes. One cycle allocates a store connection, a messenger thread and its
# runtime; a leak of 8 KiB per cycle would exceed it. (Measured: under 1 MiB.)
MEMORY_GROWTH_BOUND = 8 * 1024 * 1024


def rss() -> int:
    """The process's resident memory now, in bytes (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def test_a_profile_reopened_in_a_new_process_keeps_contacts_and_history(relays, folder: Path):
    async def talk() -> str:
        alice = await sotto.Messenger.create(str(folder / "alice"), protection("a"), settings(relays, "Alice"))
        bob = await sotto.Messenger.create(str(folder / "bob"), protection("b"), settings(relays, "Bob"))
        async with alice, bob:
            alice_events, bob_events = alice.events(), bob.events()
            await alice.start()
            await bob.start()
            bob_at_alice, _ = await meet(alice, alice_events, bob, bob_events)
            await alice.send_text(bob_at_alice, "kept across processes")
            await next_event(bob_events, received("kept across processes"))
            return bob_at_alice

    bob_at_alice = asyncio.run(asyncio.wait_for(talk(), 120))
    # Another interpreter opens Alice's profile and prints what it finds.
    program = textwrap.dedent(
        f"""
        import asyncio, sotto
        async def main():
            alice = await sotto.Messenger.open({str(folder / "alice")!r}, "a",
                                               sotto.Settings(relays={relays!r}))
            async with alice:
                [contact] = await alice.contacts()
                [message] = await alice.history(contact.id, None, 10)
                print(contact.id, contact.identity.startswith("sotto-id:"), message.body.text,
                      message.direction)
        asyncio.run(main())
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    ).stdout.strip()
    assert output == f"{bob_at_alice} True kept across processes Direction.OUTGOING"


def test_a_thousand_open_close_cycles_stay_within_a_memory_bound(relays, folder: Path):
    directory = str(folder / "cycled")
    opts = settings(relays, "Cycled")

    async def cycles() -> tuple[int, int]:
        first = await sotto.Messenger.create(directory, protection("p"), opts)
        await first.shutdown()
        del first

        async def cycle() -> None:
            messenger = await sotto.Messenger.open(directory, "p", opts)
            assert messenger.identity()
            await messenger.shutdown()

        for _ in range(50):
            await cycle()
        before = rss()
        for _ in range(1000):
            await cycle()
        return before, rss()

    before, after = asyncio.run(cycles())
    growth = after - before
    print(f"resident memory: {before / 2**20:.1f} MiB after 50 cycles, "
          f"{after / 2**20:.1f} MiB after 1,050 (growth {growth / 2**20:.2f} MiB)")
    assert growth < MEMORY_GROWTH_BOUND, f"grew by {growth} bytes over 1,000 cycles"


def test_environment_is_not_the_build_tree():
    assert not any("bindings/python" in p for p in sys.path if os.path.isdir(p))
