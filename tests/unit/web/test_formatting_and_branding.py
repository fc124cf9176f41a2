"""French formatting filters and the commune's colour check (pure functions)."""

from __future__ import annotations

import datetime as dt

from ecp.payments.config import SHIPPED_KEYS, PayboxConfig
from ecp.settings import Settings
from ecp.web.branding import FALLBACK, contrast, theme_css, usable_brand
from ecp.web.templating import (
    date_fr,
    date_heure,
    date_long,
    environment,
    euros,
    french_date,
    heure,
    jour,
    jour_long,
)


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


DEC_7 = dt.date(2026, 12, 7)


def test_the_first_of_the_month_is_written_1er_in_words():
    first = dt.date(2026, 12, 1)
    assert jour(first) == "mardi 1er décembre"
    assert jour_long(first) == "mardi 1er décembre 2026"
    assert jour_long(dt.date(2027, 1, 1)) == "vendredi 1er janvier 2027"
    # Only the first: the 11th, the 21st and the 31st keep their number alone.
    assert jour(dt.date(2026, 12, 11)) == "vendredi 11 décembre"
    assert jour(dt.date(2026, 12, 21)) == "lundi 21 décembre"
    assert jour_long(dt.date(2026, 12, 31)) == "jeudi 31 décembre 2026"
    # Every pattern that writes the day in words (the week title's « lundi 1er au... »,
    # « 1er décembre »), never a numeric one, nor a quoted literal holding a « d ».
    assert french_date(first, "EEEE d") == "mardi 1er"
    assert french_date(first, "d MMMM") == "1er décembre"
    assert french_date(first, "dd/MM/y") == "01/12/2026"
    assert french_date(first, "d 'de' MMMM") == "1er de décembre"
    assert french_date(dt.date(2026, 12, 2), "d MMMM") == "2 décembre"
    assert date_fr(first) == "01/12/2026"
    assert date_long(first) == "1er décembre 2026" and date_long(DEC_7) == "7 décembre 2026"


def test_templates_e_mails_and_pdfs_share_the_1er_filters():
    rendered = (
        environment()
        .from_string("{{ d | jour }} / {{ d | jour_long }}")
        .render(d=dt.date(2026, 12, 1))
    )
    assert rendered == "mardi 1er décembre / mardi 1er décembre 2026"


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
