"""Family and staff login through the forms: full page, errors, CSRF, redirect, rotation."""

from __future__ import annotations

from ecp.auth.tables import AuthSession
from tests import factories
from tests.support import (
    csrf_token,
    error_summary_links,
    login_family,
    login_staff,
    post_form,
    soup,
)


async def test_home_page_shows_the_family_login_form(client):
    response = await client.get("/")
    assert response.status_code == 200
    page = soup(response.text)
    assert page.html["lang"] == "fr"
    assert len(page.find_all("h1")) == 1
    form = page.select_one("form#login-form")
    assert form["action"] == "/connexion" and form["method"] == "post"
    assert page.select_one("input#code_famille")["autocomplete"] == "username"
    password = page.select_one("input#mot_de_passe")
    assert password["type"] == "password" and password["autocomplete"] == "current-password"
    # No audit has been made: the lawful status is « non conforme » (docs/rgaa.md).
    assert "ce portail est non conforme au référentiel" in page.get_text(" ", strip=True)


async def test_family_logs_in_and_sees_its_name(client):
    family = await factories.make_family("F00001", name="Martin")
    await factories.make_child(family, "Léa")
    response = await login_family(client)
    assert response.headers["location"] == "/famille/"
    home = await client.get("/famille/")
    assert home.status_code == 200
    assert "Bonjour, famille Martin" in home.text and "Léa Martin" in home.text


async def test_wrong_password_gives_422_with_error_summary_and_keeps_the_code(client):
    await factories.make_family("F00001")
    response = await post_form(
        client, "/connexion", {"code_famille": "F00001", "mot_de_passe": "pas-le-bon-mot"}
    )
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.string.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#mot_de_passe"]
    assert page.select_one("#code_famille")["value"] == "F00001"
    assert page.select_one("#mot_de_passe")["aria-describedby"] == "mot_de_passe-error"
    assert await AuthSession.count() == 0


async def test_empty_fields_are_reported_in_french_next_to_each_field(client):
    response = await post_form(client, "/connexion", {"code_famille": "", "mot_de_passe": ""})
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#code_famille", "#mot_de_passe"]
    assert "Saisissez votre code famille." in response.text


async def test_login_without_csrf_token_is_refused(client):
    await factories.make_family("F00001")
    await client.get("/")
    response = await client.post(
        "/connexion", data={"code_famille": "F00001", "mot_de_passe": "demo-famille-1"}
    )
    assert response.status_code == 403
    assert "Accès refusé" in response.text
    assert await AuthSession.count() == 0


async def test_login_fragment_for_htmx_has_no_layout(client):
    response = await client.get("/connexion", headers={"HX-Request": "true"})
    # The login page has no fragment of its own: htmx gets the full page, with Vary set.
    assert response.headers["vary"] == "HX-Request"


async def test_staff_login_goes_to_the_staff_home(client):
    await factories.make_staff("agent", role="administrateur", display_name="Agent SEJ")
    response = await post_form(
        client,
        "/agents/connexion",
        {"identifiant": "agent", "mot_de_passe": "demo-agent-sej-2026"},
        from_page="/agents/connexion",
    )
    # The password alone is not enough (docs/security.md A10): the second factor comes first.
    assert response.status_code == 303
    assert response.headers["location"] == "/agents/connexion/activation"
    response = await login_staff(client)
    assert response.status_code == 303 and response.headers["location"] == "/agents/"
    home = await client.get("/agents/")
    assert home.status_code == 200 and "Tableau de bord" in home.text


async def test_next_parameter_cannot_redirect_elsewhere(client):
    await factories.make_family("F00001")
    token = await csrf_token(client)
    response = await client.post(
        "/connexion",
        data={
            "_csrf_token": token,
            "code_famille": "F00001",
            "mot_de_passe": "demo-famille-1",
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/famille/"
