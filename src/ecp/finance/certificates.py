"""Attestations de frais de garde: for a civil year, what each family paid that year for the care
of its children under 6 on 1 January (garderies, accueils de loisirs, études: every activity
but the meals), for the tax credit for childcare outside the home.

The rule, from how ECP records money (ecp.payments.allocation):
- only money actually received counts: a payment (counter or card) received in the year, as it
  was allocated to invoices (PaymentAllocation); a credit note set against an invoice is not a
  payment, an overpayment left unallocated is not one yet, and a refund is not deducted;
- a payment allocated to an invoice is spread over the invoice's lines in proportion to their
  amounts (an invoice paid in part is paid in part on each line); the shares of the lines of a
  child under 6 on 1 January whose activity is not a meal are the certified amount;
- the certificate lists each such child with its share; a family that paid nothing for them
  gets no certificate.

The year's run (`issue_year`) is done once the year is over; run again it adds nothing (one
certificate per family and year). Paperless families get an e-mail with the link."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.db import fetch, write_transaction
from ecp.errors import Rejected
from ecp.finance import queries
from ecp.finance.reports import is_meal
from ecp.finance.tables import CareCertificate
from ecp.invoices import pdf_process
from ecp.mail.outbox import queue_email
from ecp.resources import PACKAGE
from ecp.web import urls
from ecp.web.templating import environment, euros

AGE_LIMIT = 6


def eligible_birth_after(year: int) -> dt.date:
    """A child born after this day is under 6 on 1 January of `year`."""
    return dt.date(year - AGE_LIMIT, 1, 1)


async def _children(year: int) -> dict[int, dict]:
    rows = await fetch(
        "SELECT id, family, first_name, last_name, birth_date FROM child WHERE birth_date > {}",
        eligible_birth_after(year),
        types={"birth_date": dt.date},
    )
    return {row["id"]: row for row in rows}


async def _allocations(year: int, family_ids: list[int]) -> list[dict]:
    if not family_ids:
        return []
    start = dt.datetime(year, 1, 1, tzinfo=clock.PARIS)
    end = dt.datetime(year + 1, 1, 1, tzinfo=clock.PARIS)
    return await fetch(
        "SELECT a.invoice, a.amount_cents, i.family FROM payment_allocation a "
        "JOIN payment p ON p.id = a.payment JOIN invoice i ON i.id = a.invoice "
        "WHERE p.received_at >= {} AND p.received_at < {} AND i.family IN ("
        "SELECT DISTINCT c.family FROM child c WHERE c.birth_date > {})",
        start,
        end,
        eligible_birth_after(year),
    )


async def _lines(invoice_ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if not invoice_ids:
        return out
    placeholders = ", ".join("{}" for _ in invoice_ids)
    rows = await fetch(
        "SELECT l.invoice, l.child, l.amount_cents, COALESCE(t.code, '') AS code "
        "FROM invoice_line l LEFT JOIN activity t ON t.id = l.activity "
        f"WHERE l.invoice IN ({placeholders})",
        *invoice_ids,
    )
    for row in rows:
        out.setdefault(row["invoice"], []).append(row)
    return out


def certified_amounts(
    allocations: list[dict], lines: dict[int, list[dict]], children: dict[int, dict]
) -> dict[int, dict[int, int]]:
    """{family: {child: cents}} by the module's rule (exact fractions, rounded down once)."""
    shares: dict[int, dict[int, Fraction]] = {}
    for allocation in allocations:
        invoice_lines = lines.get(allocation["invoice"], [])
        base = sum(line["amount_cents"] for line in invoice_lines)
        if base <= 0:
            continue
        for line in invoice_lines:
            child = line["child"]
            if child not in children or is_meal(line["code"]) or line["amount_cents"] <= 0:
                continue
            share = Fraction(allocation["amount_cents"] * line["amount_cents"], base)
            family = shares.setdefault(children[child]["family"], {})
            family[child] = family.get(child, Fraction(0)) + share
    return {
        family: {child: int(value) for child, value in kids.items() if int(value) > 0}
        for family, kids in shares.items()
    }


async def compute(year: int) -> dict[int, dict[int, int]]:
    children = await _children(year)
    allocations = await _allocations(year, sorted({c["family"] for c in children.values()}))
    lines = await _lines(sorted({a["invoice"] for a in allocations}))
    return {f: kids for f, kids in certified_amounts(allocations, lines, children).items() if kids}


def _address(payer: dict | None) -> str:
    if not payer:
        return ""
    parts = [payer.get("address_line1", ""), payer.get("address_line2", "")]
    town = " ".join(p for p in (payer.get("postcode", ""), payer.get("city", "")) if p)
    return "\n".join(p for p in [*parts, town] if p)


async def issue_year(actor: Actor, year: int, settings) -> dict:
    """Issues the year's certificates not yet issued; returns {"issued", "emailed", "existing"}."""
    if year >= clock.today().year:
        raise Rejected(
            "Les attestations d’une année se font une fois l’année finie, à partir du 1er janvier "
            "suivant\u00a0: les paiements de toute l’année doivent être reçus.",
            "annee",
        )
    amounts = await compute(year)
    children = await _children(year)
    families = await fetch(
        "SELECT id, code, name, email, paperless FROM family WHERE id IN ({})".format(
            ", ".join(str(int(f)) for f in amounts) or "-1"
        ),
        types={"paperless": bool},
    )
    payers = await queries.payers(list(amounts))
    issued = emailed = 0
    async with write_transaction():
        existing = {
            r["family"]
            for r in await CareCertificate.select(CareCertificate.family).where(
                CareCertificate.year == year
            )
        }
        for family in families:
            if family["id"] in existing:
                continue
            kids = amounts[family["id"]]
            listed = [
                {
                    "name": f"{children[c]['first_name']} {children[c]['last_name']}",
                    "birth_date": children[c]["birth_date"].isoformat(),
                    "amount_cents": cents,
                }
                for c, cents in sorted(kids.items(), key=lambda kv: children[kv[0]]["birth_date"])
            ]
            mail = bool(family["paperless"] and family["email"])
            row = CareCertificate(
                year=year,
                family=family["id"],
                amount_cents=sum(kids.values()),
                children=listed,
                family_name=family["name"],
                address=_address(payers.get(family["id"])),
                issued_at=clock.now(),
                issued_by=actor.staff_id,
                emailed="oui" if mail else "non",
            )
            await row.save()
            issued += 1
            if mail:
                link = urls.absolute(settings.base_url, "family_certificates")
                await queue_email(
                    to=family["email"],
                    subject=f"Votre attestation de frais de garde {year}",
                    text=(
                        "Bonjour,\n\n"
                        f"Votre attestation des frais de garde payés en {year} pour vos enfants "
                        f"de moins de 6 ans ({euros(row.amount_cents)}) est disponible dans "
                        f"votre espace famille :\n{link}\n\n"
                        "Elle sert à la déclaration de revenus (crédit d’impôt pour frais de "
                        "garde des jeunes enfants). Les repas n’y sont pas comptés.\n\n"
                        f"Le service {settings.commune_name}"
                    ),
                    kind="attestation_garde",
                    family_id=family["id"],
                )
                emailed += 1
        await audit.record(
            actor,
            "attestations_garde_emises",
            target=f"attestations-{year}",
            details={"annee": year, "attestations": issued, "courriels": emailed},
        )
    return {"issued": issued, "emailed": emailed, "existing": len(existing)}


async def year_summary(year: int) -> dict:
    rows = await fetch(
        "SELECT COUNT(*) AS n, COALESCE(SUM(amount_cents), 0) AS cents, "
        "SUM(CASE WHEN emailed = 'oui' THEN 1 ELSE 0 END) AS mailed "
        "FROM care_certificate WHERE year = {}",
        year,
    )
    row = rows[0]
    return {"count": int(row["n"]), "cents": int(row["cents"]), "mailed": int(row["mailed"] or 0)}


async def family_certificates(family_id: int) -> list[dict]:
    return (
        await CareCertificate.select(
            CareCertificate.id, CareCertificate.year, CareCertificate.amount_cents
        )
        .where(CareCertificate.family == family_id)
        .order_by(CareCertificate.year, ascending=False)
    )


async def certificate_pdf(
    certificate_id: int, family_id: int, settings
) -> tuple[bytes, str] | None:
    """The family's own certificate as a PDF; None when it is not this family's."""
    row = (
        await CareCertificate.select()
        .where((CareCertificate.id == certificate_id) & (CareCertificate.family == family_id))
        .first()
    )
    if row is None:
        return None
    commune = await queries.commune_details()
    children = row["children"]
    if isinstance(children, str):
        children = json.loads(children)
    for child in children:
        child["birth"] = dt.date.fromisoformat(child["birth_date"])
    html = (
        environment()
        .get_template("pdf/care_certificate.html")
        .render(
            c=row,
            children=children,
            commune=commune,
            commune_name=settings.commune_name,
        )
    )
    content = await pdf_process.write_pdf(html, str(PACKAGE))
    return content, f"attestation-frais-de-garde-{row['year']}.pdf"
