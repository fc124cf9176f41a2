"""The levels a school teaches follow from its kind (School.kind, « Type » on the Paramètres
school form): a maternelle teaches PS to GS, an élémentaire CP to CM2, a primaire both. Its
classes (SchoolClass) are those of a school year, each named freely (« CE1 A », « CE1-CE2
Mme Roux ») and filed under the first level its name gives, if any."""

from __future__ import annotations

LEVELS = ("PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2")
LEVELS_BY_KIND = {
    "maternelle": LEVELS[:3],
    "elementaire": LEVELS[3:],
    "primaire": LEVELS,
}
KIND_LABELS = {"maternelle": "maternelle", "elementaire": "élémentaire", "primaire": "primaire"}


def levels_of(kind: str | None) -> tuple[str, ...]:
    """The levels a school of this kind teaches (every level for an unknown kind)."""
    return LEVELS_BY_KIND.get(kind or "", LEVELS)


def levels_text(kind: str | None) -> str:
    """« PS à GS », « CP à CM2 », « PS à CM2 »."""
    levels = levels_of(kind)
    return f"{levels[0]} à {levels[-1]}"


def teaches(kind: str | None, level: str) -> bool:
    return level in levels_of(kind)


def level_of_class(name: str) -> str:
    """The first level a class name gives (« CE1-CE2 Mme Roux » is filed under CE1), or ""."""
    for word in name.upper().replace("-", " ").replace("/", " ").split():
        if word in LEVELS:
            return word
    return ""


def class_names(text: str) -> list[str]:
    """The class names of a textarea, one a line: trimmed, blank lines and repeats dropped."""
    names: list[str] = []
    for line in text.splitlines():
        name = " ".join(line.split())
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    return names
