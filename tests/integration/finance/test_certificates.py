"""Attestations de frais de garde from the database (both engines): the amount is the year's
payments as allocated, spread over the lines, for children under 6 on 1 January, meals
excluded; one run per year (a second adds nothing); paperless families get an e-mail."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from ecp.auth.principal import Principal
from ecp.errors import Rejected
from ecp.finance import certificates
from ecp.finance.tables import CareCertificate
from ecp.mail.tables import OutboxEmail
from tests.conftest import default_settings
from tests.factories import make_staff
from tests.finance_factories import paid_care_2026


async def _regisseur() -> Principal:
    staff = await make_staff(username="regie", role="regisseur", display_name="Régie")
    return Principal(kind="staff", session_id=0, name="Régie", staff_id=staff.id, role="regisseur")


async def test_amounts_are_the_years_payments_for_care_of_children_under_6_meals_excluded():
    data = await paid_care_2026()
    amounts = await certificates.compute(2026)
    # Martin: 30,00 paid on a 60,00 invoice: half of Tom's garderie (15,00); his canteen and
    # Léa (7 on 1 January) are not certified; January 2027's payment belongs to 2027.
    assert amounts == {
        data["martin"].id: {data["tom"].id: 1500},
        data["diallo"].id: {data["zoe"].id: 1000},
    }
    assert await certificates.compute(2027) == {data["martin"].id: {data["tom"].id: 2000}}


async def test_the_run_issues_once_and_mails_paperless_families():
    data = await paid_care_2026()
    actor = await _regisseur()
    settings = default_settings()
    result = await certificates.issue_year(actor, 2026, settings)
    assert result == {"issued": 2, "emailed": 1, "existing": 0}
    rows = {r["family"]: r for r in await CareCertificate.select()}
    martin = rows[data["martin"].id]
    assert martin["amount_cents"] == 1500 and martin["emailed"] == "oui"
    assert [c["name"] for c in json.loads(martin["children"])] == ["Tom Martin"]
    assert rows[data["diallo"].id]["emailed"] == "non"
    mails = await OutboxEmail.select().where(OutboxEmail.kind == "attestation_garde")
    assert len(mails) == 1 and mails[0]["to_address"] == "martin@example.org"
    assert "/famille/attestations" in mails[0]["body_text"] and "15,00" in mails[0]["body_text"]
    again = await certificates.issue_year(actor, 2026, settings)
    assert again == {"issued": 0, "emailed": 0, "existing": 2}
    assert await CareCertificate.count() == 2 and await OutboxEmail.count() == 1
    with pytest.raises(Rejected):
        await certificates.issue_year(actor, 2027, settings)


async def test_the_pdf_is_the_familys_own():
    data = await paid_care_2026()
    await certificates.issue_year(await _regisseur(), 2026, default_settings())
    row = await CareCertificate.select().where(CareCertificate.family == data["martin"].id).first()
    content, name = await certificates.certificate_pdf(
        row["id"], data["martin"].id, default_settings()
    )
    assert name == "attestation-frais-de-garde-2026.pdf"
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "Tom Martin" in text and "15,00" in text and "Léa" not in text
    assert (
        await certificates.certificate_pdf(row["id"], data["diallo"].id, default_settings()) is None
    )
