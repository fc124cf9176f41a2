"""TOTP (RFC 6238) for staff accounts: secrets, codes with a ±1 step window and no replay, the
QR code drawn on the server, and the encryption of secrets at rest. No database here."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import os
import re
from functools import lru_cache

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STEP_SECONDS = 30
DIGITS = 6
# One step either side: a phone a little fast or slow, or a code typed as it changed.
WINDOW = 1
CODE_RE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended length), base32 without padding."""
    return pyotp.random_base32(32)


def grouped(secret: str) -> str:
    """'ABCD EFGH …': easier to copy by hand into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def clean_code(value: str) -> str:
    """What people type: '123 456', '123-456' or a pasted code with spaces around it."""
    return re.sub(r"[\s\-.]", "", value or "")


def is_well_formed(code: str) -> bool:
    return bool(CODE_RE.match(code))


def step_at(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(
    secret: str, code: str, moment: dt.datetime, last_step: int | None = None
) -> int | None:
    """The time step whose code this is, within ±WINDOW steps of `moment` and after
    `last_step` (a code already accepted is refused); None when it matches nothing."""
    if not is_well_formed(code):
        return None
    now = step_at(moment)
    found = None
    # Every candidate is compared, in constant time, whatever matched first.
    for step in range(now - WINDOW, now + WINDOW + 1):
        if hmac.compare_digest(code_at(secret, step), code) and (
            last_step is None or step > last_step
        ):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str, label: str) -> str:
    """An inline <svg> (no script, no style attribute: the CSP allows it), black on white with
    the quiet zone, named for assistive technologies."""
    import io

    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        svgclass="qr-code",
        lineclass=None,
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        title=label,
    )
    svg = out.getvalue().decode()
    return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)


class SecretBox:
    """AES-256-GCM with a key derived (HKDF-SHA256) from the app's secret key. The account id
    is authenticated with each ciphertext, so a secret copied onto another account's row does
    not decrypt. Changing ECP_SECRET_KEY makes every stored secret unreadable: staff then
    enrol again (an administrator resets them)."""

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(_derive(secret_key))

    def seal(self, plaintext: str, purpose: str, account_id: int) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _aad(purpose, account_id))
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, purpose: str, account_id: int) -> str | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if len(raw) < 13:
                return None
            return self._aead.decrypt(raw[:12], raw[12:], _aad(purpose, account_id)).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            return None

    def seal_candidate(self, secret: str, account_id: int, expires: dt.datetime) -> str:
        """A new secret offered on the account page, carried by the form itself (no write on
        GET); it cannot be forged or moved to another account, and it expires."""
        payload = json.dumps({"s": secret, "e": int(expires.timestamp())})
        return self.seal(payload, "candidate", account_id)

    def open_candidate(self, token: str, account_id: int, now: dt.datetime) -> str | None:
        payload = self.open(token or "", "candidate", account_id)
        if payload is None:
            return None
        try:
            data = json.loads(payload)
            secret, expires = str(data["s"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        return secret if now.timestamp() <= expires else None


@lru_cache(maxsize=4)
def _derive(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ecp staff totp secrets v1"
    ).derive(secret_key.encode())


def _aad(purpose: str, account_id: int) -> bytes:
    return f"ecp-totp:{purpose}:staff:{account_id}".encode()
