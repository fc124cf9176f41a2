"""The Paybox notification is the only path spared the CSRF check, and only its exact path:
Litestar searches exclusion patterns anywhere in the routed path, so an unanchored entry would
spare any route whose path contains it."""

from __future__ import annotations

from litestar import post
from litestar.middleware._utils import build_exclude_path_pattern, should_bypass_for_path_pattern

from ecp.app import create_app
from tests.conftest import make_client
from tests.support import csrf_token

IPN = "/paiement/paybox/ipn"
LOOKALIKES = (
    "/famille/x/paiement/paybox/ipn",
    "/paiement/paybox/ipn/suite",
    "/paiement/paybox/ipnx",
    "/essai/paiement/paybox/ipn",
)
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _bypassed(app, path: str) -> bool:
    """Litestar's own decision, from the app's configuration (scope as after routing)."""
    pattern = build_exclude_path_pattern(exclude=app.csrf_config.exclude)
    return should_bypass_for_path_pattern({"path": path, "route_handler": None}, pattern)


def test_only_the_exact_notification_path_is_excluded(app):
    assert _bypassed(app, IPN)
    for path in LOOKALIKES:
        assert not _bypassed(app, path), path


@post(list(LOOKALIKES), name="csrf_lookalike", status_code=200)
async def lookalike() -> str:
    return "atteint"


async def test_a_routed_path_containing_the_notification_path_still_needs_csrf(settings):
    app = create_app(settings)
    app.register(lookalike)
    async with make_client(app) as client:
        token = await csrf_token(client)
        for path in LOOKALIKES:
            refused = await client.post(path, content=b"x=1", headers=FORM)
            assert refused.status_code == 403, (path, refused.status_code)
            assert "Accès refusé" in refused.text
            # Browsers' cross-site posts are refused there too (fetch metadata, same exemption).
            cross = await client.post(
                path,
                content=f"_csrf_token={token}".encode(),
                headers={**FORM, "sec-fetch-site": "cross-site"},
            )
            assert cross.status_code == 403, path
            allowed = await client.post(path, content=f"_csrf_token={token}".encode(), headers=FORM)
            assert allowed.status_code == 200 and allowed.text == "atteint", path


async def test_the_notification_itself_is_reached_without_a_token(client):
    """Without a signature the handler refuses it in its own words (text/plain), not CSRF's
    403 page; with a trailing slash too, since Litestar strips it before matching."""
    for path in (IPN, IPN + "/"):
        response = await client.post(path, content=b"ref=x&sign=", headers={**FORM, "cookie": ""})
        assert response.text == "refused", (path, response.status_code, response.text[:200])
        assert response.headers["content-type"].startswith("text/plain")
