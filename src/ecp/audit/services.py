"""Writing to and reading the journal; there is deliberately no function that edits or deletes
a line (and a database trigger refuses UPDATE on audit_log).

The journal is read by people: every action has its French label (ACTIONS), and a line's
details are written out in French (`render`): amounts in euros, dates in words, field names in
French, a change as « avant → après », children, activities and schools by their names.
Consultations of a family record are many: `entries` gives one line per agent, family and day,
with how many there were."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.commune.tables import Activity, School
from ecp.db import fetch
from ecp.families.tables import Child
from ecp.web.plural import counted
from ecp.web.templating import euros, french_date, heure


class Actor(Protocol):
    """Who acted, as the journal needs it: ecp.auth's Principal fits. The journal sits below
    the auth feature (which writes to it), so it names the shape, not the class."""

    @property
    def staff_id(self) -> int | None: ...

    @property
    def name(self) -> str: ...


# Every action a feature records, with its French label: the journal's filter offers each one
# (tests/unit/backoffice/test_journal_labels.py finds every record() call and checks it here).
ACTIONS = {
    # Families (back office)
    "family_record_viewed": "Consultation d’un dossier famille",
    "health_notes_read": "Lecture des informations de santé d’un enfant",
    "family_created": "Création d’une famille",
    "family_updated": "Modification d’une famille",
    "guardian_added": "Ajout d’un responsable légal",
    "guardian_updated": "Modification d’un responsable légal",
    "guardian_removed": "Retrait d’un responsable légal",
    "family_contact_added": "Ajout d’une personne à prévenir ou autorisée",
    "family_contact_updated": "Modification d’une personne à prévenir ou autorisée",
    "family_contact_removed": "Retrait d’une personne à prévenir ou autorisée",
    "quotient_recorded": "Enregistrement d’un quotient familial",
    "quotient_removed": "Suppression d’un quotient familial",
    "child_created": "Ajout d’un enfant",
    "child_updated": "Modification d’un enfant",
    "family_disabled": "Désactivation d’un compte famille",
    "family_enabled": "Réactivation d’un compte famille",
    "family_sessions_closed": "Fermeture des sessions ouvertes d’une famille",
    "reset_link_sent": "Envoi d’un lien de mot de passe",
    "contact_change_applied": "Application d’une demande de changement de coordonnées",
    "contact_change_refused": "Refus d’une demande de changement de coordonnées",
    # Bookings, inscriptions, pointage
    "booking_book": "Réservation par un agent",
    "booking_cancel": "Annulation d’une réservation par un agent",
    "booking_illness": "Absence pour maladie signalée par un agent",
    "booking_pattern": "Semaine type appliquée par un agent",
    "inscription_request": "Demande d’inscription faite par un agent pour la famille",
    "inscription_validate": "Validation d’une inscription",
    "inscription_refuse": "Refus d’une inscription",
    "inscription_waitlist": "Inscription mise en liste d’attente",
    "inscription_promote": "Inscription validée depuis la liste d’attente",
    "inscription_cancel": "Fin d’une inscription",
    "attendance_mark": "Pointage d’une liste",
    "attendance_unbooked_add": "Présence sans réservation ajoutée au pointage",
    "effectifs_exportes": "Export des effectifs (CSV)",
    "feuilles_emargement_imprimees": "Impression des feuilles d’émargement",
    "fiche_cuisine_imprimee": "Impression de la fiche cuisine",
    # Billing and payments
    "facturation_lancee": "Lancement de la facturation d’un mois",
    "tarif_cree": "Création d’un tarif",
    "avoir_emis": "Émission d’un avoir",
    "paiement_guichet": "Paiement enregistré au guichet de la régie",
    "export_paiements": "Export des paiements pour la trésorerie",
    "payment_attempt_expired": "Paiement par carte clos faute de réponse de la banque",
    # E-mail, settings, staff accounts, retention
    "courriel_consulte": "Lecture d’un courriel envoyé à une famille",
    "message_familles_envoye": "Message envoyé aux familles",
    "settings_changed": "Modification des paramètres",
    "staff_account_created": "Création d’un compte agent",
    "staff_account_changed": "Modification d’un compte agent",
    "staff_password_changed": "Mot de passe modifié",
    "first_password_chosen": "Mot de passe provisoire remplacé à la première connexion",
    "family_anonymised": "Anonymisation d’une famille inactive",
    # Billing corrections, anomalies and the régie
    "facturation_en_avance": "Facturation en avance d’un mois non terminé (avertissement confirmé)",
    "regularisation_lancee": "Régularisation d’un mois facturé",
    "regularisation_emise": "Avoirs et facture complémentaire d’une régularisation",
    "avoir_impute": "Avoir déduit de factures à régler",
    "avoir_rembourse": "Remboursement d’un avoir",
    "anomalie_traitee": "Traitement d’une anomalie de facturation",
    "anomalies_recalculees": "Anomalies de facturation corrigées ou rouvertes par un calcul",
    "paiement_carte_constate": "Paiement par carte constaté par la régie",
    "paiement_carte_echec_constate": "Échec d’un paiement par carte constaté par la régie",
    "journal_regie_telecharge": "Téléchargement du journal de régie",
    "bordereau_remise_telecharge": "Téléchargement d’un bordereau de remise",
    "impayes_exportes": "Export de la liste des impayés",
    "relances_envoyees": "Envoi d’une série de relances d’impayés",
    "relances_imprimees": "Impression des lettres de relance",
    "factures_papier_imprimees": "Impression des factures papier du mois",
    # Finance: the PES files for the Trésor public
    "pes_parametres_modifies": "Modification des codes du comptable (PES)",
    "pes_codes_activite_modifies": "Modification des codes comptables d’une activité",
    "pes_bordereau_emis": "Émission d’un bordereau PES pour le Trésor public",
    "pes_bordereau_annule": "Annulation d’un bordereau PES",
    "pes_telecharge": "Téléchargement d’un fichier PES",
    "caf_exporte": "Export des heures de présence pour la CAF (CSV)",
    "ma_cantine_exporte": "Export des repas servis pour ma-cantine (CSV)",
    "attestations_garde_emises": "Émission des attestations de frais de garde d’une année",
    # SEPA direct debit (ecp.payments.mandates, ecp.payments.debits)
    "mandat_prelevement_enregistre": "Enregistrement d’un mandat de prélèvement SEPA",
    "fichier_prelevement_produit": "Production du fichier de prélèvements du mois",
    "fichier_prelevement_telecharge": "Téléchargement d’un fichier de prélèvements",
    "prelevement_rejete": "Rejet d’un prélèvement enregistré",
}

VIEWED = "family_record_viewed"


def label(action: str) -> str:
    return ACTIONS.get(action, action.replace("_", " "))


async def record(
    actor: Actor,
    action: str,
    *,
    family_id: int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    await AuditLog.insert(
        AuditLog(
            at=clock.now(),
            staff=actor.staff_id,
            actor=actor.name,
            family=family_id,
            action=action,
            target=target[:120],
            details=details or {},
        )
    )


async def record_system(
    action: str,
    *,
    family_id: int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """A line written by a job rather than a person (e.g. the retention job)."""
    await AuditLog.insert(
        AuditLog(
            at=clock.now(),
            staff=None,
            actor="système",
            family=family_id,
            action=action,
            target=target[:120],
            details=details or {},
        )
    )


async def record_view(actor: Actor, family_id: int) -> None:
    """A consultation of a family record. Its target is the day in Paris, which is what
    `entries` groups consultations by (one line per agent, family and day)."""
    await record(actor, VIEWED, family_id=family_id, target=clock.today().isoformat())


# ---------------------------------------------------------------- reading


def _entries_sql(
    action: str | None, conditions: list[str], limit_clause: str
) -> tuple[str, list[str]]:
    """The UNION of the lines (consultations excepted) and the consultations grouped by agent,
    family and day; which parts run depends on the action filter."""
    where = "".join(f" AND {c}" for c in conditions)
    parts, kinds = [], []
    if action != VIEWED:
        parts.append(
            "SELECT l.id, l.at, l.at AS first_at, l.actor, l.action, l.target, l.details, "
            f"l.family, 1 AS n FROM audit_log l WHERE l.action <> {{}}{where}"
        )
        kinds.append("plain")
    if action is None or action == VIEWED:
        parts.append(
            "SELECT MAX(l.id) AS id, MAX(l.at) AS at, MIN(l.at) AS first_at, "
            "MAX(l.actor) AS actor, l.action, l.target, NULL AS details, l.family, "
            f"COUNT(*) AS n FROM audit_log l WHERE l.action = {{}}{where} "
            "GROUP BY l.staff, l.family, l.action, l.target"
        )
        kinds.append("grouped")
    sql = (
        "SELECT e.id, e.at, e.first_at, e.actor, e.action, e.target, e.details, e.family, e.n, "
        "f.code AS family_code, f.name AS family_name FROM ("
        + " UNION ALL ".join(parts)
        + ") e LEFT JOIN family f ON f.id = e.family"
        + limit_clause
    )
    return sql, kinds


async def entries(
    *,
    family_id: int | None = None,
    action: str | None = None,
    staff_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict]:
    """Newest first; `before_id` pages backwards (keyset, so deep pages stay cheap).

    Consultations of a family record come as one line per agent, family and day (`n` is how
    many, `first_at` the first of them); a line's id is then its latest consultation's, so a
    group is never cut in two by a page. One query."""
    conditions: list[str] = []
    args: list[Any] = []
    if action and action != VIEWED:
        conditions.append("l.action = {}")
        args.append(action)
    if family_id is not None:
        conditions.append("l.family = {}")
        args.append(family_id)
    if staff_id is not None:
        conditions.append("l.staff = {}")
        args.append(staff_id)
    if since is not None:
        conditions.append("l.at >= {}")
        args.append(since)
    if until is not None:
        conditions.append("l.at < {}")
        args.append(until)
    outer = " WHERE e.id < {}" if before_id is not None else ""
    sql, kinds = _entries_sql(action or None, conditions, outer + " ORDER BY e.id DESC LIMIT {}")
    bound: list[Any] = []
    for _ in kinds:
        bound += [VIEWED, *args]
    if before_id is not None:
        bound.append(before_id)
    bound.append(limit)
    rows = await fetch(
        sql, *bound, types={"id": int, "at": dt.datetime, "first_at": dt.datetime, "n": int}
    )
    for row in rows:
        details = row["details"]
        if isinstance(details, str):
            try:
                details = json.loads(details) if details else {}
            except ValueError:
                details = {"texte": details}
        row["details"] = details if isinstance(details, dict) else {}
        row["label"] = label(row["action"])
    return rows


# ---------------------------------------------------------------- rendering in French

# Field names (of the tables, and of the details' keys) as the journal writes them.
FIELD_LABELS = {
    # Families and responsables
    "name": "nom de la famille",
    "nom_famille": "nom de la famille",
    "civility": "civilité",
    "first_name": "prénom",
    "last_name": "nom",
    "address_line1": "adresse",
    "address_line2": "complément d’adresse",
    "postcode": "code postal",
    "city": "commune",
    "phone_mobile": "téléphone portable",
    "phone_home": "téléphone fixe",
    "phone_work": "téléphone professionnel",
    "email": "adresse électronique",
    "is_payer": "paie les factures",
    "receives_email": "reçoit les courriels",
    "quotient_familial": "quotient familial",
    "out_of_town": "hors commune",
    "notes": "notes du service",
    "password": "mot de passe",
    "paperless": "factures électroniques",
    "reminders": "rappels",
    "rank": "rang",
    "responsable": "responsable",
    # Contacts and quotient familial
    "relationship": "lien avec la famille",
    "phone": "téléphone",
    "emergency": "à prévenir en cas d’urgence",
    "may_collect": "autorisé(e) à venir chercher les enfants",
    "value": "quotient familial",
    "effective_from": "à partir du",
    "source": "justificatif",
    "replaced": "corrige le quotient de ce jour",
    # Children
    "birth_date": "date de naissance",
    "level": "niveau",
    "school": "école",
    "school_class": "classe",
    "diet": "régime",
    "health_notes": "informations de santé",
    "has_allergy": "allergie ou PAI",
    "needs_support": "besoin d’accompagnement",
    "active": "actif",
    "fields": "champs modifiés",
    "page": "page",
    # Bookings, pointage, inscriptions
    "activity": "activité",
    "activite": "activité",
    "ecole": "école",
    "ecoles": "écoles",
    "destinataires": "destinataires",
    "adresses": "adresses électroniques",
    "day": "jour",
    "jour": "jour",
    "late": "après la date limite",
    "status": "état",
    "count": "enfants pointés",
    "reason": "motif",
    "motif": "motif",
    "reservations": "réservations",
    "familles": "familles",
    "lignes": "lignes",
    # Money
    "mois": "mois",
    "mode": "mode de paiement",
    "montant_cents": "montant",
    "amount_cents": "montant",
    "prix_cents": "prix d’un jour",
    "majoration_cents": "majoration",
    "a_partir_du": "à partir du",
    "tranche": "tranche",
    "reference": "référence",
    "allocations": "affecté à",
    "avoir": "avoir",
    "facture": "facture",
    "du": "du",
    "au": "au",
    "bordereau": "bordereau",
    "perimetre": "factures exportées",
    "pieces": "pièces",
    "fichier": "fichier",
    "annee": "année",
    "repas": "repas",
    "attestations": "attestations",
    "courriels": "courriels",
    "produit": "code produit",
    "nature": "nature comptable",
    # Settings and staff
    "service_name": "nom du service",
    "address": "adresse",
    "school_zone": "zone de vacances",
    "booking_deadline_working_days": "délai de réservation (jours ouvrés)",
    "booking_deadline_time": "heure limite de réservation",
    "illness_cutoff_time": "heure limite pour signaler une maladie",
    "invoice_due_days": "délai de paiement des factures",
    "retention_years": "durée de conservation",
    "code": "code",
    "label": "libellé",
    "billable": "facturable",
    "deadline_rule": "règle de date limite",
    "group": "groupe exclusif",
    "capacities": "places",
    "role": "rôle",
    "password_changed": "mot de passe changé",
    "double_authentification": "double authentification",
    "autres_connexions": "autres connexions",
    "sessions": "sessions fermées",
    "children": "enfants",
    "objet": "objet",
    "applied": "appliqué",
    "not_applied": "non appliqué",
}

# Coded values, as the journal writes them.
VALUE_LABELS = {
    "especes": "espèces",
    "cheque": "chèque",
    "carte": "carte bancaire",
    "cesu": "CESU",
    "virement": "virement",
    "present": "présent",
    "absent": "absent",
    "excuse": "excusé",
    "working_days": "jours ouvrés avant",
    "previous_wednesday": "mercredi précédent",
    "standard": "standard",
    "sans_porc": "sans porc",
    "sans_viande": "sans viande",
    "caf": "attestation CAF",
    "msa": "attestation MSA",
    "avis_imposition": "avis d’imposition",
    "attestation": "autre attestation",
    "autre": "autre",
    "administrateur": "administrateur",
    "regisseur": "régisseur",
    "agent": "agent",
}
# Keys whose list holds field names, not values.
FIELD_LIST_KEYS = {"fields", "applied", "not_applied", "champs"}
MONEY_KEYS = {"montant", "prix", "majoration", "total"}
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")
REFERENCE = re.compile(
    r"^(child|enfant|activity|Activity|Payment|Invoice|inscription|BillingRun|"
    r"OutboxEmail)[: ](\d+)$"
)
TARGET_WORDS = {
    "Payment": "paiement n° {}",
    "Invoice": "document n° {}",
    "inscription": "inscription n° {}",
    "BillingRun": "facturation n° {}",
    "OutboxEmail": "courriel n° {}",
}


@dataclass
class Names:
    """The names a page of journal lines refers to by id (read by `names_for`)."""

    children: dict[int, str] = field(default_factory=dict)
    activities: dict[Any, str] = field(default_factory=dict)  # by id and by code
    schools: dict[int, str] = field(default_factory=dict)


def day_text(day: dt.date) -> str:
    """« 1er décembre 2026 », « 7 décembre 2026 »."""
    text = french_date(day, "d MMMM y")
    # ecp.web.templating writes « 1er » itself; kept for a formatter that would not.
    return "1er" + text[1:] if text.startswith("1 ") else text


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " "))


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def value_text(key: str, value: Any, names: Names | None = None) -> str:
    """One value of a detail, in French."""
    names = names or Names()
    if value is None or value == "":
        return "(vide)"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dict):
        if "before" in value or "after" in value:
            before = value_text(key, value.get("before"), names)
            after = value_text(key, value.get("after"), names)
            return f"{before} → {after}"
        if key == "capacities":
            return ", ".join(
                f"{names.schools.get(_as_int(k) or -1, 'école n° ' + str(k))} : "
                f"{'sans limite' if not v else counted(int(v), 'place')}"
                for k, v in value.items()
            )
        return " ; ".join(f"{field_label(k)} : {value_text(k, v, names)}" for k, v in value.items())
    if isinstance(value, list):
        if key in FIELD_LIST_KEYS:
            return ", ".join(field_label(str(v)) for v in value) or "aucun"
        if key == "lignes":
            return counted(len(value), "ligne")
        if key == "allocations":
            return ", ".join(
                f"facture n° {a.get('invoice_id')} : {euros(_as_int(a.get('amount_cents')) or 0)}"
                if isinstance(a, dict)
                else str(a)
                for a in value
            )
        return ", ".join(value_text(key, v, names) for v in value) or "aucun"
    if (key.endswith("_cents") or key in MONEY_KEYS) and isinstance(value, int):
        return euros(value)
    if key in ("activity", "activite"):
        found = names.activities.get(_as_int(value) if _as_int(value) is not None else value)
        if found:
            return found
    if key in ("school", "ecole") and _as_int(value) is not None:
        return names.schools.get(int(value), f"école n° {value}")
    if isinstance(value, str):
        if ISO_DAY.match(value):
            try:
                return day_text(dt.date.fromisoformat(value))
            except ValueError:
                return value
        if ISO_MONTH.match(value) and key == "mois":
            year, month = value.split("-")
            try:
                return french_date(dt.date(int(year), int(month), 1), "MMMM y")
            except ValueError:
                return value
        return VALUE_LABELS.get(value, value)
    if isinstance(value, dt.date):
        return day_text(value)
    return str(value)


def detail_lines(
    details: dict[str, Any], names: Names | None = None, action: str = ""
) -> list[str]:
    """A line's details as French sentences: « téléphone portable : 06… → 07… »."""
    out = []
    for key, value in (details or {}).items():
        if key == "fields" and action.endswith("_created"):
            out.append(f"champs renseignés : {value_text(key, value, names)}")
            continue
        if key == "changes" and isinstance(value, dict):
            for name, change in value.items():
                if isinstance(change, dict):
                    out.append(f"{field_label(name)} : {value_text(name, change, names)}")
            continue
        out.append(f"{field_label(key)} : {value_text(key, value, names)}")
    return out


def target_text(row: dict, names: Names | None = None) -> str:
    """What the line is about, in words: a child by name, « paiement n° 5 »…"""
    names = names or Names()
    target = row.get("target") or ""
    if row.get("action") == VIEWED:
        n = row.get("n") or 1
        if n <= 1:
            return ""
        first, last = row.get("first_at"), row.get("at")
        span = ""
        if first and last:
            start, end = heure(first), heure(last)
            span = f", à {end}" if start == end else f", de {start} à {end}"
        return f"{counted(n, 'consultation')}{span}"
    match = REFERENCE.match(target)
    if not match:
        return target
    kind, number = match.group(1), int(match.group(2))
    if kind in ("child", "enfant"):
        return names.children.get(number, f"enfant n° {number}")
    if kind in ("activity", "Activity"):
        return names.activities.get(number, f"activité n° {number}")
    if kind == "Invoice" and row.get("details", {}).get("avoir"):
        return f"avoir {row['details']['avoir']}"
    return TARGET_WORDS[kind].format(number)


def render(rows: list[dict], names: Names | None = None) -> list[dict]:
    """Adds to each line its `object` (target_text) and its `lines` (detail_lines)."""
    for row in rows:
        row["label"] = label(row["action"])
        row["object"] = target_text(row, names)
        row["lines"] = detail_lines(row.get("details") or {}, names, row["action"])
    return rows


def _referenced(rows: list[dict]) -> tuple[set[int], set[Any], set[int]]:
    children: set[int] = set()
    activities: set[Any] = set()
    schools: set[int] = set()

    def visit(key: str, value: Any) -> None:
        if isinstance(value, dict) and ("before" in value or "after" in value):
            visit(key, value.get("before"))
            visit(key, value.get("after"))
        elif key in ("activity", "activite") and value not in (None, ""):
            activities.add(_as_int(value) if _as_int(value) is not None else str(value))
        elif key in ("school", "ecole") and _as_int(value) is not None:
            schools.add(int(value))
        elif key == "capacities" and isinstance(value, dict):
            schools.update(i for i in (_as_int(k) for k in value) if i is not None)

    for row in rows:
        match = REFERENCE.match(row.get("target") or "")
        if match and match.group(1) in ("child", "enfant"):
            children.add(int(match.group(2)))
        elif match and match.group(1) in ("activity", "Activity"):
            activities.add(int(match.group(2)))
        for key, value in (row.get("details") or {}).items():
            if key == "changes" and isinstance(value, dict):
                for name, change in value.items():
                    visit(name, change)
            else:
                visit(key, value)
    return children, activities, schools


async def names_for(rows: list[dict]) -> Names:
    """The children, activities and schools these lines name by id: at most three queries,
    none when they name nothing."""
    children, activities, schools = _referenced(rows)
    names = Names()
    if children:
        for c in await Child.select(Child.id, Child.first_name, Child.last_name).where(
            Child.id.is_in(sorted(children))
        ):
            names.children[c["id"]] = f"{c['first_name']} {c['last_name']}"
    if activities:
        ids = sorted(a for a in activities if isinstance(a, int))
        codes = sorted(a for a in activities if isinstance(a, str))
        query = Activity.select(Activity.id, Activity.code, Activity.label)
        if ids and codes:
            query = query.where(Activity.id.is_in(ids) | Activity.code.is_in(codes))
        elif ids:
            query = query.where(Activity.id.is_in(ids))
        else:
            query = query.where(Activity.code.is_in(codes))
        for a in await query:
            names.activities[a["id"]] = a["label"]
            names.activities[a["code"]] = a["label"]
    if schools:
        for s in await School.select(School.id, School.name).where(
            School.id.is_in(sorted(schools))
        ):
            names.schools[s["id"]] = s["name"]
    return names


async def readable_entries(**filters: Any) -> list[dict]:
    """`entries`, rendered for people (`render` with the names they refer to)."""
    rows = await entries(**filters)
    return render(rows, await names_for(rows))
