"""Rendered fragments kept per app, keyed by every input that shapes them.

For pages that families reload in bursts (the week calendar on an opening morning, back and
forth between weeks) the database read is cheap and the rendering is most of the cost. A memo
entry's key is built from what the request just read (the rows themselves, the set-up version,
the minute, the session's CSRF token...), never from a guess about what might have changed:
an entry can only ever be served for exactly the inputs it was rendered from, so there is
nothing to invalidate and nothing can be stale. See docs/architecture.md, « Speed ».
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from ecp.web.fragment_memo import DEFAULT_SIZE, RenderMemo


def memo_for(request: Request, name: str, size: int = DEFAULT_SIZE) -> RenderMemo:
    """The app's memo of that name (each app its own: tests build many apps), its entries
    compressed."""
    memos = request.app.state.get("render_memos")
    if memos is None:
        memos = request.app.state["render_memos"] = {}
    memo = memos.get(name)
    if memo is None:
        memo = memos[name] = RenderMemo(size, compress=True)
    return memo


def csrf_token(request: Request) -> str:
    """The token the page's forms will carry (the CSRF middleware put it in the scope)."""
    return value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")


def render(request: Request, template_name: str, context: Mapping[str, Any]) -> Markup:
    """A template rendered as a Template response would render it (the same request and CSRF
    input in its context), as markup another template can include as it is."""
    values = {
        **context,
        "request": request,
        "csrf_input": (
            f'<input type="hidden" name="_csrf_token" value="{html.escape(csrf_token(request))}" />'
        ),
    }
    template = request.app.template_engine.get_template(template_name)
    return Markup(template.render(**values))
