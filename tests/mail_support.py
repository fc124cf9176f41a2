"""What a family receives for an outbox row: the sealed real text when the message holds a
personal secret (the body columns hold it masked), opened as the sender does."""

from __future__ import annotations

from ecp.mail.sender import unseal


def delivered_text(row: dict, settings) -> str:
    opened = unseal(row, settings)
    assert opened is not None, "the sealed body does not open"
    return opened["body_text"]
