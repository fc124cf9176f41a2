"""A change an agent makes to a family's bookings on its behalf is e-mailed to the family (one
message per change, in its transaction); a family's own taps send nothing, nor does a refusal."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import services
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests import factories
from tests.conftest import default_settings
from tests.staff_factories import staff_actor
from tests.support import login_family, login_staff, post_form

HTMX = {"HX-Request": "true"}


async def setup(client):
    clock.set_now(dt.datetime(2026, 12, 7, 8, 0, tzinfo=clock.PARIS))  # past the deadline
    commune = await bf.make_commune(capacity=5)
    family, kids = await bf.make_family_with_children(commune)
    staff = await factories.make_staff()
    await login_staff(client)
    return commune, family, kids, staff


def cell(kid, activity_id, action: str) -> dict:
    return {
        "enfant": kid.id,
        "activite": activity_id,
        "jour": bf.MONDAY.isoformat(),
        "action": action,
        "semaine": bf.WEEK,
    }


async def mails() -> list[dict]:
    return await OutboxEmail.select().order_by(OutboxEmail.id)


async def test_an_agent_booking_and_cancelling_for_a_family_e_mails_it(client):
    commune, family, (lea, _hugo), _staff = await setup(client)
    url = f"/agents/familles/{family.id}/reservations"
    cantine = commune.activities["restauration"].id
    booked = await post_form(client, url, cell(lea, cantine, "reserver"), from_page=url)
    assert booked.status_code == 303
    sent = await mails()
    assert len(sent) == 1
    mail = sent[0]
    assert (mail["to_address"], mail["family"], mail["kind"]) == (
        family.email,
        family.id,
        "reservation_agent",
    )
    assert mail["subject"] == "Réservation modifiée par le service : Cantine, lundi 7 décembre"
    assert (
        "– Léa, Restauration scolaire, lundi 7 décembre : réservation enregistrée."
        in mail["body_text"]
    )
    assert "https://testserver.local/famille/reservations?semaine=2026-W50" in mail["body_text"]
    assert "<strong>réservation enregistrée</strong>" in mail["body_html"]
    # By htmx too; a repeated tap (already cancelled) changes nothing and sends nothing.
    cancelled = await post_form(
        client, url, cell(lea, cantine, "annuler"), from_page=url, headers=HTMX
    )
    assert cancelled.status_code == 200
    again = await post_form(client, url, cell(lea, cantine, "annuler"), from_page=url, headers=HTMX)
    assert again.status_code == 200 and "Rien n’a changé." in again.text
    sent = await mails()
    assert len(sent) == 2 and ": réservation annulée." in sent[1]["body_text"]


async def test_a_familys_own_taps_and_a_family_without_address_send_nothing(client, other_client):
    commune, family, (lea, _hugo), staff = await setup(client)
    clock.set_now(bf.NOW)  # before the deadline: the family may book
    await login_family(other_client)
    cantine = commune.activities["restauration"].id
    own = await post_form(other_client, "/famille/reservations", cell(lea, cantine, "reserver"))
    assert own.status_code == 303 and await mails() == []
    await family.update_self({"email": ""})
    await services.cancel(
        lea.id, cantine, bf.MONDAY, actor=staff_actor(staff), settings=default_settings()
    )
    assert await mails() == []


async def test_the_service_writes_the_mail_with_its_settings():
    commune = await bf.make_commune(capacity=5)
    family, (lea, _hugo) = await bf.make_family_with_children(commune)
    staff = await factories.make_staff()
    with clock.frozen(bf.NOW):
        await services.book(
            lea.id,
            commune.activities["garderie_soir"].id,
            bf.MONDAY,
            actor=staff_actor(staff),
            settings=default_settings(),
        )
    (mail,) = await mails()
    assert "Garderie du soir, lundi 7 décembre : réservation enregistrée." in mail["body_text"]
    assert mail["body_text"].rstrip().endswith("SEJ – Ville de Villebelle-sur-Seine")
