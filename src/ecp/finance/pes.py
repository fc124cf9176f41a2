"""The PES V2 Recette file (type PESORMC) as XML, built with lxml from plain values, its check
keys, and its validation against the schema beside this module (pes_recette.xsd).

Nothing here reads the database: ecp.finance.services gathers the bordereau (a `Bordereau` of
`Piece`s, each with its `Line`s and its debtor) and stores the bytes this module returns.

Rules chosen where the format leaves a choice (to confirm with the accountant):
- a credit note is a piece of its own, with the reduction nature (NatPce, a setting) and a
  negative amount; the bordereau's total (MtBordHt) is the sum of the pieces, invoices less
  credit notes;
- the debt number (NumDette) is 13 digits: 1 for an invoice or 2 for a credit note, then the
  year and the number of the document (FAC-2026-000123 -> 1202600000123 once zero-padded);
- the period (Per) is the number of the month billed (1 to 12);
- Cle1 is a weighted modulo 11 over CodCol, IdBord, the exercise's last two digits, Per and
  NumDette (weights 2 to 7 from the right; 11 - remainder, and 1 when that is 10 or 11);
  Cle2 is (the number made of the exercise's two digits, Per, "00" and NumDette) modulo 23,
  written as a letter of ABCDEFGHJKLMNPQRSTUVWXY.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

NS = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"
RECETTE_NS = "http://www.minefi.gouv.fr/cp/helios/pes_v2/recette/r0/aller"
SCHEMA = Path(__file__).with_name("pes_recette.xsd")
CLE2_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"


class InvalidPes(Exception):
    """The file does not match the schema: a bug or a setting the form should have refused."""


@dataclass(frozen=True)
class Line:
    label: str
    product: str
    nature: str
    amount_cents: int


@dataclass(frozen=True)
class Debtor:
    reference: str  # the family code
    last_name: str
    first_name: str = ""
    civility: str = ""
    street: str = ""
    street2: str = ""
    postcode: str = ""
    city: str = ""


@dataclass(frozen=True)
class Piece:
    number: int  # IdPce
    document_number: str  # FAC-2026-000123 or AV-2026-000004
    kind: str  # facture or avoir
    period: int  # month billed, 1 to 12
    label: str
    amount_cents: int
    lines: tuple[Line, ...]
    debtor: Debtor
    attachment: str = ""  # the PDF's file name in the zip, '' for none


@dataclass(frozen=True)
class Codes:
    poste_comptable: str
    siret: str
    code_collectivite: str
    code_budget: str
    libelle_emetteur: str
    type_bordereau: str
    type_piece: str
    nature_piece: str
    nature_piece_reduction: str
    edition_asap: str = ""


@dataclass(frozen=True)
class Bordereau:
    year: int
    number: int
    issued_on: dt.date
    label: str
    filename: str
    pieces: tuple[Piece, ...] = field(default_factory=tuple)

    @property
    def total_cents(self) -> int:
        return sum(p.amount_cents for p in self.pieces)


def amount(cents: int) -> str:
    """Cents as the file writes them: 1234 -> '12.34', -50 -> '-0.50'."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"


def debt_number(document_number: str) -> str:
    """'FAC-2026-000123' -> '1202600000123'; 'AV-2026-000004' -> '2202600000004': the kind,
    the year, then the number on 8 digits."""
    prefix = "2" if document_number.upper().startswith("AV") else "1"
    match = re.search(r"(\d{4})\D*(\d+)\D*$", document_number)
    if match is None:
        return (prefix + re.sub(r"\D", "", document_number)).zfill(13)[-13:]
    return f"{prefix}{match.group(1)}{int(match.group(2)) % 10**8:08d}"


def _digits(value: str) -> str:
    return "".join(c if c.isdigit() else "0" for c in value)


def cle1(code_collectivite: str, bordereau: int, year: int, period: int, debt: str) -> str:
    """The modulo 11 key (see the module's docstring)."""
    number = _digits(f"{code_collectivite}{bordereau}{year % 100:02d}{period}{debt}")
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(number)))
    key = 11 - total % 11
    return "1" if key > 9 else str(key)


def cle2(year: int, period: int, debt: str) -> str:
    """The modulo 23 key, as a letter (see the module's docstring)."""
    number = int(_digits(f"{year % 100:02d}{period}00{debt}"))
    return CLE2_LETTERS[number % 23]


def _v(parent, tag: str, value) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.set("V", str(value))
    return element


def _cut(text: str, length: int) -> str:
    return " ".join(text.split())[:length] or "-"


def build(settings: Codes, bordereau: Bordereau) -> bytes:
    """The file's bytes (UTF-8, with its declaration), checked against the schema."""
    root = etree.Element(f"{{{NS}}}PES_Aller", nsmap={"n": NS, "reca": RECETTE_NS})
    envelope = etree.SubElement(root, "Enveloppe")
    parameters = etree.SubElement(envelope, "Parametres")
    _v(parameters, "Version", "2")
    _v(parameters, "TypFic", "PESORMC")
    _v(parameters, "NomFic", bordereau.filename[:100])
    sender = etree.SubElement(envelope, "Emetteur")
    _v(sender, "Sigle", _cut(settings.libelle_emetteur, 38))
    _v(sender, "Adresse", "ECP, portail Enfance")

    header = etree.SubElement(root, "EnTetePES")
    _v(header, "DteStr", bordereau.issued_on.isoformat())
    _v(header, "IdPost", settings.poste_comptable)
    _v(header, "IdColl", settings.siret)
    _v(header, "CodCol", settings.code_collectivite)
    _v(header, "CodBud", settings.code_budget)

    recette = etree.SubElement(root, "PES_RecetteAller")
    head = etree.SubElement(recette, "EnTeteRecette")
    _v(head, "IdVer", "2")
    _v(head, "InfoDematerialisee", "0")

    slip = etree.SubElement(recette, "Bordereau")
    block = etree.SubElement(slip, "BlocBordereau")
    _v(block, "Exer", bordereau.year)
    _v(block, "IdBord", bordereau.number)
    _v(block, "DteBordEm", bordereau.issued_on.isoformat())
    _v(block, "TypBord", settings.type_bordereau)
    _v(block, "NbrPce", len(bordereau.pieces))
    _v(block, "MtBordHt", amount(bordereau.total_cents))
    _v(block, "DteAsp", bordereau.issued_on.isoformat())
    _v(block, "Objet", _cut(bordereau.label, 160))

    for piece in bordereau.pieces:
        _piece(slip, settings, bordereau, piece)

    content = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(content)
    return content


def _piece(slip, settings: Codes, bordereau: Bordereau, piece: Piece) -> None:
    debt = debt_number(piece.document_number)
    element = etree.SubElement(slip, "Piece")
    block = etree.SubElement(element, "BlocPiece")
    _v(block, "IdPce", piece.number)
    _v(block, "TypPce", settings.type_piece)
    reduction = piece.kind == "avoir"
    _v(block, "NatPce", settings.nature_piece_reduction if reduction else settings.nature_piece)
    if settings.edition_asap:
        _v(block, "Edition", settings.edition_asap)
    _v(block, "ObjPce", _cut(piece.label, 160))
    _v(block, "NumDette", debt)
    _v(block, "Per", piece.period)
    _v(
        block,
        "Cle1",
        cle1(settings.code_collectivite, bordereau.number, bordereau.year, piece.period, debt),
    )
    _v(block, "Cle2", cle2(bordereau.year, piece.period, debt))
    if piece.attachment:
        reference = etree.SubElement(block, "PJRef")
        _v(reference, "Support", "01")
        _v(reference, "IdUnique", piece.document_number)
        _v(reference, "NomPJ", piece.attachment)
    _v(block, "NumeroFacture", piece.document_number[:20])
    for index, line in enumerate(piece.lines, start=1):
        row = etree.SubElement(element, "LigneDePiece")
        info = etree.SubElement(etree.SubElement(row, "BlocLignePiece"), "InfoLignePiece")
        _v(info, "IdLigne", index)
        _v(info, "ObjLignePce", _cut(line.label, 160))
        _v(info, "CodProdLoc", line.product)
        _v(info, "Nature", line.nature)
        _v(info, "MtHT", amount(line.amount_cents))
        _tiers(row, piece.debtor)


def _tiers(row, debtor: Debtor) -> None:
    tiers = etree.SubElement(row, "Tiers")
    info = etree.SubElement(tiers, "InfoTiers")
    _v(info, "RefTiers", _cut(debtor.reference, 38))
    _v(info, "CatTiers", "01")  # a private person
    _v(info, "NatJur", "01")  # a natural person
    _v(info, "TypTiers", "01")  # the debtor
    if debtor.civility:
        _v(info, "Civilite", _cut(debtor.civility, 38))
    _v(info, "Nom", _cut(debtor.last_name, 38))
    if debtor.first_name:
        _v(info, "Prenom", _cut(debtor.first_name, 38))
    address = etree.SubElement(tiers, "Adresse")
    _v(address, "TypAdr", "1")
    _v(address, "Adr2", _cut(debtor.street, 38))
    if debtor.street2:
        _v(address, "Adr3", _cut(debtor.street2, 38))
    _v(address, "CP", re.sub(r"[^0-9A-Z]", "", debtor.postcode.upper())[:10] or "0")
    _v(address, "Ville", _cut(debtor.city, 38))


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def validate(content: bytes) -> None:
    """Raises InvalidPes with the schema's first complaints when the file does not match."""
    document = etree.fromstring(content)
    checker = schema()
    if not checker.validate(document):
        errors = "; ".join(f"ligne {e.line} : {e.message}" for e in list(checker.error_log)[:5])
        raise InvalidPes(errors)


def summary(content: bytes) -> dict:
    """What a reader of the file finds in it: the pieces' count and the bordereau's total as
    written, and the sum of the pieces' lines (cents). Used by the tests and the detail page."""
    document = etree.fromstring(content)
    block = document.find("PES_RecetteAller/Bordereau/BlocBordereau")

    def cents(text: str) -> int:
        sign = -1 if text.startswith("-") else 1
        units, _, rest = text.lstrip("-").partition(".")
        return sign * (int(units) * 100 + int(rest or 0))

    lines = document.findall("PES_RecetteAller/Bordereau/Piece/LigneDePiece//MtHT")
    return {
        "pieces": int(block.find("NbrPce").get("V")),
        "piece_elements": len(document.findall("PES_RecetteAller/Bordereau/Piece")),
        "total_cents": cents(block.find("MtBordHt").get("V")),
        "lines_cents": sum(cents(e.get("V")) for e in lines),
        "number": int(block.find("IdBord").get("V")),
        "year": int(block.find("Exer").get("V")),
    }
