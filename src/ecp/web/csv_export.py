"""CSV exports that a spreadsheet opens safely: no cell is read as a formula.

A cell starting with =, +, -, @, a tab or a carriage return is taken by Excel or LibreOffice as
a formula (=HYPERLINK(...), a DDE call...), and any text a family or an agent typed can end up
in an export (a family name, a payment reference, a class label). Every cell written through
`writer()` that starts with one of those characters gets a leading apostrophe, the OWASP
recommendation: the spreadsheet shows the text as typed, and runs nothing.

Negative amounts: "-12,50" would be prefixed too, and a régisseur's sum would then skip it. A
number the code formatted itself is therefore written through `decimal_fr()` or as an int,
which are left as they are: `decimal_fr()` builds the text from an integer and checks that the
result is nothing but a sign, digits and a decimal comma, so no typed text can travel that way.
Any other text, even one that looks like a number, is prefixed.
"""

from __future__ import annotations

import csv
import re
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(,\d+)?$")


class Number(str):
    """Text of a number this module formatted (see `decimal_fr`); written unprefixed."""

    def __new__(cls, value: str) -> Number:
        if not _NUMBER.match(value):
            raise ValueError(f"not a formatted number: {value!r}")
        return super().__new__(cls, value)


def decimal_fr(cents: int) -> Number:
    """-1250 -> '-12,50' (comma decimal separator, as a French spreadsheet reads it)."""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return Number(f"{sign}{units},{rest:02d}")


def neutralise(value: Any) -> Any:
    """The cell as the spreadsheet will see it: formula-looking text gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, Number | int | float):
        # Python numbers are written by csv as digits (a minus at most): never a formula.
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class SafeWriter:
    """csv.writer with every cell neutralised; same writerow/writerows."""

    def __init__(self, out: IO[str], **options) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], *, delimiter: str = ";", lineterminator: str = "\r\n") -> SafeWriter:
    """The exports' writer: semicolons (French spreadsheets use the comma for decimals)."""
    return SafeWriter(out, delimiter=delimiter, lineterminator=lineterminator)
