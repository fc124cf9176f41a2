"""The commune's settings row, with the column defaults when the row is not there yet."""

from __future__ import annotations

from ecp.commune.tables import CommuneSettings


def _plain(value):
    # Piccolo returns Default objects (TimeCustom...) for some columns; callers want values.
    return value.python() if hasattr(value, "python") else value


def defaults() -> dict:
    return {
        c._meta.name: _plain(c.get_default_value())
        for c in CommuneSettings._meta.columns
        if c._meta.name != "id"
    }


async def commune_settings() -> dict:
    row = await CommuneSettings.select().first()
    return {**defaults(), **(row or {})}
