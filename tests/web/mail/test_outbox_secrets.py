"""Reset links never reach staff: masked in the outbox (every role, every view), sealed in the
database until delivery and wiped after; the family's delivered copy holds the working link."""

from __future__ import annotations

import datetime as dt
import email
import logging
import os
import re
import socket
import stat

import pytest
from aiosmtpd.controller import Controller

from ecp import clock
from ecp.accounts import reset
from ecp.mail import sealing
from ecp.mail.outbox import queue_email
from ecp.mail.sender import deliver_due
from ecp.mail.tables import OutboxEmail
from ecp.ops.cleanup import delete_expired
from tests import factories
from tests.support import login_family, login_staff, post_form, soup

TOKEN_RE = re.compile(r"/mot-de-passe-oublie/nouveau/([A-Za-z0-9_-]{43})")


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _reset_mail(settings) -> tuple[int, str, str]:
    """A family asks for a link; returns (family id, link, token)."""
    family = await factories.make_family("F00001", email="claire@example.org")
    link = await reset.create_link(settings, family.id, "claire@example.org")
    token = TOKEN_RE.search(link).group(1)
    return family.id, link, token


async def _row() -> dict:
    return await OutboxEmail.select().where(OutboxEmail.kind == "reset").first()


def _no_token_anywhere(row: dict, token: str) -> None:
    for column, value in row.items():
        assert token not in str(value), f"token in clear in {column}"


@pytest.mark.parametrize("role", ["agent", "regisseur", "administrateur"])
async def test_no_staff_role_sees_the_link_in_any_outbox_view(client, settings, role):
    _, link, token = await _reset_mail(settings)
    message_id = (await _row())["id"]
    await factories.make_staff(role=role)
    await login_staff(client)
    pages = {
        "list": await client.get("/agents/courriels"),
        "list fragment": await client.get(
            "/agents/courriels?etat=en_attente", headers={"HX-Request": "true"}
        ),
        "message": await client.get(f"/agents/courriels/{message_id}"),
        "message fragment": await client.get(
            f"/agents/courriels/{message_id}", headers={"HX-Request": "true"}
        ),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert token not in page.text and link not in page.text, name
        assert "/mot-de-passe-oublie/nouveau/" not in page.text, name
    assert 'id="outbox-list"' in pages["list fragment"].text
    assert "<html" not in pages["list fragment"].text
    text = soup(pages["message"].text).select_one("section.card").get_text()
    # Staff still see what was sent, with the link replaced by a French placeholder.
    assert "Ouvrez ce lien dans l’heure qui vient" in text
    assert sealing.LINK_PLACEHOLDER in text
    assert "Choisir un nouveau mot de passe" in pages["list"].text


async def test_the_row_never_holds_the_token_and_the_delivered_link_works(client, settings):
    family_id, link, token = await _reset_mail(settings)
    row = await _row()
    _no_token_anywhere(row, token)  # before delivery: masked body, sealed copy
    assert row["sealed_body"] and sealing.LINK_PLACEHOLDER in row["body_text"]

    port = _free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await deliver_due(settings.with_(smtp_host="127.0.0.1", smtp_port=port)) == 1
    finally:
        controller.stop()
    row = await _row()
    assert row["status"] == "envoye" and row["sealed_body"] == ""
    _no_token_anywhere(row, token)

    delivered = email.message_from_bytes(inbox.messages[0].content)
    assert inbox.messages[0].rcpt_tos == ["claire@example.org"]
    body = delivered.get_payload(decode=True).decode()
    assert link in body and sealing.LINK_PLACEHOLDER not in body
    received = TOKEN_RE.search(body).group(1)

    page = await client.get(f"/mot-de-passe-oublie/nouveau/{received}")
    assert page.status_code == 200 and soup(page.text).select_one("#nouveau_mot_de_passe")
    response = await post_form(
        client,
        f"/mot-de-passe-oublie/nouveau/{received}",
        {
            "nouveau_mot_de_passe": "le héron pêche à l’aube",
            "confirmation": "le héron pêche à l’aube",
        },
        from_page=f"/mot-de-passe-oublie/nouveau/{received}",
    )
    assert response.status_code == 303
    await login_family(client, "F00001", "le héron pêche à l’aube")


async def test_the_local_demo_delivers_to_files_never_to_a_staff_page(client, settings, tmp_path):
    _, link, token = await _reset_mail(settings)
    directory = tmp_path / "courriels"
    demo = settings.with_(smtp_host=None, mail_dir=str(directory))
    assert await deliver_due(demo) == 1
    [path] = list(directory.iterdir())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    delivered = email.message_from_bytes(path.read_bytes())
    assert delivered["To"] == "claire@example.org"
    assert link in delivered.get_payload(decode=True).decode()
    row = await _row()
    assert row["status"] == "envoye" and row["sealed_body"] == ""
    _no_token_anywhere(row, token)
    assert await deliver_due(demo) == 0  # delivered once

    await factories.make_staff(role="administrateur")
    await login_staff(client)
    page = await client.get(f"/agents/courriels/{row['id']}")
    assert page.status_code == 200 and token not in page.text


async def test_production_refuses_the_demo_mail_directory(settings, tmp_path):
    production = settings.with_(environment="production", mail_dir=str(tmp_path))
    assert any("ECP_MAIL_DIR" in p for p in production.production_problems())
    # And a process started anyway writes nothing to disk.
    await _reset_mail(settings)
    assert await deliver_due(production.with_(smtp_host=None)) == 0
    assert list(tmp_path.iterdir()) == []
    assert (await _row())["status"] == "en_attente"


async def test_a_sealed_link_never_delivered_is_wiped_after_a_day(settings):
    start = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    with clock.frozen(start):
        await _reset_mail(settings)
    await delete_expired(settings, start + dt.timedelta(hours=23))
    assert (await _row())["sealed_body"] != ""  # still within the bound
    await delete_expired(settings, start + sealing.MAX_AGE + dt.timedelta(minutes=1))
    row = await _row()
    assert row["sealed_body"] == "" and row["status"] == "echec"
    assert "effacé sans avoir été envoyé" in row["last_error"]
    # The sender then has nothing to send: the masked text never goes out.
    port = _free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await deliver_due(settings.with_(smtp_host="127.0.0.1", smtp_port=port)) == 0
    finally:
        controller.stop()
    assert inbox.messages == []


async def test_a_seal_under_another_key_is_not_sent_masked(settings, tmp_path):
    await _reset_mail(settings)
    other = settings.with_(
        secret_key="another-secret-key-with-enough-length-987654", mail_dir=str(tmp_path)
    )
    assert await deliver_due(other) == 0
    row = await _row()
    assert row["status"] == "echec" and "illisible" in row["last_error"]
    assert row["sealed_body"] == "" and list(tmp_path.iterdir()) == []


async def test_a_sealed_body_moved_to_another_recipient_does_not_open(settings, tmp_path):
    await _reset_mail(settings)
    sealed = (await _row())["sealed_body"]
    other = await queue_email(to="intrus@example.org", subject="x", text="x", kind="reset")
    await OutboxEmail.update({OutboxEmail.sealed_body: sealed, OutboxEmail.status: "echec"}).where(
        OutboxEmail.kind == "reset"
    )
    await OutboxEmail.update({OutboxEmail.status: "en_attente"}).where(OutboxEmail.id == other)
    assert await deliver_due(settings.with_(mail_dir=str(tmp_path))) == 0
    assert list(tmp_path.iterdir()) == []


async def test_a_secret_the_text_does_not_hold_is_refused(settings):
    with pytest.raises(ValueError, match="every secret"):
        await queue_email(
            to="a@example.org",
            subject="x",
            text="Bonjour",
            kind="reset",
            secrets=["https://portail/secret"],
            settings=settings,
        )
    with pytest.raises(ValueError, match="settings"):
        await queue_email(
            to="a@example.org",
            subject="x",
            text="https://portail/s",
            kind="reset",
            secrets=["https://portail/s"],
        )
    assert await OutboxEmail.count() == 0


async def test_html_bodies_are_masked_too(settings):
    link = "https://portail.example.fr/mot-de-passe-oublie/nouveau/abc&def"
    escaped = link.replace("&", "&amp;")
    await queue_email(
        to="a@example.org",
        subject="x",
        text=f"Lien : {link}",
        html=f'<a href="{escaped}">{escaped}</a>',
        kind="reset",
        secrets=[link],
        settings=settings,
    )
    row = await OutboxEmail.select().first()
    assert "abc" not in row["body_text"] and "abc" not in row["body_html"]
    assert sealing.LINK_PLACEHOLDER in row["body_text"]


async def test_no_log_line_holds_the_token(client, settings, caplog, tmp_path):
    caplog.set_level(logging.INFO)  # the app logs at INFO; DEBUG would add the drivers
    await factories.make_family("F00001", email="claire@example.org")
    await post_form(
        client, "/mot-de-passe-oublie", {"identifiant": "F00001"}, from_page="/mot-de-passe-oublie"
    )
    # The look-up runs as a background task, finished once the in-process client returns.
    assert await _row() is not None
    assert await deliver_due(settings.with_(mail_dir=str(tmp_path))) == 1
    [path] = list(tmp_path.iterdir())
    body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()
    token = TOKEN_RE.search(body).group(1)
    await client.get(f"/mot-de-passe-oublie/nouveau/{token}")
    assert caplog.records and token not in caplog.text


async def test_anonymising_a_family_wipes_its_sealed_links(settings):
    from ecp.accounts.retention import _anonymise

    family_id, _, token = await _reset_mail(settings)
    assert (await _row())["sealed_body"] != ""
    await _anonymise(family_id, clock.now())
    row = await _row()
    assert row["sealed_body"] == "" and row["to_address"] == ""
    _no_token_anywhere(row, token)
