"""Small French grammar rules that pages, e-mails and PDFs need: elision (« d’Inès »,
« d’octobre », « l’inscription »), count agreement (« 1 inscription refusée », « 2 inscriptions
refusées ») and the agreement of a participle or adjective (« validée », « refusées »).

Registered as Jinja filters by ecp.web.templating: `{{ name | de }}`, `{{ word | elide("la") }}`,
`{{ n | counted("inscription refusée", "inscriptions refusées") }}`, `{{ n | plural(...) }}`,
`{{ "refusé" | accord(n, feminine=True) }}`. Activities have no grammatical gender in the data:
messages about one name it « l’activité « Cantine » » (feminine) or are phrased without an
agreement (« Réservation enregistrée : Cantine pour Léa »)."""

from __future__ import annotations

from ecp.web.plural import counted, is_plural, plural

# Before a vowel or a mute h, « de », « le », « la », « que »… lose their vowel: « d’octobre »,
# « d’août », « d’Inès », « l’école », but « de novembre ». An h is taken as mute (« d’Hugo »,
# « l’heure »), as the portal's words and names mostly are.
_ELIDING = set("aeiouyàâäéèêëîïôöùûüœæh")

APOSTROPHE = "’"


def starts_with_vowel(text: str) -> bool:
    return text[:1].lower() in _ELIDING


def elide(text: str, word: str = "de") -> str:
    """`word` (de, le, la, que, ne, je, me, te, se, ce) in front of `text`, elided when French
    requires it: elide("inscription", "la") == "l’inscription"."""
    if not text:
        return word
    if starts_with_vowel(text):
        base = "l" if word in ("le", "la") else word[:-1]
        return f"{base}{APOSTROPHE}{text}"
    return f"{word} {text}"


def de(text: str) -> str:
    """The preposition « de » in front of `text`, elided when French requires it."""
    return elide(text, "de")


def accord(word: str, n: float = 1, feminine: bool = False) -> str:
    """A participle or adjective agreed in gender and number: accord("refusé", 2, True) ==
    "refusées", accord("validée", 1) == "validée". A phrase (« en attente ») and a word ending
    in s or x do not change in the plural."""
    if not word or " " in word:
        return word
    if feminine and not word.endswith("e"):
        word += "e"
    if is_plural(n) and not word.endswith(("s", "x")):
        word += "s"
    return word


def les(n: int, singular: str, many: str | None = None, feminine: bool = False) -> str:
    """« les 3 factures », but « la facture » (« le », « l’ ») for one, never « les 1 facture »:
    les(1, "lettre", feminine=True) == "la lettre", les(2, "lettre") == "les 2 lettres"."""
    if is_plural(n) or n == 0:
        return f"les {n} {plural(n, singular, many)}"
    return elide(singular, "la" if feminine else "le")


__all__ = ["accord", "counted", "de", "elide", "les", "plural", "starts_with_vowel"]
