"""Route guards: families under /famille/, staff under /agents/ with a minimum role."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler


def requires_family(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise")
    if not user.is_family:
        raise NotFoundException()


def requires_staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise")
    if not user.is_staff:
        # A family has no business knowing the staff area's map.
        raise NotFoundException()


def requires_role(role: str):
    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        requires_staff(connection, handler)
        if not connection.scope["user"].has_role(role):
            raise PermissionDeniedException("Droits insuffisants")

    guard.__name__ = f"requires_{role}"
    return guard
