"""RGAA 11.10: on the family side, every required field says so in its label and to assistive
technologies (aria-required), and the error summary reads in the order of the fields."""

from __future__ import annotations

from ecp import clock
from tests import booking_factories as bf
from tests.accounts_factories import family_with_guardian
from tests.support import error_summary_links, login_family, post_form, soup

REQUIRED = "(obligatoire)"


def required_state(html: str, ids: list[str]) -> dict[str, tuple[bool, bool]]:
    """For each control: (its label says « obligatoire », it carries aria-required)."""
    page = soup(html)
    state = {}
    for control_id in ids:
        control = page.select_one(f"#{control_id}")
        assert control is not None, control_id
        label = page.select_one(f"label[for={control_id}]")
        state[control_id] = (
            REQUIRED in label.get_text(" ", strip=True),
            control.get("aria-required") == "true",
        )
    return state


async def test_the_login_forms_mark_both_fields_required(client):
    for path, ids in (
        ("/", ["code_famille", "mot_de_passe"]),
        ("/connexion", ["code_famille", "mot_de_passe"]),
        ("/agents/connexion", ["identifiant", "mot_de_passe"]),
    ):
        page = await client.get(path)
        assert required_state(page.text, ids) == dict.fromkeys(ids, (True, True)), path


async def test_the_forgotten_password_form_marks_its_field_required(client):
    page = await client.get("/mot-de-passe-oublie")
    assert required_state(page.text, ["identifiant"]) == {"identifiant": (True, True)}


async def test_the_password_change_marks_its_three_fields_required(client):
    await family_with_guardian()
    await login_family(client)
    ids = ["mot_de_passe_actuel", "nouveau_mot_de_passe", "confirmation"]
    page = await client.get("/famille/mot-de-passe")
    assert required_state(page.text, ids) == dict.fromkeys(ids, (True, True))
    # And the error summary follows the fields.
    response = await post_form(
        client,
        "/famille/mot-de-passe",
        {"mot_de_passe_actuel": "", "nouveau_mot_de_passe": "", "confirmation": ""},
        from_page="/famille/mot-de-passe",
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#mot_de_passe_actuel", "#nouveau_mot_de_passe"]


async def test_the_contact_change_marks_what_may_not_be_emptied(client):
    _, guardian = await family_with_guardian()
    await login_family(client)
    path = f"/famille/coordonnees/{guardian.id}/modifier"
    page = await client.get(path)
    state = required_state(
        page.text,
        ["address_line1", "address_line2", "postcode", "city", "phone_home", "email"],
    )
    assert state == {
        "address_line1": (True, True),
        "address_line2": (False, False),
        "postcode": (True, True),
        "city": (True, True),
        "phone_home": (False, False),
        "email": (True, True),  # the guardian has one: it may be changed, not removed
    }
    legend = [lg.get_text(" ", strip=True) for lg in soup(page.text).select("legend")]
    assert "Téléphones (au moins un numéro obligatoire)" in legend
    # Errors found by the cross-field checks (the postcode's form, « au moins un numéro »)
    # take their place among the others, in the order of the page.
    response = await post_form(
        client,
        path,
        {
            "address_line1": "",
            "postcode": "7899",
            "city": "",
            "phone_mobile": "",
            "phone_home": "",
            "phone_work": "",
            "email": "pas-une-adresse",
        },
        from_page=path,
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == [
        "#address_line1",
        "#postcode",
        "#city",
        "#phone_mobile",
        "#email",
    ]


async def test_the_semaine_type_marks_children_days_and_dates_required(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    await bf.make_family_with_children(commune)
    await login_family(client)
    page = await client.get("/famille/reservations/semaine-type")
    assert required_state(page.text, ["du", "au"]) == {"du": (True, True), "au": (True, True)}
    legends = [lg.get_text(" ", strip=True) for lg in soup(page.text).select("legend")]
    assert "Pour quels enfants ? (obligatoire)" in legends
    assert "Quels jours, pour chaque activité ? (obligatoire)" in legends
    # The dates are native date inputs, their value in ISO for the browser.
    du = soup(page.text).select_one("#du")
    assert du["type"] == "date" and du["value"][4] == "-"
