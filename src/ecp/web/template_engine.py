"""Litestar's Jinja engine over the process's shared environment (ecp.web.templating), with
one app's own values (the commune's name, the routes that exist) given to each render.

Not in ecp.web.templating, which the job runner and the PDF code import without Litestar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, Template
from litestar.plugins.jinja import JinjaTemplateEngine


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
        self.values = values

    def get_template(self, template_name: str) -> _AppTemplate:  # type: ignore[override]
        return _AppTemplate(super().get_template(template_name), self.values)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        return super().render_string(template_string, {**self.values, **context})
