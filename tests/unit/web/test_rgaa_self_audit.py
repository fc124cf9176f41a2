"""docs/rgaa.md, the self-evaluation behind the accessibility statement: the 106 criteria of the
RGAA 4.1.2 in their order, each C, NC or NA with where to check it, every NC with what is left,
and the counts the statement shows (ecp.pages.routes.SELF_AUDIT) are the table's."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ecp.pages.routes import SELF_AUDIT
from ecp.settings import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "rgaa.md"
# Criteria per theme of the RGAA 4.1.2: images, cadres, couleurs, multimédia, tableaux, liens,
# scripts, éléments obligatoires, structuration, présentation, formulaires, navigation,
# consultation.
THEMES = [9, 2, 3, 13, 8, 2, 5, 10, 4, 14, 13, 11, 12]


def rows() -> list[tuple[str, str, str, str, str]]:
    """(number, title, status, where to check it, what is left) of every criterion's row."""
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\| \d+\.\d+ \|", line):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            assert len(cells) == 5 and cells[2] in ("C", "NC", "NA"), f"malformed: {line[:80]}"
            found.append(tuple(cells))
    return found


def test_the_106_criteria_are_there_in_order():
    expected = [f"{t}.{c}" for t, count in enumerate(THEMES, start=1) for c in range(1, count + 1)]
    assert len(expected) == 106
    assert [r[0] for r in rows()] == expected


def test_each_criterion_says_where_to_check_it_and_each_nc_what_is_left():
    for number, title, status, where, left in rows():
        assert title.strip() and where.strip(), number
        if status == "NC":
            assert left.strip(), f"{number}: an NC must say what is left"
        else:
            assert not left.strip(), f"{number}: only an NC has something left"


def test_the_statement_shows_the_counts_of_the_table():
    counts = Counter(r[2] for r in rows())
    assert (counts["C"], counts["NC"], counts["NA"]) == (
        SELF_AUDIT["conformes"],
        SELF_AUDIT["non_conformes"],
        SELF_AUDIT["non_applicables"],
    )
    text = DOC.read_text(encoding="utf-8")
    applicable = counts["C"] + counts["NC"]
    assert f"| C | {counts['C']} |" in text and f"| NC | {counts['NC']} |" in text
    assert f"| Applicable (C + NC) | {applicable} |" in text
    assert f"{round(100 * counts['C'] / applicable)} %" in text


def test_without_an_audit_the_status_is_non_conforme():
    assert Settings().accessibility_status == "non conforme"
