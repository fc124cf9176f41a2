"""The one clock of the app: UTC instants, Paris dates; tests freeze it with `frozen()`."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return _frozen if _frozen is not None else dt.datetime.now(dt.UTC)


def paris_now() -> dt.datetime:
    return now().astimezone(PARIS)


def today() -> dt.date:
    return paris_now().date()


def set_now(value: dt.datetime | None) -> None:
    global _frozen
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    _frozen = value.astimezone(dt.UTC) if value is not None else None


@contextmanager
def frozen(value: dt.datetime):
    previous = _frozen
    set_now(value)
    try:
        yield
    finally:
        globals()["_frozen"] = previous
