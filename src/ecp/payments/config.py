"""Paybox configuration at work: the public keys, the form-action hosts of the CSP.

The settings themselves (ECP_PAYBOX_* variables) are ecp.settings.PayboxConfig, Settings.paybox.

With the simulator on (the demo and the tests), the defaults are Paybox's public pre-production
account and the local simulator page; production must give its own values (README "Paiement").
Each field is declared like Settings' own (ecp.settings.env): variable, default, meaning.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ecp.payments import paybox

# The Paybox part of Settings, also importable from here, where payments code looks for it.
from ecp.settings import (  # noqa: F401
    DEFAULT_SPOOL_DIR,
    DEFAULT_TEST_KEYS_DIR,
    IPN_PATH,
    KEYS_DIR,
    SHIPPED_KEYS,
    SIMULATOR_PATH,
    TEST_HMAC_KEY,
    TEST_IDENTIFIANT,
    TEST_RANG,
    TEST_SITE,
    PayboxConfig,
)


def paybox_config(settings) -> PayboxConfig:
    """The Paybox part of these settings (kept so that call sites read one name)."""
    return settings.paybox


@lru_cache(maxsize=32)
def _load(path: str, mtime: float) -> paybox.PublicKey:
    return paybox.load_public_key(path)


def public_keys(config: PayboxConfig) -> list[paybox.PublicKey]:
    """The configured Paybox keys, plus the simulator's test key while the simulator is on."""
    keys = []
    for name in config.public_key_files:
        path = Path(name)
        if path.is_file():
            keys.append(_load(str(path), path.stat().st_mtime))
    if config.simulator:
        from ecp.payments import simulator

        keys.append(simulator.test_public_key(config))
    return keys


def form_action_hosts(settings) -> tuple[str, ...]:
    """Origins the payment form may post to, for the CSP form-action directive."""
    config = paybox_config(settings)
    if config.simulator:
        return ()
    hosts = []
    # PayFiP's page is reached by a redirect after our own form, which form-action covers too.
    payfip_pages = (settings.payfip_payment_url,) if "payfip" in settings.payment_providers else ()
    for url in (*config.endpoints, *payfip_pages):
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in hosts:
                hosts.append(origin)
    return tuple(hosts)
