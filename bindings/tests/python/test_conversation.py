"""Two profiles meet by invitation through real relays and talk: text with receipts, an
image, a file and a voice clip (from a path and from memory), safety numbers, history,
contacts, settings; one hears events through a listener, the other through `async for`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import sotto
from helpers import (
    Recorder,
    meet,
    next_event,
    protection,
    received,
    received_id,
    settings,
    write_pattern,
)


def test_the_package_is_the_installed_wheel():
    """The tests import what `pip install` put in the environment, not the build tree."""
    assert "site-packages" in sotto.__file__, sotto.__file__
    assert Path(sotto.__file__).with_name("py.typed").exists()
    assert sotto.version()


def test_two_people_meet_and_talk(relays, folder: Path):
    asyncio.run(asyncio.wait_for(conversation(relays, folder), 300))


async def conversation(relays, folder: Path) -> None:
    alice = await sotto.Messenger.create(str(folder / "alice"), protection("alice's"), settings(relays, "Alice"))
    bob = await sotto.Messenger.create(str(folder / "bob"), protection("bob's"), settings(relays, "Bob"))
    async with alice, bob:
        assert alice.identity().startswith("sotto-id:")
        heard = Recorder()
        alice.set_listener(heard)
        alice_events, bob_events = alice.events(), bob.events()
        await alice.start()
        await bob.start()

        # The invitation, as a link and as QR codes.
        link = await alice.create_invitation()
        assert sotto.invitation_qr_png(link).startswith(b"\x89PNG\r\n\x1a\n")
        assert "<svg" in sotto.invitation_qr_svg(link)
        alice_at_bob = await bob.accept_invitation(link)
        added = await next_event(alice_events, lambda e: isinstance(e, sotto.Event.CONTACT_ADDED))
        assert added.display_name == "Bob"
        bob_at_alice = added.contact
        await next_event(bob_events, lambda e: isinstance(e, sotto.Event.CONTACT_READY))

        # Bob writes; Alice's listener hears it; she reads it; Bob learns it was read.
        sent = await bob.send_text(alice_at_bob, "hello from Python")
        got = await heard.wait_for(received("hello from Python"))
        assert got.contact == bob_at_alice and got.message.id == sent
        await alice.mark_read(bob_at_alice, [sent])
        await next_event(
            bob_events,
            lambda e: isinstance(e, sotto.Event.STATUS_CHANGED)
            and e.status == sotto.DeliveryStatus.READ
            and sent in e.message_ids,
        )

        # Alice answers with more than ASCII; Bob's iterator brings it.
        await alice.send_text(bob_at_alice, "grüße zurück ✓")
        await next_event(bob_events, received("grüße zurück ✓"))

        # Attachments from Bob: each kind from a path, then from memory with a preview or a
        # waveform; Alice downloads each and finds the same bytes.
        thumbnail, waveform = b"\xff\xd8\xff\xe0prev", bytes([0, 40, 200, 255, 90])
        sends = [
            lambda s: bob.send_file(alice_at_bob, s, "report.bin", None),
            lambda s: bob.send_image(alice_at_bob, s, "image/png", 640, 480, b""),
            lambda s: bob.send_voice_clip(alice_at_bob, s, "opus", 2500, b""),
        ]
        for k in range(6):
            data = write_pattern(folder / f"source-{k}", 150_000 + 977 * k, k)
            source = (
                sotto.AttachmentSource.FILE(path=str(folder / f"source-{k}"))
                if k < 3
                else sotto.AttachmentSource.BYTES(data=data)
            )
            if k == 3:
                message_id = await bob.send_file(alice_at_bob, source, "memo.txt", "text/plain")
            elif k == 4:
                message_id = await bob.send_image(alice_at_bob, source, "image/jpeg", 32, 24, thumbnail)
            elif k == 5:
                message_id = await bob.send_voice_clip(alice_at_bob, source, "opus", 1200, waveform)
            else:
                message_id = await sends[k](source)
            arrived = await heard.wait_for(received_id(message_id))
            body = arrived.message.body
            assert body.size == len(data) if hasattr(body, "size") else True
            target = folder / f"downloaded-{k}"
            size = await alice.download_attachment(bob_at_alice, message_id, str(target))
            assert size == len(data) and target.read_bytes() == data

        # History pages: the last three are the attachments from memory.
        page = await alice.history(bob_at_alice, None, 3)
        assert [type(m.body) for m in page] == [sotto.Body.VOICE_CLIP, sotto.Body.IMAGE, sotto.Body.FILE]
        assert page[0].body.waveform == waveform and page[1].body.thumbnail == thumbnail
        assert page[2].body.name == "memo.txt" and page[2].direction == sotto.Direction.INCOMING
        older = await alice.history(bob_at_alice, page[-1].id, 100)
        first = older[-1]
        assert first.body == sotto.Body.TEXT(text="hello from Python")
        assert first.status == sotto.MessageStatus.READ
        found = await alice.search(bob_at_alice, "memo", 10)
        assert [m.body.name for m in found] == ["memo.txt"]
        unread = await alice.unread_counts()
        assert unread[bob_at_alice] == 6

        # Safety numbers, compared both ways; verified.
        alice_number = await alice.safety_number(bob_at_alice)
        bob_number = await bob.safety_number(alice_at_bob)
        assert len(alice_number.digits) == 60 and alice_number.digits == bob_number.digits
        assert alice_number.qr_png.startswith(b"\x89PNG")
        match = await bob.compare_safety_code(alice_at_bob, alice_number.scannable)
        assert match == sotto.Comparison.MATCH()
        await bob.mark_verified(alice_at_bob)
        assert (await bob.contact(alice_at_bob)).verified

        # Local edits.
        await alice.rename_contact(bob_at_alice, "Bobby")
        [contact] = await alice.contacts()
        assert contact.name == "Bobby" and contact.id == bob_at_alice and not contact.verified
        await alice.delete_message(bob_at_alice, sent)
        assert sent not in [m.id for m in await alice.history(bob_at_alice, None, 100)]

        # Network settings at run time: cover traffic on, then off again.
        network = await alice.network_settings()
        assert sorted(network.relays) == sorted(relays) and network.cover is None
        cover = sotto.CoverTraffic(payload_per_second=0.2, loop_per_second=0.05, drop_per_second=0.05, loop_timeout_ms=60_000)
        await alice.set_network_settings(sotto.NetworkSettings(relays=network.relays, route=network.route, cover=cover))
        assert (await alice.network_settings()).cover == cover
        await alice.set_network_settings(network)
        assert (await alice.network_settings()).cover is None


def test_a_hundred_sends_at_once_arrive_once_in_order(relays, folder: Path):
    asyncio.run(asyncio.wait_for(hundred(relays, folder), 300))


async def hundred(relays, folder: Path) -> None:
    alice = await sotto.Messenger.create(str(folder / "alice"), protection("a"), settings(relays, "Alice"))
    bob = await sotto.Messenger.create(str(folder / "bob"), protection("b"), settings(relays, "Bob"))
    async with alice, bob:
        alice_events, bob_events = alice.events(), bob.events()
        await alice.start()
        await bob.start()
        bob_at_alice, _ = await meet(alice, alice_events, bob, bob_events)
        texts = [f"message {i}" for i in range(100)]
        ids = await asyncio.gather(*(alice.send_text(bob_at_alice, t) for t in texts))
        assert len(set(ids)) == 100
        got = []
        while len(got) < 100:
            event = await next_event(bob_events, received())
            got.append(event.message.body.text)
        # Each once, in the order the calls were made.
        assert got == texts
        await asyncio.sleep(0.5)
        assert bob_events.try_next() is None or not received()(bob_events.try_next())


if __name__ == "__main__":
    sys.exit("run with pytest")
