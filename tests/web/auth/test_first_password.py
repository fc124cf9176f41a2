"""A provisional password (a welcome letter's, an administrator's) is replaced at the first
login: every page of the account sends to « Choisir votre mot de passe » until it is, htmx
requests too; the policy of every new password; the other sessions closed; the journal."""

from __future__ import annotations

from ecp.audit.tables import AuditLog
from ecp.auth.tables import AuthSession, StaffUser
from ecp.families.tables import Family
from tests import factories
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

FAMILY_FORM = "/famille/premier-mot-de-passe"
STAFF_FORM = "/agents/compte/premier-mot-de-passe"
LETTER = "lettre-provisoire-7"
NEW = "le chat dort sur le piano"
STAFF_NEW = "la pendule du salon avance de dix minutes"


async def _provisional_family(**fields) -> Family:
    return await factories.make_family(
        "F00001", password=LETTER, must_change_password=True, **fields
    )


async def _choose(client, path, new, confirmation=None, from_page=None, **kw):
    return await post_form(
        client,
        path,
        {
            "nouveau_mot_de_passe": new,
            "confirmation": new if confirmation is None else confirmation,
        },
        from_page=from_page or path,
        **kw,
    )


async def test_every_family_page_sends_to_the_form_until_the_password_is_chosen(client):
    await _provisional_family()
    await login_family(client, password=LETTER)
    for path in (
        "/famille/",
        "/famille/reservations",
        "/famille/factures",
        "/famille/mot-de-passe",
    ):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == FAMILY_FORM
    hx = await client.get("/famille/factures", headers={"HX-Request": "true"})
    assert hx.headers["hx-redirect"] == FAMILY_FORM
    # A form posted meanwhile is not carried out either.
    posted = await post_form(client, "/famille/coordonnees/rappels", {"rappels": "oui"})
    assert posted.status_code == 303 and posted.headers["location"] == FAMILY_FORM
    assert not (await Family.select(Family.reminders).first())["reminders"]
    page = await client.get(FAMILY_FORM)
    html = soup(page.text)
    assert page.status_code == 200 and html.h1.get_text() == "Choisir votre mot de passe"
    assert "lettre d’accueil" in page.text
    assert html.select("nav.main-nav a") == []  # no link that would only send back here
    form = html.select_one("form#first-password-form")
    assert form["action"] == FAMILY_FORM and form["hx-post"] == FAMILY_FORM
    assert html.select_one("#nouveau_mot_de_passe")["autocomplete"] == "new-password"
    assert "12 caractères au moins" in html.select_one("#nouveau_mot_de_passe-hint").get_text()
    fragment = await client.get(FAMILY_FORM, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.headers["vary"] == "HX-Request"
    assert soup(fragment.text).select_one("form")["id"] == "first-password-form"


async def test_the_policy_of_every_new_password_applies(client):
    await _provisional_family()
    await login_family(client, password=LETTER)
    for new, confirmation, field, message in (
        ("", "", "nouveau_mot_de_passe", "Choisissez un nouveau mot de passe."),
        ("court", "court", "nouveau_mot_de_passe", "12 caractères"),
        ("le F00001 et sa phrase", "le F00001 et sa phrase", "nouveau_mot_de_passe", "identifiant"),
        (NEW, "autre chose encore", "confirmation", "sont différents"),
    ):
        response = await _choose(client, FAMILY_FORM, new, confirmation)
        assert response.status_code == 422, new
        assert error_summary_links(response.text) == [f"#{field}"]
        assert message in soup(response.text).select_one(f"#{field}-error").get_text(), new
        assert soup(response.text).title.get_text().startswith("Erreur : Choisir")
    hx = await _choose(client, FAMILY_FORM, "court", headers={"HX-Request": "true"})
    assert hx.status_code == 422 and "<html" not in hx.text
    assert "Erreur : Choisir votre mot de passe" in hx.text
    assert (await Family.select(Family.must_change_password).first())["must_change_password"]


async def test_the_provisional_password_itself_is_refused(client):
    await factories.make_family(
        "F00001", password="une-lettre-provisoire", must_change_password=True
    )
    await login_family(client, password="une-lettre-provisoire")
    response = await _choose(client, FAMILY_FORM, "une-lettre-provisoire")
    assert response.status_code == 422
    assert "différent du mot de passe provisoire" in response.text


async def test_choosing_it_opens_the_portal_ends_other_sessions_and_is_journalled(
    client, other_client
):
    family = await _provisional_family()
    await login_family(other_client, password=LETTER)
    await login_family(client, password=LETTER)
    refused = await client.post(
        FAMILY_FORM, data={"nouveau_mot_de_passe": NEW, "confirmation": NEW}
    )
    assert refused.status_code == 403 and "Le formulaire a expiré" in refused.text
    response = await _choose(client, FAMILY_FORM, NEW)
    assert response.status_code == 303 and response.headers["location"] == "/famille"
    home = await client.get("/famille/")
    assert home.status_code == 200 and "Votre mot de passe est enregistré" in home.text
    assert (await other_client.get("/famille/", follow_redirects=False)).status_code == 303
    assert await AuthSession.count().where(AuthSession.family == family.id) == 1
    row = await Family.select().first()
    assert not row["must_change_password"]
    entry = await AuditLog.select().where(AuditLog.action == "first_password_chosen").first()
    assert entry["family"] == family.id and entry["target"] == "F00001"
    # The form is done: its address goes home, and the new password logs in.
    again = await client.get(FAMILY_FORM, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/famille"
    await login_family(other_client, password=NEW)


async def test_htmx_success_navigates_home(client):
    await _provisional_family()
    await login_family(client, password=LETTER)
    response = await _choose(client, FAMILY_FORM, NEW, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["hx-redirect"] == "/famille"


async def test_a_family_with_its_own_password_is_never_sent_there(client):
    await factories.make_family("F00001")
    await login_family(client)
    assert (await client.get("/famille/factures")).status_code == 200
    response = await client.get(FAMILY_FORM, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/famille"
    posted = await _choose(client, FAMILY_FORM, NEW, from_page="/famille/factures")
    assert posted.status_code == 303 and posted.headers["location"] == "/famille"
    assert await AuditLog.count() == 0


async def test_staff_given_a_password_choose_theirs_at_first_login(client, other_client):
    await factories.make_staff(
        "nouvel-agent", password="provisoire-de-l-admin", role="agent", must_change_password=True
    )
    await login_staff(client, "nouvel-agent", "provisoire-de-l-admin")
    for path in ("/agents/", "/agents/familles", "/agents/compte"):
        response = await client.get(path, follow_redirects=False)
        assert response.headers["location"] == STAFF_FORM, path
    hx = await client.get("/agents/familles", headers={"HX-Request": "true"})
    assert hx.headers["hx-redirect"] == STAFF_FORM
    page = await client.get(STAFF_FORM)
    assert "remis par un administrateur" in page.text
    assert "15 caractères au moins" in page.text
    short = await _choose(client, STAFF_FORM, "douze-carac!")
    assert short.status_code == 422 and "au moins 15 caractères" in short.text
    named = await _choose(client, STAFF_FORM, "nouvel-agent et sa phrase")
    assert named.status_code == 422 and "identifiant" in named.text
    done = await _choose(client, STAFF_FORM, STAFF_NEW)
    assert done.status_code == 303 and done.headers["location"] == "/agents"
    assert (await client.get("/agents/familles")).status_code == 200
    row = await StaffUser.select().where(StaffUser.username == "nouvel-agent").first()
    assert not row["must_change_password"]
    entry = await AuditLog.select().where(AuditLog.action == "first_password_chosen").first()
    assert entry["target"] == "agent nouvel-agent" and entry["staff"] == row["id"]
    await login_staff(other_client, "nouvel-agent", STAFF_NEW)
