"""The régie's rules without the database: totals per mode and overall that are the sums of the
lines, a bordereau that holds one mode, the ageing buckets, who is reminded how, and the CSV
files whose total lines equal the sum of their payment lines."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from ecp import clock
from ecp.payments import regie
from ecp.payments.allocation import METHODS

DAY = dt.date(2026, 11, 16)


def _payment(n: int, method: str, cents: int, **extra) -> dict:
    return {
        "id": n,
        "method": method,
        "amount_cents": cents,
        "received_at": dt.datetime(2026, 11, 16, 9, n, tzinfo=clock.PARIS),
        "reference": f"REF {n}",
        "drawer": extra.get("drawer", ""),
        "bank": extra.get("bank", ""),
        "unallocated_cents": extra.get("unallocated", 0),
        "provider_transaction": None,
        "family_code": f"F0000{n}",
        "family_name": f"Famille {n}",
        "recorded_by_name": None if method == "carte" else "Régisseur Test",
        "allocations": [(f"FAC-2026-00000{n}", cents - extra.get("unallocated", 0))],
    }


PAYMENTS = [
    _payment(1, "especes", 1250),
    _payment(2, "cheque", 4200, drawer="M. Paul Martin", bank="Crédit Mutuel"),
    _payment(3, "cheque", 1999, drawer="Mme Diallo", bank="La Banque Postale"),
    _payment(4, "carte", 3310),
    _payment(5, "ancv", 2000, unallocated=150),
    _payment(6, "especes", 1),
]


def test_the_journal_totals_are_the_sums_of_its_lines_per_mode_and_overall():
    doc = regie.journal([dict(p) for p in PAYMENTS], regie.Period.day(DAY))
    totals = {t["method"]: t for t in doc["totals"]}
    assert list(totals) == list(METHODS)  # every mode, in the counter's order, zeros included
    for method in METHODS:
        lines = [p for p in PAYMENTS if p["method"] == method]
        assert totals[method]["cents"] == sum(p["amount_cents"] for p in lines), method
        assert totals[method]["count"] == len(lines)
    assert totals["cesu"] == {"method": "cesu", "label": "CESU", "count": 0, "cents": 0}
    assert doc["total_cents"] == sum(p["amount_cents"] for p in PAYMENTS) == 12760
    assert doc["total_cents"] == sum(t["cents"] for t in doc["totals"])
    assert doc["count"] == 6 and doc["unallocated_cents"] == 150
    card = next(p for p in doc["lines"] if p["method"] == "carte")
    assert card["recorded_by_label"] == regie.CARD_RECORDER
    assert doc["lines"][0]["invoices_label"] == "FAC-2026-000001 (12,50 €)"


@pytest.mark.parametrize("method", list(METHODS))
def test_a_bordereau_holds_one_mode_and_its_total_is_their_sum(method):
    doc = regie.slip([dict(p) for p in PAYMENTS], method, regie.Period(DAY, DAY))
    expected = [p for p in PAYMENTS if p["method"] == method]
    assert [p["id"] for p in doc["lines"]] == [p["id"] for p in expected]
    assert doc["total_cents"] == sum(p["amount_cents"] for p in expected)
    assert doc["count"] == len(expected)
    assert doc["cheques"] == (method == "cheque")
    assert doc["title"] == regie.SLIP_TITLES[method]


def _csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def _cents(cell: str) -> int:
    units, _, rest = cell.partition(",")
    return int(units) * 100 + int(rest)


def test_the_journal_csv_total_lines_equal_the_sum_of_its_payment_lines():
    doc = regie.journal([dict(p) for p in PAYMENTS], regie.Period.day(DAY))
    header, *rows = _csv(regie.journal_csv(doc))
    assert header == regie.JOURNAL_HEADER
    amount, mode = header.index("Montant (€)"), header.index("Mode")
    lines = [r for r in rows if not r[0].startswith("Total")]
    assert len(lines) == len(PAYMENTS)
    assert all(len(r) == len(header) for r in rows)
    per_mode = {r[mode]: _cents(r[amount]) for r in rows if r[0] == "Total"}
    for code, label in METHODS.items():
        assert per_mode[label] == sum(_cents(r[amount]) for r in lines if r[mode] == label), code
    overall = next(r for r in rows if r[0] == "Total général")
    assert _cents(overall[amount]) == sum(_cents(r[amount]) for r in lines) == 12760
    cheque = next(r for r in lines if r[0] == "2")
    assert cheque[header.index("Tireur")] == "M. Paul Martin"
    assert cheque[header.index("Banque")] == "Crédit Mutuel"
    assert cheque[header.index("Heure")] == "09:02"


def test_the_bordereau_csv_total_equals_the_sum_of_its_lines():
    doc = regie.slip([dict(p) for p in PAYMENTS], "cheque", regie.Period.day(DAY))
    header, *rows = _csv(regie.slip_csv(doc))
    amount = header.index("Montant (€)")
    *lines, total = rows
    assert [r[header.index("Tireur")] for r in lines] == ["M. Paul Martin", "Mme Diallo"]
    assert total[0] == "Total" and total[3] == "2 paiements"
    assert _cents(total[amount]) == sum(_cents(r[amount]) for r in lines) == 6199


def test_periods_say_which_day_or_month_in_french():
    assert regie.Period.day(DAY).label == "du lundi 16 novembre 2026"
    month = regie.Period.month(dt.date(2026, 10, 17))
    assert (month.start, month.end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert month.label == "d’octobre 2026" and month.slug == "2026-10"
    assert regie.Period.month(dt.date(2026, 12, 5)).end == dt.date(2026, 12, 31)
    span = regie.Period(dt.date(2026, 11, 1), dt.date(2026, 11, 15))
    assert span.label == "du 01/11/2026 au 15/11/2026"
    assert regie.journal_filename(span, "csv") == "journal-regie-2026-11-01-2026-11-15.csv"
    assert regie.slip_filename("cheque", regie.Period.day(DAY), "pdf") == (
        "bordereau-cheque-2026-11-16.pdf"
    )


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "0-30"),
        (1, "0-30"),
        (30, "0-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_ageing_buckets(days, bucket):
    assert regie.bucket_of(days) == bucket


def test_ageing_totals_are_per_bucket_and_overall():
    rows = [
        {"bucket": "0-30", "remaining_cents": 100},
        {"bucket": "0-30", "remaining_cents": 250},
        {"bucket": "90+", "remaining_cents": 4000},
    ]
    result = regie.ageing(rows)
    by_key = {b["key"]: b for b in result["buckets"]}
    assert by_key["0-30"]["count"] == 2 and by_key["0-30"]["cents"] == 350
    assert by_key["31-60"]["count"] == 0 and by_key["90+"]["cents"] == 4000
    assert result["count"] == 3 and result["cents"] == 4350
    assert result["cents"] == sum(b["cents"] for b in result["buckets"])


def test_a_relance_goes_by_e_mail_only_to_a_paperless_family_with_an_address():
    assert regie.channel_for("a@example.org", True) == "courriel"
    assert regie.channel_for("a@example.org", False) == "courrier"
    assert regie.channel_for("", True) == "courrier"
    assert regie.reminder_level([]) == 0
    assert regie.reminder_level([{"level": 1}, {"level": 2}]) == 2
