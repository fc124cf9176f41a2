"""Staff > Paramètres > école: the kind says the levels it teaches, the classes of the year
one a line; the child form offers the classes and refuses a level the school does not teach
or a class of another school (422, values kept, the message next to the field)."""

from __future__ import annotations

from ecp.commune.tables import School, SchoolClass
from ecp.families.tables import Child
from tests import factories
from tests.staff_factories import indexed_family, staff_client
from tests.support import error_summary_links, post_form, soup

CHILD = {
    "prenom": "Noé",
    "nom": "Martin",
    "naissance": "2020-03-14",
    "niveau": "CE1",
    "regime": "standard",
    "sante": "",
}


async def _schools():
    year = await factories.make_school_year()
    ferry = await factories.make_school("École Jules-Ferry", kind="elementaire")
    tilleuls = await factories.make_school("École Les Tilleuls", kind="maternelle")
    ce1 = SchoolClass(school=ferry.id, school_year=year.id, name="CE1 A", level="CE1")
    gs = SchoolClass(school=tilleuls.id, school_year=year.id, name="GS B", level="GS")
    await ce1.save()
    await gs.save()
    return ferry, tilleuls, ce1, gs


def _message(html, field: str) -> str:
    return soup(html).select_one(f"#{field}-error").get_text(" ", strip=True)


async def test_the_school_form_shows_levels_and_saves_the_classes(client):
    await staff_client(client)
    ferry, _, _, _ = await _schools()
    path = f"/agents/parametres/ecoles/{ferry.id}"
    page = soup((await client.get(path)).text)
    kinds = [o.get_text() for o in page.select("#type option")]
    assert "élémentaire (CP à CM2)" in kinds and "maternelle (PS à GS)" in kinds
    assert page.select_one("#classes").get_text() == "CE1 A"
    fragment = await client.get(path, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="classes"' in fragment.text
    values = {"nom": ferry.name, "type": "elementaire", "adresse": "", "active": "oui"}
    saved = await post_form(
        client, path, {**values, "classes": "CE1 A\nCE2-CM1 Mme Roux\n"}, from_page=path
    )
    assert saved.status_code == 303
    names = {r["name"] for r in await SchoolClass.select().where(SchoolClass.school == ferry.id)}
    assert names == {"CE1 A", "CE2-CM1 Mme Roux"}
    hx = await post_form(
        client, path, {**values, "classes": "CE1 A"}, from_page=path, headers={"HX-Request": "true"}
    )
    assert hx.status_code == 200 and hx.headers["hx-redirect"]
    assert await SchoolClass.count().where(SchoolClass.school == ferry.id) == 1


async def test_a_class_of_a_level_not_taught_is_refused_with_values_kept(client):
    await staff_client(client)
    _, tilleuls, _, _ = await _schools()
    path = f"/agents/parametres/ecoles/{tilleuls.id}"
    values = {"nom": tilleuls.name, "type": "maternelle", "adresse": "", "active": "oui"}
    for headers in ({}, {"HX-Request": "true"}):
        bad = await post_form(
            client, path, {**values, "classes": "GS B\nCP A"}, from_page=path, headers=headers
        )
        assert bad.status_code == 422
        assert error_summary_links(bad.text) == ["#classes"]
        assert _message(bad.text, "classes").endswith(
            "La classe « CP A » est d’un niveau que cette école n’enseigne pas "
            "(maternelle : PS à GS)."
        )
        assert soup(bad.text).select_one("#classes").get_text() == "GS B\nCP A"
    assert await SchoolClass.count().where(SchoolClass.school == tilleuls.id) == 1
    refused = await post_form(client, path, {**values, "classes": "MS A"}, csrf=False)
    assert refused.status_code == 403
    assert await SchoolClass.count().where(SchoolClass.school == tilleuls.id) == 1
    kind = await School.select(School.kind).where(School.id == tilleuls.id).first()
    assert kind["kind"] == "maternelle"


async def test_the_child_form_offers_the_classes_and_saves_one(client):
    await staff_client(client)
    family, _ = await indexed_family()
    ferry, _, ce1, gs = await _schools()
    path = f"/agents/familles/{family.id}/enfants/nouveau"
    page = soup((await client.get(path)).text)
    options = [o.get_text() for o in page.select("#classe option")]
    assert options == ["aucune classe", "CE1 A – École Jules-Ferry", "GS B – École Les Tilleuls"]
    posted = await post_form(
        client, path, {**CHILD, "ecole": str(ferry.id), "classe": str(ce1.id)}, from_page=path
    )
    assert posted.status_code == 303
    child = await Child.select().where(Child.family == family.id).first()
    assert (child["school"], child["school_class"]) == (ferry.id, ce1.id)
    edit = f"/agents/familles/{family.id}/enfants/{child['id']}"
    page = soup((await client.get(edit)).text)
    assert page.select_one("#classe option[selected]").get_text() == "CE1 A – École Jules-Ferry"
    hx = await post_form(
        client,
        edit,
        {**CHILD, "ecole": str(ferry.id), "classe": "", "actif": "oui"},
        from_page=edit,
        headers={"HX-Request": "true"},
    )
    assert hx.status_code == 200 and hx.headers["hx-redirect"]
    child = await Child.select().where(Child.id == child["id"]).first()
    assert child["school_class"] is None


async def test_the_child_form_refuses_a_level_or_class_not_of_the_school(client):
    await staff_client(client)
    family, _ = await indexed_family()
    ferry, tilleuls, ce1, gs = await _schools()
    path = f"/agents/familles/{family.id}/enfants/nouveau"
    for headers in ({}, {"HX-Request": "true"}):
        level = await post_form(
            client,
            path,
            {**CHILD, "ecole": str(tilleuls.id), "classe": ""},
            from_page=path,
            headers=headers,
        )
        assert level.status_code == 422 and error_summary_links(level.text) == ["#niveau"]
        assert _message(level.text, "niveau").endswith(
            "L’école École Les Tilleuls n’enseigne pas le niveau CE1 (maternelle : PS à GS)."
        )
        kept = soup(level.text)
        assert kept.select_one("#prenom")["value"] == "Noé"
        assert kept.select_one("#niveau option[selected]")["value"] == "CE1"
    klass = await post_form(
        client, path, {**CHILD, "ecole": str(ferry.id), "classe": str(gs.id)}, from_page=path
    )
    assert klass.status_code == 422 and error_summary_links(klass.text) == ["#classe"]
    assert "n’est pas une classe de l’école École Jules-Ferry" in _message(klass.text, "classe")
    assert soup(klass.text).select_one("#classe option[selected]")["value"] == str(gs.id)
    unknown = await post_form(
        client, path, {**CHILD, "ecole": str(ferry.id), "classe": "999"}, from_page=path
    )
    assert unknown.status_code == 422
    assert "Choisissez une classe de la liste." in _message(unknown.text, "classe")
    refused = await post_form(
        client, path, {**CHILD, "ecole": str(ferry.id), "classe": str(ce1.id)}, csrf=False
    )
    assert refused.status_code == 403
    assert await Child.count() == 0


async def test_an_agent_cannot_edit_schools_nor_children(client):
    await staff_client(client, "agent")
    family, _ = await indexed_family()
    ferry, _, _, _ = await _schools()
    assert (await client.get(f"/agents/parametres/ecoles/{ferry.id}")).status_code == 403
    assert (await client.get(f"/agents/familles/{family.id}/enfants/nouveau")).status_code == 403
