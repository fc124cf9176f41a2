"""Figures for the staff dashboard."""

from __future__ import annotations

from ecp import clock
from ecp.booking.tables import Booking, Inscription
from ecp.families.tables import Child, ContactChangeRequest, Family


async def dashboard_figures() -> dict[str, int]:
    today = clock.today()
    return {
        "families": await Family.count().where(Family.active == True),  # noqa: E712
        "children": await Child.count().where(Child.active == True),  # noqa: E712
        "bookings_today": await Booking.count().where(
            (Booking.day == today) & (Booking.state == "reservee")),
        "inscriptions_waiting": await Inscription.count().where(Inscription.status == "en_attente"),
        "requests_waiting": await ContactChangeRequest.count().where(
            ContactChangeRequest.status == "en_attente"),
    }
