"""Litestar's Jinja engine over the process's shared environment (ecp.web.templating), with
one app's own values (the commune's name, the routes that exist) given to each render.

Not in ecp.web.templating, which the job runner and the PDF code import without Litestar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, Template
from litestar.plugins.jinja import JinjaTemplateEngine

# Reversed paths kept per app: a page calls url_for a few dozen times with the same few names,
# and Litestar's route_reverse rebuilds the path each time (about 8 µs a call). Bounded: the
# parameters include ids, so the cache is emptied when it reaches this size.
URL_CACHE_SIZE = 4096


def cached_url_for(context: Mapping[str, Any], /, route_name: str, **path_parameters: Any) -> str:
    """Litestar's template url_for, memoised per app (routes never change once it is built)."""
    return reverse(context["request"].app, route_name, **path_parameters)


def reverse(app: Any, route_name: str, /, **path_parameters: Any) -> str:
    """`app.route_reverse`, memoised per app: for handlers that reverse a route on every
    request (what a page posts to, where its links go)."""
    cache = app.state.get("url_cache")
    if cache is None:
        cache = app.state["url_cache"] = {}
    try:
        key = (route_name, *sorted(path_parameters.items())) if path_parameters else route_name
        found = cache.get(key)
    except TypeError:  # an unhashable parameter: reversed every time
        return app.route_reverse(route_name, **path_parameters)
    if found is None:
        found = app.route_reverse(route_name, **path_parameters)
        if len(cache) >= URL_CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


class _AppTemplate:
    """A template rendered with one app's values underneath the handler's context."""

    __slots__ = ("template", "values")

    def __init__(self, template: Template, values: Mapping[str, Any]) -> None:
        self.template = template
        self.values = values

    def render(self, *args: Any, **context: Any) -> str:
        return self.template.render({**self.values, **dict(*args, **context)})


class AppTemplateEngine(JinjaTemplateEngine):
    """Litestar's Jinja engine over the shared environment, with this app's own values.

    Litestar registers its template callables (url_for, csrf_token...) as globals: the same
    functions for every app, reading the request from the render context, so sharing is safe."""

    def __init__(self, env: Environment, values: Mapping[str, Any]) -> None:
        super().__init__(engine_instance=env)
        self.register_template_callable(key="url_for", template_callable=cached_url_for)
        self.values = values

    def get_template(self, template_name: str) -> _AppTemplate:  # type: ignore[override]
        return _AppTemplate(super().get_template(template_name), self.values)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        return super().render_string(template_string, {**self.values, **context})
