"""The Jinja environment: autoescape, StrictUndefined, French formatting filters.

One environment per process (two when a debug app reloads templates), shared by every app, the
e-mails and the PDFs, so each template is compiled once. What differs between apps (the
commune's name, the routes that exist) is not in the environment's globals, which all apps
would share, but given to each render by the app's own engine (ecp.web.template_engine)."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ecp import clock
from ecp.resources import TEMPLATES
from ecp.web.fragment_memo import FragmentMemo
from ecp.web.french import accord, de, elide, les
from ecp.web.menus import menu_for, menu_links
from ecp.web.params import parse_day
from ecp.web.plural import counted, plural

# Parsed once: Babel re-parses a locale given as a string on every call, which made date
# formatting the largest cost of the week calendar.
FR = Locale.parse("fr_FR")


# A day of the month written alone ("d"), outside a quoted literal: French writes the first of
# the month as an ordinal, « 1er décembre », and Babel's CLDR patterns do not.
_DAY_TOKEN = re.compile(r"('[^']*')|(?<![d])d(?![d])")


def _first_of_month(pattern: str) -> str:
    return _DAY_TOKEN.sub(lambda m: m.group(1) or "d'er'", pattern)


@lru_cache(maxsize=8192)
def french_date(value: dt.date, pattern: str) -> str:
    """Babel's CLDR French for a date, « 1er » for the first of the month when the day is
    written alone in words ('EEEE d MMMM'; a numeric 'dd/MM' is left as it is); a page
    formats the same few dates many times."""
    if value.day == 1 and ("MMM" in pattern or "EEE" in pattern):
        pattern = _first_of_month(pattern)
    return format_date(value, pattern, locale=FR)


def euros(cents: int | None) -> str:
    """1250 -> '12,50 €' (narrow no-break space before the sign, as French typography wants)."""
    if cents is None:
        return ""
    return _euros(cents)


@lru_cache(maxsize=8192)
def _euros(cents: int) -> str:
    return format_currency(cents / 100, "EUR", locale=FR)


def date_fr(value: dt.date | dt.datetime | None) -> str:
    """29/11/2026."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.PARIS).date()
    return value.strftime("%d/%m/%Y")


def jour(value: dt.date) -> str:
    """'lundi 7 décembre', 'mardi 1er décembre'."""
    return french_date(value, "EEEE d MMMM")


def jour_long(value: dt.date) -> str:
    """'lundi 7 décembre 2026', 'mardi 1er décembre 2026'."""
    return french_date(value, "EEEE d MMMM y")


def iso_day(value: dt.date | str | None) -> str:
    """The value of a date input: ISO ('2026-12-07') when `value` names a day, else the text
    as it was typed (shown again to be corrected)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.PARIS).date()
    if isinstance(value, dt.date):
        return value.isoformat()
    day = parse_day(value)
    return day.isoformat() if day is not None else str(value)


def date_long(value: dt.date) -> str:
    """'7 décembre 2026', '1er décembre 2026'."""
    return french_date(value, "d MMMM y")


def month_year(value: dt.date) -> str:
    """'décembre 2026'."""
    return french_date(value, "MMMM y")


def heure(value: dt.time | dt.datetime) -> str:
    """'08:30' in Paris time."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.PARIS)
    return value.strftime("%H:%M")


def date_heure(value: dt.datetime | None) -> str:
    """'29/11/2026 à 18:05' in Paris time."""
    if value is None:
        return ""
    local = value.astimezone(clock.PARIS)
    return f"{local.strftime('%d/%m/%Y')} à {local.strftime('%H:%M')}"


def user(request):
    """The Principal or None; also on pages (404) that routing answered before the middleware."""
    return request.scope.get("user")


def create_environment(directory: Path = TEMPLATES, *, auto_reload: bool = False) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        # Plain-text templates (e-mail bodies) are not HTML: escaping them would show « &amp; »
        # to the family. Everything else, strings included, stays escaped.
        autoescape=select_autoescape(
            disabled_extensions=("txt",), default=True, default_for_string=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: checking every file's mtime on every render is waste,
        # except for a developer editing them (ECP_DEBUG).
        auto_reload=auto_reload,
        extensions=[FragmentMemo],
    )
    env.filters.update(
        euros=euros,
        date_fr=date_fr,
        jour=jour,
        jour_long=jour_long,
        date_long=date_long,
        heure=heure,
        iso_day=iso_day,
        date_heure=date_heure,
        user=user,
        plural=plural,
        counted=counted,
        de=de,
        elide=elide,
        accord=accord,
        les=les,
    )
    env.globals["menu_for"] = menu_for
    env.globals["menu_links"] = menu_links
    return env


def compile_all(env: Environment) -> int:
    """Compiles every template now (about a second for all of them): a served process would
    otherwise compile each on its first use, and the first families to open a page after a
    restart would wait for it (hundreds of milliseconds for the week calendar)."""
    names = [n for n in env.list_templates() if n.endswith((".html", ".txt"))]
    for name in names:
        env.get_template(name)
    return len(names)


def environment(*, auto_reload: bool = False) -> Environment:
    """The process's environment; nothing may write its globals after this (see the module)."""
    return _environment(bool(auto_reload))


@lru_cache(maxsize=2)  # keyed by the flag alone: environment() and (auto_reload=False) are one
def _environment(auto_reload: bool) -> Environment:
    return create_environment(auto_reload=auto_reload)
