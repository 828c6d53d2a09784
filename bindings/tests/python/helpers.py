"""What the tests share: cheap passphrase protection, settings, two people who met."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Callable, List, Optional

import sotto

# The least Argon2 cost the library accepts: the tests open many profiles.
FAST = sotto.Argon2Cost(memory_kib=8 * 1024, iterations=1, parallelism=1)
PATIENCE = 60.0


def protection(passphrase: str) -> sotto.Protection:
    return sotto.Protection.PASSPHRASE(passphrase=passphrase, argon2=FAST)


def settings(relays: List[str], name: str) -> sotto.Settings:
    return sotto.Settings(relays=relays, display_name=name)


class Recorder(sotto.EventListener):
    """A listener that records every event (called on a library thread) and lets a
    coroutine wait for one."""

    def __init__(self) -> None:
        self.events: List[sotto.Event] = []
        self._changed = threading.Condition()

    def on_event(self, event: sotto.Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, matches: Callable[[sotto.Event], bool], after: int = 0) -> sotto.Event:
        """The first recorded event from index `after` on that `matches` (waiting for it)."""
        return await asyncio.to_thread(self._wait_blocking, matches, after)

    def _wait_blocking(self, matches, after):
        with self._changed:
            ok = self._changed.wait_for(
                lambda: any(matches(e) for e in self.events[after:]), timeout=PATIENCE
            )
            if not ok:
                raise AssertionError(f"no matching event within {PATIENCE} s: {self.events[after:]}")
            return next(e for e in self.events[after:] if matches(e))


async def next_event(
    events: sotto.Subscription, matches: Callable[[sotto.Event], bool]
) -> sotto.Event:
    """The next event of an async iterator that `matches` (the ones before are dropped)."""

    async def find() -> sotto.Event:
        async for event in events:
            if matches(event):
                return event
        raise AssertionError("the messenger shut down")

    return await asyncio.wait_for(find(), PATIENCE)


def received(text: Optional[str] = None) -> Callable[[sotto.Event], bool]:
    def matches(event: sotto.Event) -> bool:
        if not isinstance(event, sotto.Event.MESSAGE_RECEIVED):
            return False
        body = event.message.body
        return text is None or (isinstance(body, sotto.Body.TEXT) and body.text == text)

    return matches


def received_id(message_id: str) -> Callable[[sotto.Event], bool]:
    return lambda e: isinstance(e, sotto.Event.MESSAGE_RECEIVED) and e.message.id == message_id


async def meet(inviter: sotto.Messenger, inviter_events, invitee: sotto.Messenger, invitee_events):
    """`invitee` accepts `inviter`'s invitation; returns (invitee's id at the inviter,
    inviter's id at the invitee) once both sides can write."""
    link = await inviter.create_invitation()
    inviter_at_invitee = await invitee.accept_invitation(link)
    added = await next_event(inviter_events, lambda e: isinstance(e, sotto.Event.CONTACT_ADDED))
    await next_event(invitee_events, lambda e: isinstance(e, sotto.Event.CONTACT_READY))
    return added.contact, inviter_at_invitee


def write_pattern(path: Path, size: int, seed: int) -> bytes:
    data = bytes((i * 31 + seed) & 0xFF for i in range(size))
    path.write_bytes(data)
    return data
