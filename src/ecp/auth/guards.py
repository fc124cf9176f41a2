"""Route guards: families under /famille/, staff under /agents/ with a minimum role.

Coroutines, though they await nothing: Litestar runs a plain function guard in its thread pool
(ensure_async_callable), a thread hop on every request that cost more than the check."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler


async def requires_family(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise")
    if not user.is_family:
        raise NotFoundException()


async def requires_staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise")
    if not user.is_staff:
        # A family has no business knowing the staff area's map.
        raise NotFoundException()


def requires_role(role: str):
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        await requires_staff(connection, handler)
        if not connection.scope["user"].has_role(role):
            raise PermissionDeniedException("Droits insuffisants")

    guard.__name__ = f"requires_{role}"
    return guard
