"""Paybox settings, the `paybox` part of ecp.settings.Settings, read from ECP_PAYBOX_* variables.

With the simulator on (the demo and the tests), the defaults are Paybox's public pre-production
account and the local simulator page; production must give its own values (README "Paiement").
Each field is declared like Settings' own (ecp.settings.env): variable, default, meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ecp.payments import paybox
from ecp.settings import DATA_DIR, env, parse_stripped, read_env

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


@dataclass(frozen=True)
class PayboxConfig:
    # The defaults are production's (nothing: the commune gives its contract's values); the
    # simulator's test account comes from defaults(simulator=True).
    site: str = env("ECP_PAYBOX_SITE", "", "the 7-digit site number of the contract")
    rang: str = env("ECP_PAYBOX_RANG", "", "the rang, leading zeros included (e.g. 001)")
    identifiant: str = env("ECP_PAYBOX_IDENTIFIANT", "", "the Paybox identifiant (1 to 9 digits)")
    hmac_key: str = env("ECP_PAYBOX_HMAC_KEY", "", "the back office's hexadecimal HMAC key",
                        parse_stripped, repr=False)  # never logged
    endpoints: tuple[str, ...] = env("ECP_PAYBOX_URLS", (),
                                     "payment pages, main then backup (ignored by the simulator)")
    public_key_files: tuple[str, ...] = env(
        "ECP_PAYBOX_PUBLIC_KEYS", tuple(str(p) for p in SHIPPED_KEYS),
        "PEM files of Paybox's public keys (default: the two shipped keys)")
    ipn_sources: tuple[str, ...] = env("ECP_PAYBOX_IPN_SOURCES", (),
                                       "Paybox's sending addresses (others are logged)")
    # From ECP_PAYMENT_SIMULATOR (Settings.payment_simulator), not a variable of its own.
    simulator: bool = False
    test_keys_dir: str = env("ECP_PAYBOX_TEST_KEYS_DIR", str(DEFAULT_TEST_KEYS_DIR),
                             "where the simulator keeps its generated key pair")
    spool_dir: str = env("ECP_PAYBOX_SPOOL_DIR", str(DEFAULT_SPOOL_DIR),
                         "where signed notifications wait while the database is unavailable")
    hash: str = "SHA512"
    minimum_cents: int = 100  # Paybox refuses less than 1 € on some contracts

    @classmethod
    def defaults(cls, simulator: bool) -> PayboxConfig:
        """The configuration when no ECP_PAYBOX_* variable is set."""
        if not simulator:
            return cls()
        return cls(site=TEST_SITE, rang=TEST_RANG, identifiant=TEST_IDENTIFIANT,
                   hmac_key=TEST_HMAC_KEY, endpoints=(SIMULATOR_PATH,), simulator=True)

    @classmethod
    def from_env(cls, e: Mapping[str, str], *, simulator: bool) -> PayboxConfig:
        values = read_env(cls, e)
        if simulator:
            # The simulator ignores ECP_PAYBOX_URLS: the demo must never post to a real bank.
            values.pop("endpoints", None)
        return replace(cls.defaults(simulator), **values)

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
    for url in config.endpoints:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in hosts:
                hosts.append(origin)
    return tuple(hosts)
