"""The payments feature's forms: the régie counter's payment, the family's choice of invoices,
the reconciliation period, the settlement of a card attempt without news, the régie's documents
(journal, bordereau, overdue list, relances, paper invoices) and the simulator's card page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ecp import clock
from ecp.payments import payfip_simulator, regie, simulator
from ecp.payments.allocation import METHODS
from ecp.payments.debits import REJECT_REASONS
from ecp.payments.services import (
    COUNTER_METHODS,
    REFERENCED_METHODS,
    RESOLVED_FAILED,
    RESOLVED_PAID,
)
from ecp.web.forms import Choice, Day, Euros, Form, Ids, Integer, Invalid, Text

MAX_CENTS = 10_000_000
AMOUNT = "Indiquez un montant en euros, par exemple 12,50."
DATE = "Indiquez la date au format JJ/MM/AAAA."


class FamilyCode(Text):
    """A family code as staff type it: « f00001 » is F00001 (kept so for redisplay too)."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, max_length=12, **options)

    def read(self, data: dict[str, Any]) -> Any:
        return super().read(data).upper()


class CounterPaymentForm(Form):
    """bind(data, family=...): `family` is the family the code names (or None), looked up
    before binding since the invoices are only asked for once a family is found.

    The fields are declared in the order their errors are listed, each rule on a field that
    comes after what it reads: the invoices (read by the family's rule) and the reference,
    drawer and bank (read by the mode's rule) come first, and they have no rule of their own,
    so the summary lists famille, facture, montant, mode, reference, tireur, banque, date, as
    the page shows them."""

    facture = Ids("Factures réglées")
    famille = FamilyCode("Code famille", required="Indiquez le code d’une famille existante.")
    montant = Euros("Montant reçu", required=AMOUNT, invalid=AMOUNT, max_cents=MAX_CENTS)
    reference = Text("Référence", max_length=80)
    tireur = Text("Tireur du chèque", max_length=120)
    banque = Text("Banque du chèque", max_length=80)
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
            self.error(
                "reference", "Indiquez le numéro du chèque, des CESU ou la référence du virement."
            )
        if mode == "cheque":
            # The bordereau de remise lists each cheque's drawer and bank for the bank.
            if not self.cleaned["tireur"]:
                self.error("tireur", "Indiquez le tireur du chèque (le nom imprimé sur le chèque).")
            if not self.cleaned["banque"]:
                self.error("banque", "Indiquez la banque du chèque.")
        else:
            self.cleaned["tireur"] = self.cleaned["banque"] = ""
        return mode

    def clean_date(self, day):
        if day > clock.today():
            raise Invalid("La date de réception ne peut pas être dans le futur.")
        return day


class PaymentChoiceForm(Form):
    """The family's choice of invoices to pay by card. Whether they can be paid is the
    service's to say (ecp.payments.services.start_card_payment)."""

    factures = Ids("Factures à payer")
    # Paybox or PayFiP when the commune offers both; which ones are offered is the service's.
    moyen = Text("Moyen de paiement", max_length=20)


DEFAULT_PERIOD = "7"
PERIODS = {
    "1": "24 dernières heures",
    "7": "7 derniers jours",
    "30": "30 derniers jours",
    "90": "90 derniers jours",
}


class ReconciliationForm(Form):
    jours = Choice(
        "Période",
        list(PERIODS.items()),
        required="Choisissez une période dans la liste.",
        invalid="Choisissez une période dans la liste.",
    )


RESULT_MISSING = "Choisissez ce que montre le back-office Paybox."
TRANSACTION_MISSING = "Indiquez le numéro de transaction lu dans le back-office Paybox."
TRANSACTION_INVALID = (
    "Le numéro de transaction s’écrit en chiffres et en lettres, sans espace, par exemple 612345."
)
PAID_ON = "Indiquez la date du paiement au format JJ/MM/AAAA."
RESULTS = [
    (
        RESOLVED_PAID,
        "Payé",
        "Le back-office montre la transaction acceptée : le paiement est "
        "enregistré et réparti sur les factures de la tentative, la famille reçoit son reçu.",
    ),
    (
        RESOLVED_FAILED,
        "Échoué",
        "Le back-office ne montre aucune transaction acceptée pour "
        "cette référence : la tentative est close, rien n’est enregistré.",
    ),
]


class AttemptResolutionForm(Form):
    """What the régisseur read in Paybox's back office for an attempt without news. The rules
    that need the attempt (its day, a transaction already recorded) are the service's
    (ecp.payments.services.resolve_attempt)."""

    resultat = Choice(
        "Résultat dans le back-office Paybox",
        [(code, label) for code, label, _ in RESULTS],
        required=RESULT_MISSING,
        invalid=RESULT_MISSING,
        max_length=20,
    )
    transaction = Text("Numéro de transaction", max_length=40)
    date = Day("Date du paiement", invalid=PAID_ON)
    note = Text("Note", max_length=500)

    def clean_transaction(self, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]{1,40}", value):
            raise Invalid(TRANSACTION_INVALID)
        return value

    def clean_date(self, day):
        if day > clock.today():
            raise Invalid("La date du paiement ne peut pas être dans le futur.")
        return day

    def clean(self) -> None:
        if self.cleaned["resultat"] != RESOLVED_PAID:
            return
        if not self.cleaned["transaction"]:
            raise Invalid(TRANSACTION_MISSING, field="transaction")
        if self.cleaned["date"] is None:
            raise Invalid(PAID_ON, field="date")


# --- The régie's documents ----------------------------------------------------------------

PERIOD_DAY = "Indiquez le jour au format JJ/MM/AAAA, par exemple 16/11/2026."
MONTH = "Choisissez un mois dans la liste."


def _month(form: Form, value: str) -> dt.date:
    """A month among the form's `months` context ((AAAA-MM, label) pairs), as its first day."""
    if value not in {m for m, _ in form.context.get("months", [])}:
        raise Invalid(MONTH)
    return dt.date(int(value[:4]), int(value[5:7]), 1)


class JournalForm(Form):
    """The journal de régie of one day (`jour`) or of one month (`mois`, AAAA-MM): the month
    wins when both are given; neither is today's journal. `months` (context) lists the months
    offered ((value, label) pairs)."""

    jour = Day("Jour", invalid=PERIOD_DAY)
    mois = Text("Mois", max_length=7)

    def clean_jour(self, day):
        if day > clock.today():
            raise Invalid("Le jour ne peut pas être dans le futur.")
        return day

    def clean_mois(self, value: str) -> dt.date:
        return _month(self, value)


class SlipForm(Form):
    """A bordereau de remise: one mode, from `du` (today when empty) to `au` (`du` when empty)."""

    mode = Choice(
        "Mode de paiement",
        lambda: list(METHODS.items()),
        required="Choisissez le mode de paiement.",
        invalid="Choisissez le mode de paiement.",
        max_length=20,
    )
    du = Day("Du", invalid=PERIOD_DAY)
    au = Day("Au", invalid=PERIOD_DAY)

    def clean(self) -> None:
        start = self.cleaned["du"] or clock.today()
        end = self.cleaned["au"] or start  # one day when the end is left empty
        self.cleaned["du"], self.cleaned["au"] = start, end
        if end < start:
            raise Invalid("La fin de la période doit suivre son début.", field="au")
        if (end - start).days > 366:
            raise Invalid("Choisissez une période d’un an au plus.", field="au")


class OverdueForm(Form):
    """The overdue list's filters: ageing bucket, family code, relances already sent."""

    tranche = Choice(
        "Retard",
        lambda: [(key, label) for key, label, _, _ in regie.BUCKETS],
        invalid="Choisissez une tranche de retard dans la liste.",
    )
    famille = FamilyCode("Code famille")
    relance = Choice(
        "Relances",
        lambda: list(regie.REMINDER_FILTERS.items()),
        invalid="Choisissez un choix de relance dans la liste.",
    )


class ReminderRunForm(Form):
    niveau = Choice(
        "Relance",
        [("1", "1re relance"), ("2", "2e relance")],
        required="Choisissez la première ou la deuxième relance.",
        invalid="Choisissez la première ou la deuxième relance.",
        max_length=2,
    )


class PaperInvoicesForm(Form):
    """The month whose paper invoices are printed; `months` (context) as for JournalForm."""

    mois = Text("Mois facturé", required=MONTH, max_length=7)
    partie = Integer("Partie", low=1, high=1000, invalid="Choisissez une partie de la liste.")

    def clean_mois(self, value: str) -> dt.date:
        return _month(self, value)


# --- The Paybox simulator's card page (never in production) ---------------------------------

CARD_EXPIRY = "Saisissez une date d’expiration future, au format MM/AA, par exemple 12/30."
CVV = "Saisissez le cryptogramme : 3 chiffres, par exemple 123."


class SimulatorCancelForm(Form):
    """« Annuler le paiement »: only the tester's choice of notification is read."""

    notification = Choice(
        "Notification envoyée au portail",
        list(simulator.IPN_MODES.items()),
        required="Choisissez le comportement de la notification.",
        invalid="Choisissez le comportement de la notification.",
    )


class SimulatorCardForm(SimulatorCancelForm):
    """« Payer »: a test card listed on the page, a future expiry date and a cryptogram."""

    carte = Text("Numéro de carte", required="Saisissez le numéro de carte.", max_length=40)
    expiration = Text("Date d’expiration", required=CARD_EXPIRY, max_length=10)
    cvv = Text("Cryptogramme visuel", required=CVV, max_length=10)

    def clean_carte(self, value: str) -> str:
        card = value.replace(" ", "")
        if card not in simulator.CARDS:
            raise Invalid(
                "Numéro de carte inconnu : utilisez une carte de test listée sur cette page."
            )
        return card

    def clean_expiration(self, value: str) -> str:
        month, _, year = value.replace(" ", "").partition("/")
        if not (
            month.isascii()
            and month.isdigit()
            and year.isascii()
            and year.isdigit()
            and len(year) == 2
            and 1 <= int(month) <= 12
        ):
            raise Invalid(CARD_EXPIRY)
        today = clock.today()
        if (2000 + int(year), int(month)) < (today.year, today.month):
            raise Invalid(CARD_EXPIRY)
        return value

    def clean_cvv(self, value: str) -> str:
        if not (value.isdigit() and len(value) == 3):
            raise Invalid(CVV)
        return value


class PayfipSimulatorForm(Form):
    """The PayFiP simulator's page: the result the tester wants, and what the portal hears."""

    notification = Choice(
        "Notification envoyée au portail",
        list(payfip_simulator.NOTIFY_MODES.items()),
        required="Choisissez le comportement de la notification.",
        invalid="Choisissez le comportement de la notification.",
    )
    choix = Choice(
        "Résultat du paiement",
        [(code, label) for code, (_, label) in payfip_simulator.CHOICES.items()],
        required="Choisissez le résultat du paiement.",
        invalid="Choisissez le résultat du paiement.",
    )


class MandateForm(Form):
    """A SEPA mandate; the IBAN and BIC are checked by ecp.payments.mandates (schwifty)."""

    titulaire = Text(
        "Titulaire du compte", required="Indiquez le nom du titulaire du compte.", max_length=70
    )
    iban = Text("IBAN", required="Indiquez l’IBAN du compte à prélever.", max_length=60)
    bic = Text("BIC", max_length=20)
    signature = Day("Date de signature du mandat", required=DATE, invalid=DATE)


class DebitMonthForm(Form):
    """The billed month of a debit file, AAAA-MM."""

    mois = Text("Mois facturé", required="Choisissez le mois.", max_length=7)

    def clean_mois(self, value: str) -> dt.date:
        if not re.fullmatch(r"\d{4}-\d{2}", value) or not 1 <= int(value[5:]) <= 12:
            raise Invalid("Choisissez le mois au format AAAA-MM, par exemple 2026-11.")
        return dt.date(int(value[:4]), int(value[5:]), 1)


class DebitRejectForm(Form):
    motif = Choice(
        "Motif du rejet",
        list(REJECT_REASONS.items()),
        required="Choisissez le motif du rejet indiqué par la banque.",
        invalid="Choisissez le motif du rejet indiqué par la banque.",
        max_length=4,
    )
