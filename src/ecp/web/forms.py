"""Server-side form handling: errors per field, raw values kept for redisplay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Form:
    """What a template needs to redisplay a form: the raw values and the errors by field id."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str, label: str | None = None) -> None:
        self.errors.setdefault(name, message)
        if label:
            self.labels[name] = label

    @property
    def valid(self) -> bool:
        return not self.errors

    def summary(self) -> list[dict[str, str]]:
        return [{"href": f"#{name}", "text": text} for name, text in self.errors.items()]

    def value(self, name: str, default: str = "") -> Any:
        return self.values.get(name, default)


def text(data: dict[str, Any], name: str, max_length: int = 500) -> str:
    """A single trimmed text value; lists (repeated keys) keep their first item."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()[:max_length]


def raw(data: dict[str, Any], name: str, max_length: int = 500) -> str:
    """A value exactly as typed (passwords: spaces are part of them)."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)[:max_length]


def many(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]
