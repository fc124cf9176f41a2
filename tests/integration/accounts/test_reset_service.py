"""The reset link's service without HTTP: the link reversed from the route's name, the token's
family code (which the new password may not contain), and a single use."""

from __future__ import annotations

import pytest

from ecp.accounts import reset
from ecp.auth import sessions
from ecp.auth.passwords import Passwords
from ecp.auth.tables import AuthSession
from ecp.families.tables import Family
from tests import factories


async def test_the_link_is_the_reset_route_under_the_configured_base_url(settings):
    family = await factories.make_family("F00001", email="claire@example.org")
    link = await reset.create_link(settings, family.id, "claire@example.org")
    base = "https://testserver.local/mot-de-passe-oublie/nouveau/"
    assert link.startswith(base) and len(link) > len(base) + 40


async def test_a_valid_token_names_the_family_code_and_sets_the_password_once(settings):
    family = await factories.make_family("F00001", email="claire@example.org")
    await sessions.open_session(family_id=family.id)
    token = (await reset.create_link(settings, family.id, "claire@example.org")).rsplit("/", 1)[1]
    row = await reset.valid_token(token)
    assert row["family"] == family.id and row["family_code"] == "F00001"
    passwords = Passwords(settings.password_profile)
    assert await reset.set_password(token, "le chat dort sur le piano", passwords) == family.id
    stored = await Family.select(Family.password_hash).where(Family.id == family.id).first()
    assert await passwords.verify(stored["password_hash"], "le chat dort sur le piano")
    assert await AuthSession.count() == 0
    assert await reset.valid_token(token) is None
    with pytest.raises(reset.TokenInvalid):
        await reset.set_password(token, "une autre phrase encore", passwords)


async def test_the_background_task_keeps_a_failure_to_the_logs(settings, monkeypatch, caplog):
    async def broken(settings, identifier):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(reset, "issue_for_identifier", broken)
    await reset.issue_quietly(settings, "F00001")  # no exception reaches the visitor
    assert "could not be queued" in caplog.text
