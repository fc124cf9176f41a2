"""Staff > Journal: the append-only audit log, filterable; no route edits or deletes a line."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from ecp.auth.guards import requires_role
from ecp.backoffice import queries
from ecp.backoffice.forms import JournalFilterForm
from ecp.errors import Rejected
from ecp.web.htmx import page_or_fragment
from ecp.web.params import parse_id


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
    typed = {"action": action, "famille": famille, "agent": agent, "du": du, "au": au}
    form = JournalFilterForm.bind({k: v for k, v in typed.items() if v is not None})
    entries = queries.JournalEntries(rows=[], next_before=None)
    try:
        entries = await queries.journal_entries(
            **form.filters(), before_id=parse_id(avant), check_only=not form.valid
        )
    except Rejected as error:
        form.reject(error)
    next_link = None
    if entries.next_before is not None:
        query = urlencode({**form.query(), "avant": entries.next_before})
        next_link = f"{request.app.route_reverse('staff_journal')}?{query}"
    return page_or_fragment(
        request,
        page="pages/backoffice/journal.html",
        fragment="partials/backoffice/journal_entries.html",
        context={
            "form": form,
            "rows": entries.rows,
            "next_link": next_link,
            "actions": [("", "toutes"), *queries.action_choices()],
            "agents": [("", "tous"), *await queries.staff_choices()],
        },
        status_code=200 if form.valid else 422,
    )


def handlers() -> list:
    return [staff_journal]
