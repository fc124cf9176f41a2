"""Staff reading the outbox: list, filter (page and fragment), message view, access."""

from __future__ import annotations

from ecp.audit.tables import AuditLog
from ecp.mail.outbox import queue_email
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.support import login_family, login_staff, soup


async def _messages():
    family = await factories.make_family("F00001")
    first = await queue_email(
        to="claire.martin@example.org",
        subject="Votre facture est disponible",
        text="Bonjour,\n\nLa facture FAC-2026-000001.\nMerci.",
        html="<p>Bonjour</p>",
        kind="facture",
        family_id=family.id,
    )
    await queue_email(to="x@example.org", subject="Réinitialisation", text="Lien", kind="reset")
    await OutboxEmail.update({OutboxEmail.status: "envoye"}).where(OutboxEmail.id != first)
    return family, first


async def test_outbox_lists_messages_and_filters_by_state(client):
    await factories.make_staff(role="agent")
    await _messages()
    await login_staff(client)
    page = await client.get("/agents/courriels")
    assert page.status_code == 200
    rows = soup(page.text).select("#outbox-list tbody tr")
    assert len(rows) == 2 and "famille F00001" in rows[1].get_text()
    assert "Aucun serveur de messagerie" in page.text
    fragment = await client.get("/agents/courriels?etat=en_attente", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="outbox-list"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert "Votre facture" in fragment.text and "Réinitialisation" not in fragment.text


async def test_message_view_shows_the_text_and_is_audited(client):
    await factories.make_staff(role="agent")
    family, first = await _messages()
    await login_staff(client)
    page = await client.get(f"/agents/courriels/{first}")
    html = soup(page.text)
    assert html.h1.get_text() == "Votre facture est disponible"
    assert "La facture FAC-2026-000001." in html.get_text()
    entry = await AuditLog.select().where(AuditLog.action == "courriel_consulte").first()
    assert entry["family"] == family.id
    assert (await client.get("/agents/courriels/9999")).status_code == 404


async def test_families_cannot_read_the_outbox(client):
    await _messages()
    await login_family(client)
    assert (await client.get("/agents/courriels")).status_code == 404


async def test_undeclared_reset_text_is_hidden_with_or_without_smtp(settings):
    """A reset message written without its secret declared (before masking existed, or by a
    careless producer) is not shown at all, demo or not."""
    from ecp.app import create_app
    from tests.conftest import make_client

    await factories.make_staff(role="agent")
    reset = await queue_email(
        to="x@example.org",
        subject="Réinitialisation",
        text="Lien : https://portail/reinitialiser/SECRET",
        kind="reset",
    )
    for smtp in ("smtp.example.org", None):
        async with make_client(create_app(settings.with_(smtp_host=smtp))) as client:
            await login_staff(client)
            page = await client.get(f"/agents/courriels/{reset}")
        assert page.status_code == 200 and "SECRET" not in page.text
        assert "Contenu masqué" in page.text
