"""Staff > Inscriptions: the filters (school, activity, level, state), many inscriptions ticked
and decided in one post (no JavaScript: 303; htmx: the list again), the waiting list's rank, and
the refusals: bad filters or decisions (422), no CSRF token, a family session, an unknown
inscription."""

from __future__ import annotations

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking.tables import Inscription
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests import factories
from tests.support import (
    csrf_token,
    error_summary_links,
    login_family,
    login_staff,
    post_form,
    soup,
)

PAGE = "/agents/inscriptions"


async def setup(client, places: int = 0, login: bool = True):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=places)
    other_school = await factories.make_school("École Pasteur", kind="elementaire")
    family, (lea, hugo) = await bf.make_family_with_children(commune, inscribe=())
    lea_soir = await bf.inscribe_child(commune, lea, "garderie_soir", status="en_attente")
    hugo_soir = await bf.inscribe_child(commune, hugo, "garderie_soir", status="en_attente")
    lea_cantine = await bf.inscribe_child(commune, lea, "restauration", status="en_attente")
    elsewhere = await factories.make_family("F00002", name="Durand")
    zoe = await factories.make_child(elsewhere, "Zoé", "CM2", school=other_school)
    zoe_soir = await bf.inscribe_child(commune, zoe, "garderie_soir", status="en_attente")
    await factories.make_staff(role="agent")
    if login:
        await login_staff(client)
    return commune, other_school, (lea_soir, hugo_soir, lea_cantine, zoe_soir), family


def _names(html: str) -> list[str]:
    return [
        th.get_text(" ", strip=True) for th in soup(html).select("#inscription-results tbody th")
    ]


async def _status(inscription) -> str:
    row = await Inscription.select(Inscription.status).where(Inscription.id == inscription.id)
    return row[0]["status"]


async def test_the_list_filters_by_school_activity_level_and_state(client):
    commune, pasteur, (lea_soir, hugo_soir, lea_cantine, zoe_soir), _ = await setup(client)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert _names(page.text) == [
        "Léa Martin (CE1)",
        "Hugo Martin (MS)",
        "Léa Martin (CE1)",
        "Zoé Durand (CM2)",
    ]
    html = soup(page.text)
    assert html.title.get_text().startswith("Inscriptions en attente (4)")
    assert html.select_one("#inscription-count").get_text() == "4 inscriptions trouvées."
    soir = commune.activities["garderie_soir"].id
    filtered = await client.get(f"{PAGE}?ecole={commune.school.id}&activite={soir}&niveau=MS")
    assert _names(filtered.text) == ["Hugo Martin (MS)"]
    heading = soup(filtered.text).select_one("#inscription-results-title").get_text()
    assert heading == "Inscriptions en attente – École Jules-Ferry, Garderie du soir, MS (1)"
    assert _names((await client.get(f"{PAGE}?ecole={pasteur.id}")).text) == ["Zoé Durand (CM2)"]
    assert _names((await client.get(f"{PAGE}?statut=validee")).text) == []
    # The fragment: the results, the new title and the count for the live region.
    fragment = await client.get(f"{PAGE}?ecole={pasteur.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    part = soup(fragment.text)
    assert part.title.get_text().startswith("Inscriptions en attente – École Pasteur (1)")
    assert part.select_one("[hx-swap-oob]").get_text() == "1 inscription trouvée."
    assert part.select_one("#inscription-results-title").has_attr("data-focus")


async def test_a_filter_outside_its_list_is_a_422_with_the_values_kept(client):
    commune, *_ = await setup(client)
    bad = await client.get(f"{PAGE}?ecole=999&niveau=CM9&statut=perdue")
    assert bad.status_code == 422
    assert error_summary_links(bad.text) == ["#ecole", "#niveau", "#statut"]
    assert "Choisissez une école dans la liste." in bad.text
    assert soup(bad.text).title.get_text().startswith("Erreur : ")
    assert _names(bad.text) == []


async def test_select_all_without_javascript_ticks_every_box(client):
    await setup(client)
    page = soup((await client.get(f"{PAGE}?statut=en_attente&tout=1")).text)
    boxes = page.select("input[name=inscriptions]")
    assert len(boxes) == 4 and all(b.has_attr("checked") for b in boxes)
    assert page.select_one("#select-all").get_text() == "Tout désélectionner"
    plain = soup((await client.get(PAGE)).text)
    assert not any(b.has_attr("checked") for b in plain.select("input[name=inscriptions]"))


async def test_many_validated_in_one_post_without_javascript(client):
    commune, pasteur, rows, family = await setup(client, places=2)
    lea_soir, hugo_soir, lea_cantine, zoe_soir = rows
    response = await post_form(
        client,
        PAGE,
        {
            "inscriptions": [str(r.id) for r in rows],
            "decision": "valider",
            "statut": "en_attente",
            "ecole": "",
            "activite": "",
            "niveau": "",
        },
        from_page=PAGE,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{PAGE}?ecole=&activite=&niveau=&statut=en_attente"
    # Two places per school: Zoé is alone at Pasteur; Jules-Ferry's evening garderie takes Léa
    # and Hugo; cantine has its own two places.
    assert [await _status(r) for r in rows] == ["validee"] * 4
    follow = await client.get(response.headers["location"])
    assert "4 inscriptions validées ; les familles sont prévenues par courriel." in follow.text
    assert await AuditLog.count().where(AuditLog.action == "inscription_validate") == 4
    assert await OutboxEmail.count() == 4


async def test_a_full_activity_shows_the_waiting_rank_to_staff_and_family(client):
    commune, pasteur, rows, family = await setup(client, places=1)
    lea_soir, hugo_soir, *_ = rows
    response = await post_form(
        client,
        PAGE,
        {"inscriptions": [str(lea_soir.id), str(hugo_soir.id)], "decision": "valider"},
        from_page=PAGE,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    part = soup(response.text)
    assert "1 inscription validée ; 1 inscription mise en liste d’attente" in (
        part.select_one("#flash").get_text()
    )
    assert [await _status(r) for r in (lea_soir, hugo_soir)] == ["validee", "liste_attente"]
    waiting = soup((await client.get(f"{PAGE}?statut=liste_attente")).text)
    cells = [td.get_text(" ", strip=True) for td in waiting.select("tbody td:last-child")]
    assert cells == ["en liste d’attente, 1 er rang"]
    await login_family(client)
    family_page = await client.get("/famille/inscriptions")
    assert "en liste d’attente, 1er rang" in family_page.text


async def test_bad_decisions_come_back_422_with_the_ticks_kept(client):
    commune, pasteur, rows, family = await setup(client)
    none = await post_form(client, PAGE, {"decision": "valider"}, from_page=PAGE)
    assert none.status_code == 422
    assert error_summary_links(none.text) == ["#selection"]
    assert "Cochez au moins une inscription." in none.text
    # htmx: the list again, its error summary taking the focus (not the heading).
    swapped = await post_form(
        client, PAGE, {"decision": "valider"}, from_page=PAGE, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 422 and "<html" not in swapped.text
    part = soup(swapped.text)
    assert part.select_one(".error-summary").has_attr("autofocus")
    assert not part.select_one("#inscription-results-title").has_attr("data-focus")
    assert part.title.get_text().startswith("Erreur : ")
    no_reason = await post_form(
        client,
        PAGE,
        {"inscriptions": [str(rows[1].id)], "decision": "refuser", "motif": " "},
        from_page=PAGE,
    )
    assert no_reason.status_code == 422
    assert error_summary_links(no_reason.text) == ["#motif"]
    page = soup(no_reason.text)
    ticked = [b["value"] for b in page.select("input[name=inscriptions][checked]")]
    assert ticked == [str(rows[1].id)]
    assert [await _status(r) for r in rows] == ["en_attente"] * 4
    assert await AuditLog.count() == 0 and await OutboxEmail.count() == 0
    refused = await post_form(
        client,
        PAGE,
        {"inscriptions": [str(rows[1].id)], "decision": "refuser", "motif": "Dossier incomplet"},
        from_page=PAGE,
    )
    assert refused.status_code == 303
    assert await _status(rows[1]) == "refusee"
    mail = await OutboxEmail.select(OutboxEmail.subject, OutboxEmail.body_text).first()
    assert mail["subject"] == "Inscription refusée : Garderie du soir"
    assert "Motif : Dossier incomplet" in mail["body_text"]


async def test_csrf_family_session_and_unknown_inscription_are_refused(client):
    commune, pasteur, rows, family = await setup(client)
    token_less = await client.post(
        PAGE, data={"inscriptions": str(rows[0].id), "decision": "valider"}
    )
    assert token_less.status_code == 403
    missing = await post_form(
        client, PAGE, {"inscriptions": "999999", "decision": "valider"}, from_page=PAGE
    )
    assert missing.status_code == 404
    assert await _status(rows[0]) == "en_attente"
    await client.post("/agents/deconnexion", data={"_csrf_token": await csrf_token(client, PAGE)})
    await login_family(client)
    assert (await client.get(PAGE)).status_code == 404
    refused = await post_form(
        client,
        PAGE,
        {"inscriptions": str(rows[0].id), "decision": "valider"},
        from_page="/famille/inscriptions",
    )
    assert refused.status_code == 404
    assert await _status(rows[0]) == "en_attente"
