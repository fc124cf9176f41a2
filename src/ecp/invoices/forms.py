"""The invoice pages' forms: what each one reads and what it says when a value is wrong. Rules
that need the database are the services' (ecp.invoices.services, ecp.invoices.credit_notes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ecp import clock
from ecp.invoices import pricing, services
from ecp.invoices.settlement import REFUND_METHODS
from ecp.web.forms import Choice, Day, Euros, Field, Form, Id, Ids, Invalid, Text, many
from ecp.web.params import parse_id

PAPERLESS_MISSING = "Choisissez la facture électronique ou la facture papier."


class PaperlessForm(Form):
    """Invoices by e-mail ("courriel") or by post ("papier"); the error points at the first
    radio button."""

    mode = Choice(
        "Recevoir mes factures",
        ("courriel", "papier"),
        required=PAPERLESS_MISSING,
        invalid=PAPERLESS_MISSING,
        key="mode-courriel",
        max_length=20,
    )


MONTH_MISSING = "Choisissez le mois à facturer."


def _month(value: str) -> dt.date:
    try:
        return pricing.parse_month(value)
    except ValueError:
        raise Invalid(MONTH_MISSING) from None


class BillingStartForm(Form):
    """The month to bill, as "AAAA-MM" (cleaned to its first day). `confirmation` is the box
    a régisseur ticks to bill a month that has not ended: it carries the month it confirms, and
    is cleaned to True only when that is the month chosen (a box ticked for December does not
    confirm January)."""

    mois = Text("Mois à facturer", required=MONTH_MISSING, max_length=7)
    confirmation = Text("Facturer ce mois en avance", max_length=7)

    def clean_mois(self, value: str):
        return _month(value)

    def clean(self) -> None:
        confirmed = self.values.get("confirmation", "")
        self.cleaned["confirmation"] = bool(confirmed) and confirmed == self.values["mois"]


class RegularisationForm(Form):
    """The billed month whose régularisations are settled."""

    mois = Text("Mois", required=MONTH_MISSING, max_length=7, key="regularisations-title")

    def clean_mois(self, value: str):
        return _month(value)


class LineDays(Field):
    """Days of an invoice's lines, ticked one by one: each box sends `<line id>-<AAAA-MM-JJ>`.
    Cleaned to {line id: [days]}; values that are not that are dropped."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, empty={}, **options)

    def read(self, data: dict[str, Any]) -> Any:
        return many(data, self.name)[:1000]

    def clean(self, value: Any) -> dict[int, list[dt.date]]:
        out: dict[int, list[dt.date]] = {}
        for item in value:
            line, _, day = item.partition("-")
            line_id = parse_id(line)
            try:
                date = dt.date.fromisoformat(day)
            except ValueError:
                continue
            if line_id is not None:
                out.setdefault(line_id, []).append(date)
        return out


NO_LINE = "Choisissez au moins une ligne ou un jour à annuler."
NO_REASON = "Indiquez le motif de l’avoir."
REASON_INVALID = "Choisissez le motif de l’avoir dans la liste."


class CreditNoteForm(Form):
    """Whole lines (`ligne`) or days of lines (`jour`), a reason from the list (`raison`; none
    chosen is « autre ») and the régisseur's words (`motif`), which « autre » needs. The errors
    point at the first line's box and at the words."""

    ligne = Ids("Lignes à annuler")
    jour = LineDays("Jours à annuler")
    raison = Choice("Motif", list(pricing.MANUAL_REASONS), invalid=REASON_INVALID)
    motif = Text("Précision du motif", max_length=300)

    def clean(self) -> None:
        if not self.cleaned["ligne"] and not self.cleaned["jour"]:
            self.error("ligne", NO_LINE, "Lignes à annuler")
        self.cleaned["raison"] = self.cleaned["raison"] or "autre"
        if self.cleaned["raison"] == "autre" and not self.cleaned["motif"]:
            self.error("motif", NO_REASON, "Précision du motif")


REFUND_MODE_MISSING = "Choisissez le mode de remboursement."
REFUND_DATE_INVALID = "Indiquez la date du remboursement au format JJ/MM/AAAA."
REFUND_REFERENCE_MISSING = "Indiquez la référence du virement ou le numéro du chèque."


class RefundForm(Form):
    """How and when the régie refunded a credit note; a transfer or a cheque has a reference."""

    mode = Choice(
        "Mode de remboursement",
        list(REFUND_METHODS),
        required=REFUND_MODE_MISSING,
        invalid=REFUND_MODE_MISSING,
        max_length=20,
    )
    date = Day("Date du remboursement", required=REFUND_DATE_INVALID, invalid=REFUND_DATE_INVALID)
    reference = Text("Référence", max_length=80)

    def clean_date(self, day):
        if day > self.context.get("today", clock.today()):
            raise Invalid("La date du remboursement ne peut pas être dans le futur.")
        return day

    def clean(self) -> None:
        if self.cleaned["mode"] in ("virement", "cheque") and not self.cleaned["reference"]:
            raise Invalid(REFUND_REFERENCE_MISSING, field="reference")


OUT_OF_TOWN = "hors"
PRICE_INVALID = "Indiquez le prix d’un jour en euros, par exemple 2,10."
MAJORATION_INVALID = "Indiquez la majoration en euros, par exemple 3,00 (0 si aucune)."
DATE_INVALID = "Indiquez la date d’application au format JJ/MM/AAAA."


class TariffForm(Form):
    """A price from a date. `tranche` is a bracket's id or "hors" (out of town), cleaned to the
    id or None. The date may not be in the past (said here too, beside the other fields'
    errors); the rules that need the database are services.create_tariff's."""

    activite = Id("Activité", required=services.NO_ACTIVITY, invalid=services.NO_ACTIVITY)
    tranche = Text("Tranche", required=services.NO_BRACKET, max_length=20)
    prix = Euros("Prix d’un jour", required=PRICE_INVALID, invalid=PRICE_INVALID)
    majoration = Euros("Majoration", invalid=MAJORATION_INVALID, empty=0)
    date = Day("À partir du", required=DATE_INVALID, invalid=DATE_INVALID)

    def clean_tranche(self, value: str) -> int | None:
        if value == OUT_OF_TOWN:
            return None
        bracket_id = parse_id(value)
        if bracket_id is None:
            raise Invalid(services.NO_BRACKET)
        return bracket_id

    def clean_date(self, day):
        if day < self.context.get("today", clock.today()):
            raise Invalid(services.TARIFF_IN_THE_PAST)
        return day
