"""Personal secrets in e-mails (reset links, anything that opens an account) never sit in the
outbox in clear, where staff could read them.

A message queued with secrets is stored twice: `body_text`/`body_html` hold the text with every
secret replaced by a French placeholder (what the staff outbox shows, to every role), and
`sealed_body` holds the real text encrypted with AES-256-GCM under a key derived (HKDF-SHA256)
from ECP_SECRET_KEY. Only the sender opens it, at delivery time, and wipes it once the message
is delivered or refused for good; the clean-up job wipes it after MAX_AGE if it never left.

The recipient's address and the message kind are authenticated with the ciphertext: a sealed
body copied onto another recipient's row does not open. Changing ECP_SECRET_KEY makes the sealed
bodies of messages still waiting unreadable: they are marked failed (the family asks for a new
link).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LINK_PLACEHOLDER = "[lien personnel masqué]"
CODE_PLACEHOLDER = "[code personnel masqué]"
# A reset link is valid one hour; a day covers an SMTP outage long enough to matter and still
# bounds how long a secret waits in the database if the message never leaves.
MAX_AGE = dt.timedelta(hours=24)

# Defence in depth for the staff view, should a producer forget to declare its secret: a reset
# link, or anything shaped like secrets.token_urlsafe(32) (43 characters) or longer.
_FALLBACK = (
    re.compile(r"\S*/mot-de-passe-oublie/nouveau/\S*"),
    re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])"),
)


def placeholder(secret: str) -> str:
    return LINK_PLACEHOLDER if secret.startswith(("http://", "https://")) else CODE_PLACEHOLDER


def mask(text: str, secrets: list[str] | tuple[str, ...], *, is_html: bool = False) -> str:
    """The text with every secret replaced by its placeholder (longest first, so a secret that
    contains another is masked whole)."""
    for secret in sorted(secrets, key=len, reverse=True):
        label = placeholder(secret)
        text = text.replace(secret, label)
        if is_html:
            text = text.replace(html.escape(secret), html.escape(label))
    return text


def mask_fallback(text: str) -> str:
    for pattern in _FALLBACK:
        text = pattern.sub(LINK_PLACEHOLDER, text)
    return text


class Sealer:
    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(_derive(secret_key))

    def seal(self, *, text: str, html_body: str, to: str, kind: str) -> str:
        nonce = os.urandom(12)
        payload = json.dumps({"text": text, "html": html_body}).encode()
        sealed = self._aead.encrypt(nonce, payload, _aad(to, kind))
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, *, to: str, kind: str) -> tuple[str, str] | None:
        """(text, html), or None when the ciphertext is damaged, moved or under another key."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if len(raw) < 13:
                return None
            data = json.loads(self._aead.decrypt(raw[:12], raw[12:], _aad(to, kind)))
            return str(data["text"]), str(data["html"])
        except (InvalidTag, ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


@lru_cache(maxsize=4)
def _derive(secret_key: str) -> bytes:
    # Its own HKDF label: this key is unrelated to the one protecting staff TOTP secrets.
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ecp outbox sealed bodies v1"
    ).derive(secret_key.encode())


def _aad(to: str, kind: str) -> bytes:
    return f"ecp-outbox:v1:{kind}:{to}".encode()
