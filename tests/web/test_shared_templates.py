"""One Jinja environment per process, shared by every app, the e-mails and the PDFs; each app's
own values (the commune's name, its routes) reach its pages only."""

from __future__ import annotations

from ecp.app import create_app
from ecp.invoices import pdf
from ecp.mail import notices
from ecp.web import templating
from tests.conftest import make_client
from tests.support import soup


def test_apps_mail_and_pdfs_share_one_environment(app):
    shared = templating.environment()
    assert app.template_engine.engine is shared
    assert notices._env() is shared and pdf._env() is shared
    # A template is compiled once for all of them.
    assert shared.get_template("base.html") is shared.get_template("base.html")


async def test_each_app_shows_its_own_commune_whatever_was_built_after_it(settings, client):
    other = create_app(settings.with_(commune_name="Autreville-sur-Loire"))
    async with make_client(other) as other_client:
        theirs = (await other_client.get("/")).text
    ours = (await client.get("/")).text
    assert "Autreville-sur-Loire" in soup(theirs).title.get_text()
    assert "Villebelle-sur-Seine" in soup(ours).title.get_text()
    assert "Autreville" not in ours
    assert "branding" not in templating.environment().globals


def test_debug_apps_reload_templates_and_others_do_not(settings):
    debug = create_app(settings.with_(debug=True))
    assert debug.template_engine.engine.auto_reload is True
    assert templating.environment().auto_reload is False
