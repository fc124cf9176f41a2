"""Writes of the finance side: the accountant's codes, issuing a PES bordereau (gapless number
per exercise, each document marked with it), cancelling one (journalled, its number stays used,
its documents may go again), and the journalled downloads (the XML, the zip with the PDFs).

Numbering works as the billing's (ecp.invoices.numbering): the exercise's counter row exists
before the transaction, which locks it (FOR UPDATE on PostgreSQL, the IMMEDIATE transaction on
SQLite) before it reads the documents to export, so two exports take turns and the second one
sees what the first took. The partial unique index on pes_piece (an invoice in one standing
bordereau at most) stands behind that rule."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.finance import pes, queries, reports
from ecp.finance.tables import (
    FinanceActivityCode,
    FinanceSettings,
    PesBordereau,
    PesCounter,
    PesPiece,
)
from ecp.invoices import pdf as invoice_pdf
from ecp.invoices.queries import invoice_document
from ecp.mail.notices import month_label

SETTING_FIELDS = tuple(name for name in queries.EMPTY_SETTINGS if name != "updated_at")


async def save_settings(actor: Actor, values: dict) -> dict:
    """Saves the codes (one row); journals the fields that changed. Returns the changes."""
    async with write_transaction():
        row = await lock_for_update(FinanceSettings.select()).first()
        before = {**queries.EMPTY_SETTINGS, **(row or {})}
        new = {name: values.get(name, before[name]) for name in SETTING_FIELDS}
        changed = {n: [before[n], new[n]] for n in SETTING_FIELDS if before[n] != new[n]}
        data = {getattr(FinanceSettings, n): v for n, v in new.items()}
        data[FinanceSettings.updated_at] = clock.now()
        if row is None:
            await FinanceSettings.insert(FinanceSettings(**new, updated_at=clock.now()))
        else:
            await FinanceSettings.update(data).where(FinanceSettings.id == row["id"])
        if changed:
            await audit.record(
                actor, "pes_parametres_modifies", target="FinanceSettings", details=changed
            )
    return changed


async def save_activity_codes(actor: Actor, activity_id: int, produit: str, nature: str) -> None:
    """An activity's own product code and nature; both empty: it uses the defaults again."""
    known = {a["id"]: a for a in await queries.activity_codes()}
    if activity_id not in known:
        raise Rejected("Choisissez une activité de la liste.", "activite")
    async with write_transaction():
        await FinanceActivityCode.delete().where(FinanceActivityCode.activity == activity_id)
        if produit or nature:
            await FinanceActivityCode.insert(
                FinanceActivityCode(activity=activity_id, produit=produit, nature=nature)
            )
        await audit.record(
            actor,
            "pes_codes_activite_modifies",
            target=f"Activity:{activity_id}",
            details={"activite": known[activity_id]["label"], "produit": produit, "nature": nature},
        )


# --- Issuing a bordereau --------------------------------------------------------------------


def filename(year: int, number: int) -> str:
    return f"PES-ORMC-{year}-{number:07d}.xml"


def _label(scope: str, month: dt.date | None) -> str:
    if scope == "mois":
        return f"Périscolaire, restauration et accueils de loisirs : {month_label(month)}"
    return "Périscolaire : factures impayées après leur échéance (recouvrement)"


def _codes(settings: dict) -> pes.Codes:
    return pes.Codes(
        poste_comptable=settings["poste_comptable"],
        siret=settings["siret"],
        code_collectivite=settings["code_collectivite"],
        code_budget=settings["code_budget"],
        libelle_emetteur=settings["libelle_emetteur"],
        type_bordereau=settings["type_bordereau"],
        type_piece=settings["type_piece"],
        nature_piece=settings["nature_piece"],
        nature_piece_reduction=settings["nature_piece_reduction"],
        edition_asap=settings["edition_asap"],
    )


def _lines(doc: dict, lines: list[dict], codes: dict, settings: dict) -> tuple[pes.Line, ...]:
    """The piece's lines grouped by product code and nature; for an unpaid invoice exported
    for recovery (what it still owes, not its total), one line at that amount under the codes
    of its first line."""

    def code_of(line: dict) -> tuple[str, str]:
        own = codes.get(line["activity"]) or {}
        return (
            own.get("produit") or settings["produit_defaut"],
            own.get("nature") or settings["nature_defaut"],
        )

    if not lines or doc["amount_cents"] != doc["total_cents"]:
        product, nature = code_of(lines[0]) if lines else code_of({"activity": None})
        return (pes.Line(f"{doc['number']}", product, nature, doc["amount_cents"]),)
    groups: dict[tuple[str, str], dict] = {}
    for line in lines:
        key = code_of(line)
        group = groups.setdefault(key, {"labels": [], "cents": 0})
        label = line["activity_label"] or line["label"]
        if label not in group["labels"]:
            group["labels"].append(label)
        group["cents"] += line["amount_cents"]
    out = [
        pes.Line(", ".join(g["labels"]), product, nature, g["cents"])
        for (product, nature), g in groups.items()
    ]
    gap = doc["amount_cents"] - sum(line.amount_cents for line in out)
    if gap:  # a total that is not the sum of its lines: the difference on the first one
        first = out[0]
        out[0] = pes.Line(first.label, first.product, first.nature, first.amount_cents + gap)
    return tuple(out)


def _debtor(doc: dict, payer: dict | None) -> pes.Debtor:
    payer = payer or {}
    return pes.Debtor(
        reference=doc["family_code"],
        last_name=payer.get("last_name") or doc["family_name"] or doc["family_code"],
        first_name=payer.get("first_name", ""),
        civility=payer.get("civility", ""),
        street=payer.get("address_line1", ""),
        street2=payer.get("address_line2", ""),
        postcode=payer.get("postcode", ""),
        city=payer.get("city", ""),
    )


def _refuse_incomplete_addresses(docs: list[dict], payers: dict[int, dict]) -> None:
    incomplete = sorted(
        {
            doc["family_code"]
            for doc in docs
            if not all(
                (payers.get(doc["family"]) or {}).get(k)
                for k in ("address_line1", "postcode", "city")
            )
        }
    )
    if incomplete:
        shown = ", ".join(incomplete[:8]) + (" …" if len(incomplete) > 8 else "")
        raise Rejected(
            "Le Trésor a besoin de l’adresse de chaque débiteur\u00a0: complétez l’adresse du "
            f"responsable payeur des familles {shown}, puis recommencez.",
            "perimetre",
        )


async def issue_bordereau(actor: Actor, scope: str, month: dt.date | None) -> dict:
    """Issues the next bordereau of the exercise with every document the scope takes and not
    yet exported. Returns {"id", "year", "number", "pieces", "total_cents"}."""
    settings = await queries.finance_settings()
    missing = queries.missing_codes(settings)
    if missing:
        raise Rejected(
            "Renseignez d’abord dans les paramètres PES\u00a0: " + ", ".join(missing) + ".",
            "perimetre",
        )
    today = clock.today()
    year = settings["exercice"] or today.year
    await PesCounter.insert(PesCounter(year=year, last_number=0)).on_conflict(action="DO NOTHING")
    async with write_transaction():
        counter = await lock_for_update(PesCounter.select().where(PesCounter.year == year)).first()
        docs = await queries.candidates(scope, month, today)
        if not docs:
            exported = await queries.already_exported(scope, month)
            if exported:
                numbers = ", ".join(f"n° {b['number']} de {b['year']}" for b in exported)
                raise Rejected(
                    f"Les factures et avoirs de ce mois sont déjà dans le bordereau {numbers}. "
                    "Annulez ce bordereau pour les exporter à nouveau.",
                    "mois",
                )
            raise Rejected("Aucune facture ni aucun avoir à exporter pour ce choix.", "perimetre")
        payers = await queries.payers(sorted({d["family"] for d in docs}))
        _refuse_incomplete_addresses(docs, payers)
        lines = await queries.lines_by_invoice([d["id"] for d in docs])
        codes = {a["id"]: a for a in await queries.activity_codes()}
        number = counter["last_number"] + 1
        name = filename(year, number)
        pieces = tuple(
            pes.Piece(
                number=index,
                document_number=doc["number"],
                kind=doc["kind"],
                period=doc["month"].month,
                label=f"{'Avoir' if doc['kind'] == 'avoir' else 'Facture'} {doc['number']} "
                f"({month_label(doc['month'])})",
                amount_cents=doc["amount_cents"],
                lines=_lines(doc, lines.get(doc["id"], []), codes, settings),
                debtor=_debtor(doc, payers.get(doc["family"])),
                attachment=f"{doc['number']}.pdf",
            )
            for index, doc in enumerate(docs, start=1)
        )
        slip = pes.Bordereau(
            year=year,
            number=number,
            issued_on=today,
            label=_label(scope, month),
            filename=name,
            pieces=pieces,
        )
        xml = pes.build(_codes(settings), slip)
        row = PesBordereau(
            year=year,
            number=number,
            scope=scope,
            month=month if scope == "mois" else None,
            issued_at=clock.now(),
            issued_by=actor.staff_id,
            pieces=len(pieces),
            total_cents=slip.total_cents,
            filename=name,
            xml=xml.decode("utf-8"),
        )
        await row.save()
        await PesPiece.insert(
            *[
                PesPiece(
                    bordereau=row.id,
                    invoice=doc["id"],
                    piece_number=index,
                    amount_cents=doc["amount_cents"],
                )
                for index, doc in enumerate(docs, start=1)
            ]
        )
        await PesCounter.update({PesCounter.last_number: number}).where(
            PesCounter.id == counter["id"]
        )
        await audit.record(
            actor,
            "pes_bordereau_emis",
            target=f"PesBordereau:{row.id}",
            details={
                "bordereau": f"{number} ({year})",
                "perimetre": queries.SCOPES[scope],
                **({"mois": month.strftime("%Y-%m")} if month and scope == "mois" else {}),
                "pieces": len(pieces),
                "montant_cents": slip.total_cents,
            },
        )
    return {
        "id": row.id,
        "year": year,
        "number": number,
        "pieces": len(pieces),
        "total_cents": slip.total_cents,
    }


async def cancel_bordereau(actor: Actor, bordereau_id: int, reason: str) -> dict:
    """Cancels a standing bordereau: its documents may be exported again, its number is never
    given again. Journalled with the reason."""
    async with write_transaction():
        row = await lock_for_update(
            PesBordereau.select(
                PesBordereau.id, PesBordereau.year, PesBordereau.number, PesBordereau.status
            ).where(PesBordereau.id == bordereau_id)
        ).first()
        if row is None:
            raise LookupError(bordereau_id)
        if row["status"] == "annule":
            raise Rejected("Ce bordereau est déjà annulé.", "motif")
        await PesBordereau.update(
            {
                PesBordereau.status: "annule",
                PesBordereau.cancelled_at: clock.now(),
                PesBordereau.cancelled_by: actor.staff_id,
                PesBordereau.cancel_reason: reason,
            }
        ).where(PesBordereau.id == bordereau_id)
        await PesPiece.update({PesPiece.state: "liberee"}).where(PesPiece.bordereau == bordereau_id)
        await audit.record(
            actor,
            "pes_bordereau_annule",
            target=f"PesBordereau:{bordereau_id}",
            details={"bordereau": f"{row['number']} ({row['year']})", "motif": reason},
        )
    return row


# --- Downloads --------------------------------------------------------------------------------


async def xml_file(actor: Actor, bordereau_id: int) -> tuple[bytes, str] | None:
    row = await queries.bordereau_file(bordereau_id)
    if row is None:
        return None
    await audit.record(
        actor,
        "pes_telecharge",
        target=f"PesBordereau:{bordereau_id}",
        details={"bordereau": f"{row['number']} ({row['year']})", "fichier": row["filename"]},
    )
    return row["xml"].encode("utf-8"), row["filename"]


async def zip_file(actor: Actor, bordereau_id: int, settings) -> tuple[bytes, str] | None:
    """The XML and each document's PDF (the same rendering as the family's download)."""
    row = await queries.bordereau_file(bordereau_id)
    if row is None:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(row["filename"], row["xml"].encode("utf-8"))
        for invoice_id in row["invoice_ids"]:
            doc = await invoice_document(invoice_id)
            if doc is None:
                continue
            content = await invoice_pdf.invoice_pdf(
                {
                    "doc": doc,
                    "commune_name": settings.commune_name,
                    "month_label": month_label,
                    **invoice_pdf.how_to_pay(settings),
                }
            )
            archive.writestr(f"{doc['invoice']['number']}.pdf", content)
    name = row["filename"].removesuffix(".xml") + ".zip"
    await audit.record(
        actor,
        "pes_telecharge",
        target=f"PesBordereau:{bordereau_id}",
        details={"bordereau": f"{row['number']} ({row['year']})", "fichier": name},
    )
    return buffer.getvalue(), name


# --- Reports to the State (journalled exports) -------------------------------------------------


async def caf_file(actor: Actor, period: reports.Period) -> tuple[str, str]:
    report = await reports.caf(period)
    name = f"caf-heures-{period.start.isoformat()[:7] if period.start.month == period.end.month else period.start.year}.csv"
    await audit.record(
        actor,
        "caf_exporte",
        target=name,
        details={
            "du": period.start.isoformat(),
            "au": period.end.isoformat(),
            "lignes": len(report["rows"]),
        },
    )
    return reports.caf_csv(report), name


async def meals_file(actor: Actor, year: int) -> tuple[str, str]:
    report = await reports.meals(year)
    name = f"ma-cantine-repas-{year}.csv"
    await audit.record(
        actor,
        "ma_cantine_exporte",
        target=name,
        details={"annee": year, "repas": report["total"]},
    )
    return reports.meals_csv(report), name
