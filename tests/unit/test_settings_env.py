"""Settings.from_env: each declared variable sets its field, unset ones keep the field's default,
bad values are refused in French, Paybox's part follows the simulator mode, and nothing else in
the code reads the environment."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from ecp.payments.config import (
    SHIPPED_KEYS,
    SIMULATOR_PATH,
    TEST_HMAC_KEY,
    TEST_SITE,
    PayboxConfig,
    paybox_config,
)
from ecp.settings import Settings, SettingsError, declared

ROOT = Path(__file__).resolve().parents[2]


def sample(default):
    """A value of the default's kind that differs from it, and how the environment writes it."""
    if isinstance(default, bool):
        return (not default), "oui" if not default else "non"
    if isinstance(default, int):
        return default + 7, str(default + 7)
    if isinstance(default, float):
        return default + 0.5, str(default + 0.5)
    if isinstance(default, tuple):
        return ("10.0.0.1", "10.0.0.2"), " 10.0.0.1 , 10.0.0.2 ,"
    return "https://un.exemple.fr", "https://un.exemple.fr"


def test_no_variable_set_gives_the_declared_defaults():
    assert Settings.from_env({}) == Settings()
    # Every field but the nested Paybox part and the non-setting ones comes from a variable.
    unset = {f.name for f in fields(Settings) if "env" not in f.metadata}
    assert unset == {"paybox", "accessibility_status", "extra"}


@pytest.mark.parametrize(
    "name, default", [(n, d) for n, d, _ in declared(Settings) if n != "ECP_STAFF_MFA"]
)
def test_each_variable_sets_its_own_field(name, default):
    value, text = sample(default)
    if name == "ECP_LOG_LEVEL":
        value, text = "DEBUG", "DEBUG"
    if name == "ECP_PAYMENT_PROVIDERS":
        value, text = ("payfip", "paybox"), " PayFiP , paybox ,"
    if name == "ECP_REGIE_IBAN":  # as printed on a RIB, kept without its spaces
        value, text = "FR7630001007941234567890185", "FR76 3000 1007 9412 3456 7890 185"
    if name == "ECP_REGIE_BIC":
        value, text = "BDFEFRPPCCT", "bdfefrppcct"
    settings = Settings.from_env({name: text})
    changed = {
        f.name for f in fields(Settings) if getattr(settings, f.name) != getattr(Settings(), f.name)
    }
    field_name = next(f.name for f in fields(Settings) if f.metadata.get("env") == name)
    # The simulator mode also brings its own Paybox defaults (tested below).
    assert changed - {"paybox"} == {field_name}
    assert "paybox" not in changed or name == "ECP_PAYMENT_SIMULATOR"
    assert getattr(settings, field_name) == value


def test_the_base_url_loses_its_final_slash_and_the_log_level_is_upper_case():
    s = Settings.from_env({"ECP_BASE_URL": "https://famille.example.fr/", "ECP_LOG_LEVEL": "debug"})
    assert (s.base_url, s.log_level) == ("https://famille.example.fr", "DEBUG")


@pytest.mark.parametrize(
    "text, value",
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("oui", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("NON", False),
    ],
)
def test_booleans(text, value):
    assert Settings.from_env({"ECP_SMTP_STARTTLS": text}).smtp_starttls is value


def test_blank_values_and_empty_lists_keep_the_default():
    s = Settings.from_env(
        {
            "ECP_SMTP_PORT": " ",
            "ECP_SECRET_KEY": "",
            "ECP_METRICS_ALLOWED": ",",
            "ECP_REDIS_URL": "",
        }
    )
    assert s == Settings()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ECP_SMTP_PORT": "vingt-cinq"}, "ECP_SMTP_PORT doit être un nombre entier"),
        ({"ECP_JOB_TICK_SECONDS": "5,5"}, "ECP_JOB_TICK_SECONDS doit être un nombre"),
        ({"ECP_SMTP_STARTTLS": "ture"}, "ECP_SMTP_STARTTLS doit valoir 1, true"),
        (
            {"ECP_STAFF_MFA": "facultatif"},
            "ECP_STAFF_MFA doit valoir « obligatoire » ou « facultative »",
        ),
    ],
)
def test_unusable_values_are_refused_in_french(env, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    assert str(refused.value).startswith(message)
    assert "valeur reçue" in str(refused.value)


def test_a_bad_setting_is_one_french_line_for_the_commands():
    from ecp.failures import describe

    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"ECP_PORT": "http"})
    assert describe(refused.value) == (
        "ECP_PORT doit être un nombre entier (valeur reçue : « http »)."
    )


def test_secrets_stay_out_of_the_repr():
    s = Settings(
        secret_key="s3cr3t-value-0123456789-0123456789",
        smtp_password="mot-de-passe",
        admin_password="admin-passe",
        paybox=PayboxConfig(hmac_key="AB" * 64),
    )
    assert not {"s3cr3t", "mot-de-passe", "admin-passe", "ABAB"} & set(
        re.findall(r"[\w-]+", repr(s))
    )


# ---------------------------------------------------------------- the Paybox part


def test_with_the_simulator_paybox_defaults_to_the_test_account():
    settings = Settings()
    config = settings.paybox
    assert paybox_config(settings) is config
    assert (config.site, config.hmac_key, config.endpoints) == (
        TEST_SITE,
        TEST_HMAC_KEY,
        (SIMULATOR_PATH,),
    )
    assert config.simulator and config.problems() == []
    assert Settings.from_env({}).paybox == config


def test_without_the_simulator_production_must_give_its_own():
    config = Settings(payment_simulator=False).paybox
    assert (config.site, config.hmac_key, config.endpoints) == ("", "", ())
    assert not config.simulator
    assert config.public_key_files == tuple(str(p) for p in SHIPPED_KEYS)
    assert "ECP_PAYBOX_SITE doit compter 7 chiffres." in config.problems()
    assert Settings.from_env({"ECP_PAYMENT_SIMULATOR": "0"}).paybox == config


def test_paybox_variables_are_read():
    env = {
        "ECP_PAYMENT_SIMULATOR": "non",
        "ECP_PAYBOX_SITE": "1234567",
        "ECP_PAYBOX_RANG": "001",
        "ECP_PAYBOX_IDENTIFIANT": "12345",
        "ECP_PAYBOX_HMAC_KEY": " " + "AB" * 64 + "\n",
        "ECP_PAYBOX_URLS": "https://tpeweb.paybox.com/a, https://tpeweb1.paybox.com/a",
        "ECP_PAYBOX_PUBLIC_KEYS": str(SHIPPED_KEYS[1]),
        "ECP_PAYBOX_IPN_SOURCES": "62.161.15.193",
        "ECP_PAYBOX_SPOOL_DIR": "/srv/spool",
        "ECP_PAYBOX_TEST_KEYS_DIR": "/srv/keys",
    }
    config = Settings.from_env(env).paybox
    assert config == PayboxConfig(
        site="1234567",
        rang="001",
        identifiant="12345",
        hmac_key="AB" * 64,
        endpoints=("https://tpeweb.paybox.com/a", "https://tpeweb1.paybox.com/a"),
        public_key_files=(str(SHIPPED_KEYS[1]),),
        ipn_sources=("62.161.15.193",),
        spool_dir="/srv/spool",
        test_keys_dir="/srv/keys",
    )
    assert config.problems() == [] and "AB" * 64 not in repr(config)


def test_the_simulator_never_posts_to_a_real_bank():
    config = Settings.from_env(
        {"ECP_PAYBOX_URLS": "https://tpeweb.paybox.com/a", "ECP_PAYBOX_SPOOL_DIR": "/srv/spool"}
    ).paybox
    assert config.endpoints == (SIMULATOR_PATH,) and config.spool_dir == "/srv/spool"


def test_switching_the_simulator_moves_default_paybox_settings_along():
    assert Settings().with_(payment_simulator=False) == Settings(payment_simulator=False)
    assert Settings(payment_simulator=False).with_(payment_simulator=True) == Settings()
    # Settings a test (or the environment) gave are kept.
    own = PayboxConfig(site="1234567", endpoints=("https://x.example/pay",))
    assert Settings(paybox=own).with_(payment_simulator=False).paybox is own


def test_settings_compare_by_value_paybox_included():
    assert Settings() == Settings() and hash(Settings()) == hash(Settings())
    assert Settings(paybox=PayboxConfig(site="1")) == Settings(paybox=PayboxConfig(site="1"))
    assert Settings(paybox=PayboxConfig(site="1")) != Settings(paybox=PayboxConfig(site="2"))


# ---------------------------------------------------------------- one reader

# Files that may touch os.environ, and why (none of them reads an ECP_* setting).
ALLOWED = {
    "src/ecp/settings.py": "the one reader",
    "src/ecp/__init__.py": "sets PICCOLO_CONF before Piccolo is imported",
    "src/ecp/ops/backup.py": "passes the environment on to pg_dump / pg_restore",
    "bench/run.py": "the measured server's environment, without the developer's ECP_*",
    "bench/options.py": "the bench's own variables (ENVIRONMENT), not the app's",
}


def test_nothing_else_reads_the_environment():
    readers = []
    for base in (ROOT / "src", ROOT / "bench"):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\bos\.environ\b|\bgetenv\(|\benviron\[", line):
                    readers.append(f"{rel}:{n}: {line.strip()}")
    assert readers == []


def test_payment_providers_are_paybox_payfip_or_both():
    assert Settings.from_env({}).payment_providers == ("paybox",)
    assert Settings.from_env({"ECP_PAYMENT_PROVIDERS": "payfip"}).payment_providers == ("payfip",)
    with pytest.raises(SettingsError, match="ECP_PAYMENT_PROVIDERS doit valoir"):
        Settings.from_env({"ECP_PAYMENT_PROVIDERS": "paypal"})


@pytest.mark.parametrize(
    "name, text, words",
    [
        ("ECP_REGIE_IBAN", "FR76 3000 1007 9412 3456 7890 186", "clé de contrôle fausse"),
        ("ECP_REGIE_IBAN", "12345", "doit être un IBAN"),
        ("ECP_REGIE_BIC", "BDF", "doit être un BIC"),
    ],
)
def test_the_regie_account_is_checked_before_it_is_printed(name, text, words):
    with pytest.raises(SettingsError, match=words):
        Settings.from_env({name: text})
