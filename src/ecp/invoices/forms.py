"""The invoice pages' forms: what each one reads and what it says when a value is wrong. Rules
that need the database are the services' (ecp.invoices.services, ecp.invoices.credit_notes)."""

from __future__ import annotations

from ecp import clock
from ecp.invoices import pricing, services
from ecp.web.forms import Choice, Day, Euros, Form, Id, Ids, Invalid, Text
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


class BillingStartForm(Form):
    """The month to bill, as "AAAA-MM" (cleaned to its first day)."""

    mois = Text("Mois à facturer", required=MONTH_MISSING, max_length=7)

    def clean_mois(self, value: str):
        try:
            return pricing.parse_month(value)
        except ValueError:
            raise Invalid(MONTH_MISSING) from None


class CreditNoteForm(Form):
    ligne = Ids("Lignes à annuler", required="Choisissez au moins une ligne à annuler.")
    motif = Text("Motif de l’avoir", required="Indiquez le motif de l’avoir.", max_length=300)


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
