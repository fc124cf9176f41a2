"""French count agreement: 0 and 1 take the singular (« 0 réservation », « 1 jour n’a pas pu »),
so does any amount under 2 (« 1,50 € vous sera remboursé »); 2 and more the plural.

`plural(n, "jour n’a pas pu être réservé", "jours n’ont pas pu être réservés")` picks the
words; `counted(n, ...)` writes the number in front. Without a plural form, an « s » is added to
the singular, which is right for the simple nouns of the portal (jour, famille, réservation).
"""

from __future__ import annotations


def is_plural(n: float) -> bool:
    return abs(n) >= 2


def plural(n: float, singular: str, many: str | None = None) -> str:
    return (many if many is not None else singular + "s") if is_plural(n) else singular


def counted(n: int, singular: str, many: str | None = None) -> str:
    return f"{n} {plural(n, singular, many)}"


__all__ = ["counted", "is_plural", "plural"]
