"""The stack's ceiling: what Litestar + Jinja2 + granian (this venv) serve without the app.

`granian --interface asgi bench.ceiling:app` serves two routes that bench.run measures in the
same run as the app, so that the app's figures read as ratios of what the stack itself can do:

- `/plafond`: a week-like page, the size of the family's week calendar (two children, five days,
  five activities: 50 cells, each a form button with its labels, about 15 KB of HTML), rendered
  from an autoescaped Jinja template with a layout, on data built per request; no database,
  no middleware, no session;
- `/healthz`: the bare framework's plainest answer.
"""

from __future__ import annotations

import datetime as dt

from jinja2 import DictLoader, Environment, select_autoescape
from litestar import Litestar, MediaType, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

CELLS = 50
DAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi")
ACTIVITIES = (
    ("Accueil du matin", "7 h 30 – 8 h 20"),
    ("Restauration", "11 h 30 – 13 h 30"),
    ("Accueil du soir", "16 h 30 – 18 h 30"),
    ("Étude", "16 h 30 – 17 h 45"),
    ("Centre de loisirs", "8 h 30 – 17 h 30"),
)

LAYOUT = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} – Portail Famille</title><link rel="stylesheet" href="/static/css/app.css">
<script src="/static/js/htmx.min.js" defer></script><script src="/static/js/app.js" defer></script></head>
<body><a class="skip-link" href="#contenu">Aller au contenu</a>
<header class="site-header"><p class="brand">{{ commune }}</p><nav aria-label="Menu principal"><ul>
{% for label, href in menu %}<li><a href="{{ href }}"{% if href == current %} aria-current="page"{% endif %}>{{ label }}</a></li>{% endfor %}
</ul></nav></header>
<main id="contenu" tabindex="-1">{% block content %}{% endblock %}</main>
<footer class="site-footer"><p>{{ commune }} – Service Scolaire-Enfance-Jeunesse</p></footer></body></html>
"""

PAGE = """{% extends "layout.html" %}{% block content %}
<h1>{{ title }}</h1>
<section id="week-grid" class="week-grid" aria-labelledby="week-grid-title">
<h2 id="week-grid-title">Semaine du {{ monday }}</h2>
{% for child in children %}
<form method="post" action="/famille/reservations/case" class="week-form" hx-post="/famille/reservations/case" hx-target="#week-grid" hx-swap="outerHTML">
<input type="hidden" name="_csrf_token" value="{{ token }}"><input type="hidden" name="semaine" value="{{ week }}">
<table class="week-table"><caption>{{ child.name }} <span class="caption-detail">{{ child.level }}, {{ child.school }}</span></caption>
<thead><tr><th scope="col">Activité</th><th scope="col">Réservation</th></tr></thead>
{% for day in child.days %}<tbody><tr class="day-head"><th scope="rowgroup" colspan="2">{{ day.label | capitalize }}</th></tr>
{% for c in day.cells %}<tr><th scope="row">{{ c.activity }}</th>
<td class="cell-{{ c.state }}"><button type="submit" name="case" value="{{ c.case }}">
<span class="cell-state">{{ c.label }}</span><span class="cell-action">{{ c.action_label }}</span></button>
{% if c.places_left %}<span class="cell-places">Plus que {{ c.places_left }} places</span>{% endif %}</td></tr>
{% endfor %}</tbody>{% endfor %}</table></form>
{% endfor %}</section>{% endblock %}
"""

ENV = Environment(
    loader=DictLoader({"layout.html": LAYOUT, "week.html": PAGE}),
    autoescape=select_autoescape(default=True),
    auto_reload=False,
)
MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
MENU = [
    ("Accueil", "/famille"),
    ("Réservations", "/famille/reservations"),
    ("Factures", "/famille/factures"),
    ("Mes enfants", "/famille/enfants"),
    ("Mon compte", "/famille/compte"),
]


def week_context(monday: dt.date) -> dict:
    children = []
    per_child = CELLS // 2
    for n, name in enumerate(("Léa Martin", "Noé Martin")):
        days = []
        for d, label in enumerate(DAYS):
            day = monday + dt.timedelta(days=d)
            cells = []
            for a, (activity, hours) in enumerate(ACTIVITIES[: per_child // len(DAYS)]):
                booked = (n + d + a) % 3 == 0
                cells.append(
                    {
                        "id": f"case-{n}-{a}-{day.isoformat()}",
                        "case": f"{n + 1}:{a + 1}:{day.isoformat()}:"
                        f"{'annuler' if booked else 'reserver'}",
                        "activity": activity,
                        "hours": hours,
                        "state": "reserve" if booked else "libre",
                        "label": "Réservé" if booked else "Non réservé",
                        "action": "annuler" if booked else "reserver",
                        "action_label": "Annuler" if booked else "Réserver",
                        "places_left": (a * 7 + d) % 11 if a == 1 else 0,
                        "deadline": f"{label.lower()} {day.day} à 23 h 59",
                    }
                )
            days.append({"label": f"{label} {day.day} {MONTHS[day.month - 1]}", "cells": cells})
        children.append({"name": name, "level": "CE1", "school": "École Jean-Jaurès", "days": days})
    return {
        "title": "Réservations",
        "commune": "Villebelle-sur-Seine",
        "menu": MENU,
        "current": "/famille/reservations",
        "monday": f"{monday.day} {MONTHS[monday.month - 1]}",
        "week": f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}",
        "token": "x" * 43,
        "children": children,
    }


@get("/plafond", name="ceiling_page", media_type=MediaType.HTML)
async def ceiling_page() -> Template:
    today = dt.date.today()
    return Template("week.html", context=week_context(today - dt.timedelta(days=today.weekday())))


@get("/healthz", name="ceiling_healthz", media_type=MediaType.TEXT)
async def ceiling_healthz() -> str:
    return "ok"


app = Litestar(
    route_handlers=[ceiling_page, ceiling_healthz],
    template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(ENV)),
    openapi_config=None,
    logging_config=None,
)
