"""The harness (tests/conftest.py) gives the payment tests one app: their settings differ only by
the Paybox spool directory (tmp_path), which the app reads from `app.state.settings` at each
request, and each test finds its own settings there (tests/web/payments/
test_ipn_spool_and_refusals.py checks that a notification lands in the test's own spool)."""

from __future__ import annotations

import dataclasses

from tests.conftest import _app_for


def test_payment_tests_share_one_app_holding_each_tests_settings(
    app, settings, tmp_path, shared_app
):
    assert app.state.settings is settings
    assert settings.paybox.spool_dir == str(tmp_path / "spool")
    another_test = settings.with_(paybox=dataclasses.replace(settings.paybox, spool_dir="/x"))
    assert _app_for(another_test)[0] is app
    assert app is not shared_app[0]  # other Paybox settings than the default ones
