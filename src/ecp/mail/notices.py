"""The e-mails the invoices feature sends: "votre facture est disponible" for paperless families.

French plain text and HTML, no tracking: no images, no pixel, no redirecting links; the only
link is the portal's own invoice page.
"""

from __future__ import annotations

from ecp import clock
from ecp.families.tables import DirectDebitMandate
from ecp.mail.tables import OutboxEmail
from ecp.web import urls
from ecp.web.french import de

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def month_label(month) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


def _env():
    from ecp.web.templating import environment

    return environment()


def render_invoice_notice(
    item: dict, settings, direct_debit: dict | None = None
) -> tuple[str, str, str]:
    """`direct_debit`: the family's SEPA mandate (RUM, masked IBAN), whose debit of this
    invoice the e-mail pre-notifies (amount and date: its due date)."""
    context = {
        "direct_debit": direct_debit,
        "family_name": item["family_name"],
        "number": item["number"],
        "month": month_label(item["month"]),
        "total_cents": item["total_cents"],
        "due_on": item["due_on"],
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "family_invoice", ref=str(item["invoice_id"])),
    }
    subject = f"Votre facture {de(context['month'])} est disponible"
    text = _env().get_template("partials/mail/invoice_available.txt").render(**context)
    html = _env().get_template("partials/mail/invoice_available.html").render(**context)
    return subject, text, html


async def queue_invoice_notices(items: list[dict], settings) -> int:
    """One outbox row per issued invoice and recipient, written in the caller's (billing)
    transaction."""
    if not items:
        return 0
    now = clock.now()
    rows = []
    mandates = {
        m["family"]: m
        for m in await DirectDebitMandate.select(
            DirectDebitMandate.family, DirectDebitMandate.rum, DirectDebitMandate.iban_hint
        ).where(
            DirectDebitMandate.family.is_in(list({i["family_id"] for i in items}))
            & (DirectDebitMandate.status == "actif")
        )
    }
    for item in items:
        subject, text, html = render_invoice_notice(item, settings, mandates.get(item["family_id"]))
        rows.extend(
            OutboxEmail(
                to_address=address,
                subject=subject,
                body_text=text,
                body_html=html,
                kind="facture",
                family=item["family_id"],
                status="en_attente",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for address in addresses(item)
        )
    if rows:
        await OutboxEmail.insert(*rows)
    return len(rows)


def addresses(item: dict) -> list[str]:
    """Where a notice goes: the family's mail recipients (`emails`), or the one `email`."""
    found = item.get("emails") or [item.get("email")]
    return [a for a in dict.fromkeys(found) if a]


async def queue_credit_note_notice(item: dict, settings) -> None:
    """ "Un avoir a été émis", to a paperless family, in the caller's transaction."""
    context = {
        "family_name": item["family_name"],
        "number": item["number"],
        "invoice_number": item["invoice_number"],
        "month": month_label(item["month"]),
        "amount_cents": item["amount_cents"],
        "refund_cents": item["refund_cents"],
        "reason": item["reason"],
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "family_invoice", ref=str(item["credit_id"])),
    }
    subject = f"Avoir {item['number']} sur votre facture {item['invoice_number']}"
    text = _env().get_template("partials/mail/credit_note_available.txt").render(**context)
    html = _env().get_template("partials/mail/credit_note_available.html").render(**context)
    now = clock.now()
    rows = [
        OutboxEmail(
            to_address=address,
            subject=subject,
            body_text=text,
            body_html=html,
            kind="avoir",
            family=item["family_id"],
            status="en_attente",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for address in addresses(item)
    ]
    if rows:
        await OutboxEmail.insert(*rows)
