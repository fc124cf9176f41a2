"""Paybox settings, read from ECP_PAYBOX_* environment variables.

With the simulator on (the demo and the tests), the defaults are Paybox's public pre-production
account and the local simulator page; production must give its own values (README "Paiement").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ecp.payments import paybox
from ecp.settings import DATA_DIR

KEYS_DIR = Path(__file__).resolve().parent / "keys"
SHIPPED_KEYS = (KEYS_DIR / "pubkey-rsa1024-2014.pem", KEYS_DIR / "pubkey-rsa2048-2025.pem")
SIMULATOR_PATH = "/simulateur-paybox/paiement"
IPN_PATH = "/paiement/paybox/ipn"
# Paybox's published pre-production account (docs/payments.md): harmless, for the simulator only.
TEST_SITE, TEST_RANG, TEST_IDENTIFIANT = "1999888", "32", "107904482"
TEST_HMAC_KEY = "0123456789ABCDEF" * 8
DEFAULT_TEST_KEYS_DIR = DATA_DIR / "paybox-test-keys"
# Signed notifications wait here until recorded (ecp.payments.spool); must survive restarts.
DEFAULT_SPOOL_DIR = DATA_DIR / "paybox-spool"


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class PayboxConfig:
    site: str = ""
    rang: str = ""
    identifiant: str = ""
    hmac_key: str = field(default="", repr=False)  # never logged
    endpoints: tuple[str, ...] = ()
    public_key_files: tuple[str, ...] = ()
    ipn_sources: tuple[str, ...] = ()
    simulator: bool = False
    test_keys_dir: str = str(DEFAULT_TEST_KEYS_DIR)
    spool_dir: str = str(DEFAULT_SPOOL_DIR)
    hash: str = "SHA512"
    minimum_cents: int = 100  # Paybox refuses less than 1 € on some contracts

    def problems(self) -> list[str]:
        """Why card payment cannot be offered with this configuration (French, for admins)."""
        found = []
        if not self.site.isdigit() or len(self.site) != 7:
            found.append("ECP_PAYBOX_SITE doit compter 7 chiffres.")
        if not self.rang.isdigit() or not 2 <= len(self.rang) <= 3:
            found.append("ECP_PAYBOX_RANG doit compter 2 ou 3 chiffres.")
        if not self.identifiant.isdigit() or not 1 <= len(self.identifiant) <= 9:
            found.append("ECP_PAYBOX_IDENTIFIANT doit compter 1 à 9 chiffres.")
        try:
            if len(bytes.fromhex(self.hmac_key)) < 32:
                raise ValueError
        except ValueError:
            found.append("ECP_PAYBOX_HMAC_KEY doit être la clé hexadécimale du back-office.")
        if not self.endpoints:
            found.append("ECP_PAYBOX_URLS doit donner au moins une adresse de paiement.")
        if not self.simulator and any(not e.startswith("https://") for e in self.endpoints):
            found.append("Les adresses ECP_PAYBOX_URLS doivent commencer par https://.")
        if not self.public_key_files and not self.simulator:
            found.append("ECP_PAYBOX_PUBLIC_KEYS doit citer au moins une clé publique.")
        for name in self.public_key_files:
            if not Path(name).is_file():
                found.append(f"Clé publique introuvable : {name}.")
        return found

    @property
    def ready(self) -> bool:
        return not self.problems()


def paybox_config(settings, env: dict[str, str] | None = None) -> PayboxConfig:
    """The configuration for these settings; tests may put a PayboxConfig in
    settings.extra["paybox"] instead of touching the environment."""
    override = settings.extra.get("paybox") if settings.extra else None
    if isinstance(override, PayboxConfig):
        return override
    e = os.environ if env is None else env
    simulator = bool(settings.payment_simulator)
    default_endpoint = (SIMULATOR_PATH,) if simulator else ()
    return PayboxConfig(
        site=e.get("ECP_PAYBOX_SITE") or (TEST_SITE if simulator else ""),
        rang=e.get("ECP_PAYBOX_RANG") or (TEST_RANG if simulator else ""),
        identifiant=e.get("ECP_PAYBOX_IDENTIFIANT") or (TEST_IDENTIFIANT if simulator else ""),
        hmac_key=(e.get("ECP_PAYBOX_HMAC_KEY") or (TEST_HMAC_KEY if simulator else "")).strip(),
        # The simulator ignores ECP_PAYBOX_URLS: the demo must never post to a real bank.
        endpoints=default_endpoint if simulator else _list(e.get("ECP_PAYBOX_URLS")),
        public_key_files=_list(e.get("ECP_PAYBOX_PUBLIC_KEYS"))
        or tuple(str(p) for p in SHIPPED_KEYS),
        ipn_sources=_list(e.get("ECP_PAYBOX_IPN_SOURCES")),
        simulator=simulator,
        test_keys_dir=e.get("ECP_PAYBOX_TEST_KEYS_DIR") or str(DEFAULT_TEST_KEYS_DIR),
        spool_dir=e.get("ECP_PAYBOX_SPOOL_DIR") or str(DEFAULT_SPOOL_DIR),
    )


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
    for url in config.endpoints:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in hosts:
                hosts.append(origin)
    return tuple(hosts)
