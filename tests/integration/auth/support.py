"""An Attempt built without HTTP, as ecp.auth.login builds one for a request."""

from __future__ import annotations

from litestar.stores.memory import MemoryStore

from ecp.auth import services
from ecp.auth.passwords import Passwords
from ecp.auth.throttle import DeviceCookies, Throttle


def passwords(settings) -> Passwords:
    return Passwords(settings.password_profile)


async def attempt(settings, kind: str, account_id: int, *, store=None, address="203.0.113.7"):
    row = await services.account_row_by_id(kind, account_id)
    return services.Attempt(
        kind,
        row["login"],
        row,
        throttle=Throttle(store if store is not None else MemoryStore(), settings),
        devices=DeviceCookies(settings),
        address=address,
        device_cookie=None,
        account_threshold=settings.lockout_account_threshold,
        max_minutes=settings.lockout_max_minutes,
    )
