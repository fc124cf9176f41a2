"""Route guards: families under /famille/, staff under /agents/ with a minimum role.

An account whose password is provisional (a welcome letter's, or one an administrator set) is
sent to the page that chooses a new one from every page that does not say, through its
`opt`, that it serves that choice (FIRST_PASSWORD_OK).

Coroutines, though they await nothing: Litestar runs a plain function guard in its thread pool
(ensure_async_callable), a thread hop on every request that cost more than the check."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from ecp.auth import scope
from ecp.auth.principal import ROLE_LABELS, ROLE_RANK
from ecp.web.errors import SendElsewhere

# The handler option of the pages a provisional password may still open.
FIRST_PASSWORD_OK = {"first_password_ok": True}
FIRST_PASSWORD_ROUTES = {"family": "family_first_password", "staff": "staff_first_password"}


def _first_password(connection: ASGIConnection, handler: BaseRouteHandler, kind: str) -> None:
    if connection.scope["user"].must_change_password and not handler.opt.get("first_password_ok"):
        raise SendElsewhere(connection.app.route_reverse(FIRST_PASSWORD_ROUTES[kind]))


async def requires_family(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise")
    if not user.is_family:
        raise NotFoundException()
    _first_password(connection, handler, "family")


async def requires_staff(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise")
    if not user.is_staff:
        # A family has no business knowing the staff area's map.
        raise NotFoundException()
    _first_password(connection, handler, "staff")
    # An agent limited to some schools: every page of a family of another school is a 404,
    # whichever feature serves it (its path names the family).
    family_id = connection.path_params.get("family_id")
    if user.school_limited and isinstance(family_id, int):
        if not await scope.family_allowed(user, family_id):
            raise NotFoundException()


def role_refusal(role: str, current: str | None) -> PermissionDeniedException:
    """The 403 of a page kept for a role: the error page says which role it needs (and the
    ones above), and which one the account has."""
    needed = [ROLE_LABELS[r] for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]
    return PermissionDeniedException(
        "Droits insuffisants",
        extra={"roles_needed": needed, "role": ROLE_LABELS.get(current or "", current or "")},
    )


def requires_role(role: str):
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        await requires_staff(connection, handler)
        user = connection.scope["user"]
        if not user.has_role(role):
            raise role_refusal(role, user.role)

    guard.__name__ = f"requires_{role}"
    return guard
