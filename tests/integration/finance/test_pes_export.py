"""PES bordereaux from the database (both engines): a month's file is schema-valid, holds the
month's invoices and credit notes (count and total = invoices less credit notes), a second
export is refused, cancelling frees the documents without giving the number again, numbers run
per exercise, the overdue scope takes what remains owed, the zip carries the XML and the PDFs."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from lxml import etree

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.errors import Rejected
from ecp.finance import pes, queries, services
from ecp.finance.tables import PesBordereau, PesPiece
from ecp.invoices.tables import Invoice
from ecp.settings import Settings
from tests.factories import make_staff
from tests.finance_factories import OCT, SEP, billed_october, document


async def _regisseur() -> Principal:
    staff = await make_staff(role="regisseur", display_name="Régisseur Test")
    return Principal(
        kind="staff", session_id=0, name="Régisseur Test", staff_id=staff.id, role="regisseur"
    )


async def _xml(bordereau_id: int) -> bytes:
    row = await PesBordereau.select(PesBordereau.xml).where(PesBordereau.id == bordereau_id).first()
    return row["xml"].encode()


async def test_a_months_file_is_valid_and_holds_its_invoices_less_credit_notes():
    month = await billed_october()
    actor = await _regisseur()
    result = await services.issue_bordereau(actor, "mois", OCT)
    assert (result["year"], result["number"], result["pieces"]) == (2026, 1, 3)
    assert result["total_cents"] == 4000 + 3000 - 500
    content = await _xml(result["id"])
    pes.validate(content)  # raises when the file does not match the schema
    found = pes.summary(content)
    assert found == {
        "pieces": 3,
        "piece_elements": 3,
        "total_cents": 6500,
        "lines_cents": 6500,
        "number": 1,
        "year": 2026,
    }
    doc = etree.fromstring(content)
    numbers = [e.get("V") for e in doc.iter("NumeroFacture")]
    assert sorted(numbers) == ["AV-2026-000003", "FAC-2026-000011", "FAC-2026-000012"]
    assert "FAC-2026-000005" not in numbers  # September's stays out
    natures = {
        p.find("BlocPiece/NumeroFacture").get("V"): p.find("BlocPiece/NatPce").get("V")
        for p in doc.iter("Piece")
    }
    assert natures["AV-2026-000003"] == "06" and natures["FAC-2026-000011"] == "01"
    # Martin's invoice: one line per product code and nature (cantine, garderie: one default).
    assert {e.get("V") for e in doc.iter("Nature")} == {"7067"}
    assert doc.find(".//EnTetePES/IdColl").get("V") == "21780999900017"
    assert doc.find(".//Tiers/InfoTiers/Nom").get("V") in {"Martin", "Diallo"}
    pieces = await PesPiece.select().where(PesPiece.bordereau == result["id"])
    assert {p["invoice"] for p in pieces} == {
        month["oct_martin"].id,
        month["oct_diallo"].id,
        month["credit"].id,
    }
    log = await AuditLog.select().where(AuditLog.action == "pes_bordereau_emis").first()
    details = json.loads(log["details"])
    assert details["pieces"] == 3 and details["montant_cents"] == 6500


async def test_a_second_export_of_the_same_month_is_refused_and_writes_nothing():
    await billed_october()
    actor = await _regisseur()
    first = await services.issue_bordereau(actor, "mois", OCT)
    with pytest.raises(Rejected) as refused:
        await services.issue_bordereau(actor, "mois", OCT)
    assert "déjà dans le bordereau n° 1 de 2026" in refused.value.message
    assert await PesBordereau.count() == 1
    # A credit note issued later for October goes alone in the next bordereau.
    martin = (await Invoice.select(Invoice.family).where(Invoice.id == 1).first())["family"]

    class F:
        id = martin
        name = "Martin"

    await document(F, "AV-2026-000009", OCT, [(None, "Correction", -250)], kind="avoir")
    second = await services.issue_bordereau(actor, "mois", OCT)
    assert (second["number"], second["pieces"], second["total_cents"]) == (2, 1, -250)
    assert first["number"] == 1


async def test_cancelling_frees_the_documents_and_the_number_stays_used():
    await billed_october()
    actor = await _regisseur()
    first = await services.issue_bordereau(actor, "mois", OCT)
    await services.cancel_bordereau(actor, first["id"], "Rejeté par le Trésor : SIRET faux")
    row = await PesBordereau.select().where(PesBordereau.id == first["id"]).first()
    assert row["status"] == "annule" and row["cancel_reason"].startswith("Rejeté")
    assert {p["state"] for p in await PesPiece.select(PesPiece.state)} == {"liberee"}
    again = await services.issue_bordereau(actor, "mois", OCT)
    assert (again["number"], again["pieces"], again["total_cents"]) == (2, 3, 6500)
    with pytest.raises(Rejected):
        await services.cancel_bordereau(actor, first["id"], "deux fois")
    log = await AuditLog.select().where(AuditLog.action == "pes_bordereau_annule").first()
    assert json.loads(log["details"])["motif"] == "Rejeté par le Trésor : SIRET faux"


async def test_numbers_start_again_each_exercise():
    await billed_october()
    actor = await _regisseur()
    assert (await services.issue_bordereau(actor, "mois", SEP))["number"] == 1
    assert (await services.issue_bordereau(actor, "mois", OCT))["number"] == 2
    clock.set_now(dt.datetime(2027, 1, 10, 9, tzinfo=clock.PARIS))
    dec = dt.date(2026, 12, 1)
    fam = await Invoice.select(Invoice.family).first()

    class F:
        id = fam["family"]
        name = "Martin"

    await document(F, "FAC-2026-000099", dec, [(None, "Garderie", 1200)])
    nxt = await services.issue_bordereau(actor, "mois", dec)
    assert (nxt["year"], nxt["number"]) == (2027, 1)
    assert pes.summary(await _xml(nxt["id"]))["year"] == 2027


async def test_the_overdue_scope_takes_what_remains_owed_after_the_due_date():
    month = await billed_october()
    actor = await _regisseur()
    await Invoice.update({Invoice.due_on: dt.date(2026, 11, 1), Invoice.paid_cents: 1000}).where(
        Invoice.id == month["oct_martin"].id
    )
    await Invoice.update({Invoice.due_on: dt.date(2026, 11, 1), Invoice.paid_cents: 3000}).where(
        Invoice.id == month["oct_diallo"].id
    )  # paid in full: nothing to recover
    await Invoice.update({Invoice.paid_cents: 2000}).where(Invoice.id == month["sep_martin"].id)
    preview = await queries.preview("impayes", None)
    assert [p["number"] for p in preview["pieces"]] == ["FAC-2026-000011"]
    result = await services.issue_bordereau(actor, "impayes", None)
    assert (result["pieces"], result["total_cents"]) == (1, 3000)
    assert pes.summary(await _xml(result["id"]))["lines_cents"] == 3000
    # Once in a bordereau for recovery, the month's export leaves it out.
    month_preview = await queries.preview("mois", OCT)
    assert {p["number"] for p in month_preview["pieces"]} == {"FAC-2026-000012", "AV-2026-000003"}


async def test_missing_codes_or_addresses_are_refused_in_french():
    await billed_october(codes=False)
    actor = await _regisseur()
    with pytest.raises(Rejected) as refused:
        await services.issue_bordereau(actor, "mois", OCT)
    assert "le poste comptable" in refused.value.message
    from ecp.families.tables import Guardian
    from tests.finance_factories import save_codes

    await save_codes()
    await Guardian.update({Guardian.city: ""}).where(Guardian.id == 1)
    with pytest.raises(Rejected) as refused:
        await services.issue_bordereau(actor, "mois", OCT)
    assert "F00001" in refused.value.message and await PesBordereau.count() == 0


async def test_the_zip_holds_the_xml_and_each_documents_pdf():
    await billed_october()
    actor = await _regisseur()
    result = await services.issue_bordereau(actor, "mois", OCT)
    content, name = await services.zip_file(
        actor, result["id"], Settings(commune_name="Villebelle")
    )
    assert name == "PES-ORMC-2026-0000001.zip"
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert sorted(archive.namelist()) == [
        "AV-2026-000003.pdf",
        "FAC-2026-000011.pdf",
        "FAC-2026-000012.pdf",
        "PES-ORMC-2026-0000001.xml",
    ]
    assert archive.read("FAC-2026-000011.pdf").startswith(b"%PDF")
    pes.validate(archive.read("PES-ORMC-2026-0000001.xml"))
