"""The régie's rules and documents, without the database: the journal of the payments received
in a period with its totals per mode, the bordereau de remise of one mode, the ageing of what is
overdue, who gets a relance and how, and the text of the CSV files and e-mails.

Every total here is the sum of the lines it is printed under, in integer cents: the journal's
overall total is the sum of its lines, and of its totals per mode; a bordereau's total is the
sum of its payments (tests/unit/payments/test_regie_rules.py).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from ecp import clock
from ecp.mail.notices import month_label
from ecp.payments.allocation import METHODS
from ecp.web import csv_export, urls
from ecp.web.french import de
from ecp.web.templating import environment, euros, jour_long

MEDIA_TYPE_CSV = "text/csv"
CARD_RECORDER = "Paiement en ligne (Paybox)"

# The bordereau's title, per mode: « Bordereau de remise de chèques ».
SLIP_TITLES = {
    "especes": "Bordereau de remise d’espèces",
    "cheque": "Bordereau de remise de chèques",
    "cesu": "Bordereau de remise de CESU",
    "ancv": "Bordereau de remise de chèques vacances (ANCV)",
    "virement": "Relevé des virements reçus",
    "carte": "Relevé des paiements par carte",
    "prelevement": "Relevé des prélèvements SEPA (rejets déduits)",
}

# --- Periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included (Paris days)."""

    start: dt.date
    end: dt.date
    kind: str = "periode"  # jour, mois or periode

    @classmethod
    def day(cls, day: dt.date) -> Period:
        return cls(day, day, "jour")

    @classmethod
    def month(cls, first: dt.date) -> Period:
        first = first.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        return cls(first, after - dt.timedelta(days=1), "mois")

    @property
    def label(self) -> str:
        """« du lundi 16 novembre 2026 », « de novembre 2026 », « du 01/11/2026 au 15/11/2026 »."""
        if self.kind == "mois":
            return de(month_label(self.start))
        if self.start == self.end:
            return f"du {jour_long(self.start)}"
        return f"du {self.start.strftime('%d/%m/%Y')} au {self.end.strftime('%d/%m/%Y')}"

    @property
    def slug(self) -> str:
        if self.kind == "mois":
            return self.start.strftime("%Y-%m")
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}-{self.end.isoformat()}"


# --- The journal and the bordereau ---------------------------------------------------------


def _decorate(payment: dict) -> dict:
    payment["method_label"] = METHODS.get(payment["method"], payment["method"])
    payment["recorded_by_label"] = payment.get("recorded_by_name") or (
        CARD_RECORDER if payment["method"] == "carte" else ""
    )
    payment["invoices_label"] = ", ".join(
        f"{number} ({csv_export.decimal_fr(cents)} €)" for number, cents in payment["allocations"]
    )
    return payment


def totals_by_method(payments: list[dict]) -> list[dict]:
    """One total per mode of METHODS, in that order, zeros included: the régisseur counts
    what is in the till against every line, an empty one too."""
    totals = {
        code: {"method": code, "label": label, "count": 0, "cents": 0}
        for code, label in METHODS.items()
    }
    for p in payments:
        total = totals.setdefault(
            p["method"], {"method": p["method"], "label": p["method"], "count": 0, "cents": 0}
        )
        total["count"] += 1
        total["cents"] += p["amount_cents"]
    return list(totals.values())


def journal(payments: list[dict], period: Period) -> dict:
    """The journal de régie: every payment received in the period, oldest first (as read by
    ecp.payments.queries.payments_received), the totals per mode and the overall total."""
    lines = [_decorate(p) for p in payments]
    return {
        "period": period,
        "lines": lines,
        "totals": totals_by_method(lines),
        "count": len(lines),
        "total_cents": sum(p["amount_cents"] for p in lines),
        "unallocated_cents": sum(p["unallocated_cents"] for p in lines),
    }


def slip(payments: list[dict], method: str, period: Period) -> dict:
    """The bordereau de remise of one mode: its payments of the period, their count and total."""
    lines = [_decorate(p) for p in payments if p["method"] == method]
    return {
        "period": period,
        "method": method,
        "method_label": METHODS.get(method, method),
        "title": SLIP_TITLES.get(method, f"Bordereau de remise – {METHODS.get(method, method)}"),
        "lines": lines,
        "count": len(lines),
        "total_cents": sum(p["amount_cents"] for p in lines),
        "cheques": method == "cheque",
    }


JOURNAL_HEADER = [
    "N° de paiement",
    "Date",
    "Heure",
    "Code famille",
    "Famille",
    "Mode",
    "Référence",
    "Tireur",
    "Banque",
    "Factures réglées",
    "Montant (€)",
    "Saisi par",
]


def _paris(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(clock.PARIS)


def journal_csv(doc: dict) -> str:
    """The journal as a spreadsheet reads it: one line per payment, then one « Total » line per
    mode and the « Total général »; every amount is a number the spreadsheet can sum."""
    out = io.StringIO()
    writer = csv_export.writer(out)
    writer.writerow(JOURNAL_HEADER)
    for p in doc["lines"]:
        received = _paris(p["received_at"])
        writer.writerow(
            [
                p["id"],
                received.strftime("%d/%m/%Y"),
                received.strftime("%H:%M"),
                p["family_code"],
                p["family_name"],
                p["method_label"],
                p["reference"],
                p["drawer"],
                p["bank"],
                ", ".join(
                    f"{number} ({csv_export.decimal_fr(cents)})"
                    for number, cents in p["allocations"]
                ),
                csv_export.decimal_fr(p["amount_cents"]),
                p["recorded_by_label"],
            ]
        )
    for total in doc["totals"]:
        writer.writerow(
            [
                "Total",
                "",
                "",
                "",
                "",
                total["label"],
                "",
                "",
                "",
                _count(total["count"]),
                csv_export.decimal_fr(total["cents"]),
                "",
            ]
        )
    writer.writerow(
        [
            "Total général",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            _count(doc["count"]),
            csv_export.decimal_fr(doc["total_cents"]),
            "",
        ]
    )
    return "\ufeff" + out.getvalue()


SLIP_HEADER = [
    "N° de paiement",
    "Date",
    "Code famille",
    "Famille",
    "Référence",
    "Tireur",
    "Banque",
    "Montant (€)",
]


def slip_csv(doc: dict) -> str:
    out = io.StringIO()
    writer = csv_export.writer(out)
    writer.writerow(SLIP_HEADER)
    for p in doc["lines"]:
        writer.writerow(
            [
                p["id"],
                _paris(p["received_at"]).strftime("%d/%m/%Y"),
                p["family_code"],
                p["family_name"],
                p["reference"],
                p["drawer"],
                p["bank"],
                csv_export.decimal_fr(p["amount_cents"]),
            ]
        )
    writer.writerow(
        [
            "Total",
            "",
            "",
            _count(doc["count"]),
            "",
            "",
            "",
            csv_export.decimal_fr(doc["total_cents"]),
        ]
    )
    return "\ufeff" + out.getvalue()


def _count(n: int) -> str:
    return f"{n} paiement{'s' if n > 1 else ''}"


def journal_filename(period: Period, extension: str) -> str:
    return f"journal-regie-{period.slug}.{extension}"


def slip_filename(method: str, period: Period, extension: str) -> str:
    return f"bordereau-{method}-{period.slug}.{extension}"


# --- What is overdue: ageing --------------------------------------------------------------

# (key, label, first day late, last day late or None): days past the due date.
BUCKETS = (
    ("0-30", "0 à 30 jours", 0, 30),
    ("31-60", "31 à 60 jours", 31, 60),
    ("61-90", "61 à 90 jours", 61, 90),
    ("90+", "plus de 90 jours", 91, None),
)
BUCKET_LABELS = {key: label for key, label, _, _ in BUCKETS}


def bucket_of(days_late: int) -> str:
    for key, _, low, high in BUCKETS:
        if days_late >= low and (high is None or days_late <= high):
            return key
    return BUCKETS[0][0]


def ageing(rows: list[dict]) -> dict:
    """Totals per bucket (count, cents still owed) and overall, for the rows given."""
    buckets = {
        key: {"key": key, "label": label, "count": 0, "cents": 0} for key, label, _, _ in BUCKETS
    }
    for row in rows:
        buckets[row["bucket"]]["count"] += 1
        buckets[row["bucket"]]["cents"] += row["remaining_cents"]
    return {
        "buckets": list(buckets.values()),
        "count": len(rows),
        "cents": sum(r["remaining_cents"] for r in rows),
    }


# --- Relances ------------------------------------------------------------------------------

LEVELS = {1: "1re relance", 2: "2e relance"}
# A second relance is sent this long after the first, and only if the invoice still owes.
SECOND_AFTER_DAYS = 15
# What the list's « Relances » filter offers: none yet, a first, a second.
REMINDER_FILTERS = {"aucune": "Sans relance", "1": "1re relance envoyée", "2": "2e relance envoyée"}
CHANNELS = {"courriel": "courriel", "courrier": "courrier"}


def channel_for(email: str, paperless: bool) -> str:
    """By e-mail for a family that chose the paperless invoice and gave an address; a printed
    letter for every other family, so no family is left without its relance."""
    return "courriel" if paperless and email else "courrier"


def reminder_level(reminders: list[dict]) -> int:
    """The highest level already sent for an invoice (0 when none)."""
    return max((r["level"] for r in reminders), default=0)


def overdue_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv_export.writer(out)
    writer.writerow(
        [
            "Facture",
            "Période",
            "Code famille",
            "Famille",
            "Échéance",
            "Jours de retard",
            "Tranche",
            "Montant (€)",
            "Reste dû (€)",
            "Relances",
            "Envoi",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row["number"],
                month_label(row["month"]),
                row["family_code"],
                row["family_name"],
                row["due_on"].strftime("%d/%m/%Y"),
                row["days_late"],
                BUCKET_LABELS[row["bucket"]],
                csv_export.decimal_fr(row["total_cents"]),
                csv_export.decimal_fr(row["remaining_cents"]),
                ", ".join(
                    f"{LEVELS.get(r['level'], r['level'])} le "
                    f"{_paris(r['sent_at']).strftime('%d/%m/%Y')} ({r['channel']})"
                    for r in row["reminders"]
                ),
                row["channel"],
            ]
        )
    return "\ufeff" + out.getvalue()


# --- The family's receipt of a counter payment ----------------------------------------------


def receipt_mail(receipt: dict, settings) -> dict:
    """The e-mail that follows a counter payment (ecp.payments.queries.counter_receipt gives
    `receipt`): the amount, the mode, the invoices settled with what each still owes, and what
    the family still owes in all. queue_email's arguments."""
    context = {
        "payment": receipt,
        "method_label": METHODS.get(receipt["method"], receipt["method"]),
        "allocations": [
            {**a, "remaining_cents": max(a["total_cents"] - a["paid_cents"], 0)}
            for a in receipt["allocations"]
        ],
        "balance_cents": receipt["balance_cents"],
        "month_label": month_label,
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "family_payments"),
    }
    env = environment()
    return {
        "to": receipt["email"],
        "subject": f"Reçu de votre paiement de {euros(receipt['amount_cents'])} à la régie",
        "text": env.get_template("partials/mail/receipt.txt").render(**context),
        "html": env.get_template("partials/mail/receipt.html").render(**context),
        "kind": "recu",
        "family_id": receipt["family"],
    }
