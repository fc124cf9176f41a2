"""Flash messages in a short-lived signed cookie, so no server-side store is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from litestar import Request, Response
from litestar.datastructures import Cookie

NAME = "flash"


def _settings(request: Request):
    return request.app.state.settings


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), b"flash:" + payload, hashlib.sha256).hexdigest()


def _cookie(request: Request, value: str, max_age: int) -> Cookie:
    s = _settings(request)
    return Cookie(
        key=s.cookie_name(NAME),
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        secure=s.https,
        samesite="lax",
    )


def add(request: Request, response: Response, message: str, kind: str = "success") -> None:
    payload = base64.urlsafe_b64encode(json.dumps([[kind, message]]).encode())
    value = f"{payload.decode()}.{_sign(_settings(request).secret_key, payload)}"
    response.set_cookie(_cookie(request, value, max_age=120))


def pending(request: Request) -> bool:
    """A message (or a spent cookie) waits for this request to show or clear it."""
    return bool(request.cookies.get(_settings(request).cookie_name(NAME)))


def consume(request: Request) -> tuple[list[dict[str, str]], bool]:
    raw = request.cookies.get(_settings(request).cookie_name(NAME))
    if not raw or "." not in raw:
        return [], bool(raw)
    payload, signature = raw.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(_settings(request).secret_key, payload.encode())):
        return [], True
    try:
        items = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return [{"kind": k, "text": t} for k, t in items], True
    except (ValueError, TypeError):
        return [], True


def clear_cookie(request: Request, response: Response) -> None:
    response.set_cookie(_cookie(request, "", max_age=0))
