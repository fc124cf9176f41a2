"""Staff > Paramètres > Activités (administrators): create an activity, edit one, and set its
places per school.

Booking reads the days, hours, eligible levels, exclusive group, deadline rule and places;
billing reads `billable` and the tariffs set on /agents/parametres/tarifs. The code, the group,
the deadline rule and `billable` are chosen at creation and then fixed: changing them later would
rewrite the rules under bookings already made (two bookings of one group on a day, days booked
as free becoming billed in a month not yet invoiced).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp.audit.services import record
from ecp.backoffice.settings_routes import ADMIN, BASE, WEEKDAYS, _int, _time
from ecp.commune.tables import Activity, ActivityCapacity, School
from ecp.db import write_transaction
from ecp.families.tables import LEVELS
from ecp.web.forms import Form, many, text
from ecp.web.htmx import page_or_fragment, redirect

DEADLINE_RULES = [
    ("working_days", "la règle du service : jours ouvrés avant le jour, à l’heure limite"),
    ("previous_wednesday", "le mercredi précédent, à l’heure limite (comme le mercredi)"),
]
DEADLINE_LABELS = dict(DEADLINE_RULES)
CODE_RE = re.compile(r"[a-z0-9_]{2,40}")
NEW = "nouvelle"


def code_from_label(label: str) -> str:
    """'Stage multisports (été)' -> 'stage_multisports_ete', like the codes already in use."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")[:40]


async def _schools() -> list[dict]:
    return await School.select(School.id, School.name).order_by(School.name)


async def _groups() -> list[tuple[str, str]]:
    """The exclusive groups in use, each named by its activities."""
    rows = (
        await Activity.select(Activity.group_code, Activity.label)
        .where(Activity.group_code != "")
        .order_by(Activity.sort_order, Activity.id)
    )
    members: dict[str, list[str]] = {}
    for row in rows:
        members.setdefault(row["group_code"], []).append(row["label"])
    return [("", "aucun : se cumule avec les autres activités")] + [
        (code, f"{code} : {', '.join(labels)}") for code, labels in members.items()
    ]


def _group_label(code: str, groups: list[tuple[str, str]]) -> str:
    return dict(groups).get(code, code) if code else "aucun"


def _activity_page(
    request: Request,
    activity: dict | None,
    schools: list,
    form: Form,
    groups: list[tuple[str, str]],
    status: int = 200,
) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/settings_activity.html",
        fragment="partials/backoffice/activity_form.html",
        context={
            "form": form,
            "activity": activity,
            "schools": schools,
            "weekdays": WEEKDAYS,
            "levels": LEVELS,
            "groups": groups,
            "rules": DEADLINE_RULES,
            "rule_labels": DEADLINE_LABELS,
            "group_label": _group_label(activity["group_code"], groups) if activity else "",
        },
        status_code=status,
    )


async def _check_common(
    data: dict, schools: list[dict], activity_id: int | None
) -> tuple[Form, dict, dict[int, int | None]]:
    """The fields both forms share, validated the same way; returns (form, values, places)."""
    form = Form(
        values={
            "libelle": text(data, "libelle", 120),
            "libelle_court": text(data, "libelle_court", 40),
            "jours": [d for d in many(data, "jours") if d in dict(WEEKDAYS)],
            "niveaux": [lv for lv in many(data, "niveaux") if lv in LEVELS],
            "debut": text(data, "debut", 5),
            "fin": text(data, "fin", 5),
            "active": text(data, "active") == "oui",
        }
    )
    if activity_id is None:
        form.values["code"] = text(data, "code", 60).lower()
        form.values["delai"] = text(data, "delai", 30)
        form.values["groupe"] = text(data, "groupe", 40)
        form.values["facturee"] = text(data, "facturee") == "oui"
        form.values["active"] = True
    others = await Activity.select(
        Activity.id, Activity.code, Activity.label, Activity.short_label
    ).where(Activity.id != (activity_id or -1))
    label, short = form.values["libelle"], form.values["libelle_court"]
    if not label:
        form.error("libelle", "Saisissez le libellé de l’activité.")
    elif any(o["label"].casefold() == label.casefold() for o in others):
        # Families choose by label: two alike would be the same line twice in their calendar.
        form.error("libelle", "Une autre activité porte déjà ce libellé.")
    if not short:
        form.error("libelle_court", "Saisissez le libellé court, utilisé dans les tableaux.")
    elif any(o["short_label"].casefold() == short.casefold() for o in others):
        form.error("libelle_court", "Une autre activité porte déjà ce libellé court.")
    if activity_id is None:
        code = form.values["code"] or code_from_label(form.values["libelle"])
        if form.values["code"] and not CODE_RE.fullmatch(code):
            form.error(
                "code",
                "Le code : 2 à 40 lettres minuscules sans accent, chiffres ou "
                "tirets bas, par exemple stage_multisports.",
            )
        elif form.values["libelle"] and not CODE_RE.fullmatch(code):
            form.error(
                "code",
                "Saisissez un code : le libellé ne suffit pas à en former un "
                "(par exemple stage_multisports).",
            )
        elif code and any(o["code"] == code for o in others):
            form.error(
                "code", f"Une autre activité a déjà le code « {code} » : choisissez-en un autre."
            )
        form.values["code_final"] = code
    if not form.values["jours"]:
        form.error("jours-1", "Cochez au moins un jour.")
    start, end = _time(form.values["debut"]), _time(form.values["fin"])
    if start is None:
        form.error("debut", "Saisissez l’heure de début, par exemple 07:30.")
    if end is None:
        form.error("fin", "Saisissez l’heure de fin, par exemple 08:30.")
    if start and end and end <= start:
        form.error("fin", "L’heure de fin doit suivre l’heure de début.")
    if not form.values["niveaux"]:
        form.error("niveaux-PS", "Cochez au moins un niveau.")
    if activity_id is None:
        if form.values["delai"] not in DEADLINE_LABELS:
            form.error("delai", "Choisissez la date limite de réservation.")
        if form.values["groupe"] not in dict(await _groups()):
            form.error("groupe", "Choisissez un groupe dans la liste.")
    default = _int(form, data, "capacite", "Places par défaut", 0, 10000)
    places = {
        s["id"]: _int(form, data, f"capacite-{s['id']}", f"Places à {s['name']}", 0, 10000)
        for s in schools
    }
    values = {
        Activity.label: label,
        Activity.short_label: short,
        Activity.weekdays: ",".join(sorted(form.values["jours"])),
        Activity.starts_at: start,
        Activity.ends_at: end,
        Activity.eligible_levels: ",".join(lv for lv in LEVELS if lv in form.values["niveaux"]),
        Activity.default_capacity: default,
        Activity.active: form.values["active"],
    }
    return form, values, places


def _has_route(request: Request, name: str) -> bool:
    """Tariffs belong to the invoices feature: sent there only when it is installed."""
    return any(
        handler.name == name
        for route in request.app.routes
        for handler in getattr(route, "route_handlers", [])
    )


# ---------------------------------------------------------------- creation


@get("/parametres/activites/nouvelle", name="staff_activity_new", guards=ADMIN)
async def staff_activity_new(request: Request) -> Template:
    schools = await _schools()
    values: dict[str, Any] = {
        "jours": ["1", "2", "4", "5"],
        "niveaux": list(LEVELS),
        "delai": "working_days",
        "groupe": "",
        "facturee": True,
        "capacite": "0",
        "code": "",
    }
    for s in schools:
        values[f"capacite-{s['id']}"] = "0"
    return _activity_page(request, None, schools, Form(values=values), await _groups())


@post("/parametres/activites/nouvelle", name="staff_activity_create", guards=ADMIN, status_code=200)
async def staff_activity_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    schools = await _schools()
    form, values, places = await _check_common(data, schools, None)
    if not form.valid:
        return _activity_page(request, None, schools, form, await _groups(), status=422)
    code = form.values["code_final"]
    try:
        async with write_transaction():
            last = (
                await Activity.select(Activity.sort_order)
                .order_by(Activity.sort_order, ascending=False)
                .first()
            )
            activity = Activity(
                code=code,
                group_code=form.values["groupe"],
                deadline_rule=form.values["delai"],
                billable=form.values["facturee"],
                sort_order=(last["sort_order"] if last else 0) + 10,
                **{c._meta.name: v for c, v in values.items()},
            )
            await activity.save()
            for school_id, capacity in places.items():
                await ActivityCapacity(
                    activity=activity.id, school=school_id, capacity=capacity
                ).save()
            await record(
                request.user,
                "settings_changed",
                target=f"activité {code} créée",
                details={
                    "code": code,
                    "label": values[Activity.label],
                    "billable": form.values["facturee"],
                    "deadline_rule": form.values["delai"],
                    "group": form.values["groupe"],
                    "capacities": {str(k): v for k, v in places.items()},
                },
            )
    except Exception:
        # Two administrators creating the same code at once: the unique index decides.
        if not await Activity.exists().where(Activity.code == code):
            raise
        form.error(
            "code", f"Une autre activité a déjà le code « {code} » : choisissez-en un autre."
        )
        return _activity_page(request, None, schools, form, await _groups(), status=422)
    label = values[Activity.label]
    if form.values["facturee"] and _has_route(request, "staff_tariffs"):
        return redirect(
            request,
            "/agents/parametres/tarifs",
            f"L’activité « {label} » est créée. Fixez maintenant ses tarifs : "
            "sans tarif en vigueur, ses jours ne sont pas facturés.",
        )
    return redirect(request, BASE + "#activities-title", f"L’activité « {label} » est créée.")


# ---------------------------------------------------------------- edition


async def _activity_or_404(activity_id: int) -> tuple[dict, dict[int, int]]:
    activity = await Activity.select().where(Activity.id == activity_id).first()
    if activity is None:
        raise NotFoundException()
    caps = {
        c["school"]: c["capacity"]
        for c in await ActivityCapacity.select(
            ActivityCapacity.school, ActivityCapacity.capacity
        ).where(ActivityCapacity.activity == activity_id)
    }
    return activity, caps


@get("/parametres/activites/{activity_id:int}", name="staff_activity_edit", guards=ADMIN)
async def staff_activity_edit(request: Request, activity_id: FromPath[int]) -> Template:
    activity, caps = await _activity_or_404(activity_id)
    schools = await _schools()
    values = {
        "libelle": activity["label"],
        "libelle_court": activity["short_label"],
        "jours": activity["weekdays"].split(","),
        "debut": activity["starts_at"].strftime("%H:%M"),
        "fin": activity["ends_at"].strftime("%H:%M"),
        "niveaux": activity["eligible_levels"].split(","),
        "capacite": str(activity["default_capacity"]),
        "active": activity["active"],
    }
    for s in schools:
        values[f"capacite-{s['id']}"] = str(caps.get(s["id"], activity["default_capacity"]))
    return _activity_page(request, activity, schools, Form(values=values), await _groups())


@post(
    "/parametres/activites/{activity_id:int}",
    name="staff_activity_save",
    guards=ADMIN,
    status_code=200,
)
async def staff_activity_save(
    request: Request, activity_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    activity, caps = await _activity_or_404(activity_id)
    schools = await _schools()
    form, values, places = await _check_common(data, schools, activity_id)
    if not form.valid:
        return _activity_page(request, activity, schools, form, await _groups(), status=422)
    async with write_transaction():
        await Activity.update(values).where(Activity.id == activity_id)
        for school_id, capacity in places.items():
            if school_id in caps:
                await ActivityCapacity.update({ActivityCapacity.capacity: capacity}).where(
                    (ActivityCapacity.activity == activity_id)
                    & (ActivityCapacity.school == school_id)
                )
            else:
                await ActivityCapacity(
                    activity=activity_id, school=school_id, capacity=capacity
                ).save()
        await record(
            request.user,
            "settings_changed",
            target=f"activité {activity['code']}",
            details={"capacities": {str(k): v for k, v in places.items()}},
        )
    return redirect(
        request,
        BASE + "#activities-title",
        f"L’activité « {values[Activity.label]} » est enregistrée.",
    )


def handlers() -> list:
    return [staff_activity_new, staff_activity_create, staff_activity_edit, staff_activity_save]
