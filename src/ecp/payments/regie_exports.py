"""The régie's documents as files, each download journalled: the journal de régie and the
bordereaux de remise (CSV and PDF), the overdue list (CSV) and a month's paper invoices in one
PDF. PDFs are rendered by WeasyPrint in its own process (ecp.invoices.pdf_process)."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.invoices import pdf as invoice_pdf
from ecp.invoices import pdf_process
from ecp.mail.notices import month_label
from ecp.payments import queries, regie
from ecp.resources import PACKAGE
from ecp.web.templating import environment

# One PDF holds at most this many invoices: WeasyPrint keeps a whole document's layout in
# memory (issue 7: ≤ 200 MB a process), so a bigger month is printed in parts.
PAPER_PART_SIZE = 150


async def _pdf(template: str, **context) -> bytes:
    html = environment().get_template(template).render(**context)
    return await pdf_process.write_pdf(html, str(PACKAGE))


def _letterhead(settings, commune: dict) -> dict:
    return {"commune": commune, "commune_name": settings.commune_name}


async def journal_file(actor: Actor, period: regie.Period, fmt: str, settings) -> bytes | str:
    """The journal de régie of the period as CSV text or PDF bytes (`fmt`: csv or pdf)."""
    doc = await queries.journal(period)
    if fmt == "csv":
        content: bytes | str = regie.journal_csv(doc)
    else:
        content = await _pdf(
            "pdf/regie_journal.html",
            doc=doc,
            printed_at=clock.now(),
            **_letterhead(settings, await queries.commune_letterhead()),
        )
    await audit.record(
        actor,
        "journal_regie_telecharge",
        target=regie.journal_filename(period, fmt),
        details={
            "du": period.start.isoformat(),
            "au": period.end.isoformat(),
            "paiements": doc["count"],
            "total_cents": doc["total_cents"],
        },
    )
    return content


async def slip_file(
    actor: Actor, method: str, period: regie.Period, fmt: str, settings
) -> bytes | str:
    """The bordereau de remise of one mode for the period, as CSV text or PDF bytes."""
    doc = await queries.slip(method, period)
    if fmt == "csv":
        content: bytes | str = regie.slip_csv(doc)
    else:
        content = await _pdf(
            "pdf/regie_bordereau.html",
            doc=doc,
            printed_at=clock.now(),
            **_letterhead(settings, await queries.commune_letterhead()),
        )
    await audit.record(
        actor,
        "bordereau_remise_telecharge",
        target=regie.slip_filename(method, period, fmt),
        details={
            "mode": method,
            "du": period.start.isoformat(),
            "au": period.end.isoformat(),
            "paiements": doc["count"],
            "total_cents": doc["total_cents"],
        },
    )
    return content


async def overdue_file(actor: Actor, filters: dict) -> str:
    """The overdue list, with the page's filters, as CSV."""
    data = await queries.overdue(**filters)
    content = regie.overdue_csv(data["invoices"])
    await audit.record(
        actor,
        "impayes_exportes",
        target="impayes.csv",
        details={**{k: v for k, v in filters.items() if v}, "lignes": len(data["invoices"])},
    )
    return content


def paper_parts(count: int) -> list[dict]:
    """The parts a month's paper invoices are printed in: [{"number", "first", "last"}]."""
    return [
        {"number": n + 1, "first": start + 1, "last": min(start + PAPER_PART_SIZE, count)}
        for n, start in enumerate(range(0, count, PAPER_PART_SIZE))
    ]


async def paper_invoices_pdf(actor: Actor, month: dt.date, part: int, settings) -> bytes | None:
    """Part `part` (from 1) of the month's paper invoices, in family order, one PDF; None when
    that part holds no invoice. Each invoice starts on a page of its own."""
    docs = await queries.paper_invoice_documents(
        month, offset=(part - 1) * PAPER_PART_SIZE, limit=PAPER_PART_SIZE
    )
    if not docs:
        return None
    content = await _pdf(
        "pdf/regie_paper_invoices.html",
        docs=docs,
        month=month,
        commune_name=settings.commune_name,
        month_label=month_label,
        **invoice_pdf.how_to_pay(settings),
    )
    await audit.record(
        actor,
        "factures_papier_imprimees",
        target=f"factures-papier-{month.strftime('%Y-%m')}-{part}.pdf",
        details={"mois": month.strftime("%Y-%m"), "partie": part, "factures": len(docs)},
    )
    return content
