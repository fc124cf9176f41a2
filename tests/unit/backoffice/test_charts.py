"""The dashboard's SVG charts, drawn on the server: an accessible image (role, title, desc),
one shape per value, text escaped, no style attribute (the CSP forbids inline style)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ecp.backoffice.charts import (
    HEAT_STEPS,
    HEAT_TEXT,
    _nice_max,
    bar_chart,
    heat_map,
    heat_step,
    whole_euros,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_heat_map_is_an_image_named_and_described():
    svg = _parse(
        heat_map(
            "chart-x",
            "Remplissage",
            "Places réservées sur places offertes.",
            ["École A", "École <B>"],
            ["7 déc.", "14 déc."],
            [[0.5, None], [1.2, 0.0]],
        )
    )
    assert svg.get("role") == "img" and svg.get("id") == "chart-x"
    assert svg.get("aria-labelledby") == "chart-x-title chart-x-desc"
    assert svg.find(f"{SVG}title").text == "Remplissage"
    assert svg.find(f"{SVG}desc").get("id") == "chart-x-desc"
    texts = _texts(svg)
    assert "École <B>" in texts  # escaped in the markup, read back as text
    assert ["50 %", "–", "120 %", "0 %"] == [t for t in texts if t.endswith("%") or t == "–"][:4]
    # 4 cells and the 5 steps of the scale.
    assert len(list(svg.iter(f"{SVG}rect"))) == 4 + len(HEAT_STEPS)
    assert "style=" not in str(heat_map("c", "t", "d", ["a"], ["b"], [[0.1]]))


def test_heat_steps_and_their_text_colour():
    assert [heat_step(r) for r in (None, 0, 0.19, 0.2, 0.99, 1.0, 3)] == [None, 0, 0, 1, 4, 4, 4]
    assert len(HEAT_TEXT) == len(HEAT_STEPS)
    assert HEAT_TEXT[-1] == "#ffffff" and HEAT_TEXT[0] != "#ffffff"


def test_bar_chart_draws_one_bar_per_value_and_a_legend():
    svg = _parse(
        bar_chart(
            "chart-w",
            "Réservations et présences",
            "Par semaine.",
            ["2 nov.", "9 nov.", "16 nov."],
            [("Réservations", [120, 80, 0]), ("Présences", [110, 75, 0])],
        )
    )
    rects = list(svg.iter(f"{SVG}rect"))
    assert len(rects) == 2 + 6  # the legend's two squares, then the bars by week
    heights = [float(r.get("height")) for r in rects[2:]]
    # The tallest bar (120 on an axis up to 200) is 60 % of the plot's height.
    assert max(heights) == 180 * 120 / 200 and heights[4:] == [0, 0]
    assert {"Réservations", "Présences", "2 nov.", "200", "100", "0"} <= set(_texts(svg))


def test_money_axis_and_round_tops():
    assert whole_euros(1234567) == "12\u202f345\u00a0€"
    assert [_nice_max(v) for v in (0, 1, 7, 10, 11, 120, 4999)] == [1, 1, 10, 10, 20, 200, 5000]
    svg = bar_chart("m", "t", "d", ["nov."], [("Facturé", [250000])], format_value=whole_euros)
    assert "5\u202f000\u00a0€" in _texts(_parse(svg))
