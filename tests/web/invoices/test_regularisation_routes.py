"""The régisseur's new pages and forms: billing a month in advance (only once the warning is
confirmed), the régularisations and their correction run, credit notes per day and refunds;
and what the family sees of them. Full page, htmx fragment, no-JS post, bad input, CSRF, roles,
another family's documents."""

from __future__ import annotations

import asyncio
import datetime as dt

from ecp import clock
from ecp.commune.tables import BillingPeriod, Closure
from ecp.invoices import billing
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import BillingRun, CreditRefund, Invoice, InvoiceLine
from ecp.payments.allocation import record_payment
from tests import factories
from tests.invoices_factories import NOV, make_billed_family, make_commune
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

D = dt.date
# The clock is frozen for the whole test, sessions included.
DEC_1 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=clock.PARIS)
DEC_3 = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock.PARIS)
BILLING = "/agents/facturation"
REGULARISATIONS = "/agents/facturation/regularisations"


async def _wait_runs():
    while billing.RUNNING:
        await asyncio.gather(*list(billing.RUNNING))


async def _regie(client, now=DEC_3):
    clock.set_now(now)
    await factories.make_staff(username="regie", role="regisseur")
    await login_staff(client, username="regie")


async def _billed(settings, **family):
    clock.set_now(DEC_1)
    commune = await make_commune()
    martin, lea = await make_billed_family(commune, code="F00001", days=(2, 3, 5), **family)
    diallo, _ = await make_billed_family(
        commune, code="F00002", name="Diallo", days=(2,), password="demo-famille-2"
    )
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().where(Invoice.family == martin.id).first()
    line = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"]).first()
    return commune, martin, diallo, invoice, line


# ==== Billing in advance ==========================================================================


async def test_the_current_month_is_billed_only_once_the_warning_is_confirmed(client):
    await _regie(client, now=DEC_1)
    commune = await make_commune()
    await make_billed_family(commune, code="F00001", days=(2,), month=D(2026, 12, 1))
    page = await client.get(BILLING)
    options = [o["value"] for o in soup(page.text).select("#mois option")]
    assert options[:3] == ["2027-01", "2026-12", "2026-11"]
    assert soup(page.text).select_one("#mois option[selected]")["value"] == "2026-11"
    assert soup(page.text).select_one("#confirmation") is None

    refused = await post_form(client, BILLING, {"mois": "2026-12"}, from_page=BILLING)
    assert refused.status_code == 422
    html = soup(refused.text)
    assert html.title.string.startswith("Erreur : ")
    assert error_summary_links(refused.text) == ["#confirmation"]
    warning = html.select_one("#advance-warning").get_text(" ", strip=True)
    assert "Les réservations de décembre 2026 pourront encore changer" in warning
    assert "régularisé le mois suivant" in warning
    box = html.select_one("#confirmation")
    assert box["value"] == "2026-12" and not box.has_attr("checked")
    assert html.select_one("#mois option[selected]")["value"] == "2026-12"
    # A box ticked for another month confirms nothing.
    other = await post_form(
        client, BILLING, {"mois": "2027-01", "confirmation": "2026-12"}, from_page=BILLING
    )
    assert other.status_code == 422 and error_summary_links(other.text) == ["#confirmation"]
    assert await BillingRun.count() == 0 and await BillingPeriod.count() == 0

    response = await post_form(
        client, BILLING, {"mois": "2026-12", "confirmation": "2026-12"}, from_page=BILLING
    )
    assert response.status_code == 303
    await _wait_runs()
    assert await Invoice.count() == 1
    period = await BillingPeriod.select().first()
    assert period["in_advance"] is True and period["state"] == "facturee"
    listed = await client.get(REGULARISATIONS)
    assert "facturé (en avance)" in soup(listed.text).select_one("#billing-periods").get_text()


async def test_a_family_cannot_change_a_billed_day_in_its_week(client, settings):
    from tests import booking_factories as bf

    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    await run_billing(D(2026, 12, 1), settings=settings)  # December, in advance
    await login_family(client)
    cell = {
        "enfant": lea.id,
        "activite": commune.activities["restauration"].id,
        "jour": bf.MONDAY.isoformat(),
        "semaine": bf.WEEK,
        "action": "reserver",
    }
    response = await post_form(
        client,
        "/famille/reservations",
        cell,
        from_page="/famille/reservations",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert "Décembre 2026 est déjà facturé" in response.text


# ==== Régularisations =============================================================================


async def test_regularisations_are_listed_then_settled_once_without_js(client, settings):
    _, martin, _, invoice, _ = await _billed(settings)
    await Closure(starts_on=D(2026, 11, 3), ends_on=D(2026, 11, 3), reason="Grève").save()
    await _regie(client)
    page = await client.get(REGULARISATIONS)
    assert page.status_code == 200 and soup(page.text).h1.get_text() == "Régularisations"
    table = soup(page.text).select_one("#regularisation-F00001")
    assert "Famille Martin (F00001)" in table.caption.get_text()
    row = table.select_one("tbody tr").get_text(" ", strip=True)
    assert "mardi 3 novembre" in row and "fermeture" in row and "avoir de 2,10" in row
    assert soup(page.text).select_one("#regularisation-F00002") is None  # nothing changed
    fragment = await client.get(f"{REGULARISATIONS}?mois=2026-11", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="regularisations"' in fragment.text

    response = await post_form(
        client, REGULARISATIONS, {"mois": "2026-11"}, from_page=REGULARISATIONS
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{REGULARISATIONS}?mois=2026-11"
    follow = await client.get(response.headers["location"])
    assert "Régularisation de novembre 2026\u00a0: 1 avoir émis pour 1 famille." in follow.text
    documents = soup(follow.text).select_one("#regularisation-documents").get_text(" ", strip=True)
    assert "Avoir AV-" in documents and "Martin (F00001)" in documents
    assert "Rien à régulariser" in follow.text
    again = await post_form(client, REGULARISATIONS, {"mois": "2026-11"}, from_page=REGULARISATIONS)
    follow = await client.get(again.headers["location"])
    assert "Rien à régulariser de novembre 2026\u00a0: aucun document émis." in follow.text
    assert await Invoice.count().where(Invoice.kind == "avoir") == 1

    # The family sees the credit note and its effect: deducted from its invoice.
    client.cookies.clear()
    await login_family(client)
    listing = await client.get("/famille/factures")
    assert "Avoir AV-" in listing.text
    credit = await Invoice.select().where(Invoice.kind == "avoir").first()
    detail = await client.get(f"/famille/factures/{credit['id']}")
    text = soup(detail.text).get_text(" ", strip=True)
    assert "Motif : fermeture" in text.replace("\u00a0", " ")
    assert f"Déduit de la facture {invoice['number']}" in text
    own = await client.get(f"/famille/factures/{invoice['id']}")
    assert f"Avoir {credit['number']} déduit" in own.text
    assert "4,20" in soup(own.text).select_one(".invoice-remaining").get_text()


async def test_regularisations_refuse_a_month_not_billed_and_guard_their_forms(client, settings):
    await _billed(settings)
    await _regie(client)
    refused = await post_form(
        client, REGULARISATIONS, {"mois": "2026-10"}, from_page=REGULARISATIONS
    )
    assert refused.status_code == 422
    assert error_summary_links(refused.text) == ["#regularisations-title"]
    assert "Octobre 2026 n’est pas facturé" in refused.text
    fragment = await post_form(
        client,
        REGULARISATIONS,
        {"mois": "x"},
        from_page=REGULARISATIONS,
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert (await client.get(f"{REGULARISATIONS}?mois=2026-05")).status_code == 404
    assert (await client.get(f"{REGULARISATIONS}?mois=mai")).status_code == 404
    assert (await client.post(REGULARISATIONS, data={"mois": "2026-11"})).status_code == 403
    client.cookies.clear()
    await factories.make_staff(username="agent2", role="agent")
    await login_staff(client, username="agent2")
    assert (await client.get(REGULARISATIONS)).status_code == 403
    client.cookies.clear()
    await login_family(client)
    assert (await client.get(REGULARISATIONS)).status_code == 404
    assert await Invoice.count() == 2


# ==== Credit notes per day and refunds ============================================================


async def test_a_credit_note_for_some_days_of_a_line(client, settings):
    _, martin, diallo, invoice, line = await _billed(settings)
    await _regie(client)
    url = f"/agents/factures/{invoice['id']}"
    page = soup((await client.get(url)).text)
    boxes = [b["value"] for b in page.select("#credit-note-form input[name=jour]")]
    assert boxes == [f"{line['id']}-2026-11-0{d}" for d in (2, 3, 5)]
    reasons = [r["value"] for r in page.select("#credit-note-form input[name=raison]")]
    assert reasons == [
        "sortie_scolaire",
        "maladie_certificat",
        "fermeture",
        "erreur_pointage",
        "autre",
    ]

    bad = await post_form(
        client,
        f"{url}/avoir",
        {"jour": f"{line['id']}-2026-11-03", "raison": "autre"},
        from_page=url,
    )
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#motif"]
    assert soup(bad.text).select_one(f"#jour-{line['id']}-2026-11-03").has_attr("checked")
    assert soup(bad.text).select_one("#raison-autre").has_attr("checked")
    fragment = await post_form(
        client,
        f"{url}/avoir",
        {"raison": "fermeture"},
        from_page=url,
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert error_summary_links(fragment.text) == ["#ligne"]

    response = await post_form(
        client,
        f"{url}/avoir",
        {"jour": f"{line['id']}-2026-11-03", "raison": "sortie_scolaire", "motif": "Musée"},
        from_page=url,
    )
    assert response.status_code == 303
    credit = await Invoice.select().where(Invoice.kind == "avoir").first()
    assert credit["total_cents"] == -210 and credit["note"] == "Sortie scolaire\u00a0: Musée"
    follow = await client.get(response.headers["location"])
    assert f"Avoir {credit['number']} émis sur la facture {invoice['number']}." in follow.text
    assert f"2,10\u00a0€ sur {invoice['number']}" in follow.text.replace("\u202f", "\u00a0")
    again = soup((await client.get(url)).text)
    day = again.select_one(f"#jour-{line['id']}-2026-11-03")
    assert day.has_attr("disabled") and "déjà annulé" in day.find_next("label").get_text()

    client.cookies.clear()
    await login_family(client)
    assert (await client.get(f"/famille/factures/{credit['id']}")).status_code == 200
    await login_family(client, code="F00002", password="demo-famille-2")
    assert (await client.get(f"/famille/factures/{credit['id']}")).status_code == 404


async def test_a_credit_note_left_to_refund_is_refunded_by_the_regie(client, settings):
    _, martin, _, invoice, line = await _billed(settings)
    await record_payment(
        family_id=martin.id, method="especes", amount_cents=630, invoice_ids=[invoice["id"]]
    )
    await _regie(client)
    url = f"/agents/factures/{invoice['id']}"
    await post_form(
        client, f"{url}/avoir", {"ligne": str(line["id"]), "raison": "fermeture"}, from_page=url
    )
    credit = await Invoice.select().where(Invoice.kind == "avoir").first()
    credit_url = f"/agents/factures/{credit['id']}"
    page = soup((await client.get(credit_url)).text)
    assert "6,30" in page.select_one("#refund-form").get_text()

    bad = await post_form(
        client,
        f"{credit_url}/remboursement",
        {"mode": "cheque", "date": "03/12/2026", "reference": ""},
        from_page=credit_url,
    )
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#reference"]
    assert soup(bad.text).select_one("#mode-cheque").has_attr("checked")
    assert soup(bad.text).select_one("#date")["value"] == "03/12/2026"
    fragment = await post_form(
        client,
        f"{credit_url}/remboursement",
        {"mode": "virement", "date": "31/12/2026", "reference": "V"},
        from_page=credit_url,
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="refund-form"' in fragment.text and "#date" in fragment.text
    assert (
        await client.post(f"{credit_url}/remboursement", data={"mode": "especes"})
    ).status_code == 403
    missing = await post_form(
        client,
        "/agents/factures/9999/remboursement",
        {"mode": "especes", "date": "03/12/2026"},
        from_page=credit_url,
    )
    assert missing.status_code == 404

    response = await post_form(
        client,
        f"{credit_url}/remboursement",
        {"mode": "virement", "date": "03/12/2026", "reference": "VIR-2026-12-03"},
        from_page=credit_url,
    )
    assert response.status_code == 303
    follow = await client.get(response.headers["location"])
    assert "Remboursement de 6,30" in follow.text and credit["number"] in follow.text
    assert "Remboursé le 03/12/2026 par virement (référence VIR-2026-12-03)" in follow.text
    assert soup(follow.text).select_one("#refund-form") is None
    assert await CreditRefund.count() == 1

    client.cookies.clear()
    await factories.make_staff(username="agent2", role="agent")
    await login_staff(client, username="agent2")
    assert (await client.get(credit_url)).status_code == 403


async def test_the_family_list_shows_a_credit_in_its_favour(client, settings):
    clock.set_now(DEC_3)
    _, martin, _, invoice, line = await _billed(settings)
    clock.set_now(DEC_3)
    await record_payment(
        family_id=martin.id, method="especes", amount_cents=630, invoice_ids=[invoice["id"]]
    )
    from ecp.invoices.credit_notes import issue_credit_note

    await issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], cause="fermeture", reason=""
    )
    await login_family(client)
    page = soup((await client.get("/famille/factures")).text)
    figures = page.select_one(".figures").get_text(" ", strip=True)
    assert "Avoirs en votre faveur" in figures and "6,30" in figures
    assert "en votre faveur" in page.select_one("#invoice-list").get_text()
    assert "avoir à rembourser" in page.select_one("#invoice-list").get_text()


# ==== Pointage, which feeds billing ===============================================================


async def test_a_day_to_come_cannot_be_pointed(client):
    from ecp.booking import services as booking
    from ecp.booking.tables import Attendance
    from tests import booking_factories as bf

    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    canteen = commune.activities["restauration"].id
    await booking.book(lea.id, canteen, bf.MONDAY, family_id=family.id)
    await factories.make_staff(username="agent2", role="agent")
    await login_staff(client, username="agent2")
    url = f"/agents/effectifs?jour={bf.MONDAY.isoformat()}"
    response = await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": bf.MONDAY.isoformat(),
            "ecole": commune.school.id,
            "activite": canteen,
            f"statut_{lea.id}": "absent",
        },
        from_page=url,
    )
    assert response.status_code == 422
    assert "On ne pointe pas un jour à venir" in response.text
    assert soup(response.text).h1 is not None
    assert await Attendance.count() == 0
