"""Relances (payment reminders) for overdue invoices, in batches the régisseur runs.

Rules (docs/product.md, « Régie »):
- a first relance is due for every invoice past its due date that still owes something; a second
  one SECOND_AFTER_DAYS after the first, if the invoice still owes something; never a third;
- one relance per invoice and level, ever: the batch skips what was already reminded at its
  level, and a unique index (invoice, level) keeps it so even for two batches at the same time,
  so running a batch twice sends nothing the second time;
- never a relance for a paid invoice: the invoices are read and locked in the batch's
  transaction (a counter or card payment waits for it, or it waits for the payment), and a
  letter printed later leaves out what was paid since;
- by e-mail for a family that chose the paperless invoice and gave an address, by a printed
  letter for every other family (all the letters of a batch in one PDF); one e-mail or letter
  per family, listing its invoices;
- every relance is journalled per invoice (InvoiceReminder: invoice, level, channel, when, by
  whom) and every batch in the audit journal.
"""

from __future__ import annotations

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families.tables import Family
from ecp.invoices import pdf_process
from ecp.invoices.tables import Invoice
from ecp.mail.notices import month_label
from ecp.mail.outbox import queue_email
from ecp.payments import queries, regie
from ecp.payments.tables import InvoiceReminder, ReminderBatch
from ecp.resources import PACKAGE
from ecp.web import urls
from ecp.web.templating import environment


class NothingToRemind(Rejected):
    """No invoice is due for a relance at this level: nothing was written."""


class BatchNotFound(Exception):
    pass


def _mail(level: int, family: dict, invoices: list[dict], settings) -> dict:
    context = {
        "level": level,
        "family_name": family["name"],
        "invoices": invoices,
        "total_cents": sum(i["remaining_cents"] for i in invoices),
        "month_label": month_label,
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "family_payments"),
        "second_after_days": regie.SECOND_AFTER_DAYS,
    }
    env = environment()
    subject = (
        "Rappel\u00a0: facture impayée" if level == 1 else "Deuxième relance\u00a0: facture impayée"
    )
    if len(invoices) > 1:
        subject = subject.replace("facture impayée", "factures impayées")
    return {
        "to": family["email"],
        "subject": subject,
        "text": env.get_template("partials/mail/relance.txt").render(**context),
        "html": env.get_template("partials/mail/relance.html").render(**context),
        "kind": "relance",
        "family_id": family["id"],
    }


async def send_reminders(actor: Actor, level: int, settings) -> dict:
    """Runs a batch of relances at `level` (1 or 2) for every invoice due for one now.

    Returns {"batch_id", "invoices", "emails", "letters"}; raises NothingToRemind (a Rejected)
    when no invoice is due, and then writes nothing."""
    if level not in regie.LEVELS:
        raise Rejected("Choisissez la première ou la deuxième relance.", field="niveau")
    now = clock.now()
    async with write_transaction():
        # Locked: a payment of one of these invoices waits for the batch, or the batch for it.
        invoices = await lock_for_update(
            queries.reminder_candidates(level, now).order_by(Invoice.id)
        )
        if invoices:
            # Read after the lock: a batch that ran meanwhile has committed its relances.
            done = {
                r["invoice"]
                for r in await InvoiceReminder.select(InvoiceReminder.invoice).where(
                    InvoiceReminder.invoice.is_in([i["id"] for i in invoices])
                    & (InvoiceReminder.level == level)
                )
            }
            invoices = [
                i for i in invoices if i["id"] not in done and i["paid_cents"] < i["total_cents"]
            ]
        if not invoices:
            raise NothingToRemind(
                f"Aucune facture n’attend de {regie.LEVELS[level]} : rien n’a été envoyé.",
                field="niveau",
            )
        families = {
            f["id"]: f
            for f in await Family.select(
                Family.id, Family.name, Family.email, Family.paperless
            ).where(Family.id.is_in(list({i["family"] for i in invoices})))
        }
        by_family: dict[int, list[dict]] = {}
        for invoice in invoices:
            invoice["remaining_cents"] = invoice["total_cents"] - invoice["paid_cents"]
            by_family.setdefault(invoice["family"], []).append(invoice)
        channels = {
            fid: regie.channel_for(families[fid]["email"], families[fid]["paperless"])
            for fid in by_family
        }
        emails = sum(1 for c in channels.values() if c == "courriel")
        batch = ReminderBatch(
            level=level,
            created_at=now,
            created_by=actor.staff_id,
            emails=emails,
            letters=len(channels) - emails,
        )
        await batch.save()
        await InvoiceReminder.insert(
            *[
                InvoiceReminder(
                    invoice=i["id"],
                    family=i["family"],
                    batch=batch.id,
                    level=level,
                    channel=channels[i["family"]],
                    owed_cents=i["remaining_cents"],
                    sent_at=now,
                    sent_by=actor.staff_id,
                )
                for i in invoices
            ]
        )
        for family_id, family_invoices in by_family.items():
            if channels[family_id] == "courriel":
                await queue_email(**_mail(level, families[family_id], family_invoices, settings))
        await audit.record(
            actor,
            "relances_envoyees",
            target=f"ReminderBatch:{batch.id}",
            details={
                "niveau": level,
                "factures": len(invoices),
                "courriels": emails,
                "courriers": len(channels) - emails,
            },
        )
    return {
        "batch_id": batch.id,
        "invoices": len(invoices),
        "emails": emails,
        "letters": len(channels) - emails,
    }


async def letters_pdf(actor: Actor, batch_id: int, settings) -> bytes | None:
    """The letters of a batch, every family at once, in one PDF (None when every invoice they
    named has been paid since); the printing is journalled. Raises BatchNotFound."""
    batch = await queries.reminder_batch(batch_id)
    if batch is None:
        raise BatchNotFound()
    letters = await queries.reminder_letters(batch_id)
    if not letters:
        return None
    commune = await queries.commune_letterhead()
    html = (
        environment()
        .get_template("pdf/relance.html")
        .render(
            batch=batch,
            letters=letters,
            commune=commune,
            commune_name=settings.commune_name,
            month_label=month_label,
            levels=regie.LEVELS,
            today=clock.today(),
            second_after_days=regie.SECOND_AFTER_DAYS,
        )
    )
    pdf = await pdf_process.write_pdf(html, str(PACKAGE))
    await audit.record(
        actor,
        "relances_imprimees",
        target=f"ReminderBatch:{batch_id}",
        details={"courriers": len(letters)},
    )
    return pdf
