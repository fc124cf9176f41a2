"""SEPA direct debit: the mandate (family and counter), the IBAN encrypted and masked, the
pre-notification on the invoice, no card payment for debited invoices, the month's pain.008
file (schema-valid, the right families and amounts, FRST then RCUR) and rejected debits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sepaxml
from lxml import etree

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.families.tables import DirectDebitMandate
from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments import debits, mandates
from ecp.payments.tables import DebitBatch, DirectDebit, Payment
from tests import factories
from tests.payments_factories import make_invoice
from tests.staff_factories import staff_client
from tests.support import error_summary_links, login_family, post_form, soup

IBAN = "FR7630006000011234567890189"
IBAN_SPACED = "FR76 3000 6000 0112 3456 7890 189"
IBAN_2 = "FR1420041010050500013M02606"
NS = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"


@pytest.fixture
def settings(settings):
    return settings.with_(
        sepa_creditor_id="FR12ZZZ123456",
        sepa_creditor_iban="FR7610107001011234567890129",
        sepa_creditor_bic="BREDFRPPXXX",
    )


async def mandate_form(client, path="/famille/prelevement", **values):
    data = {"titulaire": "Claire Martin", "iban": IBAN_SPACED, "bic": "", "signature": ""}
    data["signature"] = clock.today().isoformat()
    data.update(values)
    return await post_form(client, path, data, from_page=path)


# --- The mandate ---------------------------------------------------------------------------


async def test_the_family_page_and_its_fragment(client):
    await factories.make_family("F00001")
    await login_family(client)
    page = await client.get("/famille/prelevement")
    assert page.status_code == 200 and "<html" in page.text
    assert soup(page.text).h1.text.startswith("Prélèvement automatique")
    fragment = await client.get("/famille/prelevement", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="mandate-section"' in fragment.text


async def test_a_wrong_iban_is_refused_in_french_with_the_values_kept(client):
    await factories.make_family("F00001")
    await login_family(client)
    response = await mandate_form(client, iban="FR76 3000 6000 0112 3456 7890 188")
    assert response.status_code == 422
    page = soup(response.text)
    assert (
        "IBAN invalide : la clé de contrôle ne correspond pas"
        in page.select_one("#iban-error").text
    )
    assert error_summary_links(response.text) == ["#iban"]
    assert page.select_one("#titulaire")["value"] == "Claire Martin"
    assert page.title.text.startswith("Erreur")
    too_short = await mandate_form(client, iban="FR7630006")
    assert "IBAN invalide : sa longueur" in too_short.text
    bad_bic = await mandate_form(client, bic="DEUTDEFF")
    assert bad_bic.status_code == 422 and "BIC invalide" in bad_bic.text
    no_holder = await mandate_form(client, titulaire="")
    assert error_summary_links(no_holder.text) == ["#titulaire"]
    assert await DirectDebitMandate.count() == 0


async def test_a_mandate_is_recorded_with_its_iban_sealed(client, settings):
    family = await factories.make_family("F00001")
    await login_family(client)
    response = await mandate_form(client)
    assert response.status_code == 303
    row = await DirectDebitMandate.select().first()
    assert IBAN not in row["iban_sealed"] and "0189" not in row["iban_sealed"]
    assert row["iban_hint"] == "FR76 … 0189" and row["bic"] == "AGRIFRPPXXX"
    assert row["rum"].startswith("ECPF00001") and len(row["rum"]) <= 35
    assert (
        mandates.open_iban(settings, row["iban_sealed"], family_id=family.id, rum=row["rum"])
        == IBAN
    )
    with pytest.raises(ValueError):
        mandates.open_iban(settings, row["iban_sealed"], family_id=family.id + 1, rum=row["rum"])
    page = await client.get(response.headers["location"])
    assert row["rum"] in page.text and IBAN not in page.text.replace(" ", "")
    # A new account replaces the mandate: one active, a new RUM.
    again = await mandate_form(client, iban=IBAN_2, bic="")
    assert again.status_code == 303
    rows = await DirectDebitMandate.select().order_by(DirectDebitMandate.id)
    assert [r["status"] for r in rows] == ["revoque", "actif"]
    assert rows[0]["rum"] != rows[1]["rum"]


async def test_the_htmx_post_swaps_the_section(client):
    await factories.make_family("F00001")
    await login_family(client)
    response = await post_form(
        client,
        "/famille/prelevement",
        {
            "titulaire": "Claire Martin",
            "iban": IBAN,
            "bic": "",
            "signature": clock.today().isoformat(),
        },
        from_page="/famille/prelevement",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "Mandat en cours" in response.text and "FR76 … 0189" in response.text


async def test_csrf_is_required(client):
    await factories.make_family("F00001")
    await login_family(client)
    response = await client.post("/famille/prelevement", data={"titulaire": "X", "iban": IBAN})
    assert response.status_code == 403
    assert await DirectDebitMandate.count() == 0


async def test_the_family_prints_its_mandate_with_the_full_iban(client, settings):
    await factories.make_family("F00001")
    await login_family(client)
    assert (await client.get("/famille/prelevement/mandat.pdf")).status_code == 404
    await mandate_form(client)
    response = await client.get("/famille/prelevement/mandat.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    printable = await mandates.printable_mandate(
        settings, (await DirectDebitMandate.select().first())["family"], full_iban=True
    )
    assert printable["iban"] == IBAN_SPACED


async def test_an_agent_records_a_mandate_at_the_counter_and_never_sees_the_iban(client, settings):
    family = await factories.make_family("F00001", name="Martin")
    await staff_client(client, role="agent")
    path = f"/agents/familles/{family.id}/prelevement"
    page = await client.get(path)
    assert page.status_code == 200 and "famille Martin" in soup(page.text).h1.text
    response = await mandate_form(client, path)
    assert response.status_code == 303
    shown = await client.get(path)
    assert "FR76 … 0189" in shown.text and IBAN not in shown.text.replace(" ", "")
    row = await DirectDebitMandate.select().first()
    assert row["recorded_by"] == "Agent Test"
    log = await AuditLog.select().where(AuditLog.action == "mandat_prelevement_enregistre").first()
    assert log["family"] == family.id and IBAN not in str(log["details"])
    printable = await mandates.printable_mandate(settings, family.id, full_iban=False)
    assert printable["iban"] == "FR76 … 0189"
    assert (await client.get(f"{path}/mandat.pdf")).status_code == 200
    assert (await client.get("/agents/familles/999999/prelevement")).status_code == 404


async def test_the_family_record_links_to_the_mandate(client):
    family = await factories.make_family("F00001")
    await staff_client(client, role="agent")
    page = await client.get(f"/agents/familles/{family.id}")
    assert f"/agents/familles/{family.id}/prelevement" in page.text


async def test_a_family_cannot_use_the_staff_pages(client):
    family = await factories.make_family("F00001")
    await login_family(client)
    response = await client.get(f"/agents/familles/{family.id}/prelevement", follow_redirects=False)
    # The staff side does not exist for a family session (the /agents guard).
    assert response.status_code in (303, 403, 404)
    staff_page = await client.get("/agents/prelevements", follow_redirects=False)
    assert staff_page.status_code in (303, 403, 404)
    assert await DirectDebitMandate.count() == 0


# --- Pre-notification and no card ----------------------------------------------------------


async def family_on_debit(settings, code="F00001", name="Martin", totals=(4250,), iban=IBAN):
    family = await factories.make_family(code, name=name)
    await factories.make_guardian(family)
    await mandates.record_mandate(
        settings, family_id=family.id, holder=f"Claire {name}", iban=iban, bic="", signed_on=None
    )
    invoices = [await make_invoice(family, total) for total in totals]
    return family, invoices


async def test_the_invoice_pre_notifies_the_debit_and_card_is_not_offered(client, settings):
    _, invoices = await family_on_debit(settings)
    await login_family(client)
    page = soup((await client.get(f"/famille/factures/{invoices[0].id}")).text)
    notice = page.select_one("#direct-debit").text
    assert "42,50\u00a0€" in notice and "FR76 … 0189" in notice
    assert clock.today().year and "sera prélevée" in notice
    payments = soup((await client.get("/famille/paiements")).text)
    assert payments.select("input[name=factures]") == []
    refused = await post_form(
        client,
        "/famille/paiements",
        {"factures": [str(invoices[0].id)]},
        from_page="/famille/paiements",
    )
    assert refused.status_code == 422 and "prélèvement automatique" in refused.text


async def test_the_invoice_email_pre_notifies_the_debit(settings):
    from ecp.mail.notices import queue_invoice_notices

    family, invoices = await family_on_debit(settings)
    item = {
        "invoice_id": invoices[0].id,
        "number": invoices[0].number,
        "family_id": family.id,
        "email": family.email,
        "family_name": family.name,
        "total_cents": 4250,
        "due_on": invoices[0].due_on,
        "month": invoices[0].month,
    }
    await queue_invoice_notices([item], settings)
    mail = await OutboxEmail.select().first()
    assert "Prélèvement automatique : 42,50" in mail["body_text"]
    assert "FR76 … 0189" in mail["body_text"] and "prélevés le" in mail["body_html"]


# --- The month's file ----------------------------------------------------------------------


async def month_setup(settings):
    """Martin and Diallo on direct debit, Petit paying by card, one month of invoices."""
    martin, m_inv = await family_on_debit(settings, "F00001", "Martin", (4250,))
    diallo, d_inv = await family_on_debit(settings, "F00002", "Diallo", (1890,), iban=IBAN_2)
    petit = await factories.make_family("F00003", name="Petit")
    p_inv = await make_invoice(petit, 3000)
    month = dt.date(2026, 10, 1)
    await Invoice.update({Invoice.month: month}).where(
        Invoice.id.is_in([m_inv[0].id, d_inv[0].id, p_inv.id])
    )
    return month, {"Martin": m_inv[0], "Diallo": d_inv[0], "Petit": p_inv}


def parsed(xml: str):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(xml.encode())
    schema.assertValid(doc)
    return doc


async def test_the_month_file_is_valid_and_lists_the_right_families(client, settings):
    month, invoices = await month_setup(settings)
    await staff_client(client, role="regisseur")
    page = await client.get("/agents/prelevements")
    assert page.status_code == 200 and soup(page.text).h1.text == "Prélèvements SEPA"
    response = await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    assert response.status_code == 303, response.text[:600]
    batch = await DebitBatch.select().first()
    assert response.headers["location"] == f"/agents/prelevements/{batch['id']}"
    download = await client.get(f"/agents/prelevements/{batch['id']}/fichier.xml")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    doc = parsed(download.text)
    tx = doc.findall(f".//{{{NS}}}DrctDbtTxInf")
    found = sorted(
        (
            t.find(f"{{{NS}}}Dbtr/{{{NS}}}Nm").text,
            t.find(f"{{{NS}}}InstdAmt").text,
            t.find(f"{{{NS}}}DbtrAcct/{{{NS}}}Id/{{{NS}}}IBAN").text,
        )
        for t in tx
    )
    assert found == [("Claire Diallo", "18.90", IBAN_2), ("Claire Martin", "42.50", IBAN)]
    assert doc.find(f".//{{{NS}}}GrpHdr/{{{NS}}}CtrlSum").text == "61.40"
    assert {s.text for s in doc.iter(f"{{{NS}}}SeqTp")} == {"FRST"}
    assert doc.find(f".//{{{NS}}}CdtrSchmeId//{{{NS}}}Othr/{{{NS}}}Id").text == "FR12ZZZ123456"
    # Marked and paid through the allocation; the card family untouched.
    for name, total in (("Martin", 4250), ("Diallo", 1890), ("Petit", 0)):
        row = (
            await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoices[name].id).first()
        )
        assert row["paid_cents"] == total
    assert await DirectDebit.count() == 2
    assert {p["method"] for p in await Payment.select(Payment.method)} == {"prelevement"}
    detail = await client.get(f"/agents/prelevements/{batch['id']}")
    assert "Diallo" in detail.text and "FR14 … 2606" in detail.text and IBAN_2 not in detail.text
    # The same month again: nothing left to debit.
    again = await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    assert again.status_code == 422 and "Aucune facture à prélever" in again.text
    assert error_summary_links(again.text) == ["#mois"]
    assert await DebitBatch.count() == 1
    journal = [r["action"] for r in await AuditLog.select(AuditLog.action)]
    assert "fichier_prelevement_produit" in journal and "fichier_prelevement_telecharge" in journal


async def test_the_next_month_is_rcur(client, settings):
    month, invoices = await month_setup(settings)
    await staff_client(client, role="regisseur")
    await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    # One more invoice of Martin's, for November.
    family_id = (
        await Invoice.select(Invoice.family).where(Invoice.id == invoices["Martin"].id).first()
    )["family"]
    november = Invoice(
        number="FAC-2026-NOV-1",
        kind="facture",
        family=family_id,
        month=dt.date(2026, 11, 1),
        issued_at=clock.now(),
        due_on=clock.today() + dt.timedelta(days=20),
        total_cents=1200,
        paid_cents=0,
        family_name="Martin",
    )
    await november.save()
    response = await post_form(
        client, "/agents/prelevements", {"mois": "2026-11"}, from_page="/agents/prelevements"
    )
    assert response.status_code == 303
    batch = await DebitBatch.select().order_by(DebitBatch.id, ascending=False).first()
    doc = parsed(batch["xml"])
    assert [s.text for s in doc.iter(f"{{{NS}}}SeqTp")] == ["RCUR"]


async def test_the_month_form_refuses_bad_input_and_htmx_gets_the_fragment(client, settings):
    await staff_client(client, role="regisseur")
    bad = await post_form(
        client, "/agents/prelevements", {"mois": "2026-13"}, from_page="/agents/prelevements"
    )
    assert bad.status_code == 422 and "AAAA-MM" in bad.text
    fragment = await post_form(
        client,
        "/agents/prelevements",
        {"mois": "2026-10"},
        from_page="/agents/prelevements",
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="debit-month"' in fragment.text
    no_csrf = await client.post("/agents/prelevements", data={"mois": "2026-10"})
    assert no_csrf.status_code == 403


async def test_without_the_creditor_settings_no_file_is_made(client, settings, app_for):
    from tests.conftest import make_client

    bare = settings.with_(
        sepa_creditor_id="", sepa_creditor_iban="", sepa_creditor_bic="", payment_simulator=False
    )
    async with make_client(app_for(bare)) as c:
        await staff_client(c, role="regisseur")
        page = await c.get("/agents/prelevements")
        assert "ECP_SEPA_ICS" in page.text
        response = await post_form(
            c, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
        )
        assert response.status_code == 422 and "ECP_SEPA_ICS" in response.text


async def test_an_agent_cannot_produce_a_file(client):
    await staff_client(client, role="agent")
    assert (await client.get("/agents/prelevements")).status_code == 403


# --- Rejects -------------------------------------------------------------------------------


async def test_a_rejected_debit_puts_the_invoice_back_to_pay_and_tells_the_family(client, settings):
    month, invoices = await month_setup(settings)
    await staff_client(client, role="regisseur")
    await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    batch = await DebitBatch.select().first()
    debit = await DirectDebit.select().where(DirectDebit.invoice == invoices["Martin"].id).first()
    path = f"/agents/prelevements/rejets/{debit['id']}"
    from_page = f"/agents/prelevements/{batch['id']}"
    bad = await post_form(client, path, {"motif": "XX99"}, from_page=from_page)
    assert bad.status_code == 422
    assert error_summary_links(bad.text) == [f"#motif-{debit['id']}"]
    response = await post_form(client, path, {"motif": "AM04"}, from_page=from_page)
    assert response.status_code == 303 and response.headers["location"] == from_page
    row = (
        await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoices["Martin"].id).first()
    )
    assert row["paid_cents"] == 0
    assert (await DirectDebit.select().where(DirectDebit.id == debit["id"]).first())[
        "status"
    ] == "rejete"
    mails = await OutboxEmail.select().where(OutboxEmail.kind == "prelevement_rejete")
    assert len(mails) == 1 and "Provision insuffisante".lower() in mails[0]["body_text"]
    assert (
        sum(
            p["amount_cents"]
            for p in await Payment.select().where(Payment.family == debit["family"])
        )
        == 0
    )
    twice = await post_form(client, path, {"motif": "AM04"}, from_page=from_page)
    assert twice.status_code == 422 and "déjà enregistré comme rejeté" in twice.text
    assert (
        await post_form(
            client, "/agents/prelevements/rejets/99999", {"motif": "AM04"}, from_page=from_page
        )
    ).status_code == 404
    # Back to pay: the family may pay it by card again.
    refused = await mandates.card_refused(
        debit["family"], [{"id": invoices["Martin"].id, "due_on": clock.today()}]
    )
    assert refused == set()
    # Included again in the next file of that month, as FRST (the first one was rejected).
    again = await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    assert again.status_code == 303
    second = await DebitBatch.select().order_by(DebitBatch.id, ascending=False).first()
    assert [s.text for s in parsed(second["xml"]).iter(f"{{{NS}}}SeqTp")] == ["FRST"]


async def test_the_reject_form_answers_htmx_with_the_table(client, settings):
    await month_setup(settings)
    await staff_client(client, role="regisseur")
    await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    batch = await DebitBatch.select().first()
    debit = await DirectDebit.select().first()
    response = await post_form(
        client,
        f"/agents/prelevements/rejets/{debit['id']}",
        {"motif": "AC04"},
        from_page=f"/agents/prelevements/{batch['id']}",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "Compte clôturé" in response.text


def test_reject_reasons_and_config_problems_are_french():
    assert debits.REJECT_REASONS["AM04"] == "Provision insuffisante"
    from tests.conftest import default_settings

    real = default_settings().with_(payment_simulator=False)
    assert any("ICS" in p for p in debits.config_problems(real))
    # The demo (simulator on, nothing set) has a creditor of its own.
    assert debits.config_problems(default_settings()) == []


async def test_the_demo_puts_two_families_on_direct_debit_once(settings):
    from ecp.demo import direct_debit

    for code in ("F00003", "F00004"):
        family = await factories.make_family(code)
        await factories.make_guardian(family)
    await direct_debit.seed({"settings": settings})
    await direct_debit.seed({"settings": settings})
    rows = await DirectDebitMandate.select().order_by(DirectDebitMandate.id)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"actif"}
    assert [r["iban_hint"] for r in rows] == ["FR76 … 7845", "FR18 … 4K78"]


async def test_anonymising_a_family_wipes_its_bank_details(settings):
    from ecp.accounts import retention

    family, _ = await family_on_debit(settings)
    await retention._anonymise(family.id, clock.now())
    row = await DirectDebitMandate.select().first()
    assert row["iban_sealed"] == "" and row["status"] == "revoque"
    assert "Claire" not in row["holder"]


async def test_unknown_files_and_batches_are_404(client, settings):
    await staff_client(client, role="regisseur")
    assert (await client.get("/agents/prelevements/99999")).status_code == 404
    assert (await client.get("/agents/prelevements/99999/fichier.xml")).status_code == 404


async def test_the_batch_page_has_its_fragment(client, settings):
    await month_setup(settings)
    await staff_client(client, role="regisseur")
    await post_form(
        client, "/agents/prelevements", {"mois": "2026-10"}, from_page="/agents/prelevements"
    )
    batch = await DebitBatch.select().first()
    fragment = await client.get(
        f"/agents/prelevements/{batch['id']}", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="debit-lines"' in fragment.text
