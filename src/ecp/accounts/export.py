"""'Mes données' (RGPD art. 15): everything stored about one family, and nothing about others.

Only secrets are left out (password and calendar-feed hashes, reset tokens, session tokens):
they are not information about the family but keys to its account.

Two forms of the same read: `family_data` for the JSON file (every column under its own name,
ISO dates, integer cents: for a program), `readable_data` for the page and its download (French
labels, Paris times written the French way, amounts in euros, codes in words, children and
invoices named instead of numbered: for a person).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ecp.accounts.contact import FIELDS as CONTACT_FIELDS
from ecp.accounts.services import STATUS_LABELS as REQUEST_STATUSES
from ecp.booking.queries import STATUS_LABELS as INSCRIPTION_STATUSES
from ecp.booking.services import POINTAGE
from ecp.booking.tables import Attendance, Booking, Inscription
from ecp.families.tables import (
    Child,
    ContactChangeRequest,
    Family,
    FamilyContact,
    Guardian,
    QuotientHistory,
)
from ecp.invoices.queries import cause_label
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.mail.queries import STATUS_LABELS as MAIL_STATUSES
from ecp.mail.tables import OutboxEmail
from ecp.payments.allocation import METHODS
from ecp.payments.tables import Payment, PaymentAllocation
from ecp.web.templating import date_fr, date_heure, euros, jour_long, month_year

SECRET_COLUMNS = {"password_hash", "ics_token_hash"}


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rows(rows: list[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items() if k not in SECRET_COLUMNS} for row in rows]


async def family_data(family_id: int) -> dict:
    """The JSON file's content: every column, ISO dates, integer cents."""
    data = {key: _rows(rows) for key, rows in (await _read(family_id)).items()}
    data["famille"] = data["famille"][0] if data["famille"] else {}
    return data


async def _read(family_id: int) -> dict[str, list[dict]]:
    """Every row about the family, as the database gives them, by section. A fixed number of
    queries, whatever the size of the family's history."""
    family = await Family.select().where(Family.id == family_id)
    children = (
        await Child.select(
            *Child.all_columns(),
            Child.school.name.as_alias("school_name"),
            Child.school_class.name.as_alias("class_name"),
        )
        .where(Child.family == family_id)
        .order_by(Child.id)
    )
    child_ids = [c["id"] for c in children] or [-1]
    inscriptions = (
        await Inscription.select(
            *Inscription.all_columns(exclude=[Inscription.decided_by]),
            Inscription.activity.label.as_alias("activity_label"),
            Inscription.school_year.label.as_alias("school_year_label"),
        )
        .where(Inscription.child.is_in(child_ids))
        .order_by(Inscription.id)
    )
    bookings = (
        await Booking.select(
            *Booking.all_columns(exclude=[Booking.updated_by]),
            Booking.activity.label.as_alias("activity_label"),
        )
        .where(Booking.child.is_in(child_ids))
        .order_by(Booking.day, Booking.id)
    )
    attendance = (
        await Attendance.select(
            *Attendance.all_columns(exclude=[Attendance.marked_by]),
            Attendance.activity.label.as_alias("activity_label"),
        )
        .where(Attendance.child.is_in(child_ids))
        .order_by(Attendance.day, Attendance.id)
    )
    invoices = await Invoice.select().where(Invoice.family == family_id).order_by(Invoice.id)
    invoice_ids = [i["id"] for i in invoices] or [-1]
    lines = (
        await InvoiceLine.select()
        .where(InvoiceLine.invoice.is_in(invoice_ids))
        .order_by(InvoiceLine.id)
    )
    payments = (
        await Payment.select(*Payment.all_columns(exclude=[Payment.recorded_by]))
        .where(Payment.family == family_id)
        .order_by(Payment.id)
    )
    payment_ids = [p["id"] for p in payments] or [-1]
    allocations = (
        await PaymentAllocation.select()
        .where(PaymentAllocation.payment.is_in(payment_ids))
        .order_by(PaymentAllocation.id)
    )
    requests = (
        await ContactChangeRequest.select(
            *ContactChangeRequest.all_columns(exclude=[ContactChangeRequest.decided_by])
        )
        .where(ContactChangeRequest.family == family_id)
        .order_by(ContactChangeRequest.id)
    )
    emails = (
        await OutboxEmail.select(
            OutboxEmail.id,
            OutboxEmail.to_address,
            OutboxEmail.subject,
            OutboxEmail.kind,
            OutboxEmail.status,
            OutboxEmail.created_at,
            OutboxEmail.sent_at,
        )
        .where(OutboxEmail.family == family_id)
        .order_by(OutboxEmail.id)
    )
    return {
        "famille": family,
        "responsables": await Guardian.select()
        .where(Guardian.family == family_id)
        .order_by(Guardian.rank),
        "contacts": await FamilyContact.select()
        .where(FamilyContact.family == family_id)
        .order_by(FamilyContact.id),
        "quotients_familiaux": await QuotientHistory.select(
            *QuotientHistory.all_columns(exclude=[QuotientHistory.recorded_by])
        )
        .where(QuotientHistory.family == family_id)
        .order_by(QuotientHistory.effective_from),
        "enfants": children,
        "inscriptions": inscriptions,
        "reservations": bookings,
        "presences": attendance,
        "factures": invoices,
        "lignes_de_facture": lines,
        "paiements": payments,
        "affectations_de_paiement": allocations,
        "demandes_de_changement": requests,
        "courriels": emails,
    }


SECTION_LABELS = {
    "famille": "Famille",
    "responsables": "Responsables légaux",
    "contacts": "Personnes à prévenir et personnes autorisées à venir chercher les enfants",
    "quotients_familiaux": "Quotients familiaux successifs",
    "enfants": "Enfants",
    "inscriptions": "Inscriptions",
    "reservations": "Réservations",
    "presences": "Présences",
    "factures": "Factures",
    "lignes_de_facture": "Lignes de facture",
    "paiements": "Paiements",
    "affectations_de_paiement": "Affectation des paiements aux factures",
    "demandes_de_changement": "Demandes de changement de coordonnées",
    "courriels": "Courriels envoyés",
}

# ---------------------------------------------------------------------------------------------
# The readable page: French labels and values

MISSING = "non renseigné"
DIETS = {"standard": "standard", "sans_porc": "sans porc", "sans_viande": "sans viande"}
BOOKING_STATES = {
    "reservee": "réservée",
    "annulee": "annulée",
    "malade": "absence pour maladie signalée",
}
BOOKING_SOURCES = {
    "famille": "par la famille",
    "agent": "par le service",
    "semaine_type": "par la semaine type",
    "demo": "données de démonstration",
}
INVOICE_KINDS = {"facture": "facture", "avoir": "avoir"}
QF_SOURCES = {
    "caf": "attestation CAF",
    "msa": "attestation MSA",
    "avis_imposition": "avis d’imposition",
    "attestation": "autre attestation",
    "autre": "autre",
    "fiche": "repris de la fiche famille",
    "": "non précisé",
}
ORIGINS = {"": "émise par le service", "regularisation": "régularisation"}
LINE_KINDS = {"prestation": "prestation", "majoration": "majoration", "avoir": "avoir"}
SENDING = {"courriel": "par courriel", "papier": "par courrier"}
MAIL_KINDS = {
    "facture": "facture disponible",
    "avoir": "avoir disponible",
    "recu": "reçu de paiement",
    "reset": "lien pour choisir un nouveau mot de passe",
    "demande": "suite donnée à une demande de changement",
}
# Shown as tables (many short rows); the others as one card per record.
TABLES = {
    "reservations",
    "presences",
    "lignes_de_facture",
    "affectations_de_paiement",
    "courriels",
    "quotients_familiaux",
}


def _yes_no(value: Any) -> str:
    return "oui" if value else "non"


def _when(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite may give UTC back naive
        value = value.replace(tzinfo=dt.UTC)
    return date_heure(value)


def _day(value: Any) -> str:
    return date_fr(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))


def _weekday(value: Any) -> str:
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return jour_long(day)


def _month(value: Any) -> str:
    return month_year(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))


def _cents(value: Any) -> str:
    return euros(int(value))


def _in(labels: dict[str, str]):
    return lambda value: labels.get(value, str(value))


def _days(value: Any) -> str:
    days = [d.strip() for d in str(value).split(",") if d.strip()]
    return ", ".join(_day(d) for d in days)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _changes(value: Any) -> str:
    changes = _json(value)
    if not isinstance(changes, dict):
        return str(changes)
    return " ; ".join(
        f"{CONTACT_FIELDS.get(name, name)} : « {change.get('before') or ''} » devient "
        f"« {change.get('after') or ''} »"
        for name, change in changes.items()
        if isinstance(change, dict)
    )


def _fields(value: Any) -> str:
    names = _json(value)
    if not isinstance(names, list):
        return str(names)
    return ", ".join(CONTACT_FIELDS.get(str(n), str(n)) for n in names)


def _plain_text(value: Any) -> str:
    return str(value)


# By section, each column in the order shown: its French label and how its value is written;
# None: a technical number that links rows together (in the JSON file, not on the page; the
# page names the child, the invoice or the person instead). A column missing here (added
# since) is still shown, under its own name (tests/web/accounts checks that none is missing).
COLUMNS: dict[str, dict[str, tuple[str, Any] | None]] = {
    "famille": {
        "id": None,
        "code": ("Code famille", _plain_text),
        "name": ("Nom de la famille", _plain_text),
        "email": ("Adresse électronique du compte", _plain_text),
        "quotient_familial": ("Quotient familial", _plain_text),
        "out_of_town": ("Domiciliée hors de la commune", _yes_no),
        "paperless": ("Factures par courriel", _yes_no),
        "reminders": ("Rappels avant les dates limites", _yes_no),
        "active": ("Compte actif", _yes_no),
        "failed_logins": ("Essais de connexion refusés depuis la dernière connexion", _plain_text),
        "locked_until": ("Connexion suspendue jusqu’au", _when),
        "last_login_at": ("Dernière connexion", _when),
        "created_at": ("Compte créé le", _when),
        "anonymised_at": ("Anonymisée le", _when),
        "notes": ("Notes du service", _plain_text),
        "letter_issued_at": ("Mot de passe provisoire remis le", _when),
        "must_change_password": ("Mot de passe provisoire encore à remplacer", _yes_no),
        "creation_key": None,
    },
    "responsables": {
        "id": None,
        "family": None,
        "rank": ("Rang parmi les responsables", _plain_text),
        "civility": ("Civilité", _plain_text),
        "first_name": ("Prénom", _plain_text),
        "last_name": ("Nom", _plain_text),
        "email": ("Adresse électronique", _plain_text),
        "phone_mobile": ("Téléphone portable", _plain_text),
        "phone_home": ("Téléphone fixe", _plain_text),
        "phone_work": ("Téléphone professionnel", _plain_text),
        "address_line1": ("Adresse", _plain_text),
        "address_line2": ("Complément d’adresse", _plain_text),
        "postcode": ("Code postal", _plain_text),
        "city": ("Commune", _plain_text),
        "is_payer": ("Paie les factures", _yes_no),
        "receives_email": ("Reçoit les courriels du service", _yes_no),
    },
    "contacts": {
        "id": None,
        "family": None,
        "first_name": ("Prénom", _plain_text),
        "last_name": ("Nom", _plain_text),
        "relationship": ("Lien avec la famille", _plain_text),
        "phone": ("Téléphone", _plain_text),
        "emergency": ("À prévenir en cas d’urgence", _yes_no),
        "may_collect": ("Autorisée à venir chercher les enfants", _yes_no),
        "created_at": ("Enregistrée le", _when),
    },
    "quotients_familiaux": {
        "id": None,
        "family": None,
        "value": ("Quotient familial", _plain_text),
        "effective_from": ("Applicable à partir du", _day),
        "source": ("Justificatif", _in(QF_SOURCES)),
        "recorded_at": ("Enregistré le", _when),
    },
    "enfants": {
        "id": None,
        "family": None,
        "first_name": ("Prénom", _plain_text),
        "last_name": ("Nom", _plain_text),
        "birth_date": ("Date de naissance", _day),
        "school": None,
        "school_name": ("École", _plain_text),
        "school_class": None,
        "class_name": ("Classe", _plain_text),
        "level": ("Niveau", _plain_text),
        "has_allergy": ("Allergie signalée", _yes_no),
        "health_notes": ("Informations de santé", _plain_text),
        "needs_support": ("Besoin d’accompagnement signalé", _yes_no),
        "diet": ("Régime alimentaire", _in(DIETS)),
        "active": ("Fiche active", _yes_no),
    },
    "inscriptions": {
        "id": None,
        "child": ("Enfant", "child"),
        "activity": None,
        "activity_label": ("Activité", _plain_text),
        "school_year": None,
        "school_year_label": ("Année scolaire", _plain_text),
        "status": ("État", _in(INSCRIPTION_STATUSES)),
        "requested_at": ("Demandée le", _when),
        "decided_at": ("Décidée le", _when),
        "reason": ("Motif", _plain_text),
    },
    "reservations": {
        "id": None,
        "child": ("Enfant", "child"),
        "activity": None,
        "activity_label": ("Activité", _plain_text),
        "school": None,
        "day": ("Jour", _weekday),
        "state": ("État", _in(BOOKING_STATES)),
        "source": ("Faite", _in(BOOKING_SOURCES)),
        "created_at": ("Enregistrée le", _when),
        "updated_at": ("Modifiée le", _when),
    },
    "presences": {
        "id": None,
        "child": ("Enfant", "child"),
        "activity": None,
        "activity_label": ("Activité", _plain_text),
        "school": None,
        "day": ("Jour", _weekday),
        "status": ("Pointage", _in(POINTAGE)),
        "marked_at": ("Pointée le", _when),
    },
    "factures": {
        "id": None,
        "number": ("Numéro", _plain_text),
        "kind": ("Document", _in(INVOICE_KINDS)),
        "family": None,
        "month": ("Mois", _month),
        "issued_at": ("Émise le", _when),
        "due_on": ("À payer avant le", _day),
        "total_cents": ("Montant", _cents),
        "paid_cents": ("Déjà payé", _cents),
        "corrects": ("Corrige la facture", "invoice"),
        "billing_run": None,
        "family_name": ("Nom sur la facture", _plain_text),
        "address": ("Adresse sur la facture", _plain_text),
        "paperless": ("Envoi", _in(SENDING)),
        "notified_at": ("Avis envoyé le", _when),
        "note": ("Note", _plain_text),
        "origin": ("Origine", _in(ORIGINS)),
    },
    "lignes_de_facture": {
        "id": None,
        "invoice": ("Facture", "invoice"),
        "child": ("Enfant", "child"),
        "activity": None,
        "kind": ("Type", _in(LINE_KINDS)),
        "label": ("Libellé", _plain_text),
        "days": ("Jours", _days),
        "quantity": ("Quantité", _plain_text),
        "unit_price_cents": ("Prix unitaire", _cents),
        "amount_cents": ("Montant", _cents),
        "credits_line": None,
        "cause": ("Motif", cause_label),
    },
    "paiements": {
        "id": None,
        "family": None,
        "method": ("Moyen de paiement", _in(METHODS)),
        "amount_cents": ("Montant", _cents),
        "received_at": ("Reçu le", _when),
        "reference": ("Référence", _plain_text),
        "drawer": ("Tireur du chèque", _plain_text),
        "bank": ("Banque du chèque", _plain_text),
        "provider_transaction": ("Numéro de transaction de la banque", _plain_text),
        "attempt": None,
        "unallocated_cents": ("Montant non affecté à une facture", _cents),
        "note": ("Note", _plain_text),
    },
    "affectations_de_paiement": {
        "id": None,
        "payment": ("Paiement", "payment"),
        "invoice": ("Facture", "invoice"),
        "amount_cents": ("Montant affecté", _cents),
    },
    "demandes_de_changement": {
        "id": None,
        "family": None,
        "guardian": ("Responsable", "guardian"),
        "changes": ("Changements demandés", _changes),
        "status": ("État", _in(REQUEST_STATUSES)),
        "submitted_at": ("Envoyée le", _when),
        "decided_at": ("Traitée le", _when),
        "applied_fields": ("Changements appliqués", _fields),
        "reason": ("Motif", _plain_text),
    },
    "courriels": {
        "id": None,
        "to_address": ("Destinataire", _plain_text),
        "subject": ("Objet", _plain_text),
        "kind": (
            "Type",
            lambda v: (
                "rappel de réservation"
                if str(v).startswith("rappel")
                else MAIL_KINDS.get(v, str(v))
            ),
        ),
        "status": ("État", _in(MAIL_STATUSES)),
        "created_at": ("Préparé le", _when),
        "sent_at": ("Envoyé le", _when),
    },
}


def _guess(value: Any) -> str:
    """A column no label names yet: its value written as the others are."""
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, dt.datetime):
        return _when(value)
    if isinstance(value, dt.date):
        return _day(value)
    return str(value)


def _names(rows: dict[str, list[dict]]) -> dict[str, dict[Any, str]]:
    """What the page writes instead of a row's number: a child's first name, an invoice's
    number, a guardian's name, a payment's means and day."""
    return {
        "child": {c["id"]: f"{c['first_name']} {c['last_name']}" for c in rows["enfants"]},
        "invoice": {i["id"]: i["number"] for i in rows["factures"]},
        "guardian": {
            g["id"]: " ".join(p for p in (g["civility"], g["first_name"], g["last_name"]) if p)
            for g in rows["responsables"]
        },
        "payment": {
            p["id"]: f"{METHODS.get(p['method'], p['method'])}, {_when(p['received_at'])}"
            for p in rows["paiements"]
        },
    }


def _record(key: str, row: dict, names: dict[str, dict[Any, str]]) -> list[tuple[str, str]]:
    spec = COLUMNS.get(key, {})
    # In the order the labels are declared (a joined label comes beside its own column), then
    # any column declared nowhere yet.
    order = [c for c in spec if c in row] + [c for c in row if c not in spec]
    items = []
    for column in order:
        value = row[column]
        if column in SECRET_COLUMNS:
            continue
        if column not in spec:
            label, text = (
                column.replace("_", " "),
                (_guess(value) if value not in (None, "") else ""),
            )
        elif spec[column] is None:
            continue
        else:
            label, how = spec[column]
            if value in (None, ""):
                text = ""
            elif isinstance(how, str):
                text = names[how].get(value, str(value))
            else:
                text = how(value)
        items.append((label, text))
    return items


def _title(key: str, row: dict, names: dict[str, dict[Any, str]]) -> str:
    if key == "responsables":
        return names["guardian"].get(row["id"], "")
    if key == "enfants":
        return names["child"].get(row["id"], "")
    if key == "factures":
        kind = INVOICE_KINDS.get(row.get("kind"), "facture")
        return f"{kind.capitalize()} {row.get('number', '')}"
    if key == "paiements":
        return names["payment"].get(row["id"], "")
    if key == "inscriptions":
        child = names["child"].get(row.get("child"), "")
        return f"{row.get('activity_label', '')} pour {child}" if child else ""
    if key == "demandes_de_changement":
        return f"Demande du {_when(row['submitted_at'])}" if row.get("submitted_at") else ""
    return ""


async def readable_data(family_id: int) -> dict:
    """The page's content, in French: {"family": {name, code}, "sections": [...]}, each section
    {key, title, table, columns, records}, each record {title, items: [(label, text)]}."""
    rows = await _read(family_id)
    names = _names(rows)
    sections = []
    for key, title in SECTION_LABELS.items():
        records = [
            {"title": _title(key, row, names), "items": _record(key, row, names)}
            for row in rows[key]
        ]
        sections.append(
            {
                "key": key,
                "title": title,
                "table": key in TABLES,
                "columns": [label for label, _ in records[0]["items"]] if records else [],
                "records": records,
            }
        )
    family = rows["famille"][0] if rows["famille"] else {}
    return {
        "family": {"name": family.get("name", ""), "code": family.get("code", "")},
        "missing": MISSING,
        "sections": sections,
    }
