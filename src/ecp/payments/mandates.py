"""SEPA direct-debit mandates: recorded by the family or by an agent at the counter, the IBAN
and BIC checked with schwifty (French messages), the RUM generated, the IBAN encrypted at rest.

The IBAN is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from ECP_BANK_DATA_KEY,
or from ECP_SECRET_KEY when that is not set; the family id and the RUM are authenticated with
it, so a ciphertext copied onto another mandate does not open. Only the debit file
(ecp.payments.debits) and the family's own printed mandate open it; everyone else reads the
masked hint (« FR76 … 0189 »).

A family has at most one active mandate: a new one (a new account) revokes the previous one.
Invoices of a family with an active mandate are pre-notified and not offered to card payment
(`card_refused`), unless their debit was rejected (ecp.payments.debits).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import secrets

import schwifty
import schwifty.exceptions as iban_errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.db import write_transaction
from ecp.errors import Rejected
from ecp.families.tables import DirectDebitMandate, Family
from ecp.payments.tables import DirectDebit

ACTIVE, REVOKED = "actif", "revoque"
HOLDER_MAX = 70

IBAN_MESSAGES = {
    iban_errors.InvalidChecksumDigits: "la clé de contrôle ne correspond pas (vérifiez chaque "
    "chiffre)",
    iban_errors.InvalidLength: "sa longueur ne correspond pas à celle des IBAN de ce pays",
    iban_errors.InvalidStructure: "il contient des caractères inattendus ou n’a pas la forme "
    "d’un IBAN",
    iban_errors.InvalidCountryCode: "le code pays (les deux premières lettres) est inconnu",
    iban_errors.InvalidBBANChecksum: "la clé RIB du compte est fausse",
    iban_errors.InvalidBankCode: "le code de la banque est inconnu",
    iban_errors.InvalidBranchCode: "le code du guichet est inconnu",
    iban_errors.InvalidAccountCode: "le numéro de compte est invalide",
}


def _key(settings) -> bytes:
    secret = (settings.bank_data_key or settings.secret_key).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ecp bank data v1").derive(
        secret
    )


def _aad(family_id: int, rum: str) -> bytes:
    return f"mandat:{family_id}:{rum}".encode()


def seal_iban(settings, iban: str, *, family_id: int, rum: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings)).encrypt(nonce, iban.encode(), _aad(family_id, rum))
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def open_iban(settings, sealed: str, *, family_id: int, rum: str) -> str:
    """The IBAN in clear; raises ValueError when the key or the row does not match."""
    if not sealed.startswith("v1:"):
        raise ValueError("format")
    raw = base64.b64decode(sealed[3:])
    try:
        return AESGCM(_key(settings)).decrypt(raw[:12], raw[12:], _aad(family_id, rum)).decode()
    except InvalidTag:
        raise ValueError("clé") from None


def mask(iban: str) -> str:
    """What staff and screens show: country and check digits, then the last four characters."""
    return f"{iban[:4]} … {iban[-4:]}"


def check_iban(value: str) -> schwifty.IBAN:
    text = re.sub(r"\s+", "", value or "").upper()
    if not text:
        raise Rejected("Indiquez l’IBAN du compte à prélever.", field="iban")
    try:
        return schwifty.IBAN(text)
    except iban_errors.SchwiftyException as error:
        reason = next(
            (m for kind, m in IBAN_MESSAGES.items() if isinstance(error, kind)),
            "il n’a pas la forme d’un IBAN",
        )
        raise Rejected(f"IBAN invalide : {reason}.", field="iban") from None


def check_bic(value: str, iban: schwifty.IBAN) -> str:
    """The BIC given, or the one the IBAN's bank is known by when left empty."""
    text = re.sub(r"\s+", "", value or "").upper()
    if not text:
        derived = iban.bic
        if derived is None:
            raise Rejected("Indiquez le BIC de la banque (il figure sur le RIB).", field="bic")
        return str(derived)
    try:
        bic = schwifty.BIC(text)
    except iban_errors.SchwiftyException:
        raise Rejected(
            "BIC invalide : il compte 8 ou 11 lettres et chiffres, par exemple AGRIFRPPXXX.",
            field="bic",
        ) from None
    if bic.country_code != iban.country_code and not (
        iban.country_code in SEPA_FRENCH_TERRITORIES and bic.country_code == "FR"
    ):
        raise Rejected(
            f"BIC invalide : il désigne une banque de {bic.country_code}, l’IBAN un compte de "
            f"{iban.country_code}.",
            field="bic",
        )
    return str(bic)


# Monaco and the French overseas IBANs often come with a French BIC.
SEPA_FRENCH_TERRITORIES = {"MC", "GP", "MQ", "GF", "RE", "PM", "YT", "NC", "PF", "BL", "MF"}


def new_rum(family_code: str, day: dt.date) -> str:
    """The unique mandate reference: ECP, the family code, the day, 6 random characters
    (35 at most, letters and digits only)."""
    code = re.sub(r"[^A-Z0-9]", "", family_code.upper())[:12]
    return f"ECP{code}{day:%Y%m%d}{secrets.token_hex(3).upper()}"


async def record_mandate(
    settings,
    *,
    family_id: int,
    holder: str,
    iban: str,
    bic: str,
    signed_on: dt.date | None,
    actor: Actor | None = None,
) -> dict:
    """Validates and records the mandate (revoking the family's previous one), journalled when
    an agent records it. Raises Rejected (French, with the field)."""
    holder = " ".join((holder or "").split())
    if not holder:
        raise Rejected("Indiquez le nom du titulaire du compte.", field="titulaire")
    if len(holder) > HOLDER_MAX:
        raise Rejected(
            f"Le nom du titulaire compte au plus {HOLDER_MAX} caractères.", field="titulaire"
        )
    checked = check_iban(iban)
    bic_text = check_bic(bic, checked)
    signed_on = signed_on or clock.today()
    if signed_on > clock.today():
        raise Rejected("La date de signature ne peut pas être dans le futur.", field="signature")
    family = await Family.select(Family.code).where(Family.id == family_id).first()
    if family is None:
        raise Rejected("Famille introuvable.")
    compact = checked.compact
    rum = new_rum(family["code"], clock.today())
    now = clock.now()
    async with write_transaction():
        revoked = (
            await DirectDebitMandate.update(
                {DirectDebitMandate.status: REVOKED, DirectDebitMandate.revoked_at: now}
            )
            .where((DirectDebitMandate.family == family_id) & (DirectDebitMandate.status == ACTIVE))
            .returning(DirectDebitMandate.rum)
        )
        mandate = DirectDebitMandate(
            family=family_id,
            rum=rum,
            holder=holder,
            iban_sealed=seal_iban(settings, compact, family_id=family_id, rum=rum),
            iban_hint=mask(compact),
            bic=bic_text,
            signed_on=signed_on,
            created_at=now,
            recorded_by=actor.name if actor else "la famille",
            status=ACTIVE,
        )
        await mandate.save()
        if actor is not None:
            await audit.record(
                actor,
                "mandat_prelevement_enregistre",
                family_id=family_id,
                target=f"mandat {rum}",
                details={
                    "titulaire": holder,
                    "iban": mask(compact),
                    "bic": bic_text,
                    "signature": signed_on.isoformat(),
                    "remplace": [r["rum"] for r in revoked],
                },
            )
    return {"id": mandate.id, "rum": rum, "iban_hint": mask(compact)}


async def active_mandate(family_id: int) -> dict | None:
    return (
        await DirectDebitMandate.select(
            DirectDebitMandate.id,
            DirectDebitMandate.rum,
            DirectDebitMandate.holder,
            DirectDebitMandate.iban_hint,
            DirectDebitMandate.bic,
            DirectDebitMandate.signed_on,
            DirectDebitMandate.created_at,
            DirectDebitMandate.recorded_by,
        )
        .where((DirectDebitMandate.family == family_id) & (DirectDebitMandate.status == ACTIVE))
        .order_by(DirectDebitMandate.id, ascending=False)
        .first()
    )


async def mandate_page(family_id: int) -> dict:
    """The family's mandate and the family itself, for the family's and the agent's pages."""
    family = (
        await Family.select(Family.id, Family.code, Family.name)
        .where(Family.id == family_id)
        .first()
    )
    return {"family": family, "mandate": await active_mandate(family_id)}


async def printable_mandate(settings, family_id: int, *, full_iban: bool) -> dict | None:
    """The mandate form to print and sign: the IBAN in full for the family's own copy, masked
    for an agent's (staff never see a full IBAN)."""
    from ecp.payments.debits import creditor

    mandate = await active_mandate(family_id)
    if mandate is None:
        return None
    row = (
        await DirectDebitMandate.select(DirectDebitMandate.iban_sealed)
        .where(DirectDebitMandate.id == mandate["id"])
        .first()
    )
    family = await Family.select(Family.code, Family.name).where(Family.id == family_id).first()
    iban = mandate["iban_hint"]
    if full_iban:
        compact = open_iban(settings, row["iban_sealed"], family_id=family_id, rum=mandate["rum"])
        iban = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return {
        **mandate,
        "iban": iban,
        "family": family,
        "creditor_name": creditor(settings)["name"],
        "creditor_id": creditor(settings)["ics"],
    }


async def card_refused(
    family_id: int, invoices: list[dict], today: dt.date | None = None
) -> set[int]:
    """The ids among these invoices (id, due_on) that direct debit pays, so card payment is not
    offered for them: the family has an active mandate and the invoice is in a debit file, or
    due today or later and not yet debited; a rejected debit gives the invoice back to pay."""
    if not invoices or await active_mandate(family_id) is None:
        return set()
    today = today or clock.today()
    debits = await DirectDebit.select(DirectDebit.invoice, DirectDebit.status).where(
        DirectDebit.invoice.is_in([i["id"] for i in invoices])
    )
    rejected = {d["invoice"] for d in debits if d["status"] == "rejete"}
    debited = {d["invoice"] for d in debits if d["status"] != "rejete"}
    return {
        i["id"]
        for i in invoices
        if i["id"] in debited or (i["id"] not in rejected and i["due_on"] >= today)
    }


async def mandate_pdf(settings, family_id: int, *, full_iban: bool) -> tuple[str, bytes] | None:
    """(RUM, the PDF to print and sign) through the invoices' WeasyPrint renderer process."""
    from ecp.invoices.pdf_process import write_pdf
    from ecp.resources import PACKAGE
    from ecp.web.templating import environment

    mandate = await printable_mandate(settings, family_id, full_iban=full_iban)
    if mandate is None:
        return None
    html = environment().get_template("pdf/sepa_mandate.html").render(m=mandate)
    return mandate["rum"], await write_pdf(html, str(PACKAGE))
