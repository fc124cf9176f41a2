"""Tariffs (/agents/parametres/tarifs, administrator): price per activity and QF bracket, the
out-of-town rate and the majoration, each with its validity date. A change is a new row from its
date: past days keep the price they had, so a change can never be retroactive."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.guards import requires_role
from ecp.commune.tables import Activity, Tariff, TariffBracket
from ecp.invoices import pricing
from ecp.invoices.tables import Invoice
from ecp.web.forms import Form, parse_euros, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.params import parse_day, parse_id

ADMIN = [requires_role("administrateur")]
FORM_FRAGMENT = "partials/invoices/tariff_form.html"
OUT_OF_TOWN = "hors"


async def _context(form: Form | None = None) -> dict:
    today = clock.today()
    activities = (
        await Activity.select(Activity.id, Activity.label, Activity.billable)
        .where(Activity.active == True)
        .order_by(Activity.sort_order)
    )  # noqa: E712
    brackets = await TariffBracket.select().order_by(TariffBracket.sort_order)
    rows = await Tariff.select().order_by(Tariff.valid_from)
    book = pricing.TariffBook(
        [
            pricing.TariffRow(
                r["activity"],
                r["bracket"],
                r["price_cents"],
                r["majoration_cents"],
                r["valid_from"],
            )
            for r in rows
        ]
    )
    columns = [(b["id"], b["label"]) for b in brackets] + [(None, "Hors commune")]
    grid = []
    for activity in activities:
        cells = [book.on(activity["id"], bracket_id, today) for bracket_id, _ in columns]
        majorations = {c.majoration_cents for c in cells if c is not None}
        grid.append(
            {
                "activity": activity,
                "cells": cells,
                "majoration": max(majorations) if majorations else None,
            }
        )
    labels = {b["id"]: b["label"] for b in brackets}
    names = {a["id"]: a["label"] for a in activities}
    upcoming = [
        dict(
            r,
            activity_label=names.get(r["activity"], "?"),
            bracket_label=labels.get(r["bracket"], "Hors commune"),
        )
        for r in rows
        if r["valid_from"] > today
    ]
    form = form or Form(
        values={"activite": "", "tranche": "", "prix": "", "majoration": "", "date": ""}
    )
    return {
        "activities": activities,
        "brackets": brackets,
        "columns": columns,
        "grid": grid,
        "upcoming": upcoming,
        "form": form,
        "today": today,
    }


@get("/parametres/tarifs", name="staff_tariffs", guards=ADMIN)
async def staff_tariffs(request: Request) -> Template:
    return page_or_fragment(
        request,
        page="pages/invoices/staff_tariffs.html",
        fragment=FORM_FRAGMENT,
        context=await _context(),
    )


async def _last_billed_day() -> dt.date | None:
    row = (
        await Invoice.select(Invoice.month)
        .where(Invoice.kind == "facture")
        .order_by(Invoice.month, ascending=False)
        .first()
    )
    return pricing.month_bounds(row["month"])[1] if row else None


@post("/parametres/tarifs", name="staff_tariff_create", status_code=200, guards=ADMIN)
async def staff_tariff_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    values = {k: text(data, k, 20) for k in ("activite", "tranche", "prix", "majoration", "date")}
    form = Form(values=values)
    activity = None
    if (activity_id := parse_id(values["activite"])) is not None:
        activity = (
            await Activity.select(Activity.id, Activity.label)
            .where(Activity.id == activity_id)
            .first()
        )
    if activity is None:
        form.error("activite", "Choisissez l’activité.")
    bracket_id, bracket_label = None, "hors commune"
    if values["tranche"] == OUT_OF_TOWN:
        pass
    elif (bracket_ref := parse_id(values["tranche"])) is not None and (
        bracket := await TariffBracket.select().where(TariffBracket.id == bracket_ref).first()
    ):
        bracket_id, bracket_label = bracket["id"], bracket["label"]
    else:
        form.error(
            "tranche", "Choisissez la tranche de quotient familial ou le tarif hors commune."
        )
    price = parse_euros(values["prix"])
    if price is None:
        form.error("prix", "Indiquez le prix d’un jour en euros, par exemple 2,10.")
    majoration = parse_euros(values["majoration"] or "0")
    if majoration is None:
        form.error("majoration", "Indiquez la majoration en euros, par exemple 3,00 (0 si aucune).")
    valid_from = parse_day(values["date"])
    today = clock.today()
    if valid_from is None:
        form.error("date", "Indiquez la date d’application au format JJ/MM/AAAA.")
    elif valid_from < today:
        form.error(
            "date",
            "Un tarif s’applique à partir de sa date, jamais avant\u00a0: "
            "choisissez "
            "aujourd’hui ou une date future.",
        )
    else:
        billed = await _last_billed_day()
        if billed is not None and valid_from <= billed:
            form.error(
                "date",
                f"Les jours jusqu’au {billed.strftime('%d/%m/%Y')} sont déjà "
                "facturés\u00a0: choisissez une date postérieure.",
            )
    if form.valid and await Tariff.exists().where(
        (Tariff.activity == activity["id"])
        & (Tariff.valid_from == valid_from)
        & (Tariff.bracket.is_null() if bracket_id is None else Tariff.bracket == bracket_id)
    ):
        form.error(
            "date", "Un tarif existe déjà pour cette activité et cette tranche à cette date."
        )
    if not form.valid:
        return page_or_fragment(
            request,
            page="pages/invoices/staff_tariffs.html",
            fragment=FORM_FRAGMENT,
            context=await _context(form),
            status_code=422,
        )
    await Tariff(
        activity=activity["id"],
        bracket=bracket_id,
        price_cents=price,
        majoration_cents=majoration,
        valid_from=valid_from,
    ).save()
    await audit.record(
        request.user,
        "tarif_cree",
        target=f"Activity:{activity['id']}",
        details={
            "activite": activity["label"],
            "tranche": bracket_label,
            "prix_cents": price,
            "majoration_cents": majoration,
            "a_partir_du": valid_from.isoformat(),
        },
    )
    return redirect(
        request,
        "/agents/parametres/tarifs",
        f"Nouveau tarif « {activity['label']} », {bracket_label}, appliqué à partir "
        f"du {valid_from.strftime('%d/%m/%Y')}.",
    )


def handlers() -> list:
    return [staff_tariffs, staff_tariff_create]
