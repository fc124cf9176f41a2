"""The bench agent's login over HTTP, as a browser and a phone would do it: the password, then
the TOTP code of the authenticator that bench.seed enrolled (the bench server keeps
ECP_STAFF_MFA=obligatoire, the production default)."""

from __future__ import annotations

import httpx

from bench import targets
from bench.seed import BENCH_STAFF, BENCH_STAFF_PASSWORD, BENCH_STAFF_TOTP_SECRET
from ecp import clock
from ecp.auth import totp

LOGIN = "/agents/connexion"
CODE = "/agents/connexion/code"


def _csrf(html: str) -> str:
    return next(
        (
            v
            for form in targets.parse(html).forms
            for _k, n, v, _c in form["fields"]
            if n == "_csrf_token"
        ),
        "",
    )


async def login(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> int:
    """The final status: 303 once the session is open."""
    headers = headers or {}
    page = await client.get(LOGIN, headers=headers)
    response = await client.post(
        LOGIN,
        headers=headers,
        data={
            "identifiant": BENCH_STAFF,
            "mot_de_passe": BENCH_STAFF_PASSWORD,
            "_csrf_token": _csrf(page.text),
        },
    )
    if response.status_code != 303 or response.headers.get("location") != CODE:
        return response.status_code
    page = await client.get(CODE, headers=headers)
    token = _csrf(page.text)
    now = totp.step_at(clock.now())
    # A code is accepted once: a second login within the same 30 s (the probe, then the load
    # run) takes the next step's code, which the server's ±1 step window accepts.
    for step in (now, now + 1):
        response = await client.post(
            CODE,
            headers=headers,
            data={"code": totp.code_at(BENCH_STAFF_TOTP_SECRET, step), "_csrf_token": token},
        )
        if response.status_code == 303:
            break
    return response.status_code
