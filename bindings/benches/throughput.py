"""The Python side of relay-server/benches/python_overhead.rs: two profiles meet through the
Python binding and one sends `count` texts to the other, whose event iterator counts them
in. Prints the seconds from the first send to the last message received, as `seconds <s>`.

usage: python throughput.py <scratch folder> <relay address> <count>

The same work as the Rust side of the bench: direct writes to one relay, the messengers'
background work on, each send awaited before the next."""

import asyncio
import sys
import time

import sotto

FAST = sotto.Argon2Cost(memory_kib=8 * 1024, iterations=1, parallelism=1)


async def messenger(folder: str, name: str, relay: str) -> sotto.Messenger:
    settings = sotto.Settings(relays=[relay], display_name=name, route=sotto.Route.DIRECT())
    protection = sotto.Protection.PASSPHRASE(passphrase=name, argon2=FAST)
    return await sotto.Messenger.create(f"{folder}/{name}", protection, settings)


async def main(folder: str, relay: str, count: int) -> float:
    sender = await messenger(folder, "python-sender", relay)
    recipient = await messenger(folder, "python-recipient", relay)
    async with sender, recipient:
        sender_events, recipient_events = sender.events(), recipient.events()
        await sender.start()
        await recipient.start()
        await recipient.accept_invitation(await sender.create_invitation())
        async for event in sender_events:
            if isinstance(event, sotto.Event.CONTACT_ADDED):
                to = event.contact
                break
        async for event in recipient_events:
            if isinstance(event, sotto.Event.CONTACT_READY):
                break

        async def receive() -> None:
            received = 0
            async for event in recipient_events:
                if isinstance(event, sotto.Event.MISSED):
                    raise SystemExit(f"the subscription missed {event.count} events")
                if isinstance(event, sotto.Event.MESSAGE_RECEIVED):
                    received += 1
                    if received == count:
                        return

        started = time.perf_counter()
        receiving = asyncio.create_task(receive())
        for i in range(count):
            await sender.send_text(to, f"message {i}")
        await receiving
        return time.perf_counter() - started


if __name__ == "__main__":
    folder, relay, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(f"seconds {asyncio.run(main(folder, relay, count)):.6f}")
