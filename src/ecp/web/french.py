"""Small French typography rules that templates and messages need."""

from __future__ import annotations

# « de » elides before a vowel or a mute h: « d’octobre », « d’août », but « de novembre ».
_ELIDING = set("aeiouyàâäéèêëîïôöùûüh")


def de(text: str) -> str:
    """The preposition « de » in front of `text`, elided when French requires it."""
    return f"d’{text}" if text[:1].lower() in _ELIDING else f"de {text}"


__all__ = ["de"]
