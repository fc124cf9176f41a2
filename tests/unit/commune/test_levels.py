"""The levels a school teaches follow from its kind; a class name gives its level."""

from __future__ import annotations

from ecp.backoffice.sheets import _classes
from ecp.commune import levels


def test_each_kind_teaches_its_levels():
    assert levels.levels_of("maternelle") == ("PS", "MS", "GS")
    assert levels.levels_of("elementaire") == ("CP", "CE1", "CE2", "CM1", "CM2")
    assert levels.levels_of("primaire") == levels.LEVELS
    assert levels.levels_text("maternelle") == "PS à GS"
    assert levels.levels_text("elementaire") == "CP à CM2"
    assert levels.teaches("maternelle", "GS") and not levels.teaches("maternelle", "CP")
    assert not levels.teaches("elementaire", "PS") and levels.teaches("primaire", "PS")


def test_a_class_name_gives_its_first_level():
    assert levels.level_of_class("CE1 A") == "CE1"
    assert levels.level_of_class("CE1-CE2 Mme Roux") == "CE1"
    assert levels.level_of_class("ce2/cm1") == "CE2"
    assert levels.level_of_class("Les Lutins") == ""


def test_class_names_are_one_a_line_without_blanks_nor_repeats():
    text = "  CE1   A \n\nCE1 a\r\nCE1-CE2 Mme Roux\n"
    assert levels.class_names(text) == ["CE1 A", "CE1-CE2 Mme Roux"]
    assert levels.class_names("") == []


def test_emargement_sheets_group_by_class_when_set_else_by_level():
    kid = {"last_name": "X", "diet": "standard", "allergy": False}
    group = {
        "children": [
            {**kid, "first_name": "Léa", "class_name": "CE1-CE2 Mme Roux", "level": "CE1"},
            {**kid, "first_name": "Tom", "class_name": "CE1-CE2 Mme Roux", "level": "CE2"},
            {**kid, "first_name": "Awa", "class_name": None, "level": "CM2"},
        ]
    }
    sheets = {c["name"]: [k["first_name"] for k in c["children"]] for c in _classes(group)}
    assert sheets == {"CE1-CE2 Mme Roux": ["Léa", "Tom"], "CM2": ["Awa"]}
