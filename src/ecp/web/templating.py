"""The Jinja environment: autoescape, StrictUndefined, French formatting filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ecp import clock
from ecp.settings import ROOT

TEMPLATES = ROOT / "templates"


def euros(cents: int | None) -> str:
    """1250 -> '12,50 €' (narrow no-break space before the sign, as French typography wants)."""
    if cents is None:
        return ""
    return format_currency(cents / 100, "EUR", locale="fr_FR")


def date_fr(value: dt.date | dt.datetime | None) -> str:
    """29/11/2026."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.PARIS).date()
    return value.strftime("%d/%m/%Y")


def jour(value: dt.date) -> str:
    """'lundi 7 décembre'."""
    return format_date(value, "EEEE d MMMM", locale="fr_FR")


def jour_long(value: dt.date) -> str:
    """'lundi 7 décembre 2026'."""
    return format_date(value, "EEEE d MMMM y", locale="fr_FR")


def heure(value: dt.time | dt.datetime) -> str:
    """'08:30' in Paris time."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.PARIS)
        return format_datetime(value, "HH:mm", locale="fr_FR")
    return format_time(value, "HH:mm", locale="fr_FR")


def date_heure(value: dt.datetime | None) -> str:
    """'29/11/2026 à 18:05' in Paris time."""
    if value is None:
        return ""
    local = value.astimezone(clock.PARIS)
    return f"{local.strftime('%d/%m/%Y')} à {local.strftime('%H:%M')}"


def user(request):
    """The Principal or None; also on pages (404) that routing answered before the middleware."""
    return request.scope.get("user")


def create_environment(directory: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        euros=euros, date_fr=date_fr, jour=jour, jour_long=jour_long, heure=heure,
        date_heure=date_heure, user=user,
    )
    return env
