"""Sotto for Python.

The generated module (``sotto.sotto``, made by UniFFI from the Rust library) holds the
whole API: ``Messenger``, its records and enums, ``SottoError``. This file re-exports it and
adds two Python idioms:

- ``async with await Messenger.create(...) as messenger:`` shuts the messenger down on exit;
- ``async for event in messenger.events():`` iterates over its events (a ``Subscription``
  made when ``events()`` is called).

And one duty of a host: at interpreter exit it lets messenger threads that are ending
finish waking what waited for their shutdown (``wait_for_ending_threads``), since the
interpreter would terminate such a thread once it is finalizing, aborting the process.
"""

from __future__ import annotations

import atexit
import sys
import typing

from .sotto import *  # noqa: F401,F403  (the generated API is the package's API)
from .sotto import Event, Messenger, Subscription, wait_for_ending_threads

__all__ = [name for name in dir() if not name.startswith("_")]


async def _aenter(self: Messenger) -> Messenger:
    return self


async def _aexit(self: Messenger, *_exc: object) -> None:
    await self.shutdown()


def _events(self: Messenger) -> Subscription:
    """This messenger's events from now on, as an async iterator (and a ``Subscription``)."""
    return self.subscribe()


def _aiter(self: Subscription) -> Subscription:
    return self


async def _anext(self: Subscription) -> Event:
    event = await self.next()
    if event is None:
        raise StopAsyncIteration
    return event


Messenger.__aenter__ = _aenter  # type: ignore[attr-defined]
Messenger.__aexit__ = _aexit  # type: ignore[attr-defined]
Messenger.events = _events  # type: ignore[attr-defined]
Subscription.__aiter__ = _aiter  # type: ignore[attr-defined]
Subscription.__anext__ = _anext  # type: ignore[attr-defined]



def _let_ending_threads_finish() -> None:
    # A thread that is ending may wake a future whose event loop has closed meanwhile; the
    # wake is moot then, and asyncio's "Event loop is closed" from it is not worth a report.
    previous = sys.unraisablehook

    def quiet(unraisable: typing.Any) -> None:
        closed = isinstance(unraisable.exc_value, RuntimeError) and "closed" in str(
            unraisable.exc_value
        )
        if not closed:
            previous(unraisable)

    sys.unraisablehook = quiet
    # The call releases the interpreter's lock while it waits, so the threads can finish.
    wait_for_ending_threads(5000)


atexit.register(_let_ending_threads_finish)
