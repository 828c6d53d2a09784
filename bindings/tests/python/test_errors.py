"""Every failure is `SottoError` with its stable code and a message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import sotto
from helpers import protection, settings


def code_of(call) -> sotto.ErrorCode:
    with pytest.raises(sotto.SottoError) as caught:
        asyncio.run(call())
    error = caught.value
    assert str(error)
    assert error.reason
    return error.code


def test_errors_carry_their_codes(relays, folder: Path):
    directory = str(folder / "carol")

    async def create():
        carol = await sotto.Messenger.create(directory, protection("right"), settings(relays, "Carol"))
        await carol.shutdown()

    asyncio.run(create())

    async def wrong_passphrase():
        await sotto.Messenger.open(directory, "wrong", settings(relays, "Carol"))

    assert code_of(wrong_passphrase) == sotto.ErrorCode.KEY

    async def missing_profile():
        await sotto.Messenger.open(str(folder / "nobody"), "x", settings(relays, ""))

    assert code_of(missing_profile) == sotto.ErrorCode.STORE

    async def bad_relay():
        await sotto.Messenger.open(directory, "right", settings(["not a relay"], ""))

    assert code_of(bad_relay) == sotto.ErrorCode.INVALID_ARGUMENT

    async def on_open(work):
        carol = await sotto.Messenger.open(directory, "right", settings(relays, "Carol"))
        try:
            await work(carol)
        finally:
            await carol.shutdown()

    assert code_of(lambda: on_open(lambda c: c.accept_invitation("sotto:garbage"))) == sotto.ErrorCode.INVITATION
    unknown = "0" * 32
    assert code_of(lambda: on_open(lambda c: c.send_text(unknown, "hi"))) == sotto.ErrorCode.UNKNOWN_CONTACT
    assert code_of(lambda: on_open(lambda c: c.send_text("not a contact", "hi"))) == sotto.ErrorCode.INVALID_ARGUMENT
    assert code_of(lambda: on_open(lambda c: c.mark_read(unknown, ["not an id"]))) == sotto.ErrorCode.INVALID_ARGUMENT
    assert code_of(lambda: on_open(lambda c: c.history(unknown, None, 100_000))) == sotto.ErrorCode.INVALID_ARGUMENT
    missing = sotto.AttachmentSource.FILE(path=str(folder / "no such file"))
    assert code_of(lambda: on_open(lambda c: c.send_file(unknown, missing, "x", None))) == sotto.ErrorCode.UNKNOWN_CONTACT

    with pytest.raises(sotto.SottoError) as caught:
        sotto.invitation_qr_png("sotto:garbage")
    assert caught.value.code == sotto.ErrorCode.INVITATION

    async def after_shutdown():
        carol = await sotto.Messenger.open(directory, "right", settings(relays, "Carol"))
        await carol.shutdown()
        await carol.send_text("0" * 32, "late")

    assert code_of(after_shutdown) == sotto.ErrorCode.SHUT_DOWN


def test_the_error_code_numbers_match_the_c_abi():
    assert sotto.ErrorCode.KEY.value == 17
    assert sotto.ErrorCode.UNKNOWN_CONTACT.value == 30
    assert sotto.ErrorCode.SHUT_DOWN.value == 50
