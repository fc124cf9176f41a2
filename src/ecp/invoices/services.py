"""Invoices' writes and rules outside the billing run itself: the family's paperless choice,
starting a billing run from the back office (a month that has not ended only on the régisseur's
confirmation), settling a month's régularisations, refunding a credit note, and programming a
tariff.

Each function takes plain values and refuses with ecp.errors.Rejected (a French message and
the form field to blame); credit notes are issued by ecp.invoices.credit_notes, régularisations
by ecp.invoices.regularisations, allocations and refunds by ecp.invoices.settlement."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.commune.tables import Activity, Tariff, TariffBracket
from ecp.db import write_transaction
from ecp.errors import Rejected
from ecp.families.tables import Family
from ecp.invoices import billing, queries, regularisations, settlement
from ecp.mail.notices import month_label
from ecp.web.french import de

# ==== Family side =================================================================================

NO_EMAIL = (
    "Aucune adresse électronique n’est connue pour votre famille\u00a0: "
    "indiquez-la d’abord dans « Mes coordonnées »."
)


async def choose_paperless(family_id: int, paperless: bool) -> None:
    """Invoices by e-mail (paperless) or by post. E-mail needs an address to write to: the
    condition is in the UPDATE itself, so the check and the write are one statement."""
    where = Family.id == family_id
    if paperless:
        where &= Family.email != ""
    changed = await Family.update({Family.paperless: paperless}).where(where).returning(Family.id)
    if paperless and not changed:
        raise Rejected(NO_EMAIL, field="mode-courriel")


# ==== Staff: billing run ==========================================================================

MONTH_TOO_EARLY = (
    "On ne facture en avance que le mois en cours ou le suivant : choisissez un autre mois."
)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def advance_warning(month: dt.date) -> str:
    """What billing a month before it ends means, in the words the régisseur confirms."""
    name = month_label(month)
    return (
        f"Les réservations {de(name)} pourront encore changer : chaque changement "
        "(annulation acceptée par le service, fermeture, absence pour maladie, pointage) sera "
        "régularisé le mois suivant, par un avoir ou une facture complémentaire. Dès le "
        f"lancement, les familles ne pourront plus réserver ni annuler de jour {de(name)} sur "
        "le portail."
    )


class ConfirmationNeeded(Rejected):
    """A month that has not ended, billed without the régisseur's confirmation: nothing is
    billed, and the page asks, with the warning."""

    def __init__(self, month: dt.date) -> None:
        super().__init__(
            f"Confirmez la facturation en avance {de(month_label(month))}, ou choisissez un "
            "mois terminé.",
            field="confirmation",
        )
        self.month = month
        self.warning = advance_warning(month)


def check_month_billable(month: dt.date, today: dt.date, confirmed: bool) -> bool:
    """A month is billed once it has ended. The current month or the next one only in advance,
    confirmed (ConfirmationNeeded otherwise); a later one never. True when in advance."""
    current = today.replace(day=1)
    if month < current:
        return False
    if month > next_month(current):
        raise Rejected(MONTH_TOO_EARLY, field="mois")
    if not confirmed:
        raise ConfirmationNeeded(month)
    return True


async def start_billing(actor: Actor, month: dt.date, settings, *, confirmed: bool = False) -> int:
    """Opens (or resumes) the run of `month`, journals it and bills in the background; returns
    the run's id. A month that has not ended is billed only when the régisseur confirmed the
    warning (check_month_billable): its bookings may still change, and are then regularised."""
    month = month.replace(day=1)
    in_advance = check_month_billable(month, clock.today(), confirmed)
    run_id = await billing.start_run(month, actor.staff_id)
    details = {"mois": month.strftime("%Y-%m")}
    if in_advance:
        details["avertissement"] = advance_warning(month)
    await audit.record(
        actor,
        "facturation_en_avance" if in_advance else "facturation_lancee",
        target=f"BillingRun:{run_id}",
        details=details,
    )
    billing.start_in_background(month, run_id, settings, actor.staff_id)
    return run_id


# ==== Staff: régularisations and refunds =========================================================


async def settle_regularisations(actor: Actor, month: dt.date, settings) -> dict:
    """The correction run of a billed month (ecp.invoices.regularisations.run_corrections)."""
    return await regularisations.run_corrections(
        actor, month, settings, batch_size=settings.billing_batch
    )


async def refund_credit(
    actor: Actor, credit_id: int, *, method: str, refunded_on: dt.date, reference: str
) -> dict | None:
    """Records the refund of what a credit note still holds (ecp.invoices.settlement)."""
    return await settlement.refund_credit(
        actor, credit_id, method=method, refunded_on=refunded_on, reference=reference
    )


# ==== Staff: tariffs ==============================================================================

NO_ACTIVITY = "Choisissez l’activité."
NO_BRACKET = "Choisissez la tranche de quotient familial ou le tarif hors commune."
TARIFF_IN_THE_PAST = (
    "Un tarif s’applique à partir de sa date, jamais avant\u00a0: "
    "choisissez aujourd’hui ou une date future."
)
TARIFF_TWICE = "Un tarif existe déjà pour cette activité et cette tranche à cette date."
OUT_OF_TOWN_LABEL = "hors commune"


def billed_days_message(billed: dt.date) -> str:
    return (
        f"Les jours jusqu’au {billed.strftime('%d/%m/%Y')} sont déjà "
        "facturés\u00a0: choisissez une date postérieure."
    )


async def create_tariff(
    actor: Actor,
    *,
    activity_id: int,
    bracket_id: int | None,
    price_cents: int,
    majoration_cents: int,
    valid_from: dt.date,
) -> dict:
    """A new price for an activity and a QF bracket (None: the out-of-town rate) from a date.

    Never retroactive: the date is today or later, and after the last day already invoiced (an
    issued invoice is never edited, so its days keep their price); one row per activity,
    bracket and date. Returns the activity's and the bracket's labels for the message."""
    async with write_transaction():
        activity = (
            await Activity.select(Activity.id, Activity.label)
            .where(Activity.id == activity_id)
            .first()
        )
        if activity is None:
            raise Rejected(NO_ACTIVITY, field="activite")
        bracket_label = OUT_OF_TOWN_LABEL
        if bracket_id is not None:
            bracket = (
                await TariffBracket.select(TariffBracket.label)
                .where(TariffBracket.id == bracket_id)
                .first()
            )
            if bracket is None:
                raise Rejected(NO_BRACKET, field="tranche")
            bracket_label = bracket["label"]
        if valid_from < clock.today():
            raise Rejected(TARIFF_IN_THE_PAST, field="date")
        billed = await queries.last_billed_day()
        if billed is not None and valid_from <= billed:
            raise Rejected(billed_days_message(billed), field="date")
        same_bracket = (
            Tariff.bracket.is_null() if bracket_id is None else Tariff.bracket == bracket_id
        )
        if await Tariff.exists().where(
            (Tariff.activity == activity_id) & (Tariff.valid_from == valid_from) & same_bracket
        ):
            raise Rejected(TARIFF_TWICE, field="date")
        await Tariff(
            activity=activity_id,
            bracket=bracket_id,
            price_cents=price_cents,
            majoration_cents=majoration_cents,
            valid_from=valid_from,
        ).save()
        await audit.record(
            actor,
            "tarif_cree",
            target=f"Activity:{activity_id}",
            details={
                "activite": activity["label"],
                "tranche": bracket_label,
                "prix_cents": price_cents,
                "majoration_cents": majoration_cents,
                "a_partir_du": valid_from.isoformat(),
            },
        )
    return {"activity_label": activity["label"], "bracket_label": bracket_label}
