"""At the counter (ecp.backoffice.counter_routes): an agent asks for and decides a child's
inscriptions, applies a semaine type (past the family's deadline too) and declares an illness
for a family; each journalled as done by that agent for that family and e-mailed to it. Every
route: full page, htmx fragment, no-JavaScript post (303), bad input (422), CSRF, a family
session (404), another family's child or inscription (404)."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking.tables import Booking, Inscription
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests import factories
from tests.support import error_summary_links, login_family, login_staff, post_form, soup


async def setup(client, login: bool = True, places: int = 0):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=places)
    family, kids = await bf.make_family_with_children(commune, inscribe=("restauration",))
    other, other_kids = await bf.make_family_with_children(
        commune, code="F00002", name="Durand", children=(("Zoé", "CM2"),), inscribe=()
    )
    staff = await factories.make_staff(role="agent")
    if login:
        await login_staff(client)
    return commune, family, kids, other, other_kids, staff


def base(family) -> str:
    return f"/agents/familles/{family.id}"


async def _journal() -> list[dict]:
    return await AuditLog.select(
        AuditLog.action, AuditLog.family, AuditLog.staff, AuditLog.target
    ).order_by(AuditLog.id)


# ---------------------------------------------------------------- inscriptions


async def test_inscriptions_page_and_fragment(client):
    commune, family, kids, other, *_ = await setup(client)
    url = f"{base(family)}/inscriptions"
    page = await client.get(url)
    assert page.status_code == 200 and "<html" in page.text
    html = soup(page.text)
    assert html.h1.get_text(" ", strip=True) == "Inscriptions de la famille Martin (F00001)"
    assert html.select_one(f"#activite-{kids[0].id}") is not None
    assert len(html.select("input[name=inscriptions]")) == 2  # the two cantine inscriptions
    fragment = await client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="family-inscriptions"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert soup(fragment.text).title.get_text().startswith("Inscriptions de la famille Martin")
    assert (await client.get("/agents/familles/999999/inscriptions")).status_code == 404


async def test_an_inscription_asked_and_validated_at_the_counter_is_journalled(client):
    commune, family, (lea, hugo), other, other_kids, staff = await setup(client)
    url = f"{base(family)}/inscriptions"
    soir = commune.activities["garderie_soir"].id
    asked = await post_form(
        client, url, {"enfant": str(lea.id), "activite": str(soir)}, from_page=url
    )
    assert asked.status_code == 303 and asked.headers["location"] == url
    row = await Inscription.select().where(Inscription.activity == soir).first()
    assert row["status"] == "en_attente" and row["child"] == lea.id
    follow = await client.get(url)
    assert "Demande d’inscription enregistrée pour Léa à « Garderie du soir »." in follow.text
    # Hugo's, validated at once: one transaction, two journal lines, one e-mail.
    done = await post_form(
        client,
        url,
        {"enfant": str(hugo.id), "activite": str(soir), "valider": "oui"},
        from_page=url,
    )
    assert done.status_code == 303
    hugo_row = (
        await Inscription.select()
        .where((Inscription.activity == soir) & (Inscription.child == hugo.id))
        .first()
    )
    assert hugo_row["status"] == "validee" and hugo_row["decided_by"] == staff.id
    journal = await _journal()
    assert [r["action"] for r in journal] == [
        "inscription_request",
        "inscription_request",
        "inscription_validate",
    ]
    assert {(r["family"], r["staff"]) for r in journal} == {(family.id, staff.id)}
    mail = await OutboxEmail.select(OutboxEmail.subject, OutboxEmail.family).first()
    assert mail == {"subject": "Inscription validée : Garderie du soir", "family": family.id}
    # Then Léa's request decided from the same page.
    decided = await post_form(
        client,
        f"{url}/decision",
        {"inscriptions": str(row["id"]), "decision": "refuser", "motif": "Plus de place"},
        from_page=url,
    )
    assert decided.status_code == 303
    assert (await Inscription.select().where(Inscription.id == row["id"]).first())[
        "status"
    ] == "refusee"


async def test_counter_inscription_refusals(client):
    commune, family, (lea, hugo), other, (zoe,), staff = await setup(client)
    url = f"{base(family)}/inscriptions"
    cantine = commune.activities["restauration"].id
    already = await post_form(
        client, url, {"enfant": str(lea.id), "activite": str(cantine)}, from_page=url
    )
    assert already.status_code == 422
    assert error_summary_links(already.text) == [f"#activite-{lea.id}"]
    assert "Choisissez une activité dans la liste." in already.text
    no_reason = await post_form(
        client,
        f"{url}/decision",
        {"inscriptions": "1", "decision": "refuser"},
        from_page=url,
    )
    assert no_reason.status_code == 422 and error_summary_links(no_reason.text) == ["#motif"]
    # Another family's child, another family's inscription: not found from this record.
    theirs = await post_form(
        client,
        url,
        {"enfant": str(zoe.id), "activite": str(cantine)},
        from_page=url,
    )
    assert theirs.status_code == 404
    zoe_ins = await bf.inscribe_child(commune, zoe, "garderie_soir", status="en_attente")
    not_ours = await post_form(
        client,
        f"{url}/decision",
        {"inscriptions": str(zoe_ins.id), "decision": "valider"},
        from_page=url,
    )
    assert not_ours.status_code == 404
    token_less = await client.post(url, data={"enfant": str(lea.id), "activite": str(cantine)})
    assert token_less.status_code == 403
    assert await AuditLog.count() == 0
    await login_family(client)
    assert (await client.get(url)).status_code == 404


# ---------------------------------------------------------------- semaine type


def pattern_data(commune, kids, **extra):
    data = {
        "enfants": [str(k.id) for k in kids],
        "du": "01/12/2026",
        "au": "04/12/2026",
        f"jours_{commune.activities['restauration'].id}": ["2", "4"],
    }
    data.update(extra)
    return data


async def test_pattern_page_fragment_preview_and_confirm_past_the_deadline(client):
    commune, family, kids, other, other_kids, staff = await setup(client)
    url = f"{base(family)}/semaine-type"
    page = await client.get(url)
    assert page.status_code == 200
    assert soup(page.text).select_one("#pattern-form form")["action"] == url
    fragment = await client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="pattern-form"' in fragment.text
    # Tuesday 1 December is past the family's deadline: the agent may still book it.
    preview = await post_form(client, url, pattern_data(commune, kids), from_page=url)
    assert preview.status_code == 200
    assert "Changements prévus : 4 réservations à ajouter" in soup(preview.text).get_text(
        " ", strip=True
    )
    assert await Booking.count() == 0
    done = await post_form(
        client, url, pattern_data(commune, kids, etape="confirmer"), from_page=url
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{base(family)}/reservations?semaine=2026-W49"
    rows = await Booking.select(Booking.day, Booking.updated_by, Booking.source)
    assert sorted({r["day"] for r in rows}) == [dt.date(2026, 12, 1), dt.date(2026, 12, 3)]
    assert {(r["updated_by"], r["source"]) for r in rows} == {(staff.id, "semaine_type")}
    journal = await _journal()
    assert [(r["action"], r["family"], r["staff"]) for r in journal] == [
        ("booking_pattern", family.id, staff.id)
    ]
    mail = await OutboxEmail.select(OutboxEmail.subject, OutboxEmail.body_text).first()
    assert mail["subject"] == "Semaine type appliquée par le service à partir du mardi 1er décembre"
    assert "4 réservations ajoutées" in mail["body_text"]
    follow = await client.get(done.headers["location"])
    assert "Semaine type appliquée pour la famille : 4 réservations ajoutées." in follow.text


async def test_pattern_refusals(client):
    commune, family, kids, other, (zoe,), staff = await setup(client)
    url = f"{base(family)}/semaine-type"
    bad = await post_form(client, url, {"du": "32/13/2026", "au": ""}, from_page=url)
    assert bad.status_code == 422
    assert "#du" in error_summary_links(bad.text)
    theirs = await post_form(client, url, pattern_data(commune, [zoe]), from_page=url)
    assert theirs.status_code == 404  # another family's child: refused as a whole
    assert await Booking.count() == 0
    assert (await client.post(url, data=pattern_data(commune, kids))).status_code == 403
    await login_family(client)
    assert (await client.get(url)).status_code == 404


# ---------------------------------------------------------------- illness


async def test_illness_at_the_counter(client):
    commune, family, (lea, hugo), other, (zoe,), staff = await setup(client)
    cantine = commune.activities["restauration"].id
    monday = bf.MONDAY
    await Booking(
        child=lea.id,
        activity=cantine,
        school=commune.school.id,
        day=monday,
        state="reservee",
        created_at=clock.now(),
        updated_at=clock.now(),
    ).save()
    url = f"{base(family)}/maladie"
    page = await client.get(url)
    assert page.status_code == 200
    boxes = soup(page.text).select("input[name=enfant]")
    assert [b["value"] for b in boxes] == [str(lea.id), str(hugo.id)]
    fragment = await client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="illness-form"' in fragment.text
    nothing = await post_form(
        client, url, {"enfant": str(hugo.id), "jour": monday.isoformat()}, from_page=url
    )
    assert nothing.status_code == 422
    assert "Rien n’est réservé pour cet enfant ce jour-là." in nothing.text
    missing = await post_form(client, url, {"jour": "31/02/2026"}, from_page=url)
    assert missing.status_code == 422
    assert error_summary_links(missing.text) == ["#enfant", "#jour"]
    theirs = await post_form(
        client, url, {"enfant": str(zoe.id), "jour": monday.isoformat()}, from_page=url
    )
    assert theirs.status_code == 404
    assert (
        await client.post(url, data={"enfant": str(lea.id), "jour": monday.isoformat()})
    ).status_code == 403
    done = await post_form(
        client, url, {"enfant": str(lea.id), "jour": monday.isoformat()}, from_page=url
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{base(family)}/reservations?semaine=2026-W50"
    assert (await Booking.select(Booking.state).first())["state"] == "malade"
    journal = await _journal()
    assert [(r["action"], r["family"], r["staff"]) for r in journal] == [
        ("booking_illness", family.id, staff.id)
    ]
    assert await OutboxEmail.count() == 1
    await login_family(client)
    assert (await client.get(url)).status_code == 404
