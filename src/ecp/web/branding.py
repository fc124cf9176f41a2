"""The commune's colour as CSS custom properties, with its contrast checked (WCAG 1.4.3)."""

from __future__ import annotations

import re

FALLBACK = "#1d4e89"


def _channel(c: int) -> float:
    v = c / 255
    return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def usable_brand(colour: str) -> str:
    """The colour if white text on it (and it on white) reaches 4.5:1; else the fallback."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        return FALLBACK
    return colour if contrast(colour, "#ffffff") >= 4.5 else FALLBACK


def theme_css(settings) -> str:
    brand = usable_brand(settings.brand_colour)
    return f":root {{ --brand: {brand}; }}\n"
