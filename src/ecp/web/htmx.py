"""One URL, two renderings: the full page for a browser, the fragment for htmx."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from ecp.web import flash


def wants_fragment(request: Request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def page_or_fragment(
    request: Request,
    *,
    page: str,
    fragment: str | None = None,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    context = dict(context or {})
    use_fragment = fragment is not None and wants_fragment(request)
    messages, clear = flash.consume(request)
    context.setdefault("flash_messages", messages)
    context.setdefault("flash_oob", use_fragment and bool(messages))
    response = Template(
        template_name=fragment if use_fragment else page,
        context=context,
        status_code=status_code,
        media_type="text/html",
        headers={"Vary": "HX-Request", **(headers or {})},
    )
    if clear:
        flash.clear_cookie(request, response)
    return response


def redirect(request: Request, path: str, message: str | None = None, kind: str = "success"):
    """Post/redirect/get; an htmx caller is told to navigate (HX-Redirect) instead."""
    from litestar.plugins.htmx import ClientRedirect

    if wants_fragment(request):
        response = ClientRedirect(redirect_to=path)
    else:
        response = Redirect(path=path, status_code=303)
    if message:
        flash.add(request, response, message, kind)
    return response
