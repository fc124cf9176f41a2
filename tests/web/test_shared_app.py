"""The harness (tests/conftest.py): one app for every test with the default settings, an app of
its own for a test with other settings, and each test starting clean. The tests of the second
group run in this order: each one after the one that left things behind."""

from __future__ import annotations

import pytest

from ecp import clock
from ecp.commune import setup_cache
from ecp.invoices import pdf
from ecp.payments import provider


def test_the_default_settings_share_the_session_app(app, shared_app):
    assert app is shared_app[0]


class TestOtherSettings:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(commune_name="Autreville-sur-Loire")

    def test_get_an_app_of_their_own(self, app, shared_app):
        assert app is not shared_app[0]
        assert app.state.settings.commune_name == "Autreville-sur-Loire"


class TestExtra:
    @pytest.fixture
    def settings(self, settings):
        # `extra` takes no part in Settings' equality: the harness must look at it anyway.
        return settings.with_(extra={"paybox": object()})

    def test_anything_in_extra_is_other_settings(self, app, shared_app, settings):
        assert settings == shared_app[0].state.settings
        assert app is not shared_app[0]


@pytest.mark.own_app
def test_a_test_that_changes_its_app_can_ask_for_its_own(app, shared_app):
    assert app is not shared_app[0]


async def test_leaving_things_behind(app):
    await app.stores.get("login_rate").set("someone", b"9")
    app.state.job_runner = "a runner"
    app.state.passwords.hasher = "a spy"
    clock.set_now(clock.now().replace(year=2030))
    with setup_cache.SETUP.current(41, "GET"):
        setup_cache.SETUP.put("a set-up")
        assert setup_cache.SETUP.get() == "a set-up"
    pdf._remember("key", b"%PDF")
    provider._probe_cache[("a", "b")] = (0.0, "a")


async def test_the_next_test_starts_clean(app):
    assert await app.stores.get("login_rate").get("someone") is None
    assert "job_runner" not in app.state
    assert app.state.passwords.hasher != "a spy" and app.state.passwords.hasher.verify(
        app.state.passwords.hasher.hash("x"), "x"
    )
    assert clock.now().year < 2030
    with setup_cache.SETUP.current(41, "GET"):
        assert setup_cache.SETUP.get() is None
    assert len(pdf._cache) == 0 and pdf._cached_bytes == 0
    assert provider._probe_cache == {}
