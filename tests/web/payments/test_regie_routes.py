"""The régie's pages over HTTP: journal de régie, bordereaux de remise, overdue list and
relances, paper invoices of a month. Full page, htmx fragment, no-JS post, bad input (422, values
kept), CSRF, roles (agent 403, family 404), unknown batch 404, and the files they download."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import InvoiceReminder, Payment, ReminderBatch
from tests import factories
from tests.conftest import default_settings
from tests.payments_factories import make_invoice
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

NOW = dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS)
OCT = dt.date(2026, 10, 1)


@pytest.fixture
def settings():
    # These pages need no Paybox settings: the shared app serves them (tests/conftest.py).
    return default_settings()


async def _regie(client, role: str = "regisseur"):
    """A régisseur logged in; Martin (paperless, e-mail) and Diallo (paper) each owe a late
    October invoice; a cheque and cash were recorded at the counter today."""
    clock.set_now(NOW)
    await factories.make_staff(role=role, display_name="Régisseur Test")
    martin = await factories.make_family("F00001", name="Martin", paperless=True)
    diallo = await factories.make_family("F00002", name="Diallo")
    await factories.make_guardian(diallo)
    late = {
        family.code: await make_invoice(family, 4000, due_on=dt.date(2026, 11, 1))
        for family in (martin, diallo)
    }
    paid = await make_invoice(martin, 1500)
    # October for the late ones; the other one out of the way (one invoice a family and month).
    await Invoice.update({Invoice.month: dt.date(1999, 1, 1)}).where(Invoice.id == paid.id)
    await Invoice.update({Invoice.month: OCT}).where(
        Invoice.id.is_in([i.id for i in late.values()])
    )
    await login_staff(client)
    return martin, diallo, late, paid


async def _record(client, family_code: str, invoice, **fields):
    data = {
        "famille": family_code,
        "facture": [str(invoice.id)],
        "montant": "10,00",
        "mode": "cheque",
        "reference": "CHQ 1234567",
        "tireur": "Mme Claire Martin",
        "banque": "Crédit Mutuel",
        "date": "20/11/2026",
        **fields,
    }
    response = await post_form(client, "/agents/paiements", data, from_page="/agents/paiements")
    assert response.status_code == 303, response.text[:500]
    return response


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))


def _cents(cell: str) -> int:
    units, _, rest = cell.partition(",")
    return int(units) * 100 + int(rest)


# --- The counter: the cheque's drawer and bank, chèques vacances, the receipt e-mail ----------


async def test_the_counter_records_a_cheques_drawer_and_bank_and_mails_the_receipt(client):
    martin, _, _, paid = await _regie(client)
    page = await client.get("/agents/paiements?famille=F00001")
    form = soup(page.text)
    assert form.select_one("#tireur") is not None and form.select_one("#banque") is not None
    assert form.select_one("#mode-ancv") is not None  # chèques vacances at the counter
    response = await _record(client, "F00001", paid, montant="15,00")
    receipt = await client.get(response.headers["location"])
    text = soup(receipt.text).select_one("#payment-receipt").get_text()
    assert "Mme Claire Martin" in text and "Crédit Mutuel" in text
    mail = await OutboxEmail.select().where(OutboxEmail.kind == "recu").first()
    assert mail["family"] == martin.id and paid.number in mail["body_text"]
    assert "Chèque, référence CHQ 1234567" in mail["body_text"]
    assert "Reste à payer sur l’ensemble de vos factures : 40,00" in mail["body_text"]


async def test_a_cheque_without_drawer_or_bank_is_422_and_nothing_is_written(client):
    _, _, _, paid = await _regie(client)
    data = {
        "famille": "F00001",
        "facture": [str(paid.id)],
        "montant": "15,00",
        "mode": "cheque",
        "reference": "CHQ 1",
        "tireur": "",
        "banque": "",
        "date": "20/11/2026",
    }
    response = await post_form(client, "/agents/paiements", data, from_page="/agents/paiements")
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#tireur", "#banque"]
    page = soup(response.text)
    assert "Indiquez la banque du chèque." in page.select_one("#banque-error").get_text()
    assert page.select_one("#reference")["value"] == "CHQ 1"
    assert await Payment.count() == 0 and await OutboxEmail.count() == 0


# --- Journal de régie ------------------------------------------------------------------------


async def test_the_journal_of_the_day_lists_every_payment_with_totals_per_mode(client):
    _, diallo, late, paid = await _regie(client)
    await _record(client, "F00001", paid, montant="15,00")
    await _record(client, "F00002", late["F00002"], montant="12,34", mode="especes", reference="")
    page = await client.get("/agents/paiements/journal")
    assert page.status_code == 200 and page.headers["vary"] == "HX-Request"
    html = soup(page.text)
    assert html.select_one("h1").get_text() == "Journal de régie"
    assert len(html.select("#journal-lines tbody tr")) == 2
    totals = {
        row.select_one("th").get_text(): row.select("td")[-1].get_text()
        for row in html.select("#journal-totals tbody tr")
    }
    assert totals["Chèque"] == "15,00\u00a0€" and totals["Espèces"] == "12,34\u00a0€"
    assert totals["CESU"] == "0,00\u00a0€"
    assert html.select_one("#journal-total").get_text() == "27,34\u00a0€"
    assert "Mme Claire Martin" in html.select_one("#journal-lines").get_text()
    fragment = await client.get(
        "/agents/paiements/journal?jour=19/11/2026", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="regie-journal"' in fragment.text and "Aucun paiement reçu" in fragment.text
    month = soup((await client.get("/agents/paiements/journal?mois=2026-11")).text)
    assert "de novembre 2026" in month.select_one("#regie-journal-title").get_text()
    assert len(month.select("#journal-lines tbody tr")) == 2


async def test_the_journal_downloads_total_the_payments_and_are_journalled(client):
    _, _, late, paid = await _regie(client)
    await _record(client, "F00001", paid, montant="15,00")
    await _record(client, "F00002", late["F00002"], montant="12,34", mode="especes", reference="")
    header, *rows = _rows(await client.get("/agents/paiements/journal.csv?jour=20/11/2026"))
    amount = header.index("Montant (€)")
    lines = [r for r in rows if not r[0].startswith("Total")]
    overall = next(r for r in rows if r[0] == "Total général")
    assert _cents(overall[amount]) == sum(_cents(r[amount]) for r in lines) == 2734
    pdf = await client.get("/agents/paiements/journal.pdf?mois=2026-11")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert 'filename="journal-regie-2026-11.pdf"' in pdf.headers["content-disposition"]
    assert await AuditLog.count().where(AuditLog.action == "journal_regie_telecharge") == 2


@pytest.mark.parametrize(
    ("query", "error", "kept"),
    [
        ("jour=31/02/2026", "#jour", "31/02/2026"),  # no such day: shown again as typed
        ("jour=21/11/2026", "#jour", "2026-11-21"),  # to come: a day, so the date input's ISO
        ("mois=1999-01", "#mois", None),
        ("mois=nimporte", "#mois", None),
    ],
)
async def test_a_bad_journal_period_is_422_with_the_value_kept(client, query, error, kept):
    await _regie(client)
    for path in ("/agents/paiements/journal", "/agents/paiements/journal.csv"):
        response = await client.get(f"{path}?{query}")
        assert response.status_code == 422, path
        assert error_summary_links(response.text) == [error]
        page = soup(response.text)
        assert page.title.string.startswith("Erreur : ")
        if kept is not None:
            assert page.select_one("#jour")["value"] == kept
    assert await AuditLog.count().where(AuditLog.action == "journal_regie_telecharge") == 0


# --- Bordereaux de remise --------------------------------------------------------------------


async def test_the_cheques_bordereau_lists_drawer_and_bank_and_totals_them(client):
    _, _, late, paid = await _regie(client)
    await _record(client, "F00001", paid, montant="15,00")
    await _record(
        client, "F00002", late["F00002"], montant="40,00", tireur="M. Diallo", banque="LCL"
    )
    await _record(client, "F00001", late["F00001"], montant="5,00", mode="especes", reference="")
    page = soup((await client.get("/agents/paiements/bordereau")).text)  # today's cheques
    cells = [
        [td.get_text() for td in tr.select("td")] for tr in page.select("#slip-lines tbody tr")
    ]
    assert [(c[4], c[5]) for c in cells] == [
        ("Mme Claire Martin", "Crédit Mutuel"),
        ("M. Diallo", "LCL"),
    ]
    assert (
        page.select_one("#slip-summary").get_text() == "2 paiements, pour un total de 55,00\u00a0€"
    )
    cash = await client.get(
        "/agents/paiements/bordereau?mode=especes&du=20/11/2026&au=20/11/2026",
        headers={"HX-Request": "true"},
    )
    assert cash.status_code == 200 and "<html" not in cash.text and 'id="regie-slip"' in cash.text
    assert "1 paiement, pour un total de 5,00" in cash.text
    header, *rows = _rows(await client.get("/agents/paiements/bordereau.csv?mode=cheque"))
    *lines, total = rows
    amount = header.index("Montant (€)")
    assert _cents(total[amount]) == sum(_cents(r[amount]) for r in lines) == 5500
    pdf = await client.get("/agents/paiements/bordereau.pdf?mode=cheque&du=20/11/2026")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert 'filename="bordereau-cheque-2026-11-20.pdf"' in pdf.headers["content-disposition"]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("mode=bitcoin", "#mode"),
        ("mode=cheque&du=20/11/2026&au=19/11/2026", "#au"),
        ("mode=cheque&du=hier", "#du"),
        ("mode=cheque&du=01/01/2025&au=20/11/2026", "#au"),
    ],
)
async def test_a_bad_bordereau_request_is_422(client, query, error):
    await _regie(client)
    for path in ("/agents/paiements/bordereau", "/agents/paiements/bordereau.pdf"):
        response = await client.get(f"{path}?{query}")
        assert response.status_code == 422, path
        assert error_summary_links(response.text) == [error]


# --- Impayés and relances --------------------------------------------------------------------


async def test_the_overdue_list_ages_and_filters_and_exports(client):
    _, _, late, _ = await _regie(client)
    page = soup((await client.get("/agents/paiements/impayes")).text)
    assert page.select_one("h1").get_text() == "Impayés et relances"
    assert len(page.select("#overdue-list tbody tr")) == 2
    ageing = {
        row.select_one("th").get_text(): row.select("td")[-1].get_text()
        for row in page.select("#ageing tbody tr")
    }
    assert ageing["0 à 30 jours"] == "80,00\u00a0€" and ageing["plus de 90 jours"] == "0,00\u00a0€"
    assert "2 factures à relancer" in page.select_one("#reminder-run").get_text()
    one = soup((await client.get("/agents/paiements/impayes?famille=f00002")).text)
    assert [a.get_text() for a in one.select("#overdue-list tbody th a")] == [late["F00002"].number]
    assert one.select_one("#famille")["value"] == "F00002"
    none = soup((await client.get("/agents/paiements/impayes?tranche=90%2B")).text)
    assert none.select_one("#overdue-list") is None
    header, *rows = _rows(await client.get("/agents/paiements/impayes.csv?relance=aucune"))
    assert len(rows) == 2 and header[0] == "Facture"
    assert _cents(rows[0][header.index("Reste dû (€)")]) == 4000
    bad = await client.get("/agents/paiements/impayes?tranche=12&famille=F00002")
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#tranche"]
    assert soup(bad.text).select_one("#famille")["value"] == "F00002"
    assert (await client.get("/agents/paiements/impayes.csv?relance=9")).status_code == 422


async def test_first_relances_without_javascript_then_again_refused(client):
    martin, diallo, late, _ = await _regie(client)
    response = await post_form(
        client, "/agents/paiements/relances", {"niveau": "1"}, from_page="/agents/paiements/impayes"
    )
    assert response.status_code == 303
    batch = await ReminderBatch.select().first()
    assert response.headers["location"] == f"/agents/paiements/relances/{batch['id']}"
    page = await client.get(response.headers["location"])
    html = soup(page.text)
    assert "1re relance envoyée pour 2 factures" in page.text  # the flash
    assert len(html.select("#batch-reminders tbody tr")) == 2
    assert await InvoiceReminder.count() == 2
    assert await OutboxEmail.count().where(OutboxEmail.kind == "relance") == 1  # Martin
    letters = await client.get(f"/agents/paiements/relances/{batch['id']}/courriers.pdf")
    assert letters.status_code == 200 and letters.content.startswith(b"%PDF")
    again = await post_form(
        client, "/agents/paiements/relances", {"niveau": "1"}, from_page="/agents/paiements/impayes"
    )
    assert again.status_code == 422 and error_summary_links(again.text) == ["#niveau"]
    assert "rien n’a été envoyé" in soup(again.text).select_one("#niveau-error").get_text()
    assert await InvoiceReminder.count() == 2 and await ReminderBatch.count() == 1


async def test_relances_with_htmx_and_bad_input(client):
    await _regie(client)
    bad = await post_form(
        client,
        "/agents/paiements/relances",
        {"niveau": "7"},
        from_page="/agents/paiements/impayes",
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "<html" not in bad.text
    assert 'id="reminder-run"' in bad.text and error_summary_links(bad.text) == ["#niveau"]
    good = await post_form(
        client,
        "/agents/paiements/relances",
        {"niveau": "1"},
        from_page="/agents/paiements/impayes",
        headers={"HX-Request": "true"},
    )
    batch = await ReminderBatch.select().first()
    assert good.status_code == 200
    assert good.headers["hx-redirect"] == f"/agents/paiements/relances/{batch['id']}"
    second = await post_form(
        client,
        "/agents/paiements/relances",
        {"niveau": "2"},
        from_page="/agents/paiements/impayes",
        headers={"HX-Request": "true"},
    )
    assert second.status_code == 422 and "2e relance" in second.text  # not before 15 days


async def test_letters_of_paid_invoices_are_not_printed(client):
    _, diallo, late, _ = await _regie(client)
    await post_form(
        client, "/agents/paiements/relances", {"niveau": "1"}, from_page="/agents/paiements/impayes"
    )
    batch = await ReminderBatch.select().first()
    await _record(client, "F00002", late["F00002"], montant="40,00", mode="especes", reference="")
    page = await client.get(f"/agents/paiements/relances/{batch['id']}")
    assert "Plus aucune lettre à imprimer" in page.text
    letters = await client.get(f"/agents/paiements/relances/{batch['id']}/courriers.pdf")
    assert letters.status_code == 303
    assert letters.headers["location"] == f"/agents/paiements/relances/{batch['id']}"
    assert (await client.get("/agents/paiements/relances/999")).status_code == 404
    assert (await client.get("/agents/paiements/relances/999/courriers.pdf")).status_code == 404


# --- A month's paper invoices ----------------------------------------------------------------


async def test_the_paper_invoices_of_a_month_are_counted_then_downloaded(client):
    await _regie(client)
    # Martin's October invoice went by e-mail, Diallo's by post.
    await Invoice.update({Invoice.paperless: "courriel"}).where(Invoice.family_name == "Martin")
    page = soup((await client.get("/agents/paiements/factures-papier?mois=2026-10")).text)
    assert page.select_one("#paper-count").get_text().strip() == "1 facture papier d’octobre 2026."
    link = page.select_one("#paper-invoices a.button")["href"]
    assert link == "/agents/paiements/factures-papier.pdf?mois=2026-10"
    pdf = await client.get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert 'filename="factures-papier-2026-10-1.pdf"' in pdf.headers["content-disposition"]
    fragment = await client.get(
        "/agents/paiements/factures-papier?mois=2026-09", headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text and "Aucune facture papier pour ce mois." in fragment.text
    assert (
        await client.get("/agents/paiements/factures-papier.pdf?mois=2026-09")
    ).status_code == 404
    default = soup((await client.get("/agents/paiements/factures-papier")).text)
    assert default.select_one("#mois option[selected]")["value"] == "2026-10"  # last month
    bad = await client.get("/agents/paiements/factures-papier.pdf?mois=2020-01")
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#mois"]


# --- Who may --------------------------------------------------------------------------------

PAGES = [
    "/agents/paiements/journal",
    "/agents/paiements/journal.csv",
    "/agents/paiements/journal.pdf",
    "/agents/paiements/bordereau",
    "/agents/paiements/bordereau.csv",
    "/agents/paiements/bordereau.pdf",
    "/agents/paiements/impayes",
    "/agents/paiements/impayes.csv",
    "/agents/paiements/relances/1",
    "/agents/paiements/relances/1/courriers.pdf",
    "/agents/paiements/factures-papier",
    "/agents/paiements/factures-papier.pdf",
]


async def test_an_agent_may_not_and_a_family_does_not_see_the_regie(client, other_client):
    await _regie(client, role="agent")
    for path in PAGES:
        assert (await client.get(path)).status_code == 403, path
    refused = await post_form(
        client, "/agents/paiements/relances", {"niveau": "1"}, from_page="/agents/"
    )
    assert refused.status_code == 403
    await login_family(other_client)
    for path in PAGES:
        assert (await other_client.get(path)).status_code == 404, path
    assert await InvoiceReminder.count() == 0


async def test_relances_need_the_csrf_token(client):
    await _regie(client)
    response = await client.post("/agents/paiements/relances", data={"niveau": "1"})
    assert response.status_code == 403
    assert await InvoiceReminder.count() == 0 and await ReminderBatch.count() == 0
