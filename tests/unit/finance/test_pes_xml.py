"""The PES file without a database: amounts, debt numbers, the check keys, the schema (a file
the builder writes passes it; a wrong code, a missing element or a bad key fails it)."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from ecp.finance import pes

CODES = pes.Codes(
    poste_comptable="0780100",
    siret="21780999900017",
    code_collectivite="099",
    code_budget="00",
    libelle_emetteur="MAIRIE DE VILLEBELLE",
    type_bordereau="06",
    type_piece="15",
    nature_piece="01",
    nature_piece_reduction="06",
)
DEBTOR = pes.Debtor(
    "F00001", "Martin", "Claire", "Mme", "1 rue de la République", "", "78999", "Villebelle"
)


def _bordereau(*pieces: pes.Piece, number: int = 1) -> pes.Bordereau:
    return pes.Bordereau(2026, number, dt.date(2026, 11, 5), "Octobre 2026", "PES.xml", pieces)


def _piece(n: int, doc: str, cents: int, kind: str = "facture") -> pes.Piece:
    line = pes.Line("Restauration scolaire", "20", "7067", cents)
    return pes.Piece(n, doc, kind, 10, f"Facture {doc}", cents, (line,), DEBTOR, f"{doc}.pdf")


def test_amounts_are_written_with_a_point_and_two_decimals():
    assert [pes.amount(c) for c in (0, 5, 1250, -50, 123456)] == [
        "0.00",
        "0.05",
        "12.50",
        "-0.50",
        "1234.56",
    ]


def test_debt_numbers_are_13_digits_and_an_invoice_never_shares_a_credit_notes():
    assert pes.debt_number("FAC-2026-000123") == "1202600000123"
    assert pes.debt_number("AV-2026-000123") == "2202600000123"
    assert len(pes.debt_number("FAC-2026-000001")) == 13


def test_cle1_is_the_weighted_modulo_11_of_the_documented_fields():
    debt = "1202600000011"
    digits = "099" + "1" + "26" + "10" + debt
    weights = [2, 3, 4, 5, 6, 7]
    total = sum(int(d) * weights[i % 6] for i, d in enumerate(reversed(digits)))
    expected = 11 - total % 11
    assert pes.cle1("099", 1, 2026, 10, debt) == ("1" if expected > 9 else str(expected))
    # Every key is one digit, whatever the number.
    keys = {
        pes.cle1("099", b, 2026, m, pes.debt_number(f"FAC-2026-{n:06d}"))
        for b in range(1, 4)
        for m in range(1, 13)
        for n in range(1, 60)
    }
    assert keys <= set("0123456789") and len(keys) > 5


def test_cle2_is_the_modulo_23_letter_without_i_o_or_z():
    debt = "1202600000011"
    number = int("26" + "10" + "00" + debt)
    assert pes.cle2(2026, 10, debt) == "ABCDEFGHJKLMNPQRSTUVWXY"[number % 23]
    letters = {
        pes.cle2(2026, m, pes.debt_number(f"FAC-2026-{n:06d}"))
        for m in range(1, 13)
        for n in range(1, 200)
    }
    assert not letters & {"I", "O", "Z"} and len(letters) == 23


def test_a_built_file_is_valid_and_counts_its_pieces_and_total():
    content = pes.build(
        CODES,
        _bordereau(_piece(1, "FAC-2026-000011", 4000), _piece(2, "AV-2026-000003", -500, "avoir")),
    )
    assert content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(content)
    assert root.tag == "{http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller}PES_Aller"
    assert root.find("Enveloppe/Parametres/TypFic").get("V") == "PESORMC"
    assert pes.summary(content)["pieces"] == 2 and pes.summary(content)["total_cents"] == 3500
    natures = [e.get("V") for e in root.iter("NatPce")]
    assert natures == ["01", "06"]  # the credit note is a reduction
    assert root.find(".//PJRef/NomPJ").get("V") == "FAC-2026-000011.pdf"


def test_the_asap_choice_is_written_only_when_given():
    with_asap = pes.Codes(**{**CODES.__dict__, "edition_asap": "03"})
    root = etree.fromstring(pes.build(with_asap, _bordereau(_piece(1, "FAC-2026-000011", 4000))))
    assert root.find(".//BlocPiece/Edition").get("V") == "03"
    root = etree.fromstring(pes.build(CODES, _bordereau(_piece(1, "FAC-2026-000011", 4000))))
    assert root.find(".//BlocPiece/Edition") is None


def test_the_schema_refuses_a_wrong_siret_a_missing_block_and_a_bad_key():
    wrong = pes.Codes(**{**CODES.__dict__, "siret": "2178099990001"})  # 13 digits
    with pytest.raises(pes.InvalidPes, match="IdColl"):
        pes.build(wrong, _bordereau(_piece(1, "FAC-2026-000011", 4000)))
    good = pes.build(CODES, _bordereau(_piece(1, "FAC-2026-000011", 4000)))
    root = etree.fromstring(good)
    root.find("EnTetePES").remove(root.find("EnTetePES/CodBud"))
    with pytest.raises(pes.InvalidPes):
        pes.validate(etree.tostring(root))
    root = etree.fromstring(good)
    root.find(".//Cle2").set("V", "I")
    with pytest.raises(pes.InvalidPes, match="Cle2"):
        pes.validate(etree.tostring(root))
    root = etree.fromstring(good)
    root.find(".//MtBordHt").set("V", "40,00")
    with pytest.raises(pes.InvalidPes, match="MtBordHt"):
        pes.validate(etree.tostring(root))
