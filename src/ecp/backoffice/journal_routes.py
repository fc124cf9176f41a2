"""Staff > Journal: the append-only audit log, filterable; no route edits or deletes a line."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.guards import requires_role
from ecp.auth.tables import StaffUser
from ecp.backoffice.services import parse_date
from ecp.families.tables import Family
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment
from ecp.web.params import parse_id

PAGE = 50


def _paris_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=clock.PARIS)


@get("/journal", name="staff_journal", guards=[requires_role("administrateur")])
async def staff_journal(
    request: Request,
    action: FromQuery[str | None] = None,
    famille: FromQuery[str | None] = None,
    agent: FromQuery[str | None] = None,
    du: FromQuery[str | None] = None,
    au: FromQuery[str | None] = None,
    avant: FromQuery[str | None] = None,
) -> Template:
    form = Form(
        values={
            "action": action or "",
            "famille": (famille or "").strip()[:20],
            "agent": agent or "",
            "du": du or "",
            "au": au or "",
        }
    )
    filters: dict = {}
    if action and action in audit.ACTIONS:
        filters["action"] = action
    if form.values["famille"]:
        row = (
            await Family.select(Family.id)
            .where(Family.code == form.values["famille"].upper())
            .first()
        )
        if row is None:
            form.error("famille", "Aucune famille n’a ce code.")
        else:
            filters["family_id"] = row["id"]
    if agent and parse_id(agent) is not None:
        filters["staff_id"] = parse_id(agent)
    for name, key, shift in (("du", "since", 0), ("au", "until", 1)):
        raw = form.values[name]
        if raw:
            day = parse_date(raw)
            if day is None:
                form.error(name, "Saisissez une date, par exemple 29/11/2026.")
            else:
                filters[key] = _paris_midnight(day + dt.timedelta(days=shift))
    rows = (
        []
        if not form.valid
        else await audit.entries(**filters, before_id=parse_id(avant), limit=PAGE + 1)
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    staff = await StaffUser.select(StaffUser.id, StaffUser.display_name).order_by(
        StaffUser.display_name
    )
    params = {k: v for k, v in form.values.items() if v}
    next_link = (
        f"/agents/journal?{urlencode({**params, 'avant': rows[-1]['id']})}" if more else None
    )
    return page_or_fragment(
        request,
        page="pages/backoffice/journal.html",
        fragment="partials/backoffice/journal_entries.html",
        context={
            "form": form,
            "rows": rows,
            "next_link": next_link,
            "actions": [("", "toutes")] + sorted(audit.ACTIONS.items(), key=lambda a: a[1]),
            "agents": [("", "tous")] + [(str(s["id"]), s["display_name"]) for s in staff],
        },
        status_code=200 if form.valid else 422,
    )


def handlers() -> list:
    return [staff_journal]
