"""The login, code, authenticator and password forms (ecp.web.forms). What needs the account
(is the password right, is the code, may this client still try) is the services' to say
(ecp.auth.services, ecp.auth.mfa): they raise Rejected, filed here under its field."""

from __future__ import annotations

from typing import Any

from ecp.auth import totp
from ecp.auth.policy import new_password_errors
from ecp.errors import Rejected
from ecp.web.forms import Field, Form, Invalid, Password, Text, text

MISSING_CODE = "Saisissez le code à 6 chiffres affiché par votre application d’authentification."
MALFORMED_CODE = "Le code comporte 6 chiffres, par exemple 123456."
MISSING_PASSWORD = "Saisissez votre mot de passe."
MISSING_CURRENT = "Saisissez votre mot de passe actuel."


class TotpCode(Field):
    """A six-digit code as people type it ('123 456', '123-456'), cleaned; a code that cannot
    be one is refused here, before any check, so it is never counted as a failure."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, required=MISSING_CODE, invalid=MALFORMED_CODE, **options)

    def read(self, data: dict[str, Any]) -> Any:
        return text(data, self.name, 20)

    def clean(self, value: Any) -> str:
        code = totp.clean_code(value)
        if not code:
            raise Invalid(MISSING_CODE)
        if not totp.is_well_formed(code):
            raise Invalid(MALFORMED_CODE)
        return code


class AuthForm(Form):
    """The services' refusals take their place in the order of the fields on the page, so the
    error summary reads in the same order as the form whoever found the error."""

    def reject(self, error: Rejected, default_field: str = "") -> None:
        super().reject(error, default_field)
        rank = {name: i for i, name in enumerate(self.fields)}
        self.errors = dict(sorted(self.errors.items(), key=lambda kv: rank.get(kv[0], len(rank))))


class CodeForms(AuthForm):
    """A well-formed code, right or wrong, is not shown again (it is spent or useless); one
    that could not be a code is, to be corrected."""

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any):
        form = super().bind(data, **context)
        if form.errors.get("code") != MALFORMED_CODE:
            form.values.pop("code", None)
        return form


class FamilyLoginForm(AuthForm):
    code_famille = Text("Code famille", required="Saisissez votre code famille.", max_length=60)
    mot_de_passe = Password("Mot de passe", required=MISSING_PASSWORD, max_length=200)
    next = Text("Page demandée")


class StaffLoginForm(AuthForm):
    identifiant = Text("Identifiant", required="Saisissez votre identifiant.", max_length=60)
    mot_de_passe = Password("Mot de passe", required=MISSING_PASSWORD, max_length=200)
    next = Text("Page demandée")


class StayForm(Form):
    """« Rester connecté »: the page it was pressed on, to come back to without JavaScript."""

    next = Text("Page", max_length=2000)


class CodeForm(CodeForms):
    """The second step of a staff login, and the enrolment at login (same POST)."""

    code = TotpCode("Code de vérification")


class AuthenticatorForm(CodeForms):
    """An authenticator added or replaced from the account page: the key the page offered
    (sealed, carried by the form), the current password, a code of the new key."""

    cle = Text("Clé proposée")
    mot_de_passe_actuel = Password("Mot de passe actuel", required=MISSING_CURRENT, max_length=300)
    code = TotpCode("Code de vérification")

    @classmethod
    def expired(cls, message: str):
        """The key came back expired or altered: that alone is said (a new key is shown)."""
        form = cls()
        form.error("code", message)
        return form


class PasswordChangeForm(AuthForm):
    """One's own password. The rules need the account (the current password, the throttle,
    the identifier the new one may not contain): ecp.auth.services.change_password judges
    them, and its errors are filed here."""

    mot_de_passe_actuel = Password("Mot de passe actuel", max_length=300)
    nouveau_mot_de_passe = Password("Nouveau mot de passe", max_length=300)
    confirmation = Password("Confirmez le nouveau mot de passe", max_length=300)

    def file(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.error(name, message)


class NewPasswordForm(AuthForm):
    """A new password and its confirmation (the reset link). Context: `forbidden`, what the
    password may not contain (the family code), and `staff` for the longer minimum."""

    nouveau_mot_de_passe = Password("Nouveau mot de passe", max_length=300)
    confirmation = Password("Confirmez le nouveau mot de passe", max_length=300)

    def clean(self) -> None:
        errors = new_password_errors(
            self.cleaned["nouveau_mot_de_passe"],
            self.cleaned["confirmation"],
            staff=self.context.get("staff", False),
            forbidden=tuple(self.context.get("forbidden", ())),
        )
        for name, message in errors.items():
            raise Invalid(message, field=name)
