"""Reads of the finance side: the accountant's codes, the documents a PES export would take (the
pieces and their total), the bordereaux issued and one bordereau with its pieces."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.commune.tables import Activity, CommuneSettings
from ecp.db import fetch
from ecp.families.tables import Guardian
from ecp.finance.tables import FinanceActivityCode, FinanceSettings, PesBordereau, PesPiece
from ecp.invoices.tables import Invoice, InvoiceLine

SCOPES = {"mois": "Factures et avoirs d’un mois", "impayes": "Impayés échus (recouvrement)"}

# The codes a file cannot go without; each is named on the settings page.
REQUIRED_CODES = {
    "poste_comptable": "le poste comptable",
    "siret": "le SIRET de la commune",
    "code_collectivite": "le code collectivité",
    "code_budget": "le code budget",
    "libelle_emetteur": "le nom de l’émetteur",
    "produit_defaut": "le code produit par défaut",
    "nature_defaut": "la nature comptable par défaut",
}

EMPTY_SETTINGS = {
    "poste_comptable": "",
    "siret": "",
    "code_collectivite": "",
    "code_budget": "",
    "libelle_emetteur": "",
    "type_bordereau": "06",
    "type_piece": "15",
    "nature_piece": "01",
    "nature_piece_reduction": "06",
    "edition_asap": "",
    "produit_defaut": "",
    "nature_defaut": "",
    "exercice": None,
    "updated_at": None,
}


async def finance_settings() -> dict:
    """The settings row as a dict (the defaults when the commune has saved none yet)."""
    row = await FinanceSettings.select().first()
    return {**EMPTY_SETTINGS, **(row or {})}


def missing_codes(settings: dict) -> list[str]:
    return [label for name, label in REQUIRED_CODES.items() if not settings.get(name)]


async def activity_codes() -> list[dict]:
    """Every activity with its own product code and nature ('' when it uses the defaults)."""
    activities = await Activity.select(Activity.id, Activity.label, Activity.code).order_by(
        Activity.sort_order
    )
    codes = {
        row["activity"]: row
        for row in await FinanceActivityCode.select(
            FinanceActivityCode.activity, FinanceActivityCode.produit, FinanceActivityCode.nature
        )
    }
    return [
        {
            **a,
            "produit": codes.get(a["id"], {}).get("produit", ""),
            "nature": codes.get(a["id"], {}).get("nature", ""),
        }
        for a in activities
    ]


async def settings_page() -> dict:
    settings = await finance_settings()
    return {
        "settings": settings,
        "missing": missing_codes(settings),
        "activities": await activity_codes(),
    }


# --- The documents an export takes ------------------------------------------------------------

CANDIDATES_SQL = (
    "SELECT i.id, i.number, i.kind, i.family, i.month, i.due_on, i.total_cents, i.paid_cents, "
    "i.family_name, f.code AS family_code FROM invoice i JOIN family f ON f.id = i.family "
    "WHERE {where} AND i.total_cents <> 0 "
    "AND NOT EXISTS (SELECT 1 FROM pes_piece p WHERE p.invoice = i.id AND p.state = 'active') "
    "ORDER BY i.kind DESC, i.number"
)
TYPES = {"month": dt.date, "due_on": dt.date}


async def candidates(scope: str, month: dt.date | None, today: dt.date | None = None) -> list:
    """The documents a new bordereau would take, each with `amount_cents` (what the piece says):
    - mois: the month's invoices at their total and its credit notes as reductions (negative);
    - impayes: the invoices past their due date that still owe something, at what they owe.
    A document already in a standing bordereau is left out; one at 0 € too."""
    today = today or clock.today()
    if scope == "mois":
        rows = await fetch(CANDIDATES_SQL.format(where="i.month = {}"), month, types=TYPES)
        for row in rows:
            row["amount_cents"] = row["total_cents"]
    else:
        rows = await fetch(
            CANDIDATES_SQL.format(
                where="i.kind = 'facture' AND i.due_on < {} AND i.paid_cents < i.total_cents"
            ),
            today,
            types=TYPES,
        )
        for row in rows:
            row["amount_cents"] = row["total_cents"] - row["paid_cents"]
    return rows


async def already_exported(scope: str, month: dt.date | None) -> list[dict]:
    """The standing bordereaux that hold documents of the month (to say why nothing is left)."""
    if scope != "mois":
        return []
    return await fetch(
        "SELECT DISTINCT b.id, b.year, b.number FROM pes_bordereau b "
        "JOIN pes_piece p ON p.bordereau = b.id JOIN invoice i ON i.id = p.invoice "
        "WHERE p.state = 'active' AND i.month = {} ORDER BY b.year, b.number",
        month,
    )


async def preview(scope: str, month: dt.date | None) -> dict:
    """The export page's table: the pieces, the count, the total, what already went."""
    rows = await candidates(scope, month)
    return {
        "pieces": rows,
        "count": len(rows),
        "invoices": sum(1 for r in rows if r["kind"] == "facture"),
        "credits": sum(1 for r in rows if r["kind"] == "avoir"),
        "total_cents": sum(r["amount_cents"] for r in rows),
        "exported": await already_exported(scope, month),
    }


async def lines_by_invoice(invoice_ids: list[int]) -> dict[int, list[dict]]:
    lines: dict[int, list[dict]] = {}
    if not invoice_ids:
        return lines
    for line in (
        await InvoiceLine.select(
            InvoiceLine.invoice,
            InvoiceLine.label,
            InvoiceLine.activity,
            InvoiceLine.amount_cents,
            InvoiceLine.activity.label.as_alias("activity_label"),
        )
        .where(InvoiceLine.invoice.is_in(invoice_ids))
        .order_by(InvoiceLine.id)
    ):
        lines.setdefault(line["invoice"], []).append(line)
    return lines


async def payers(family_ids: list[int]) -> dict[int, dict]:
    """Each family's payer (the responsable marked so, else the first) with the address."""
    out: dict[int, dict] = {}
    if not family_ids:
        return out
    rows = (
        await Guardian.select(
            Guardian.family,
            Guardian.civility,
            Guardian.first_name,
            Guardian.last_name,
            Guardian.address_line1,
            Guardian.address_line2,
            Guardian.postcode,
            Guardian.city,
            Guardian.is_payer,
            Guardian.rank,
        )
        .where(Guardian.family.is_in(family_ids))
        .order_by(Guardian.family)
        .order_by(Guardian.is_payer, ascending=False)
        .order_by(Guardian.rank)
        .order_by(Guardian.id)
    )
    for row in rows:
        out.setdefault(row["family"], row)
    return out


# --- Bordereaux issued ------------------------------------------------------------------------


async def bordereaux(limit: int = 50) -> list[dict]:
    return (
        await PesBordereau.select(
            PesBordereau.id,
            PesBordereau.year,
            PesBordereau.number,
            PesBordereau.scope,
            PesBordereau.month,
            PesBordereau.issued_at,
            PesBordereau.pieces,
            PesBordereau.total_cents,
            PesBordereau.status,
            PesBordereau.filename,
        )
        .order_by(PesBordereau.year, ascending=False)
        .order_by(PesBordereau.number, ascending=False)
        .limit(limit)
    )


async def bordereau(bordereau_id: int) -> dict | None:
    """One bordereau with its pieces (without the XML text), or None."""
    row = (
        await PesBordereau.select(
            *[c for c in PesBordereau._meta.columns if c._meta.name != "xml"],
            PesBordereau.issued_by.display_name.as_alias("issued_by_name"),
            PesBordereau.cancelled_by.display_name.as_alias("cancelled_by_name"),
        )
        .where(PesBordereau.id == bordereau_id)
        .first()
    )
    if row is None:
        return None
    row["lines"] = (
        await PesPiece.select(
            PesPiece.piece_number,
            PesPiece.amount_cents,
            PesPiece.state,
            PesPiece.invoice.id.as_alias("invoice_id"),
            PesPiece.invoice.number.as_alias("document_number"),
            PesPiece.invoice.kind.as_alias("kind"),
            PesPiece.invoice.family_name.as_alias("family_name"),
        )
        .where(PesPiece.bordereau == bordereau_id)
        .order_by(PesPiece.piece_number)
    )
    return row


async def bordereau_file(bordereau_id: int) -> dict | None:
    """The XML as issued, its file name and the ids of its documents (for the zip)."""
    row = (
        await PesBordereau.select(
            PesBordereau.id,
            PesBordereau.year,
            PesBordereau.number,
            PesBordereau.filename,
            PesBordereau.xml,
            PesBordereau.status,
        )
        .where(PesBordereau.id == bordereau_id)
        .first()
    )
    if row is None:
        return None
    pieces = await PesPiece.select(PesPiece.invoice).where(PesPiece.bordereau == bordereau_id)
    row["invoice_ids"] = [p["invoice"] for p in pieces]
    return row


async def documents(invoice_ids: list[int]) -> list[dict]:
    return await Invoice.select(Invoice.id, Invoice.number).where(Invoice.id.is_in(invoice_ids))


async def commune_details() -> dict:
    """The service's name and address, for the letterhead of a certificate."""
    row = await CommuneSettings.select(
        CommuneSettings.service_name,
        CommuneSettings.address,
        CommuneSettings.phone,
        CommuneSettings.email,
    ).first()
    return row or {
        "service_name": "Service Scolaire-Enfance-Jeunesse",
        "address": "",
        "phone": "",
        "email": "",
    }
