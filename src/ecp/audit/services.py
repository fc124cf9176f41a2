"""Writing to and reading the journal; there is deliberately no function that edits or deletes
a line (and a database trigger refuses UPDATE on audit_log)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol

from ecp import clock
from ecp.audit.tables import AuditLog


class Actor(Protocol):
    """Who acted, as the journal needs it: ecp.auth's Principal fits. The journal sits below
    the auth feature (which writes to it), so it names the shape, not the class."""

    @property
    def staff_id(self) -> int | None: ...

    @property
    def name(self) -> str: ...


ACTIONS = {
    "family_record_viewed": "Consultation d’un dossier famille",
    "health_notes_read": "Lecture des informations de santé d’un enfant",
    "family_created": "Création d’une famille",
    "family_updated": "Modification d’une famille",
    "child_created": "Ajout d’un enfant",
    "child_updated": "Modification d’un enfant",
    "family_disabled": "Désactivation d’un compte famille",
    "family_enabled": "Réactivation d’un compte famille",
    "family_sessions_closed": "Fermeture des sessions ouvertes d’une famille",
    "reset_link_sent": "Envoi d’un lien de mot de passe",
    "contact_change_applied": "Application d’une demande de changement de coordonnées",
    "contact_change_refused": "Refus d’une demande de changement de coordonnées",
    "settings_changed": "Modification des paramètres",
    "staff_account_changed": "Modification d’un compte agent",
    "staff_password_changed": "Mot de passe modifié",
    "family_anonymised": "Anonymisation d’une famille inactive",
    "payment_attempt_expired": "Paiement par carte clos faute de réponse de la banque",
    "facturation_en_avance": "Facturation en avance d’un mois non terminé (avertissement confirmé)",
    "regularisation_lancee": "Régularisation d’un mois facturé",
    "regularisation_emise": "Avoirs et facture complémentaire d’une régularisation",
    "avoir_impute": "Avoir déduit de factures à régler",
    "avoir_rembourse": "Remboursement d’un avoir",
    "anomalie_traitee": "Traitement d’une anomalie de facturation",
    "anomalies_recalculees": "Anomalies de facturation corrigées ou rouvertes par un calcul",
    "paiement_carte_constate": "Paiement par carte constaté par la régie",
    "paiement_carte_echec_constate": "Échec d’un paiement par carte constaté par la régie",
    "paiement_guichet": "Paiement enregistré au guichet de la régie",
    "export_paiements": "Export des paiements pour la trésorerie",
    "journal_regie_telecharge": "Téléchargement du journal de régie",
    "bordereau_remise_telecharge": "Téléchargement d’un bordereau de remise",
    "impayes_exportes": "Export de la liste des impayés",
    "relances_envoyees": "Envoi d’une série de relances d’impayés",
    "relances_imprimees": "Impression des lettres de relance",
    "factures_papier_imprimees": "Impression des factures papier du mois",
}


def label(action: str) -> str:
    return ACTIONS.get(action, action)


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
    """Newest first; `before_id` pages backwards (keyset, so deep pages stay cheap)."""
    query = AuditLog.select(
        AuditLog.id,
        AuditLog.at,
        AuditLog.actor,
        AuditLog.action,
        AuditLog.target,
        AuditLog.details,
        AuditLog.family,
        AuditLog.family.code.as_alias("family_code"),
        AuditLog.family.name.as_alias("family_name"),
    )
    if family_id is not None:
        query = query.where(AuditLog.family == family_id)
    if action:
        query = query.where(AuditLog.action == action)
    if staff_id is not None:
        query = query.where(AuditLog.staff == staff_id)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at < until)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    rows = await query.order_by(AuditLog.id, ascending=False).limit(limit)
    for row in rows:
        details = row["details"]
        row["details"] = (
            json.loads(details) if isinstance(details, str) and details else (details or {})
        )
        row["label"] = label(row["action"])
    return rows
