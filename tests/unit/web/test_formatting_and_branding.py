"""French formatting filters and the commune's colour check (pure functions)."""

from __future__ import annotations

import datetime as dt

from ecp.payments.config import SHIPPED_KEYS, PayboxConfig
from ecp.settings import Settings
from ecp.web.branding import FALLBACK, contrast, theme_css, usable_brand
from ecp.web.templating import date_fr, date_heure, euros, heure, jour


def test_amounts_are_french():
    assert euros(1250) == "12,50\xa0€"
    assert euros(123456) == "1\u202f234,56\xa0€"
    assert euros(0) == "0,00\xa0€"
    assert euros(-500) == "-5,00\xa0€"


def test_dates_are_french_and_in_paris_time():
    assert date_fr(dt.date(2026, 11, 29)) == "29/11/2026"
    assert jour(dt.date(2026, 12, 7)) == "lundi 7 décembre"
    late_utc = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)
    assert date_fr(late_utc) == "30/11/2026"  # already the 30th in Paris
    assert heure(late_utc) == "00:30"
    assert date_heure(late_utc) == "30/11/2026 à 00:30"


def test_brand_colour_must_contrast_with_white():
    assert contrast("#000000", "#ffffff") == 21
    assert usable_brand("#1d4e89") == "#1d4e89"
    assert usable_brand("#ffd700") == FALLBACK  # gold on white fails 4.5:1
    assert usable_brand("red; }") == FALLBACK  # not a colour: never injected into CSS
    assert theme_css(Settings(brand_colour="#7a1f5c")) == ":root { --brand: #7a1f5c; }\n"


def test_production_refuses_default_secret_simulator_debug_and_plain_http():
    problems = " ".join(Settings(environment="production", debug=True).production_problems())
    for setting in ("ECP_SECRET_KEY", "ECP_PAYMENT_SIMULATOR", "ECP_DEBUG", "ECP_BASE_URL"):
        assert setting in problems
    base = dict(
        environment="production",
        secret_key="x" * 40,
        payment_simulator=False,
        base_url="https://famille.villebelle.fr",
    )
    unconfigured = " ".join(Settings(**base).production_problems())
    assert "ECP_PAYBOX_SITE" in unconfigured  # no card payment without the bank's settings
    paybox = PayboxConfig(
        site="1999888",
        rang="032",
        identifiant="107904482",
        hmac_key="0123456789ABCDEF" * 8,
        endpoints=("https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi",),
        public_key_files=tuple(str(p) for p in SHIPPED_KEYS),
    )
    assert Settings(**base, paybox=paybox).production_problems() == []
