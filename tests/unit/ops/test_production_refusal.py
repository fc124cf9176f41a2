"""The app refuses to start with production settings that keep a demo default."""

from __future__ import annotations

import pytest

from ecp.app import create_app
from ecp.payments.config import SHIPPED_KEYS, PayboxConfig
from ecp.settings import DEFAULT_SECRET, Settings

PAYBOX = PayboxConfig(
    site="1999888",
    rang="032",
    identifiant="107904482",
    hmac_key="0123456789ABCDEF" * 8,
    endpoints=("https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi",),
    public_key_files=tuple(str(p) for p in SHIPPED_KEYS),
)
GOOD = dict(
    environment="production",
    base_url="https://famille.example.fr",
    secret_key="x" * 48,
    payment_simulator=False,
    debug=False,
    password_profile="production",
    jobs_enabled=False,
    paybox=PAYBOX,
)


def test_production_settings_that_are_right_start():
    assert create_app(Settings(**GOOD)) is not None


@pytest.mark.parametrize(
    "change, word",
    [
        ({"secret_key": DEFAULT_SECRET}, "ECP_SECRET_KEY"),
        ({"payment_simulator": True}, "simulateur"),
        ({"debug": True}, "debug"),
    ],
)
def test_app_refuses_to_start_with_a_default_in_production(change, word):
    with pytest.raises(RuntimeError, match=word):
        create_app(Settings(**{**GOOD, **change}))


def test_default_secret_from_the_environment_is_refused():
    env = {
        "ECP_ENV": "production",
        "ECP_BASE_URL": "https://famille.example.fr",
        "ECP_PAYMENT_SIMULATOR": "0",
    }
    with pytest.raises(RuntimeError, match="ECP_SECRET_KEY"):
        create_app(Settings.from_env(env))


def test_ops_settings_come_from_the_environment():
    s = Settings.from_env(
        {
            "ECP_METRICS_ALLOWED": "10.0.0.0/8, 192.168.1.5",
            "ECP_JOB_LEASE_SECONDS": "20",
            "ECP_LOG_FORMAT": "console",
            "ECP_REMINDER_WEEKS": "4",
        }
    )
    assert s.metrics_allowed == ("10.0.0.0/8", "192.168.1.5")
    assert s.job_lease_seconds == 20 and s.log_format == "console" and s.reminder_weeks == 4
