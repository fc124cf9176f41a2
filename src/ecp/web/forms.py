"""Server-side forms: declared fields with French messages, cleaned values, errors by field.

A feature declares what a form holds as a subclass of `Form`::

    class TariffForm(Form):
        activite = Id("Activité", required="Choisissez l’activité.")
        prix = Euros("Prix d’un jour", invalid="Indiquez le prix d’un jour en euros, par exemple 2,10.")

        def clean_prix(self, cents):          # a rule on one field, after its own parsing
            ...

`TariffForm.bind(data)` parses the request body: `form.valid`, `form.cleaned` (Python values)
and, for the template, `form.values` (what was typed, for redisplay) and `form.errors` (French
messages keyed by the id the error summary links to). Checks that need the database belong to
the service, which raises ecp.errors.Rejected; `form.reject(error)` files it under its field.
The macros in templates/macros/forms.html draw the fields (see docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ecp.errors import Rejected
from ecp.web.params import parse_day, parse_id, parse_int


class Invalid(Exception):
    """Raised by a field's parser or a clean_<field> method: the message shown next to it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Field:
    """One form field: how to read it from the body and what to say when it is wrong.

    `required` is the message when the field is empty (None: the field may stay empty, and
    its value is then `empty`); `invalid` the message when it cannot be read."""

    def __init__(
        self,
        label: str,
        *,
        required: str | None = None,
        invalid: str | None = None,
        max_length: int = 500,
        key: str | None = None,
        empty: Any = None,
    ) -> None:
        self.label = label
        self.required = required
        self.invalid = invalid or f"Vérifiez « {label} »."
        self.max_length = max_length
        self.key = key  # the error's key (a control's id) when it is not the field's name
        self.empty = empty
        self.name = ""

    def read(self, data: dict[str, Any]) -> Any:
        return text(data, self.name, self.max_length)

    def parse(self, value: str) -> Any:
        return value

    def clean(self, value: Any) -> Any:
        if value in ("", None, []):
            if self.required:
                raise Invalid(self.required)
            return self.empty
        parsed = self.parse(value)
        if parsed is None:
            raise Invalid(self.invalid)
        return parsed


class Text(Field):
    def __init__(self, label: str, *, empty: Any = "", **options: Any) -> None:
        super().__init__(label, empty=empty, **options)


class Password(Text):
    """Kept exactly as typed: spaces are part of a password."""

    def read(self, data: dict[str, Any]) -> Any:
        return raw(data, self.name, self.max_length)


class Integer(Field):
    def __init__(self, label: str, *, low: int = 0, high: int = 2**31 - 1, **options: Any):
        super().__init__(label, max_length=len(str(high)) + 2, **options)
        self.low, self.high = low, high

    def parse(self, value: str) -> int | None:
        return parse_int(value, self.low, self.high)


class Id(Field):
    """A database id chosen in a list (the service checks that it names something)."""

    def parse(self, value: str) -> int | None:
        return parse_id(value)


class Euros(Field):
    """An amount typed in euros ('12,50', '12.5', '1 234,50 €'), cleaned to integer cents."""

    def __init__(self, label: str, *, max_cents: int = 10_000_000, **options: Any) -> None:
        super().__init__(label, max_length=30, **options)
        self.max_cents = max_cents

    def parse(self, value: str) -> int | None:
        cents = parse_euros(value)
        return cents if cents is not None and cents <= self.max_cents else None


class Day(Field):
    """A day as a date input sends it (AAAA-MM-JJ) or as typed where the browser has no date
    picker: JJ/MM/AAAA, 7/12/26, digits alone (07122026); see ecp.web.params.parse_day."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, max_length=20, **options)

    def parse(self, value: str) -> dt.date | None:
        return parse_day(value)


class Choice(Field):
    """One value among `choices` ((value, label) pairs, or a callable giving them)."""

    def __init__(self, label: str, choices: Iterable | Callable[[], Iterable], **options):
        super().__init__(label, **options)
        self.choices = choices

    def allowed(self) -> set[str]:
        choices = self.choices() if callable(self.choices) else self.choices
        return {str(c[0] if isinstance(c, (tuple, list)) else c) for c in choices}

    def parse(self, value: str) -> str | None:
        return value if value in self.allowed() else None


class Checkbox(Field):
    """A single box: True when sent with its value ('oui' by default)."""

    def __init__(self, label: str, *, value: str = "oui", **options: Any) -> None:
        super().__init__(label, **options)
        self.value = value

    def read(self, data: dict[str, Any]) -> Any:
        return text(data, self.name, 50) == self.value

    def clean(self, value: Any) -> bool:
        if not value and self.required:
            raise Invalid(self.required)
        return bool(value)


class Ids(Field):
    """Several ids (checkboxes of one name); those that are not ids are dropped."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, empty=[], **options)

    def read(self, data: dict[str, Any]) -> Any:
        return many(data, self.name)[:1000]

    def clean(self, value: Any) -> list[int]:
        ids = [i for i in (parse_id(v) for v in value) if i is not None]
        if not ids and self.required:
            raise Invalid(self.required)
        return ids


@dataclass
class Form:
    """What a template needs to redisplay a form: the raw values and the errors by field id.

    A subclass declares its fields as class attributes (see the module's docstring); the base
    class alone is a free-form holder for forms a handler fills by hand."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    cleaned: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    fields: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = dict(getattr(cls, "fields", {}))
        for name, value in list(vars(cls).items()):
            if isinstance(value, Field):
                value.name = name
                declared[name] = value
        cls.fields = declared

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any):
        """Parse a request body; `context` is what the clean_ methods may need (a list of
        allowed ids, the day of reference...), kept as form.context."""
        form = cls(context=context)
        data = data or {}
        for name, spec in cls.fields.items():
            value = spec.read(data)
            form.values[name] = value
            try:
                cleaned = spec.clean(value)
                hook = getattr(form, f"clean_{name}", None)
                if hook is not None and (cleaned not in (None, "", []) or spec.required):
                    cleaned = hook(cleaned)
                form.cleaned[name] = cleaned
            except Invalid as error:
                form.error(error.field or spec.key or name, error.message, spec.label)
        if form.valid:
            try:
                form.clean()
            except Invalid as error:
                form.error(error.field or "", error.message)
        return form

    @classmethod
    def initial(cls, **values: Any):
        """An unbound form showing these values (a GET, or an edit page)."""
        form = cls()
        form.values.update(values)
        return form

    def clean(self) -> None:
        """Rules across fields, once each field is valid; raise Invalid(message, field)."""

    def error(self, name: str, message: str, label: str | None = None) -> None:
        self.errors.setdefault(name, message)
        if label:
            self.labels[name] = label

    def reject(self, error: Rejected, default_field: str = "") -> None:
        """File a service's refusal under its field (or `default_field`)."""
        self.error(error.field or default_field, error.message)

    @property
    def valid(self) -> bool:
        return not self.errors

    def summary(self) -> list[dict[str, str]]:
        return [{"href": f"#{name}", "text": text} for name, text in self.errors.items()]

    def value(self, name: str, default: Any = "") -> Any:
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


def parse_euros(value: str) -> int | None:
    """'12,50' / '12.5' / '12' / '1 234,50 €' -> cents; None when it is not an amount."""
    cleaned = value.replace("€", "").replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    match = re.fullmatch(r"(\d{1,7})(?:[,.](\d{1,2}))?", cleaned)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
