"""Staff > Journal for people: every action in the filter with its French label, details in
French (euros, dates in words, field names, before → after, names instead of ids), and the
consultations of a record grouped per agent, family and day."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit import services as audit
from tests import factories
from tests.staff_factories import indexed_family, staff_actor, staff_client
from tests.support import soup


async def test_every_action_can_be_filtered_by_its_label(client):
    await staff_client(client)
    page = soup((await client.get("/agents/journal")).text)
    options = {o["value"]: o.get_text() for o in page.select("#action option")}
    assert set(audit.ACTIONS) <= set(options)
    assert options["booking_book"] == "Réservation par un agent"
    assert options["paiement_guichet"] == "Paiement enregistré au guichet de la régie"
    assert [f"#{name}" for name in ("action", "agent", "famille", "du", "au")] == [
        f"#{control['id']}"
        for control in page.select("#journal-filters select, #journal-filters input[id]")
    ]


async def test_lines_read_in_french(client):
    staff = await staff_client(client)
    actor = staff_actor(staff)
    family, _ = await indexed_family()
    child = await factories.make_child(family, "Léa")
    with clock.frozen(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)):
        await audit.record(
            actor,
            "paiement_guichet",
            family_id=family.id,
            target="Payment:7",
            details={"mode": "cheque", "montant_cents": 4250, "reference": "CHQ 1234"},
        )
        await audit.record(
            actor,
            "booking_cancel",
            family_id=family.id,
            target=f"child:{child.id}",
            details={"activity": "restauration", "day": "2026-12-07", "late": True},
        )
        for _ in range(3):
            await audit.record_view(actor, family.id)
    page = await client.get("/agents/journal")
    rows = soup(page.text).select("#journal-entries tbody tr")
    texts = [r.get_text(" ", strip=True) for r in rows]
    views, cancel, payment = texts
    assert "Consultation d’un dossier famille" in views and "3 consultations" in views
    assert "Annulation d’une réservation par un agent" in cancel and "Léa Martin" in cancel
    assert "7 décembre 2026" in cancel and "après la date limite : oui" in cancel
    assert "paiement n° 7" in payment and "montant : 42,50" in payment
    assert "mode de paiement : chèque" in payment
    for text in texts:
        for raw in ("_cents", "child:", "Payment:", "{", "paiement_guichet", "booking_cancel"):
            assert raw not in text, (raw, text)
    filtered = await client.get("/agents/journal", params={"action": "family_record_viewed"})
    assert len(soup(filtered.text).select("#journal-entries tbody tr")) == 1
