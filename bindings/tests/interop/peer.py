"""The Python peer of the interoperability test (interop.py): one profile driven by lines
on standard input, answering on standard output. The protocol is the same for the peers in
Rust, C and Kotlin:

    (start)                        -> ready <identity>
    invite                         -> link <invitation>
    accept <invitation>            -> contact <id>        (once the contact is ready)
    await-contact                  -> contact <id>        (the next contact added)
    send <contact> <text>          -> sent <message id>
    send-file <contact> <path> <name> -> sent <message id>
    expect <contact> <text>        -> got                  (once that text arrived)
    expect-file <contact> <name> <destination> -> got <size>  (arrived and downloaded)
    quit                           -> bye

usage: python peer.py <profile folder> <relay>..."""

import asyncio
import sys

import sotto

FAST = sotto.Argon2Cost(memory_kib=8 * 1024, iterations=1, parallelism=1)


async def main(folder: str, relays: list) -> None:
    messenger = await sotto.Messenger.create(
        folder,
        sotto.Protection.PASSPHRASE(passphrase="interop", argon2=FAST),
        sotto.Settings(relays=relays, display_name="python"),
    )
    inbox = []  # (contact, message)
    added: asyncio.Queue = asyncio.Queue()
    ready = set()
    changed = asyncio.Condition()

    async def pump() -> None:
        async for event in messenger.events():
            if isinstance(event, sotto.Event.MESSAGE_RECEIVED):
                inbox.append((event.contact, event.message))
            elif isinstance(event, sotto.Event.CONTACT_ADDED):
                await added.put(event.contact)
            elif isinstance(event, sotto.Event.CONTACT_READY):
                ready.add(event.contact)
            async with changed:
                changed.notify_all()

    pumping = asyncio.create_task(pump())
    await messenger.start()

    async def until(predicate):
        async with changed:
            await changed.wait_for(predicate)

    def answer(*words) -> None:
        print(*words, flush=True)

    answer("ready", messenger.identity())
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        words = line.split()
        if not words:
            continue
        command, args = words[0], words[1:]
        if command == "invite":
            answer("link", await messenger.create_invitation())
        elif command == "accept":
            contact = await messenger.accept_invitation(args[0])
            await until(lambda: contact in ready)
            answer("contact", contact)
        elif command == "await-contact":
            answer("contact", await added.get())
        elif command == "send":
            answer("sent", await messenger.send_text(args[0], args[1]))
        elif command == "send-file":
            source = sotto.AttachmentSource.FILE(path=args[1])
            answer("sent", await messenger.send_file(args[0], source, args[2], None))
        elif command == "expect":
            await until(
                lambda: any(
                    c == args[0] and m.body == sotto.Body.TEXT(text=args[1]) for c, m in inbox
                )
            )
            answer("got")
        elif command == "expect-file":

            def find():
                for c, m in inbox:
                    if c == args[0] and isinstance(m.body, sotto.Body.FILE) and m.body.name == args[1]:
                        return m
                return None

            await until(lambda: find() is not None)
            size = await messenger.download_attachment(args[0], find().id, args[2])
            answer("got", size)
        elif command == "quit":
            await messenger.shutdown()
            pumping.cancel()
            answer("bye")
            return
        else:
            answer("error", "unknown command", command)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
