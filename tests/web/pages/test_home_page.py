"""The Accueil's top: what is due tonight and tomorrow (once per deadline day), « À payer » with
« Payer » and the late invoices in words, requests and inscriptions in progress, and the month's
estimate priced by ecp.invoices.pricing from the bookings and the family's tariff."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking.tables import Attendance
from ecp.invoices.estimate import month_estimate
from ecp.invoices.tables import Invoice
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import login_family, soup
from tests.web.pages.home_support import TODAY, book_rows, make_martins


def _text(node) -> str:
    return node.get_text(" ", strip=True).replace("\xa0", " ")


async def _invoice(family, number, month, due_on, total, paid=0):
    await Invoice(
        number=number,
        family=family.id,
        month=month,
        issued_at=clock.now(),
        due_on=due_on,
        total_cents=total,
        paid_cents=paid,
    ).save()


async def test_due_tonight_and_tomorrow_said_once_per_day(client):
    commune, family, lea, hugo = await make_martins()
    await bf.inscribe_child(commune, lea, "alsh_mercredi_journee")
    await login_family(client)
    page = soup((await client.get("/famille/")).text)
    due = page.find(id="a-faire")
    items = [_text(li) for li in due.find_all("li")]
    # Tuesday: tonight closes Thursday (two working days), tomorrow closes Friday and, for the
    # Wednesday rule, next Wednesday. Loisirs soir: nobody is inscribed, so it is not named.
    assert items == [
        "Ce soir avant 23:59 : dernier délai pour réserver ou annuler jeudi 3 décembre "
        "(Cantine, Garderie soir). Voir la semaine du jeudi 3 décembre",
        "Demain, mercredi 2 décembre, avant 23:59 : dernier délai pour réserver ou annuler "
        "vendredi 4 décembre (Cantine, Garderie soir) et mercredi 9 décembre (Mercredi journée)."
        " Voir la semaine du vendredi 4 décembre",
    ]
    assert due.find("a")["href"] == "/famille/reservations?semaine=2026-W49"
    # After tonight's deadline, only tomorrow's is left.
    clock.set_now(dt.datetime(2026, 12, 2, 0, 5, tzinfo=clock.PARIS))
    await login_family(client)
    due = soup((await client.get("/famille/")).text).find(id="a-faire")
    tonight, tomorrow = [_text(li) for li in due.find_all("li")]
    assert tonight.startswith("Ce soir avant 23:59") and "jeudi 3" not in tonight
    assert "vendredi 4 décembre (Cantine, Garderie soir) et mercredi 9 décembre" in tonight
    assert tomorrow.startswith("Demain, jeudi 3 décembre, avant 23:59") and "lundi 7" in tomorrow


async def test_to_pay_card_with_late_invoice_in_words(client):
    commune, family, lea, hugo = await make_martins()
    await _invoice(
        family, "FAC-2026-000010", dt.date(2026, 10, 1), dt.date(2026, 11, 20), 5000, 1000
    )
    await _invoice(family, "FAC-2026-000011", dt.date(2026, 11, 1), dt.date(2026, 12, 31), 9900)
    await _invoice(family, "FAC-2026-000009", dt.date(2026, 9, 1), dt.date(2026, 10, 20), 900, 900)
    await login_family(client)
    page = soup((await client.get("/famille/")).text)
    card = page.find(id="a-payer")
    assert _text(card.find("h2")) == "À payer : 139,00 €"
    assert "pay-card-late" in card["class"]
    assert (
        "En retard : 40,00 € , la facture FAC-2026-000010 devait être réglée avant le 20/11/2026"
        in _text(card)
    )
    button = card.find("a", class_="button")
    assert button["href"] == "/famille/paiements" and _text(button) == "Payer 139,00 €"
    assert "FAC-2026-000009" not in _text(card)
    # The card comes before everything else but tonight's deadlines.
    sections = [s.get("id") for s in page.find("main").find_all("section")]
    assert sections.index("a-payer") == 1 and sections[0] == "a-faire"


async def test_nothing_to_pay_says_so(client):
    await make_martins()
    await login_family(client)
    card = soup((await client.get("/famille/")).text).find(id="a-payer")
    assert _text(card.find("h2")) == "À payer : rien" and card.find("a", class_="button") is None


async def test_pending_inscription_and_contact_request(client):
    commune, family, lea, hugo = await make_martins()
    await bf.inscribe_child(commune, hugo, "alsh_mercredi_journee", status="en_attente")
    await login_family(client)
    page = soup((await client.get("/famille/")).text)
    requests = _text(page.find(attrs={"aria-labelledby": "requests-title"}))
    assert (
        "Inscription de Hugo à « Accueil de loisirs du mercredi – journée » demandée le "
        "01/12/2026 : en attente de réponse du service." in requests
    )
    assert page.find("a", href="/famille/inscriptions") is not None


async def test_estimate_prices_the_month_with_the_billing_rules(client):
    commune, family, lea, hugo = await make_martins()
    # Léa: canteen today (booked), 3 and 4 December; 7 December cancelled; 8 ill.
    await book_rows(commune, lea, "restauration", [dt.date(2026, 12, 3), dt.date(2026, 12, 4)])
    await book_rows(commune, lea, "restauration", [dt.date(2026, 12, 7)], state="annulee")
    await book_rows(commune, lea, "restauration", [dt.date(2026, 12, 8)], state="malade")
    # Hugo came to the canteen yesterday without a booking: price + majoration.
    await Attendance(
        child=hugo.id,
        activity=commune.activities["restauration"].id,
        school=commune.school.id,
        day=dt.date(2026, 11, 30),
        status="present",
        marked_at=clock.now(),
    ).save()
    await Attendance(
        child=hugo.id,
        activity=commune.activities["restauration"].id,
        school=commune.school.id,
        day=TODAY,
        status="present",
        marked_at=clock.now(),
    ).save()
    with count_queries() as counted:
        estimate = await month_estimate(family.id, TODAY)
    # 4, and the set-up's 2 outside a request (a request finds it cached: the page's count).
    assert counted.count == 6
    # Bracket B (QF 720): 3 canteen days at 2,10 € and Hugo's 2,10 + 3,00 €; the garderie has
    # no tariff, so the estimate says it is incomplete.
    assert (estimate.total_cents, estimate.days, estimate.incomplete) == (3 * 210 + 510, 4, True)
    await login_family(client)
    section = soup((await client.get("/famille/")).text).find(
        attrs={"aria-labelledby": "estimate-title"}
    )
    assert _text(section.find("h2")) == "Estimation du coût de décembre 2026"
    text = _text(section)
    assert "Estimation : 11,40 € pour 4 jours d’activités réservés ou pointés" in text
    assert "Ce n’est qu’une estimation" in text and "n’y sont pas comptées" in text


async def test_estimate_follows_the_quotient_history_and_out_of_town():
    from ecp.families.tables import Family, QuotientHistory

    commune, family, lea, hugo = await make_martins()
    await QuotientHistory(
        family=family.id,
        value=300,
        effective_from=dt.date(2026, 11, 1),
        source="caf",
        recorded_at=clock.now(),
    ).save()
    assert (await month_estimate(family.id, TODAY)).total_cents == 120  # bracket A
    await Family.update({Family.out_of_town: True}).where(Family.id == family.id)
    assert (await month_estimate(family.id, TODAY)).total_cents == 620
    assert await month_estimate(999999, TODAY) is None
