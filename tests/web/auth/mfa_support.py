"""Helpers for the staff two-factor tests: an agent enrolled with a known secret, the step of
the login between password and code."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from ecp import clock
from ecp.auth import mfa, totp
from ecp.auth.tables import StaffTotp
from tests import factories
from tests.support import csrf_from, post_form, remember_totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "demo-agent-sej-2026"
PENDING = "__Host-ecp_mfa"
SESSION = "__Host-ecp_session"


def set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def cookie_value(response, name: str) -> str | None:
    header = set_cookies(response).get(name)
    return SimpleCookie(header)[name].value if header else None


async def enrolled_staff(settings, username: str = "agent", secret: str = SECRET, **fields):
    staff = await factories.make_staff(
        username, password=fields.pop("password", PASSWORD), **fields
    )
    await StaffTotp.insert(
        StaffTotp(
            staff=staff.id,
            secret_encrypted=mfa.box(settings).seal(secret, "totp", staff.id),
            enrolled_at=clock.now(),
        )
    )
    remember_totp(username, secret)
    return staff


def code_now(secret: str = SECRET, offset: int = 0) -> str:
    return totp.code_at(secret, totp.step_at(clock.now()) + offset)


def wrong_code(secret: str = SECRET) -> str:
    """Six digits that match no step of the window."""
    window = {code_now(secret, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


async def password_step(client, username: str = "agent", password: str = PASSWORD):
    return await post_form(
        client,
        "/agents/connexion",
        {"identifiant": username, "mot_de_passe": password},
        from_page="/agents/connexion",
    )


async def post_code(client, code: str, headers=None, csrf: bool = True):
    """The second factor's form (the code page's and the enrolment page's both post here)."""
    data = {"code": code}
    if csrf:
        data["_csrf_token"] = csrf_from((await client.get("/agents/connexion")).text)
    return await client.post(
        "/agents/connexion/code", data=data, headers=headers or {}, follow_redirects=False
    )


def key_on(page_html: str) -> str:
    match = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page_html)
    assert match, "no key on the page"
    return match.group(1).replace(" ", "")
