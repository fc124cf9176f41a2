"""Charts drawn on the server as SVG, with no script and no charting library (pure).

Each chart is an image for assistive technologies (role="img", named by its <title>, described
by its <desc>); the page puts beside it a table of the same numbers, which is the text
alternative and what a screen reader reads. Colours are presentation attributes, not style
(the Content-Security-Policy allows no inline style), and each series also differs by its
position and legend, so colour is never the only cue. The SVG scales to its container
(viewBox, width 100%)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

INK = "#1b1b1b"
MUTED = "#505a5f"
GRID = "#b1b4b6"
# Two series: dark blue and dark orange, both at least 3:1 against white (WCAG 1.4.11).
SERIES_COLOURS = ("#1d4f91", "#a64b00")
# The heat map's scale, light to dark, and the text colour that reads on each step.
HEAT_STEPS = ("#eef3fa", "#c6d7ef", "#8fb1de", "#3f73b8", "#123f7a")
HEAT_TEXT = (INK, INK, INK, "#ffffff", "#ffffff")
EMPTY_CELL = "#f3f2f1"


def _svg(chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" focusable="false" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 13, fill=INK):
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-family="sans-serif">{escape(text)}</text>'
    )


def heat_step(rate: float | None) -> int | None:
    """The colour step of a rate (0 to 1 and beyond): five steps of 20 %, None for no value."""
    if rate is None:
        return None
    return max(0, min(len(HEAT_STEPS) - 1, int(rate * 100) // 20))


def heat_map(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[str],
    columns: Sequence[str],
    rates: Sequence[Sequence[float | None]],
) -> Markup:
    """Rows (e.g. schools) against columns (e.g. weeks); each cell is coloured by its rate and
    shows it as a percentage, « – » where there is none."""
    label_width, cell_w, cell_h, top = 170, 72, 34, 30
    width = label_width + cell_w * max(1, len(columns)) + 10
    height = top + cell_h * max(1, len(rows)) + 40
    body = []
    for j, column in enumerate(columns):
        body.append(_text(label_width + cell_w * j + cell_w / 2, top - 10, column, anchor="middle"))
    for i, row in enumerate(rows):
        y = top + cell_h * i
        body.append(_text(label_width - 8, y + cell_h / 2 + 5, row[:24], anchor="end"))
        for j in range(len(columns)):
            rate = rates[i][j] if i < len(rates) and j < len(rates[i]) else None
            step = heat_step(rate)
            fill = EMPTY_CELL if step is None else HEAT_STEPS[step]
            colour = INK if step is None else HEAT_TEXT[step]
            x = label_width + cell_w * j
            body.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{fill}" stroke="#ffffff"/>'
            )
            text = "–" if rate is None else f"{round(rate * 100)} %"
            body.append(
                _text(x + cell_w / 2, y + cell_h / 2 + 5, text, anchor="middle", fill=colour)
            )
    # The scale, under the grid.
    legend_y = top + cell_h * max(1, len(rows)) + 14
    for k, fill in enumerate(HEAT_STEPS):
        x = label_width + k * 56
        body.append(
            f'<rect x="{x}" y="{legend_y}" width="14" height="14" fill="{fill}" stroke="{GRID}"/>'
        )
        upper = "100 % et +" if k == len(HEAT_STEPS) - 1 else f"{k * 20}–{k * 20 + 19} %"
        body.append(_text(x + 18, legend_y + 12, upper, size=10, fill=MUTED))
    return _svg(chart_id, title, desc, width, height, body)


def whole_euros(cents: int) -> str:
    """« 12 500 € » for an axis: whole euros, a narrow no-break space between thousands."""
    return f"{cents // 100:,}".replace(",", "\u202f") + "\u00a0€"


def _nice_max(value: int) -> int:
    """A round top for the axis: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    power = 1
    while power * 10 <= value:
        power *= 10
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return factor * power
    return 10 * power


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    format_value: Callable[[int], str] = str,
) -> Markup:
    """Grouped bars: one group per category (e.g. a week), one bar per series, with a value
    axis (0, half, top) and a legend."""
    left, top, plot_h, group_w = 90, 34, 180, 76
    n = max(1, len(series))
    width = left + group_w * max(1, len(categories)) + 10
    height = top + plot_h + 40
    top_value = _nice_max(max((v for _, values in series for v in values), default=0))
    body = []
    for k, (name, _) in enumerate(series):
        x = left + k * 190
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        body.append(f'<rect x="{x}" y="8" width="14" height="14" fill="{colour}"/>')
        body.append(_text(x + 20, 20, name, size=12))
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="1"/>'
        )
        body.append(
            _text(left - 6, y + 4, format_value(int(top_value * fraction)), anchor="end", size=11)
        )
    bar_w = (group_w - 16) / n
    for j, category in enumerate(categories):
        x0 = left + group_w * j + 8
        for k, (_, values) in enumerate(series):
            value = values[j] if j < len(values) else 0
            h = plot_h * max(0, value) / top_value
            colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
            body.append(
                f'<rect x="{x0 + bar_w * k:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
        body.append(
            _text(x0 + (group_w - 16) / 2, top + plot_h + 18, category, anchor="middle", size=11)
        )
    return _svg(chart_id, title, desc, width, height, body)


def dashboard_charts(data) -> dict[str, Markup]:
    """The three charts of the dashboard (ecp.backoffice.dashboard_queries.Dashboard)."""
    from ecp.backoffice.dashboard_queries import month_label, week_label

    weeks = [f"{week_label(w)}" for w in data.weeks_ahead]
    occupancy = heat_map(
        "chart-occupancy",
        "Taux de remplissage par école et par semaine",
        "Places réservées sur les places offertes, pour chaque école (lignes) et chaque semaine "
        "à venir (colonnes, désignée par son lundi). Les chiffres sont dans le tableau à côté.",
        [s["name"] for s in data.occupancy],
        weeks,
        [[c["rate"] for c in s["cells"]] for s in data.occupancy],
    )
    weekly = bar_chart(
        "chart-weekly",
        "Réservations et présences par semaine",
        "Pour chacune des dernières semaines (désignée par son lundi), les journées réservées "
        "et les présences pointées. Les chiffres sont dans le tableau à côté.",
        [week_label(w["week"]) for w in data.weekly],
        [
            ("Réservations", [w["booked"] for w in data.weekly]),
            ("Présences pointées", [w["present"] for w in data.weekly]),
        ],
    )
    monthly = bar_chart(
        "chart-monthly",
        "Facturé et encaissé par mois",
        "Pour chacun des derniers mois, le montant facturé (avoirs déduits) et les paiements "
        "reçus. Les montants sont dans le tableau à côté.",
        [month_label(m["month"]) for m in data.monthly],
        [
            ("Facturé", [m["invoiced_cents"] for m in data.monthly]),
            ("Encaissé", [m["collected_cents"] for m in data.monthly]),
        ],
        format_value=whole_euros,
    )
    return {"occupancy": occupancy, "weekly": weekly, "monthly": monthly}
