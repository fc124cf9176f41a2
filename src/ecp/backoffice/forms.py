"""The back office's forms (family creation, child, contact-change decision, journal filter):
what each holds and what it says in French when a value is wrong. Checks that need the
database (the family code of the journal filter, a request already decided) are the service's
or the query's."""

from __future__ import annotations

from typing import Any

from ecp.accounts import contact
from ecp.audit.services import ACTIONS
from ecp.families.tables import LEVELS
from ecp.web.forms import (
    Checkbox,
    Choice,
    Day,
    Field,
    Form,
    Id,
    Integer,
    Invalid,
    Text,
    many,
)
from ecp.web.params import parse_id

CIVILITIES = [("Mme", "Mme"), ("M.", "M."), ("", "non précisé")]
DIETS = [("standard", "standard"), ("sans_porc", "sans porc"), ("sans_viande", "sans viande")]
# A new responsable has no address yet: contact.clean then requires the address, the postcode
# and the commune, as it does when a family empties them.
NEW_GUARDIAN = {"address_line1": "x", "postcode": "x", "city": "x"}


class PageOrderForm(Form):
    """Its error summary lists the errors in the order of the fields on the page, whoever
    found them (a field, a rule across fields, or the service)."""

    def sort_errors(self) -> None:
        order = list(self.fields)
        self.errors = dict(
            sorted(self.errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else 99)
        )

    def reject(self, error, default_field: str = "") -> None:
        super().reject(error, default_field)
        self.sort_errors()


class ContactDetail(Text):
    """A field of ecp.accounts.contact: read here, judged by contact.clean with the others
    (the rules span fields, e.g. « at least one phone number »)."""

    def __init__(self, label: str) -> None:
        super().__init__(label, max_length=500)

    def clean(self, value: Any) -> Any:
        return value


class FamilyForm(PageOrderForm):
    """A new family and its first responsable (the letter follows)."""

    nom_famille = Text(
        "Nom de la famille", required="Saisissez le nom de la famille.", max_length=120
    )
    civilite = Choice(
        "Civilité", CIVILITIES, invalid="Choisissez une civilité.", max_length=10, empty=""
    )
    prenom = Text("Prénom", required="Saisissez le prénom du responsable.", max_length=80)
    nom = Text("Nom", required="Saisissez le nom du responsable.", max_length=80)
    address_line1 = ContactDetail(contact.FIELDS["address_line1"])
    address_line2 = ContactDetail(contact.FIELDS["address_line2"])
    postcode = ContactDetail(contact.FIELDS["postcode"])
    city = ContactDetail(contact.FIELDS["city"])
    phone_mobile = ContactDetail(contact.FIELDS["phone_mobile"])
    phone_home = ContactDetail(contact.FIELDS["phone_home"])
    phone_work = ContactDetail(contact.FIELDS["phone_work"])
    email = ContactDetail(contact.FIELDS["email"])
    quotient_familial = Integer(
        "Quotient familial",
        high=100000,
        invalid="Le quotient familial est un nombre entier, par exemple 720.",
    )
    hors_commune = Checkbox("La famille habite hors de la commune")

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any) -> FamilyForm:
        form = super().bind(data, **context)
        # The address, phone and e-mail rules are the ones families get (ecp.accounts.contact).
        details = contact.clean(data or {}, current=NEW_GUARDIAN)
        form.values.update({name: details.values.get(name, "") for name in contact.FIELDS})
        form.cleaned.update({name: details.values.get(name, "") for name in contact.FIELDS})
        for name, message in details.errors.items():
            form.error(name, message, contact.FIELDS[name])
        form.sort_errors()
        return form

    def family(self) -> dict[str, Any]:
        """The keyword arguments of services.create_family."""
        c = self.cleaned
        guardian = {name: c[name] for name in contact.FIELDS}
        guardian.update(civility=c["civilite"], first_name=c["prenom"], last_name=c["nom"])
        return {
            "name": c["nom_famille"],
            "guardian": guardian,
            "qf": c["quotient_familial"],
            "out_of_town": c["hors_commune"],
        }


class ChildForm(Form):
    """A child of a family, added or edited; `school_ids` (context) are the schools offered,
    `editing` says whether the « actif » box is on the page."""

    prenom = Text("Prénom", required="Saisissez le prénom de l’enfant.", max_length=80)
    nom = Text("Nom", required="Saisissez le nom de l’enfant.", max_length=80)
    naissance = Day(
        "Date de naissance",
        required="Saisissez la date de naissance, par exemple 04/05/2019.",
        invalid="Saisissez la date de naissance, par exemple 04/05/2019.",
    )
    niveau = Choice(
        "Niveau scolaire",
        LEVELS,
        required="Choisissez le niveau scolaire.",
        invalid="Choisissez le niveau scolaire.",
        max_length=4,
    )
    ecole = Id("École", invalid="Choisissez une école de la liste.", max_length=10)
    regime = Choice(
        "Régime alimentaire",
        DIETS,
        required="Choisissez un régime.",
        invalid="Choisissez un régime.",
        max_length=20,
    )
    sante = Text("Informations de santé", max_length=2000)
    allergie = Checkbox("Allergie ou PAI")
    accompagnement = Checkbox("Besoin d’accompagnement")
    actif = Checkbox("Enfant actif")

    def clean_ecole(self, school_id: int) -> int:
        if school_id not in self.context.get("school_ids", set()):
            raise Invalid("Choisissez une école de la liste.")
        return school_id

    def clean_actif(self, active: bool) -> bool:
        # A new child is active: the box is only on the edit page.
        return active if self.context.get("editing") else True

    @classmethod
    def of_child(cls, child: dict) -> ChildForm:
        """The edit page's form, showing the child as recorded."""
        return cls.initial(
            prenom=child["first_name"],
            nom=child["last_name"],
            naissance=child["birth_date"].isoformat(),
            niveau=child["level"],
            ecole=str(child["school"] or ""),
            regime=child["diet"],
            sante=child["health_notes"],
            allergie=child["has_allergy"],
            accompagnement=child["needs_support"],
            actif=child["active"],
        )

    @classmethod
    def new(cls, family_name: str) -> ChildForm:
        return cls.initial(nom=family_name, niveau="", ecole="", regime="standard", actif=True)

    def child(self) -> dict[str, Any]:
        """The columns services.save_child writes."""
        c = self.cleaned
        return {
            "first_name": c["prenom"],
            "last_name": c["nom"],
            "birth_date": c["naissance"],
            "level": c["niveau"],
            "school": c["ecole"],
            "diet": c["regime"],
            "health_notes": c["sante"],
            "has_allergy": c["allergie"],
            "needs_support": c["accompagnement"],
            "active": c["actif"],
        }


class FieldNames(Field):
    """The ticked boxes of one name, as the strings they carry (contact field names)."""

    def __init__(self, label: str) -> None:
        super().__init__(label, empty=[])

    def read(self, data: dict[str, Any]) -> Any:
        return many(data, self.name)[:50]

    def clean(self, value: Any) -> list[str]:
        return [str(v)[:50] for v in value]


class RequestDecisionForm(Form):
    """Apply the ticked fields of a contact-change request, or refuse it with a reason. The
    errors are keyed by the request (`request_id` in the context): the queue shows one form per
    request, and the summary links to that request's controls."""

    decision = Text("Décision", max_length=20)
    champ = FieldNames("Informations à appliquer")
    motif = Text("Motif en cas de refus", max_length=500)

    def clean(self) -> None:
        request_id = self.context["request_id"]
        decision, fields = self.cleaned["decision"], self.cleaned["champ"]
        if decision == "refuser" and not self.cleaned["motif"]:
            raise Invalid(
                "Indiquez le motif du refus : il est envoyé à la famille.",
                field=f"motif-{request_id}",
            )
        if decision == "appliquer" and not fields:
            raise Invalid(
                "Cochez au moins une information à appliquer, ou refusez la demande.",
                field=f"champ-{request_id}",
            )
        if decision not in ("appliquer", "refuser"):
            raise Invalid(
                "Choisissez d’appliquer ou de refuser la demande.", field=f"champ-{request_id}"
            )

    def apply_fields(self) -> list[str]:
        """The fields to apply: none when the request is refused."""
        return self.cleaned["champ"] if self.cleaned["decision"] == "appliquer" else []


class JournalFilterForm(PageOrderForm):
    """The journal's filters, from the query string. An unknown action or agent is no filter
    (they come from lists); a family code naming no family is the query's to say."""

    action = Text("Action", max_length=50)
    agent = Text("Agent", max_length=12)
    famille = Text("Code famille", max_length=20)
    du = Day("Du", invalid="Saisissez une date, par exemple 29/11/2026.")
    au = Day("Au", invalid="Saisissez une date, par exemple 29/11/2026.")

    def clean_action(self, action: str) -> str | None:
        return action if action in ACTIONS else None

    def clean_agent(self, agent: str) -> int | None:
        return parse_id(agent)

    def filters(self) -> dict[str, Any]:
        """The keyword arguments of queries.journal_entries."""
        c = self.cleaned
        return {
            "action": c.get("action") or None,
            "staff_id": c["agent"] if isinstance(c.get("agent"), int) else None,
            "family_code": c.get("famille", "").upper() or None,
            "since": c.get("du"),
            "until": c.get("au"),
        }

    def query(self) -> dict[str, str]:
        """The filters as typed, for the « Lignes plus anciennes » link."""
        return {name: value for name, value in self.values.items() if value}
