"""Builders for payment tests: invoices (made here, the invoices feature is built in parallel),
a test RSA key pair standing in for Paybox's, and notifications signed with it."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ecp import clock
from ecp.invoices.tables import Invoice
from ecp.payments import paybox
from ecp.payments.config import TEST_HMAC_KEY, PayboxConfig

_seq = itertools.count(1)


async def make_invoice(
    family,
    total_cents: int = 4250,
    *,
    paid_cents: int = 0,
    number: str | None = None,
    due_on: dt.date | None = None,
    kind: str = "facture",
) -> Invoice:
    today = clock.today()
    n = next(_seq)
    # One invoice per family and month (unique index): each new one bills an earlier month.
    back = n % 240
    year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
    invoice = Invoice(
        number=number or f"FAC-2026-{900000 + n:06d}",
        kind=kind,
        family=family.id,
        month=dt.date(year, month + 1, 1),
        issued_at=clock.now(),
        due_on=due_on or today + dt.timedelta(days=15),
        total_cents=total_cents,
        paid_cents=paid_cents,
        family_name=family.name,
    )
    await invoice.save()
    return invoice


@lru_cache(maxsize=1)
def paybox_test_key() -> rsa.RSAPrivateKey:
    """A key pair made for the check; it replaces Paybox's key in the verifier."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_file(directory: Path) -> str:
    path = directory / "paybox-test-public.pem"
    if not path.exists():
        path.write_bytes(
            paybox_test_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return str(path)


def test_config(directory: Path, **changes) -> PayboxConfig:
    """Production-shaped settings (no simulator) trusting only the test key."""
    values = dict(
        site="1999888",
        rang="32",
        identifiant="107904482",
        hmac_key=TEST_HMAC_KEY,
        endpoints=("https://preprod-tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi",),
        public_key_files=(public_key_file(directory),),
        simulator=False,
        test_keys_dir=str(directory / "sim-keys"),
    )
    values.update(changes)
    return PayboxConfig(**values)


def ipn_query(
    reference: str,
    amount_cents: int,
    *,
    code: str = "00000",
    auto: str = "XXXXXX",
    trans: str | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> bytes:
    """A notification as Paybox sends it to PBX_REPONDRE_A, with our PBX_RETOUR."""
    fields = [
        ("mt", paybox.pbx_total(amount_cents)),
        ("ref", reference),
        ("auto", auto),
        ("err", code),
        ("appel", "555"),
        ("trans", trans if trans is not None else str(secrets.randbelow(10**9))),
        ("date", "29112026"),
        ("heure", "10:21:33"),
        ("carte", "CB"),
    ]
    return paybox.sign_reply(fields, key or paybox_test_key())
