"""The first password of a welcome letter, carried once from the post that made it to the
letter page (post/redirect/get), never stored in clear anywhere.

The post that creates a family (or a new password) answers with a redirect and a short-lived
cookie: the password sealed with AES-256-GCM under a key derived from ECP_SECRET_KEY, bound to
the family and the agent, sent only to that family's letter page. The letter page opens it,
shows the password and deletes the cookie, and is not cached: a reload (F5) or the back button
finds no cookie, creates nothing and issues no password; the page then says the letter was
already shown and offers a new password behind a confirmation.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Request, Response
from litestar.datastructures import Cookie

# Long enough to print the letter after a slow redirect, short enough not to linger.
MAX_AGE_SECONDS = 600


def _name(settings) -> str:
    # A __Host- cookie must have Path=/; this one is for the letter page only.
    return "__Secure-lettre" if settings.https else "lettre"


@lru_cache(maxsize=4)
def _aead(secret_key: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ecp welcome letter password v1"
    ).derive(secret_key.encode())
    return AESGCM(key)


def _aad(family_id: int, staff_id: int | None) -> bytes:
    return f"ecp-letter:v1:{family_id}:{staff_id}".encode()


def seal(secret_key: str, family_id: int, staff_id: int | None, password: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead(secret_key).encrypt(nonce, password.encode(), _aad(family_id, staff_id))
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(secret_key: str, family_id: int, staff_id: int | None, token: str) -> str | None:
    """The password, or None when the token is damaged, for another family or agent, or under
    another key."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if len(raw) < 13:
            return None
        return _aead(secret_key).decrypt(raw[:12], raw[12:], _aad(family_id, staff_id)).decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        return None


def _cookie(request: Request, path: str, value: str, max_age: int) -> Cookie:
    settings = request.app.state.settings
    return Cookie(
        key=_name(settings),
        value=value,
        path=path,
        max_age=max_age,
        httponly=True,
        secure=settings.https,
        samesite="strict",
    )


def hand_over(request: Request, response: Response, family_id: int, password: str) -> None:
    """Puts the password on the redirect to the family's letter page."""
    path = request.app.route_reverse("staff_family_letter_page", family_id=family_id)
    token = seal(request.app.state.settings.secret_key, family_id, request.user.staff_id, password)
    response.set_cookie(_cookie(request, path, token, MAX_AGE_SECONDS))


def take(request: Request, family_id: int) -> str | None:
    """The password handed over for this family by this agent, if it is still there."""
    token = request.cookies.get(_name(request.app.state.settings))
    if not token:
        return None
    return unseal(request.app.state.settings.secret_key, family_id, request.user.staff_id, token)


def forget(request: Request, response: Response, family_id: int) -> None:
    """Deletes the cookie: the password is shown once."""
    path = request.app.route_reverse("staff_family_letter_page", family_id=family_id)
    response.set_cookie(_cookie(request, path, "", 0))
