"""The commune's settings row, with the column defaults when the row is not there yet."""

from __future__ import annotations

from ecp.commune.tables import CommuneSettings


def defaults() -> dict:
    return {c._meta.name: c.get_default_value() for c in CommuneSettings._meta.columns
            if c._meta.name != "id"}


async def commune_settings() -> dict:
    row = await CommuneSettings.select().first()
    return {**defaults(), **(row or {})}
