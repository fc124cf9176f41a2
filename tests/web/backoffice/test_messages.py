"""Messages to families: the families of a school, an activity or a day; a preview with the
number of families and addresses before anything is sent; one e-mail per family and mail
recipient through the outbox; the journal; the list of messages sent; an agent limited to
schools writes to those only."""

from __future__ import annotations

import datetime as dt
import json

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.tables import StaffSchool
from ecp.backoffice.tables import FamilyMessage
from ecp.booking.tables import Booking
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.booking_factories import inscribe_child, make_commune
from tests.staff_factories import staff_client
from tests.support import error_summary_links, post_form, soup

NEW = "/agents/messages/nouveau"
DAY = dt.date(2026, 12, 3)


async def _families():
    """Jules-Ferry: the Martins (two responsables receiving e-mails, Léa booked at the
    canteen on DAY) and the Petits (no address); Pasteur: the Diallos (Awa inscribed at the
    garderie)."""
    commune = await make_commune()
    pasteur = await factories.make_school("École Pasteur")
    martin = await factories.make_family("F00001", name="Martin", email="claire@example.org")
    await factories.make_guardian(martin, email="claire@example.org")
    await factories.make_guardian(martin, rank=2, first_name="Bao", email="bao@example.org")
    lea = await factories.make_child(martin, "Léa", school=commune.school)
    petit = await factories.make_family("F00003", name="Petit", email="")
    await factories.make_guardian(petit, email="")
    await factories.make_child(petit, "Tom", school=commune.school)
    diallo = await factories.make_family("F00002", name="Diallo", email="fatou@example.org")
    await factories.make_guardian(diallo, email="fatou@example.org")
    awa = await factories.make_child(diallo, "Awa", school=pasteur)
    await inscribe_child(commune, awa, "garderie_soir")
    now = clock.now()
    await Booking(
        child=lea.id,
        activity=commune.activities["restauration"].id,
        school=commune.school.id,
        day=DAY,
        state="reservee",
        source="famille",
        created_at=now,
        updated_at=now,
    ).save()
    return commune, pasteur


def _values(**changes) -> dict:
    return {
        "cible": "ecole",
        "ecole": "",
        "activite": "",
        "jour": "",
        "objet": "Grève du jeudi 4 décembre",
        "texte": "La cantine sera fermée jeudi.\n\nMerci de prévoir un repas.",
        **changes,
    }


async def test_the_form_page_and_its_fragment(client):
    await _families()
    await staff_client(client, "agent")
    page = await client.get(NEW)
    html = soup(page.text)
    assert page.status_code == 200 and html.h1.get_text() == "Écrire aux familles"
    assert [a.get_text() for a in html.select("nav.main-nav a") if "Messages" in a.get_text()]
    assert html.select_one("#message-form")["hx-post"] == NEW
    options = [o.get_text() for o in html.select("#ecole option")]
    assert options == ["toutes les écoles", "École Jules-Ferry", "École Pasteur"]
    fragment = await client.get(NEW, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.headers["vary"] == "HX-Request"


async def test_preview_then_send_to_a_school(client):
    commune, _ = await _families()
    await staff_client(client, "agent")
    values = _values(ecole=str(commune.school.id))
    preview = await post_form(client, NEW, values, from_page=NEW)
    assert preview.status_code == 200
    box = soup(preview.text).select_one("#message-preview").get_text(" ", strip=True)
    assert "Familles de l’école : École Jules-Ferry" in box
    assert "2 familles et 2 adresses électroniques" in box
    assert "1 famille n’a pas d’adresse électronique" in box
    assert await OutboxEmail.count() == 0 and await FamilyMessage.count() == 0
    assert soup(preview.text).select_one('input[name="compte"]')["value"] == "2"
    sent = await post_form(client, NEW, {**values, "compte": "2", "envoyer": "oui"}, from_page=NEW)
    assert sent.status_code == 303 and sent.headers["location"] == "/agents/messages"
    mails = await OutboxEmail.select().order_by(OutboxEmail.to_address)
    assert [(m["to_address"], m["kind"]) for m in mails] == [
        ("bao@example.org", "message"),
        ("claire@example.org", "message"),
    ]
    assert mails[0]["subject"] == "Grève du jeudi 4 décembre"
    assert "Merci de prévoir un repas." in mails[0]["body_text"]
    assert "<p>La cantine sera fermée jeudi.</p>" in mails[0]["body_html"]
    row = await FamilyMessage.select().first()
    assert (row["families"], row["recipients"], row["target"]) == (2, 2, "ecole")
    entry = await AuditLog.select().where(AuditLog.action == "message_familles_envoye").first()
    details = (
        entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
    )
    assert details["familles"] == 2 and entry["target"] == "Grève du jeudi 4 décembre"
    listing = await client.get("/agents/messages")
    assert "Grève du jeudi 4 décembre" in listing.text and "Message « Grève" in listing.text
    assert "2 familles, 2 adresses électroniques" in listing.text


async def test_an_activity_or_a_day(client):
    commune, pasteur = await _families()
    await staff_client(client, "agent")
    garderie = commune.activities["garderie_soir"].id
    by_activity = await post_form(
        client, NEW, _values(cible="activite", activite=str(garderie)), from_page=NEW
    )
    text = soup(by_activity.text).select_one("#message-preview").get_text(" ", strip=True)
    assert "Familles inscrites à « Garderie du soir »" in text
    assert "1 famille et 1 adresse électronique" in text
    by_day = await post_form(client, NEW, _values(cible="jour", jour="03/12/2026"), from_page=NEW)
    text = soup(by_day.text).select_one("#message-preview").get_text(" ", strip=True)
    assert "Familles ayant une réservation le jeudi 3 décembre 2026" in text
    assert "1 famille et 2 adresses électroniques" in text
    nobody = await post_form(
        client, NEW, _values(cible="jour", jour="03/12/2026", ecole=str(pasteur.id)), from_page=NEW
    )
    assert nobody.status_code == 422 and "Aucune famille ne correspond" in nobody.text


async def test_bad_input_comes_back_with_the_values(client):
    await _families()
    await staff_client(client, "agent")
    missing = await post_form(client, NEW, _values(objet="", texte="Bonjour"), from_page=NEW)
    assert missing.status_code == 422
    assert error_summary_links(missing.text) == ["#objet"]
    assert "Bonjour" in soup(missing.text).select_one("#texte").get_text()
    no_school = await post_form(client, NEW, _values(), from_page=NEW)
    assert no_school.status_code == 422
    assert "Choisissez l’école" in soup(no_school.text).select_one("#ecole-error").get_text()
    no_day = await post_form(client, NEW, _values(cible="jour", jour="32/13/2026"), from_page=NEW)
    assert no_day.status_code == 422 and "#jour" in error_summary_links(no_day.text)
    unknown = await post_form(client, NEW, _values(ecole="9999"), from_page=NEW)
    assert unknown.status_code == 422 and "Choisissez une école de la liste." in unknown.text
    hx = await post_form(client, NEW, _values(), from_page=NEW, headers={"HX-Request": "true"})
    assert hx.status_code == 422 and "<html" not in hx.text and "Erreur : Écrire" in hx.text
    assert await OutboxEmail.count() == 0


async def test_a_changed_count_shows_the_preview_again(client):
    commune, _ = await _families()
    await staff_client(client, "agent")
    values = _values(ecole=str(commune.school.id), compte="5", envoyer="oui")
    response = await post_form(client, NEW, values, from_page=NEW)
    assert response.status_code == 422 and "a changé depuis l’aperçu" in response.text
    assert soup(response.text).select_one('input[name="compte"]')["value"] == "2"
    assert await OutboxEmail.count() == 0


async def test_htmx_send_navigates_to_the_list(client):
    commune, _ = await _families()
    await staff_client(client, "agent")
    values = _values(ecole=str(commune.school.id), compte="2", envoyer="oui")
    hx = await post_form(client, NEW, values, from_page=NEW, headers={"HX-Request": "true"})
    assert hx.status_code == 200 and hx.headers["hx-redirect"] == "/agents/messages"


async def test_csrf_refusal_and_a_limited_agent(client):
    commune, pasteur = await _families()
    staff = await staff_client(client, "agent")
    no_token = await client.post(NEW, data=_values(ecole=str(commune.school.id)))
    assert no_token.status_code == 403 and "Le formulaire a expiré" in no_token.text
    # Limited to Jules-Ferry: Pasteur is not offered, nor reachable through a day or activity.
    await StaffSchool(staff=staff.id, school=commune.school.id).save()
    page = soup((await client.get(NEW)).text)
    assert [o.get_text() for o in page.select("#ecole option")] == [
        "toutes vos écoles",
        "École Jules-Ferry",
    ]
    other = await post_form(client, NEW, _values(ecole=str(pasteur.id)), from_page=NEW)
    assert other.status_code == 422 and "Choisissez une école de la liste." in other.text
    garderie = commune.activities["garderie_soir"].id
    by_activity = await post_form(
        client, NEW, _values(cible="activite", activite=str(garderie)), from_page=NEW
    )
    assert by_activity.status_code == 422 and "Aucune famille ne correspond" in by_activity.text


async def test_a_family_has_no_access(client):
    await factories.make_family("F00009")
    from tests.support import login_family

    await login_family(client, "F00009")
    assert (await client.get("/agents/messages")).status_code == 404
