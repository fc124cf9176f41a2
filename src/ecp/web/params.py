"""Parsing what a request names (ids, days, weeks, months) into values the code can use safely.

Every helper answers None for anything it cannot turn into a usable value, so that the caller
chooses between a 404 (an address naming nothing) and a 422 (a form field to correct):

- ids: ASCII digits only (str.isdigit() accepts "²", which int() refuses) and within the
  database's integer columns (PostgreSQL's SERIAL is 32-bit: a 25-digit id overflows the query);
- days, weeks and months: within MIN_YEAR..MAX_YEAR, so that the arithmetic done on them
  (the next week, the end of the month, a calendar around a day) never leaves date's range.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

MAX_ID = 2**31 - 1
MIN_YEAR, MAX_YEAR = 2000, 2100

_DIGITS = re.compile(r"[0-9]{1,10}")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_STRICT_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Day, month, year as people type them: « 7/12/2026 », « 07.12.26 », « 7 12 2026 », « 7-12-2026 ».
_FRENCH_DAY = re.compile(r"([0-9]{1,2})\s*[/.\- ]\s*([0-9]{1,2})\s*[/.\- ]\s*([0-9]{4}|[0-9]{2})")
# Digits alone, as a phone's numeric keypad types them (it has no « / »): « 07122026 », « 071226 ».
_DIGITS_DAY = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4}|[0-9]{2})")


def parse_id(value: Any) -> int | None:
    """A database id from a string (or an int from a typed parameter), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def parse_int(value: Any, low: int, high: int) -> int | None:
    """A whole number typed in a form (ASCII digits, as many as `high` can have), or None."""
    if not isinstance(value, str) or not re.fullmatch(
        r"[0-9]{1,%d}" % len(str(high)), value.strip()
    ):
        return None
    number = int(value)
    return number if low <= number <= high else None


def parse_ids(values: Any) -> list[int]:
    """The usable ids of a repeated field (checkboxes), the others dropped."""
    if isinstance(values, (str, int)):
        values = [values]
    return [i for i in (parse_id(v) for v in values or []) if i is not None]


def id_in_range(value: int) -> bool:
    return -MAX_ID <= value <= MAX_ID


def sane_day(day: dt.date | None) -> dt.date | None:
    if day is None or not MIN_YEAR <= day.year <= MAX_YEAR:
        return None
    return day


def parse_day(value: Any) -> dt.date | None:
    """A day as a date input sends it ('2026-12-07') or as a person types it in a text field
    (the fallback of browsers without a date picker): '07/12/2026', '7/12/26', '07.12.2026',
    '7 12 2026', or digits alone, '07122026' or '071226' (day, month, year). A two-digit year
    is of this century. None when it names no day."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    try:
        if match := _ISO_DAY.fullmatch(value):
            year, month, day = (int(g) for g in match.groups())
        elif match := _FRENCH_DAY.fullmatch(value) or _DIGITS_DAY.fullmatch(value):
            day, month, year = (int(g) for g in match.groups())
            if len(match.group(3)) == 2:
                year += 2000
        else:
            return None
        if not MIN_YEAR <= year <= MAX_YEAR:
            return None
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_iso_day(value: Any) -> dt.date | None:
    """Only the ISO form ('2026-12-07'), as the app writes it in its own links and fields."""
    if not isinstance(value, str) or not _STRICT_ISO_DAY.fullmatch(value.strip()):
        return None
    return parse_day(value)


def parse_week(value: Any) -> dt.date | None:
    """'2026-W49' -> the Monday of that ISO week, or None."""
    if not isinstance(value, str):
        return None
    match = _WEEK.fullmatch(value.strip())
    if not match:
        return None
    year, week = int(match.group(1)), int(match.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return None


def parse_month(value: Any) -> dt.date | None:
    """'2026-11' -> 1 November 2026, or None."""
    if not isinstance(value, str):
        return None
    match = _MONTH.fullmatch(value.strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return None
    return dt.date(year, month, 1)


def reject_odd_static_path(request) -> None:
    """Before the static files handler: a NUL byte or an over-long name makes the file system
    raise instead of answering "no such file"."""
    file_path = str(request.path_params.get("file_path", ""))
    if (
        "\x00" in file_path
        or len(file_path) > 1024
        or any(len(part.encode()) > 255 for part in file_path.split("/"))
    ):
        raise NotFoundException("Fichier introuvable")


def path_params_middleware(app: ASGIApp) -> ASGIApp:
    """404 for a path parameter that can name no row: an `{x:int}` out of the database's range
    (Litestar parses any length of digits, and the query would fail instead of finding
    nothing), a `{x:str}` holding a NUL byte (PostgreSQL refuses it in text)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        for value in (scope.get("path_params") or {}).values():
            if isinstance(value, bool):
                continue
            if (isinstance(value, int) and not id_in_range(value)) or (
                isinstance(value, str) and "\x00" in value
            ):
                raise NotFoundException("Identifiant hors limites")
        await app(scope, receive, send)

    return middleware
