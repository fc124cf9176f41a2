"""Staff > Paramètres: the forms (ecp.web.forms), one per page form, with French messages.

Each form reads what was typed and applies the rules it can check without the database, the
rules of ecp.backoffice.settings_services included, so that a page lists every error at once.
What it must compare with the database (names and codes already taken, the groups in use)
comes in as context from ecp.backoffice.settings_queries; the service checks again when it
writes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from ecp.auth.policy import password_problem
from ecp.auth.principal import ROLE_LABELS
from ecp.auth.tables import ROLES
from ecp.backoffice import settings_services as services
from ecp.errors import Rejected
from ecp.families.tables import LEVELS
from ecp.web.forms import (
    Checkbox,
    Choice,
    Day,
    Field,
    Form,
    Id,
    Ids,
    Integer,
    Invalid,
    Password,
    Text,
    many,
)

WEEKDAYS = [("1", "lundi"), ("2", "mardi"), ("3", "mercredi"), ("4", "jeudi"), ("5", "vendredi")]
LEVEL_CHOICES = [(level, level) for level in LEVELS]
ROLE_CHOICES = [(r, ROLE_LABELS[r]) for r in ROLES]
TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:h]([0-5]\d)$")
PLACES = 10000


def parse_time(value: str) -> dt.time | None:
    """'07:30', '7:30' or '07h30'."""
    match = TIME_RE.match(value.strip())
    return dt.time(int(match.group(1)), int(match.group(2))) if match else None


def _checked(rule: Callable[..., Any], *args: Any) -> Any:
    """A service rule inside a form: its refusal is listed with the form's other errors."""
    try:
        return rule(*args)
    except Rejected as error:
        raise Invalid(error.message, error.field) from None


class _Unset:
    """The value of a field left empty whose check still runs (see the fields using it)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


class Time(Field):
    """An hour typed as 07:30 or 07h30."""

    def __init__(self, label: str, message: str, *, max_length: int = 5) -> None:
        super().__init__(label, required=message, invalid=message, max_length=max_length)

    def parse(self, value: str) -> dt.time | None:
        return parse_time(value)


class Count(Integer):
    """A whole number between low and high; one message whether empty or wrong."""

    def __init__(self, label: str, low: int, high: int) -> None:
        message = f"{label} : un nombre entier entre {low} et {high}."
        super().__init__(label, low=low, high=high, required=message, invalid=message)


class Lowercase(Text):
    def read(self, data: dict[str, Any]) -> Any:
        return super().read(data).lower()


class Several(Field):
    """Boxes of one name whose values are among `choices`; others are dropped."""

    def __init__(self, label: str, choices: list[tuple[str, str]], **options: Any) -> None:
        super().__init__(label, empty=[], **options)
        self.allowed = [c[0] for c in choices]

    def read(self, data: dict[str, Any]) -> Any:
        return [v for v in many(data, self.name) if v in self.allowed]

    def clean(self, value: Any) -> list[str]:
        if not value and self.required:
            raise Invalid(self.required)
        return list(value)


# ---------------------------------------------------------------- the service's rules


class RulesForm(Form):
    delai_jours = Count("Délai de réservation", 0, 30)
    echeance_jours = Count("Échéance des factures", 1, 120)
    conservation_ans = Count("Durée de conservation", 1, 10)
    delai_heure = Time(
        "Heure limite de réservation", "Heure limite de réservation : une heure comme 23:59."
    )
    maladie_heure = Time(
        "Heure limite d’absence pour maladie",
        "Heure limite d’absence pour maladie : une heure comme 23:59.",
    )

    @classmethod
    def from_settings(cls, settings: dict) -> RulesForm:
        return cls.initial(
            delai_jours=str(settings["booking_deadline_working_days"]),
            delai_heure=settings["booking_deadline_time"].strftime("%H:%M"),
            maladie_heure=settings["illness_cutoff_time"].strftime("%H:%M"),
            echeance_jours=str(settings["invoice_due_days"]),
            conservation_ans=str(settings["retention_years"]),
        )

    def rules(self) -> dict:
        """The cleaned values as ecp.backoffice.settings_services.save_rules takes them."""
        c = self.cleaned
        return {
            "booking_deadline_working_days": c["delai_jours"],
            "booking_deadline_time": c["delai_heure"],
            "illness_cutoff_time": c["maladie_heure"],
            "invoice_due_days": c["echeance_jours"],
            "retention_years": c["conservation_ans"],
        }


class YearForm(Form):
    libelle = Text("Libellé", required="Le libellé s’écrit comme 2026-2027.", max_length=20)
    debut = Day(
        "Rentrée",
        required="Saisissez la date de rentrée, par exemple 01/09/2026.",
        invalid="Saisissez la date de rentrée, par exemple 01/09/2026.",
    )
    fin = Day(
        "Fin de l’année",
        required="Saisissez la date de fin, par exemple 03/07/2027.",
        invalid="Saisissez la date de fin, par exemple 03/07/2027.",
    )
    courante = Checkbox("C’est l’année en cours")

    @classmethod
    def from_year(cls, year: dict | None) -> YearForm:
        """The current year, ready to be corrected; an empty form when there is none."""
        if year is None:
            return cls.initial(libelle="", debut="", fin="", courante=True)
        return cls.initial(
            libelle=year["label"],
            debut=year["starts_on"].isoformat(),
            fin=year["ends_on"].isoformat(),
            courante=True,
        )

    def clean_libelle(self, label: str) -> str:
        _checked(services.check_year_label, label)
        return label

    def clean_fin(self, end: dt.date) -> dt.date:
        if self.cleaned.get("debut"):
            _checked(services.check_year_bounds, self.cleaned["debut"], end)
        return end


class SchoolForm(Form):
    """Context: taken (the other schools' names), editing (an existing school: the box
    « École ouverte » is on the page; a new school is open)."""

    nom = Text("Nom de l’école", required="Saisissez le nom de l’école.", max_length=120)
    type = Choice(
        "Type",
        services.KINDS,
        required="Choisissez le type d’école.",
        invalid="Choisissez le type d’école.",
        max_length=20,
    )
    adresse = Text("Adresse")
    classes = Text("Classes de l’année scolaire en cours", max_length=2000)
    active = Checkbox("École ouverte")

    def clean_nom(self, name: str) -> str:
        if name in self.context.get("taken", ()):
            raise Invalid("Une autre école porte déjà ce nom.")
        return name

    def clean(self) -> None:
        if not self.context.get("editing"):
            self.cleaned["active"] = True


CLOSURE_STEPS = ("confirmer", "modifier")


class Step(Field):
    """Which button of a multi-step form was pressed; anything else is the first step ("")."""

    def __init__(self, steps: tuple[str, ...]) -> None:
        super().__init__("Étape", max_length=20, empty="")
        self.steps = steps

    def clean(self, value: Any) -> str:
        return value if value in self.steps else ""


class ClosureForm(Form):
    """The last day may stay empty: a closure of one day. `etape`: empty the first time (a
    closure that hits bookings is then shown before it is written), « confirmer » from the
    preview, « modifier » to take the preview's values back to the form."""

    fermeture_du = Day(
        "Premier jour",
        required="Saisissez le premier jour de fermeture, par exemple 24/12/2026.",
        invalid="Saisissez le premier jour de fermeture, par exemple 24/12/2026.",
    )
    fermeture_au = Day(
        "Dernier jour",
        invalid="Saisissez le dernier jour, par exemple 02/01/2027.",
        empty=UNSET,  # so that clean_fermeture_au runs and takes the first day
    )
    motif = Text(
        "Motif", required="Indiquez le motif : il est montré aux familles.", max_length=200
    )
    # Ids from the page's lists; the service checks that they name a school, an activity.
    ecole = Id("École concernée", invalid="Choisissez une école de la liste.", max_length=10)
    activite = Id(
        "Activité concernée", invalid="Choisissez une activité de la liste.", max_length=10
    )
    etape = Step(CLOSURE_STEPS)

    def clean_fermeture_au(self, end: Any) -> dt.date:
        start = self.cleaned.get("fermeture_du")
        if end is UNSET:
            if start is None:
                raise Invalid("Saisissez le dernier jour, par exemple 02/01/2027.")
            return start
        if start is not None:
            _checked(services.check_closure_dates, start, end)
        return end

    def closure(self) -> dict:
        """The cleaned values as ecp.backoffice.settings_services.add_closure takes them."""
        c = self.cleaned
        return {
            "starts_on": c["fermeture_du"],
            "ends_on": c["fermeture_au"],
            "reason": c["motif"],
            "school_id": c["ecole"],
            "activity_id": c["activite"],
            "confirmed": c["etape"] == "confirmer",
        }

    def hidden(self) -> list[tuple[str, str]]:
        """The fields as the preview's forms carry them again (days as AAAA-MM-JJ)."""
        c = self.cleaned
        return [
            ("fermeture_du", c["fermeture_du"].isoformat()),
            ("fermeture_au", c["fermeture_au"].isoformat()),
            ("motif", c["motif"]),
            ("ecole", str(c["ecole"] or "")),
            ("activite", str(c["activite"] or "")),
        ]


class ClosureRemovalForm(Form):
    """Removing a closure that had cancelled bookings is confirmed once they are shown."""

    confirmer = Checkbox("Confirmer la suppression")


# ---------------------------------------------------------------- activities


class _ActivityFields(Form):
    """Every field of the two activity forms, in the order of the page (and of its errors).

    Context: others (the other activities: codes and labels taken), groups (the exclusive
    groups in use, as (code, label)), schools (each gets its field « capacite-<id> »)."""

    libelle = Text("Libellé", required="Saisissez le libellé de l’activité.", max_length=120)
    libelle_court = Text(
        "Libellé court",
        required="Saisissez le libellé court, utilisé dans les tableaux.",
        max_length=40,
    )
    code = Lowercase("Code", max_length=60, empty=UNSET)  # empty: formed from the label
    jours = Several(
        "Jours d’ouverture", WEEKDAYS, required="Cochez au moins un jour.", key="jours-1"
    )
    debut = Time("Heure de début", "Saisissez l’heure de début, par exemple 07:30.")
    fin = Time("Heure de fin", "Saisissez l’heure de fin, par exemple 08:30.")
    niveaux = Several(
        "Niveaux admis", LEVEL_CHOICES, required="Cochez au moins un niveau.", key="niveaux-PS"
    )
    delai = Choice(
        "Date limite de réservation",
        services.DEADLINE_RULES,
        required="Choisissez la date limite de réservation.",
        invalid="Choisissez la date limite de réservation.",
        max_length=30,
    )
    groupe = Text("Groupe d’activités exclusives", max_length=40)
    facturee = Checkbox("Activité facturée")
    capacite = Count("Places par défaut", 0, PLACES)
    active = Checkbox("Activité proposée aux familles")

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any):
        form = super().bind(data, **context)
        # One field per school, after the others: the schools are the database's.
        places: dict[int, int] = {}
        for school in context.get("schools", []):
            spec = Count(f"Places à {school['name']}", 0, PLACES)
            spec.name = f"capacite-{school['id']}"
            value = spec.read(data or {})
            form.values[spec.name] = value
            try:
                places[school["id"]] = spec.clean(value)
            except Invalid as error:
                form.error(spec.name, error.message, spec.label)
        form.cleaned["places"] = places
        return form

    def clean_libelle(self, label: str) -> str:
        _checked(services.check_activity_label, label, self.context.get("others", []))
        return label

    def clean_libelle_court(self, short_label: str) -> str:
        _checked(services.check_activity_short_label, short_label, self.context.get("others", []))
        return short_label

    def clean_code(self, code: Any) -> str:
        taken = [o["code"] for o in self.context.get("others", [])]
        typed = "" if code is UNSET else code
        return _checked(services.activity_code, self.values.get("libelle", ""), typed, taken)

    def clean_fin(self, end: dt.time) -> dt.time:
        if self.cleaned.get("debut"):
            _checked(services.check_activity_hours, self.cleaned["debut"], end)
        return end

    def clean_groupe(self, group: str) -> str:
        if group not in dict(self.context.get("groups", [])):
            raise Invalid("Choisissez un groupe dans la liste.")
        return group

    def activity(self) -> dict:
        """The cleaned values as the service's create_activity / update_activity take them."""
        c = self.cleaned
        values = {
            "label": c["libelle"],
            "short_label": c["libelle_court"],
            "weekdays": c["jours"],
            "starts_at": c["debut"],
            "ends_at": c["fin"],
            "levels": c["niveaux"],
            "default_capacity": c["capacite"],
            "capacities": c["places"],
        }
        if "code" in self.fields:
            values.update(
                code=c["code"],
                deadline_rule=c["delai"],
                group_code=c["groupe"],
                billable=c["facturee"],
            )
        else:
            values["active"] = c["active"]
            values["over_capacity_confirmed"] = c.get("confirmer_places", False)
        return values


CREATION_ONLY = ("code", "delai", "groupe", "facturee")


class NewActivityForm(_ActivityFields):
    """A new activity is offered at once; its code, deadline rule, group and billing are
    chosen now and fixed afterwards (ecp.backoffice.settings_services)."""

    fields = {k: v for k, v in _ActivityFields.fields.items() if k != "active"}

    @classmethod
    def defaults(cls, schools: list[dict]) -> NewActivityForm:
        values: dict[str, Any] = {
            "jours": ["1", "2", "4", "5"],
            "niveaux": list(LEVELS),
            "delai": "working_days",
            "groupe": "",
            "facturee": True,
            "capacite": "0",
            "code": "",
        }
        for s in schools:
            values[f"capacite-{s['id']}"] = "0"
        return cls.initial(**values)


class ActivityForm(_ActivityFields):
    """An existing activity: what may change under bookings already made. Places below the
    bookings of a day to come are saved once « confirmer_places » is ticked (the service
    refuses them otherwise, naming the days)."""

    fields = {k: v for k, v in _ActivityFields.fields.items() if k not in CREATION_ONLY}
    fields["confirmer_places"] = Checkbox(
        "Enregistrer ces places quand même : aucune réservation n’est annulée"
    )
    fields["confirmer_places"].name = "confirmer_places"

    @classmethod
    def from_activity(
        cls, activity: dict, capacities: dict[int, int], schools: list[dict]
    ) -> ActivityForm:
        values: dict[str, Any] = {
            "libelle": activity["label"],
            "libelle_court": activity["short_label"],
            "jours": activity["weekdays"].split(","),
            "debut": activity["starts_at"].strftime("%H:%M"),
            "fin": activity["ends_at"].strftime("%H:%M"),
            "niveaux": activity["eligible_levels"].split(","),
            "capacite": str(activity["default_capacity"]),
            "active": activity["active"],
        }
        for s in schools:
            values[f"capacite-{s['id']}"] = str(
                capacities.get(s["id"], activity["default_capacity"])
            )
        return cls.initial(**values)


# ---------------------------------------------------------------- staff accounts


class _StaffFields(Form):
    """Context: actor_id (the administrator's staff id), staff_id (None for a new account),
    username (the account's, when it exists), taken (the usernames in use, for a new one)."""

    identifiant = Lowercase(
        "Identifiant de connexion",
        required="L’identifiant : 3 à 60 lettres minuscules, chiffres, points ou tirets.",
        max_length=60,
    )
    nom_affiche = Text("Nom affiché", required="Saisissez le nom affiché.", max_length=120)
    courriel = Text("Adresse électronique", max_length=200)
    # Before the role, which is checked against it; a box has no error of its own.
    actif = Checkbox("Compte actif")
    role = Choice(
        "Rôle", ROLES, required="Choisissez un rôle.", invalid="Choisissez un rôle.", max_length=20
    )
    mot_de_passe = Password("Mot de passe", max_length=300)
    ecoles = Ids("Écoles")

    def _username(self) -> str:
        return self.context.get("username") or self.values.get("identifiant", "")

    def _active(self) -> bool:
        return self.cleaned.get("actif", True) if "actif" in self.fields else True

    def clean_identifiant(self, username: str) -> str:
        _checked(services.check_username, username, self.context.get("taken", ()))
        return username

    def clean_role(self, role: str) -> str:
        _checked(
            services.check_own_rights,
            self.context.get("actor_id"),
            self.context.get("staff_id"),
            role,
            self._active(),
        )
        return role

    def clean_mot_de_passe(self, password: str) -> str:
        _checked(services.check_staff_password, password, self._username())
        return password

    def account(self) -> dict:
        """The cleaned values as ecp.backoffice.settings_services.save_staff takes them."""
        c = self.cleaned
        return {
            "username": c.get("identifiant", ""),
            "display_name": c["nom_affiche"],
            "email": c["courriel"],
            "role": c["role"],
            "active": self._active(),
            "password": c["mot_de_passe"],
            "schools": c["ecoles"],
        }


class NewStaffForm(_StaffFields):
    """A new account is active and has a password at once."""

    fields = {
        **{k: v for k, v in _StaffFields.fields.items() if k not in ("actif", "mot_de_passe")},
        "mot_de_passe": Password(
            "Mot de passe",
            # An empty password is one of 0 characters: the length rule's own message.
            required=password_problem("", staff=True),
            max_length=300,
        ),
    }
    fields["mot_de_passe"].name = "mot_de_passe"


class StaffForm(_StaffFields):
    """An existing account: its username stays; an empty password keeps the current one."""

    fields = {k: v for k, v in _StaffFields.fields.items() if k != "identifiant"}
