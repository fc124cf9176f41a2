"""The back office's forms (family creation, responsables, contacts, quotient familial, child,
contact-change decision, journal filter):
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


QF_SOURCES = [
    ("caf", "attestation CAF"),
    ("msa", "attestation MSA"),
    ("avis_imposition", "avis d’imposition"),
    ("attestation", "autre attestation"),
    ("autre", "autre (préciser dans les notes)"),
]
PAYERS = [("1", "le premier responsable"), ("2", "le second responsable")]
EMAILS = [
    ("1", "au premier responsable"),
    ("2", "au second responsable"),
    ("les_deux", "aux deux responsables"),
]
SECOND = "r2_"
# The second responsable's fields: the first one's, prefixed (the first keeps its plain names,
# which the family pages and older links use).
SECOND_FIELDS = ("civilite", "prenom", "nom", *contact.FIELDS)


def bind_contact(form: Form, data: dict[str, Any], prefix: str, current: dict) -> dict[str, str]:
    """Judges the address, phones and e-mail named `prefix + field` with the rules families
    get (ecp.accounts.contact); the errors go on the form under their prefixed names."""
    data = data or {}
    details = contact.clean({name: data.get(prefix + name, "") for name in contact.FIELDS}, current)
    for name in contact.FIELDS:
        form.values[prefix + name] = details.values.get(name, "")
        form.cleaned[prefix + name] = details.values.get(name, "")
    for name, message in details.errors.items():
        form.error(prefix + name, message, contact.FIELDS[name])
    return {name: details.values.get(name, "") for name in contact.FIELDS}


class FamilyForm(PageOrderForm):
    """A new family: one or two responsables légaux (who pays, who gets the e-mails), its
    quotient familial from a day, and the service's notes. `jeton` is the form's one-time key
    (a second post of it creates nothing); `doublon` says the agent saw the likely duplicates
    and creates the family all the same."""

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
    r2_civilite = Choice(
        "Civilité du second responsable",
        CIVILITIES,
        invalid="Choisissez une civilité.",
        max_length=10,
        empty="",
    )
    r2_prenom = Text("Prénom du second responsable", max_length=80)
    r2_nom = Text("Nom du second responsable", max_length=80)
    r2_meme_adresse = Checkbox("Même adresse que le premier responsable")
    r2_address_line1 = ContactDetail(contact.FIELDS["address_line1"])
    r2_address_line2 = ContactDetail(contact.FIELDS["address_line2"])
    r2_postcode = ContactDetail(contact.FIELDS["postcode"])
    r2_city = ContactDetail(contact.FIELDS["city"])
    r2_phone_mobile = ContactDetail(contact.FIELDS["phone_mobile"])
    r2_phone_home = ContactDetail(contact.FIELDS["phone_home"])
    r2_phone_work = ContactDetail(contact.FIELDS["phone_work"])
    r2_email = ContactDetail(contact.FIELDS["email"])
    payeur = Choice(
        "Qui paie les factures ?", PAYERS, invalid="Choisissez qui paie.", max_length=2, empty="1"
    )
    courriels = Choice(
        "À qui envoyer les courriels ?",
        EMAILS,
        invalid="Choisissez à qui envoyer les courriels.",
        max_length=10,
        empty="1",
    )
    quotient_familial = Integer(
        "Quotient familial",
        high=100000,
        invalid="Le quotient familial est un nombre entier, par exemple 720.",
    )
    qf_depuis = Day(
        "Quotient familial applicable à partir du",
        invalid="Saisissez une date, par exemple 01/09/2026.",
    )
    qf_source = Choice(
        "Justificatif du quotient familial",
        QF_SOURCES,
        invalid="Choisissez le justificatif du quotient familial.",
        max_length=20,
        empty="",
    )
    hors_commune = Checkbox("La famille habite hors de la commune")
    notes = Text("Notes du service", max_length=2000)
    jeton = Text("Jeton", max_length=64)
    doublon = Checkbox("Créer la famille malgré les doublons possibles")

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any) -> FamilyForm:
        form = super().bind(data, **context)
        data = data or {}
        # The address, phone and e-mail rules are the ones families get (ecp.accounts.contact).
        bind_contact(form, data, "", NEW_GUARDIAN)
        if form.has_second():
            for name in ("r2_prenom", "r2_nom"):
                if not form.cleaned.get(name) and name not in form.errors:
                    which = "prénom" if name == "r2_prenom" else "nom"
                    form.error(name, f"Saisissez le {which} du second responsable.")
            if form.cleaned.get("r2_meme_adresse"):
                # The first one's address, whatever was typed in the second one's fields.
                copied = dict(data)
                for name in ("address_line1", "address_line2", "postcode", "city"):
                    copied[SECOND + name] = form.cleaned.get(name, "")
                bind_contact(form, copied, SECOND, NEW_GUARDIAN)
            else:
                bind_contact(form, data, SECOND, NEW_GUARDIAN)
        else:
            for name in contact.FIELDS:
                form.values.setdefault(SECOND + name, "")
                form.cleaned[SECOND + name] = ""
            if form.cleaned.get("payeur") == "2":
                form.error(
                    "payeur", "Le second responsable n’est pas renseigné : il ne peut pas payer."
                )
            if form.cleaned.get("courriels") in ("2", "les_deux"):
                form.error(
                    "courriels",
                    "Le second responsable n’est pas renseigné : il ne peut pas recevoir "
                    "les courriels.",
                )
        if form.has_second() and form.cleaned.get("courriels") in ("2", "les_deux"):
            if not form.cleaned.get("r2_email") and "r2_email" not in form.errors:
                form.error(
                    "r2_email",
                    "Saisissez l’adresse électronique du second responsable : il doit recevoir "
                    "les courriels.",
                )
        qf_typed = form.cleaned.get("quotient_familial") is not None or "quotient_familial" in (
            form.errors
        )
        if not qf_typed and form.cleaned.get("qf_depuis"):
            form.error("quotient_familial", "Saisissez le quotient familial de cette date.")
        form.sort_errors()
        return form

    def has_second(self) -> bool:
        """Whether a second responsable is being entered: any of its fields filled in."""
        return any(
            self.values.get(SECOND + name) for name in ("prenom", "nom", *contact.FIELDS)
        ) or bool(self.values.get("r2_meme_adresse") and self.values.get("r2_prenom"))

    def family(self) -> dict[str, Any]:
        """The keyword arguments of services.create_family."""
        c = self.cleaned
        guardian = {name: c[name] for name in contact.FIELDS}
        guardian.update(civility=c["civilite"], first_name=c["prenom"], last_name=c["nom"])
        second = None
        if self.has_second():
            second = {name: c[SECOND + name] for name in contact.FIELDS}
            second.update(
                civility=c["r2_civilite"], first_name=c["r2_prenom"], last_name=c["r2_nom"]
            )
        return {
            "name": c["nom_famille"],
            "guardian": guardian,
            "second": second,
            "payer": 2 if c["payeur"] == "2" and second else 1,
            "emails": c["courriels"] if second else "1",
            "qf": c["quotient_familial"],
            "qf_from": c["qf_depuis"],
            "qf_source": c["qf_source"],
            "out_of_town": c["hors_commune"],
            "notes": c["notes"],
            "creation_key": c["jeton"] or None,
            "check_duplicates": not c["doublon"],
        }


class GuardianForm(PageOrderForm):
    """A responsable légal added to, or changed on, the family record (the staff write it
    directly: no request to decide). `current` (context) is the responsable as recorded, whose
    unchanged details are not judged again."""

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
    payeur = Checkbox("Paie les factures de la famille")
    courriels = Checkbox("Reçoit les courriels du service")

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any) -> GuardianForm:
        form = super().bind(data, **context)
        bind_contact(form, data or {}, "", context.get("current") or NEW_GUARDIAN)
        if form.cleaned.get("courriels") and not form.cleaned.get("email"):
            if "email" not in form.errors:
                form.error(
                    "email",
                    "Saisissez une adresse électronique, ou décochez « Reçoit les courriels ».",
                )
        form.sort_errors()
        return form

    @classmethod
    def of_guardian(cls, guardian: dict) -> GuardianForm:
        """The edit page's form, showing the responsable as recorded."""
        return cls.initial(
            civilite=guardian["civility"],
            prenom=guardian["first_name"],
            nom=guardian["last_name"],
            payeur=guardian["is_payer"],
            courriels=guardian["receives_email"],
            **{name: guardian[name] or "" for name in contact.FIELDS},
        )

    def guardian(self) -> dict[str, Any]:
        """The columns services.save_guardian writes."""
        c = self.cleaned
        values = {name: c[name] for name in contact.FIELDS}
        values.update(
            civility=c["civilite"],
            first_name=c["prenom"],
            last_name=c["nom"],
            is_payer=c["payeur"],
            receives_email=c["courriels"],
        )
        return values


class FamilyDetailsForm(PageOrderForm):
    """The family's name, out-of-town flag and the service's notes."""

    nom_famille = Text(
        "Nom de la famille", required="Saisissez le nom de la famille.", max_length=120
    )
    hors_commune = Checkbox("La famille habite hors de la commune")
    notes = Text("Notes du service", max_length=2000)

    @classmethod
    def of_family(cls, family: dict) -> FamilyDetailsForm:
        return cls.initial(
            nom_famille=family["name"], hors_commune=family["out_of_town"], notes=family["notes"]
        )

    def details(self) -> dict[str, Any]:
        c = self.cleaned
        return {"name": c["nom_famille"], "out_of_town": c["hors_commune"], "notes": c["notes"]}


class QuotientForm(PageOrderForm):
    """A quotient familial from a day on (a correction of the same day replaces it)."""

    valeur = Integer(
        "Quotient familial",
        high=100000,
        required="Saisissez le quotient familial, par exemple 720.",
        invalid="Le quotient familial est un nombre entier, par exemple 720.",
    )
    depuis = Day(
        "Applicable à partir du",
        required="Saisissez la date à partir de laquelle il s’applique, par exemple 01/01/2027.",
        invalid="Saisissez une date, par exemple 01/01/2027.",
    )
    source = Choice(
        "Justificatif",
        QF_SOURCES,
        required="Choisissez le justificatif du quotient familial.",
        invalid="Choisissez le justificatif du quotient familial.",
        max_length=20,
    )

    def quotient(self) -> dict[str, Any]:
        c = self.cleaned
        return {"value": c["valeur"], "effective_from": c["depuis"], "source": c["source"]}


class Phone(Text):
    """A phone number, normalised as the responsables' are (ecp.accounts.contact)."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, max_length=30, **options)

    def parse(self, value: str) -> str | None:
        number, _ = contact.normalise_phone(value)
        return number or None


class FamilyContactForm(PageOrderForm):
    """Someone to call in an emergency, or allowed to collect the children, or both."""

    prenom = Text("Prénom", required="Saisissez le prénom de la personne.", max_length=80)
    nom = Text("Nom", required="Saisissez le nom de la personne.", max_length=80)
    lien = Text("Lien avec la famille", max_length=40)
    telephone = Phone(
        "Téléphone",
        invalid="Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78.",
    )
    urgence = Checkbox("À prévenir en cas d’urgence")
    recuperer = Checkbox("Autorisée à venir chercher les enfants")

    def clean(self) -> None:
        if not self.cleaned["urgence"] and not self.cleaned["recuperer"]:
            raise Invalid(
                "Cochez au moins un rôle : à prévenir en cas d’urgence, ou autorisée à venir "
                "chercher les enfants.",
                field="urgence",
            )
        if self.cleaned["urgence"] and not self.cleaned["telephone"]:
            raise Invalid(
                "Saisissez le téléphone de la personne à prévenir en cas d’urgence.",
                field="telephone",
            )

    @classmethod
    def of_contact(cls, row: dict) -> FamilyContactForm:
        return cls.initial(
            prenom=row["first_name"],
            nom=row["last_name"],
            lien=row["relationship"],
            telephone=row["phone"],
            urgence=row["emergency"],
            recuperer=row["may_collect"],
        )

    def contact(self) -> dict[str, Any]:
        c = self.cleaned
        return {
            "first_name": c["prenom"],
            "last_name": c["nom"],
            "relationship": c["lien"],
            "phone": c["telephone"] or "",
            "emergency": c["urgence"],
            "may_collect": c["recuperer"],
        }


class ConfirmForm(Form):
    """A box to tick before an action that cannot be undone (a new first password)."""

    confirmer = Checkbox(
        "Je confirme",
        required="Cochez la case pour confirmer : l’ancien mot de passe ne fonctionnera plus.",
    )


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
    classe = Id("Classe", invalid="Choisissez une classe de la liste.", max_length=10)
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

    def clean_classe(self, class_id: int) -> int:
        if class_id not in self.context.get("class_ids", set()):
            raise Invalid("Choisissez une classe de la liste.")
        return class_id

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
            classe=str(child["school_class"] or ""),
            regime=child["diet"],
            sante=child["health_notes"],
            allergie=child["has_allergy"],
            accompagnement=child["needs_support"],
            actif=child["active"],
        )

    @classmethod
    def new(cls, family_name: str) -> ChildForm:
        return cls.initial(
            nom=family_name, niveau="", ecole="", classe="", regime="standard", actif=True
        )

    def child(self) -> dict[str, Any]:
        """The columns services.save_child writes."""
        c = self.cleaned
        return {
            "first_name": c["prenom"],
            "last_name": c["nom"],
            "birth_date": c["naissance"],
            "level": c["niveau"],
            "school": c["ecole"],
            "school_class": c["classe"],
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
