"""The régie counter's payment form (/agents/paiements)."""

from __future__ import annotations

from typing import Any

from ecp import clock
from ecp.payments.services import COUNTER_METHODS, REFERENCED_METHODS
from ecp.web.forms import Choice, Day, Euros, Form, Ids, Invalid, Text

MAX_CENTS = 10_000_000
AMOUNT = "Indiquez un montant en euros, par exemple 12,50."
DATE = "Indiquez la date au format JJ/MM/AAAA."


class FamilyCode(Text):
    """A family code as staff type it: « f00001 » is F00001 (kept so for redisplay too)."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, max_length=12, **options)

    def raw(self, data: dict[str, Any]) -> Any:
        return super().raw(data).upper()


class CounterPaymentForm(Form):
    """bind(data, family=...): `family` is the family the code names (or None), looked up
    before binding since the invoices are only asked for once a family is found.

    The fields are declared in the order their errors are listed, each rule on a field that
    comes after what it reads: the invoices (read by the family's rule) and the reference (read
    by the mode's rule) come first, and they have no rule of their own, so the summary lists
    famille, facture, montant, mode, reference, date, as the page shows them."""

    facture = Ids("Factures réglées")
    famille = FamilyCode("Code famille", required="Indiquez le code d’une famille existante.")
    montant = Euros("Montant reçu", required=AMOUNT, invalid=AMOUNT, max_cents=MAX_CENTS)
    reference = Text("Référence", max_length=80)
    mode = Choice(
        "Mode de paiement",
        list(COUNTER_METHODS.items()),
        required="Choisissez le mode de paiement.",
        invalid="Choisissez le mode de paiement.",
        max_length=20,
    )
    date = Day("Date de réception", required=DATE, invalid=DATE)

    def clean_famille(self, code: str) -> str:
        if self.context.get("family") is None:
            raise Invalid("Indiquez le code d’une famille existante.")
        if not self.cleaned["facture"]:
            raise Invalid("Cochez au moins une facture à régler.", field="facture")
        return code

    def clean_montant(self, cents: int) -> int:
        if cents <= 0:
            raise Invalid(AMOUNT)
        return cents

    def clean_mode(self, mode: str) -> str:
        if mode in REFERENCED_METHODS and not self.cleaned["reference"]:
            raise Invalid(
                "Indiquez le numéro du chèque, des CESU ou la référence du virement.",
                field="reference",
            )
        return mode

    def clean_date(self, day):
        if day > clock.today():
            raise Invalid("La date de réception ne peut pas être dans le futur.")
        return day
