"""The family's account forms (ecp.web.forms): forgotten password, contact change, reminders.
The new-password form of the reset link is ecp.auth.forms.NewPasswordForm, shared with the
other password forms."""

from __future__ import annotations

from typing import Any

from ecp.accounts import contact
from ecp.web.forms import Checkbox, Form, Text

NOTHING_CHANGED = (
    "Vous n’avez modifié aucune information : changez au moins un champ avant d’envoyer la demande."
)


class ForgottenForm(Form):
    identifiant = Text(
        "Code famille ou adresse électronique",
        required="Saisissez votre code famille ou votre adresse électronique.",
        max_length=200,
    )


class RemindersForm(Form):
    rappels = Checkbox("Rappels avant les dates limites", value="oui")


class ContactChangeForm(Form):
    """A guardian's contact details, judged field by field by ecp.accounts.contact (the rules
    the back office's family form shares) against `current`, the guardian as recorded.
    `form.cleaned` is the change requested: {field: {before, after}}, never empty."""

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any):
        current = context["current"]
        checked = contact.clean(data or {}, current)
        form = cls(values=checked.values, context=context)
        # In the order of the fields on the page, so the error summary reads as the form does
        # (the cross-field checks, e.g. « au moins un numéro », are found after the others).
        order = list(contact.FIELDS)
        for name in sorted(checked.errors, key=lambda n: order.index(n) if n in order else 99):
            form.error(name, checked.errors[name])
        if form.valid:
            form.cleaned = contact.differences(checked.values, current)
            if not form.cleaned:
                form.error("address_line1", NOTHING_CHANGED)
        return form

    @classmethod
    def of(cls, guardian: dict):
        """The form as the guardian's details stand (the page before any change)."""
        return cls.initial(**{name: guardian.get(name) or "" for name in contact.FIELDS})
