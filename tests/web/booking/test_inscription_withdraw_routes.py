"""A family gives up an inscription from its Inscriptions page: the inscription ends, and where
the activity was full the first child on the waiting list takes the place; that child's family
gets the e-mail. Another family's inscription is a 404, a post without its token a 403."""

from __future__ import annotations

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.booking import inscriptions
from ecp.booking.tables import Inscription
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests import factories
from tests.support import login_family, post_form, soup

PAGE = "/famille/inscriptions"


async def test_giving_up_a_place_promotes_the_first_waiting_child(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=1)
    family, (lea, hugo) = await bf.make_family_with_children(commune, inscribe=())
    other = await factories.make_family("F00002", name="Durand")
    zoe = await factories.make_child(other, "Zoé", "CM2", school=commune.school)
    mine = await bf.inscribe_child(commune, lea, "garderie_soir", status="en_attente")
    theirs = await bf.inscribe_child(commune, zoe, "garderie_soir", status="en_attente")
    staff = await factories.make_staff(role="agent")
    agent = Principal(kind="staff", session_id=1, name="Agent", staff_id=staff.id, role="agent")
    await inscriptions.decide_inscriptions(agent, [mine.id, theirs.id], "valider")
    await OutboxEmail.delete(force=True)
    await login_family(client)
    page = soup((await client.get(PAGE)).text)
    action = f"/famille/inscriptions/{mine.id}/renoncer"
    assert page.select_one(f"form[action='{action}'] button").get_text(" ", strip=True) == (
        "Renoncer à l’inscription de Léa à Garderie du soir"
    )
    assert (await client.post(action)).status_code == 403  # no CSRF token
    not_ours = await post_form(
        client, f"/famille/inscriptions/{theirs.id}/renoncer", {}, from_page=PAGE
    )
    assert not_ours.status_code == 404
    done = await post_form(client, action, {}, from_page=PAGE)
    assert done.status_code == 303 and done.headers["location"] == PAGE
    follow = await client.get(PAGE)
    assert "Vous avez renoncé à l’inscription de Léa à « Garderie du soir »." in follow.text
    rows = {
        r["id"]: r["status"] for r in await Inscription.select(Inscription.id, Inscription.status)
    }
    assert rows == {mine.id: "annulee", theirs.id: "validee"}
    mails = {
        r["family"]: r["subject"]
        for r in await OutboxEmail.select(OutboxEmail.family, OutboxEmail.subject)
    }
    assert mails[other.id] == "Une place s’est libérée : inscription validée à Garderie du soir"
    assert mails[family.id] == "Fin d’inscription : Garderie du soir"
    journal = await AuditLog.select(AuditLog.action, AuditLog.staff).order_by(AuditLog.id)
    assert [(r["action"], r["staff"]) for r in journal[-2:]] == [
        ("inscription_cancel", None),
        ("inscription_promote", None),
    ]
    # Once ended, there is nothing left to give up.
    again = await post_form(client, action, {}, from_page=PAGE)
    assert again.status_code == 404
