"""Sotto for Python.

The generated module (``sotto.sotto``, made by UniFFI from the Rust library) holds the
whole API: ``Messenger``, its records and enums, ``SottoError``. This file re-exports it and
adds two Python idioms, nothing else:

- ``async with await Messenger.create(...) as messenger:`` shuts the messenger down on exit;
- ``async for event in messenger.events():`` iterates over its events (a ``Subscription``
  made when ``events()`` is called).
"""

from __future__ import annotations

import typing

from .sotto import *  # noqa: F401,F403  (the generated API is the package's API)
from .sotto import Event, Messenger, Subscription

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

if typing.TYPE_CHECKING:  # pragma: no cover
    pass
