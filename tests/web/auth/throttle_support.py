"""Helpers for the authentication tests: count Argon2 verifies, read the login events."""

from __future__ import annotations

import json


class VerifySpy:
    def __init__(self, real):
        self.real, self.calls = real, 0

    def verify(self, stored, password):
        self.calls += 1
        return self.real.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


def login_events(caplog) -> list[dict]:
    """The `login` events (H1) captured from the ecp.auth logger, in order."""
    events = []
    for record in caplog.records:
        msg = record.msg
        if isinstance(msg, str):
            try:
                msg = json.loads(msg)
            except ValueError:
                continue
        if isinstance(msg, dict) and msg.get("event") == "login":
            events.append(msg)
    return events
