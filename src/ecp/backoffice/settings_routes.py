"""Staff > Paramètres (administrators only): the service's rules, school years, schools,
activities with their places per school, closures, staff accounts and roles."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.audit.services import record
from ecp.auth import mfa
from ecp.auth.guards import requires_role
from ecp.auth.policy import password_problem
from ecp.auth.principal import ROLE_LABELS
from ecp.auth.sessions import close_all_for
from ecp.auth.tables import ROLES, StaffUser
from ecp.backoffice.services import parse_date
from ecp.commune.queries import commune_settings
from ecp.commune.tables import (
    Activity,
    Closure,
    CommuneSettings,
    School,
    SchoolYear,
)
from ecp.db import aware, write_transaction
from ecp.web.forms import Form, raw, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.params import parse_id, parse_int

ADMIN = [requires_role("administrateur")]
KINDS = [("maternelle", "maternelle"), ("elementaire", "élémentaire"), ("primaire", "primaire")]
WEEKDAYS = [("1", "lundi"), ("2", "mardi"), ("3", "mercredi"), ("4", "jeudi"), ("5", "vendredi")]
TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:h]([0-5]\d)$")
BASE = "/agents/parametres"


def _time(value: str) -> dt.time | None:
    match = TIME_RE.match(value.strip())
    return dt.time(int(match.group(1)), int(match.group(2))) if match else None


def _int(form: Form, data: dict, name: str, label: str, low: int, high: int) -> int | None:
    value = text(data, name, 10)
    form.values[name] = value
    number = parse_int(value, low, high)
    if number is None:
        form.error(name, f"{label} : un nombre entier entre {low} et {high}.")
    return number


async def _overview_context(
    rules_form: Form | None = None, year_form: Form | None = None, closure_form: Form | None = None
) -> dict:
    rules = await commune_settings()
    years = await SchoolYear.select().order_by(SchoolYear.starts_on, ascending=False)
    schools = await School.select().order_by(School.name)
    activities = await Activity.select().order_by(Activity.sort_order)
    closures = (
        await Closure.select(
            *Closure.all_columns(),
            Closure.school.name.as_alias("school_name"),
            Closure.activity.label.as_alias("activity_label"),
        )
        .where(Closure.ends_on >= clock.today() - dt.timedelta(days=60))
        .order_by(Closure.starts_on)
    )
    staff = await StaffUser.select(
        StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.role, StaffUser.active
    ).order_by(StaffUser.username)
    for s in staff:
        s["role_label"] = ROLE_LABELS.get(s["role"], s["role"])
    current = next((y for y in years if y["is_current"]), None)
    return {
        "rules_form": rules_form
        or Form(
            values={
                "delai_jours": str(rules["booking_deadline_working_days"]),
                "delai_heure": rules["booking_deadline_time"].strftime("%H:%M"),
                "maladie_heure": rules["illness_cutoff_time"].strftime("%H:%M"),
                "echeance_jours": str(rules["invoice_due_days"]),
                "conservation_ans": str(rules["retention_years"]),
            }
        ),
        "year_form": year_form
        or Form(
            values={
                "libelle": current["label"] if current else "",
                "debut": current["starts_on"].isoformat() if current else "",
                "fin": current["ends_on"].isoformat() if current else "",
                "courante": True,
            }
        ),
        "closure_form": closure_form or Form(values={"ecole": "", "activite": ""}),
        "years": years,
        "schools": schools,
        "activities": activities,
        "closures": closures,
        "staff": staff,
        "school_options": [("", "toutes les écoles")]
        + [(str(s["id"]), s["name"]) for s in schools],
        "activity_options": [("", "toutes les activités")]
        + [(str(a["id"]), a["label"]) for a in activities],
    }


def _overview(request: Request, context: dict, status: int = 200) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/settings.html",
        fragment="partials/backoffice/settings_overview.html",
        context=context,
        status_code=status,
    )


@get("/parametres", name="staff_settings", guards=ADMIN)
async def staff_settings(request: Request) -> Template:
    return _overview(request, await _overview_context())


@post("/parametres/regles", name="staff_settings_rules", guards=ADMIN, status_code=200)
async def staff_settings_rules(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = Form()
    days = _int(form, data, "delai_jours", "Délai de réservation", 0, 30)
    due = _int(form, data, "echeance_jours", "Échéance des factures", 1, 120)
    years = _int(form, data, "conservation_ans", "Durée de conservation", 1, 10)
    times = {}
    for name, label in (
        ("delai_heure", "Heure limite de réservation"),
        ("maladie_heure", "Heure limite d’absence pour maladie"),
    ):
        form.values[name] = text(data, name, 5)
        times[name] = _time(form.values[name])
        if times[name] is None:
            form.error(name, f"{label} : une heure comme 23:59.")
    if not form.valid:
        return _overview(request, await _overview_context(rules_form=form), status=422)
    values = {
        CommuneSettings.booking_deadline_working_days: days,
        CommuneSettings.booking_deadline_time: times["delai_heure"],
        CommuneSettings.illness_cutoff_time: times["maladie_heure"],
        CommuneSettings.invoice_due_days: due,
        CommuneSettings.retention_years: years,
    }
    async with write_transaction():
        if await CommuneSettings.exists():
            await CommuneSettings.update(values, force=True)
        else:
            await CommuneSettings(**{c._meta.name: v for c, v in values.items()}).save()
        await record(
            request.user,
            "settings_changed",
            target="règles du service",
            details={"fields": sorted(c._meta.name for c in values)},
        )
    return redirect(request, BASE, "Les règles du service sont enregistrées.")


@post("/parametres/annees", name="staff_settings_year", guards=ADMIN, status_code=200)
async def staff_settings_year(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    label, start_raw, end_raw = (
        text(data, "libelle", 20),
        text(data, "debut", 20),
        text(data, "fin", 20),
    )
    current = text(data, "courante") == "oui"
    form = Form(values={"libelle": label, "debut": start_raw, "fin": end_raw, "courante": current})
    if not re.fullmatch(r"\d{4}-\d{4}", label):
        form.error("libelle", "Le libellé s’écrit comme 2026-2027.")
    start, end = parse_date(start_raw), parse_date(end_raw)
    if start is None:
        form.error("debut", "Saisissez la date de rentrée, par exemple 01/09/2026.")
    if end is None:
        form.error("fin", "Saisissez la date de fin, par exemple 03/07/2027.")
    if start and end and end <= start:
        form.error("fin", "La fin de l’année doit suivre son début.")
    if not form.valid:
        return _overview(request, await _overview_context(year_form=form), status=422)
    async with write_transaction():
        if current:
            await SchoolYear.update({SchoolYear.is_current: False}, force=True)
        existing = await SchoolYear.select(SchoolYear.id).where(SchoolYear.label == label).first()
        if existing:
            await SchoolYear.update(
                {
                    SchoolYear.starts_on: start,
                    SchoolYear.ends_on: end,
                    SchoolYear.is_current: current,
                }
            ).where(SchoolYear.id == existing["id"])
        else:
            await SchoolYear(label=label, starts_on=start, ends_on=end, is_current=current).save()
        await record(request.user, "settings_changed", target=f"année scolaire {label}")
    return redirect(request, BASE, f"L’année scolaire {label} est enregistrée.")


# ---------------------------------------------------------------- schools


def _school_page(request: Request, form: Form, school_id: int | None, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/backoffice/settings_school.html",
        fragment="partials/backoffice/school_form.html",
        context={"form": form, "school_id": school_id, "kinds": KINDS},
        status_code=status,
    )


@get("/parametres/ecoles/nouvelle", name="staff_school_new", guards=ADMIN)
async def staff_school_new(request: Request) -> Template:
    return _school_page(request, Form(values={"type": "primaire", "active": True}), None)


@get("/parametres/ecoles/{school_id:int}", name="staff_school_edit", guards=ADMIN)
async def staff_school_edit(request: Request, school_id: FromPath[int]) -> Template:
    school = await School.select().where(School.id == school_id).first()
    if school is None:
        raise NotFoundException()
    return _school_page(
        request,
        Form(
            values={
                "nom": school["name"],
                "type": school["kind"],
                "adresse": school["address"],
                "active": school["active"],
            }
        ),
        school_id,
    )


async def _save_school(request: Request, data: dict, school_id: int | None) -> Any:
    if school_id is not None and not await School.exists().where(School.id == school_id):
        raise NotFoundException()
    name, kind, address = text(data, "nom", 120), text(data, "type", 20), text(data, "adresse")
    active = text(data, "active") == "oui" if school_id else True
    form = Form(values={"nom": name, "type": kind, "adresse": address, "active": active})
    if not name:
        form.error("nom", "Saisissez le nom de l’école.")
    elif await School.exists().where((School.name == name) & (School.id != (school_id or -1))):
        form.error("nom", "Une autre école porte déjà ce nom.")
    if kind not in dict(KINDS):
        form.error("type", "Choisissez le type d’école.")
    if not form.valid:
        return _school_page(request, form, school_id, status=422)
    async with write_transaction():
        values = {"name": name, "kind": kind, "address": address, "active": active}
        if school_id is None:
            school = School(**values)
            await school.save()
            school_id = school.id
        else:
            await School.update(values).where(School.id == school_id)
        await record(request.user, "settings_changed", target=f"école {name}")
    return redirect(request, BASE + "#schools-title", f"L’école « {name} » est enregistrée.")


@post("/parametres/ecoles/nouvelle", name="staff_school_create", guards=ADMIN, status_code=200)
async def staff_school_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _save_school(request, data, None)


@post("/parametres/ecoles/{school_id:int}", name="staff_school_save", guards=ADMIN, status_code=200)
async def staff_school_save(
    request: Request, school_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save_school(request, data, school_id)


# ---------------------------------------------------------------- activities
# Creation and edition live in ecp.backoffice.activity_routes.


# ---------------------------------------------------------------- closures


@post("/parametres/fermetures", name="staff_closure_add", guards=ADMIN, status_code=200)
async def staff_closure_add(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    start_raw, end_raw = text(data, "fermeture_du", 20), text(data, "fermeture_au", 20)
    school_raw, activity_raw = text(data, "ecole", 10), text(data, "activite", 10)
    reason = text(data, "motif", 200)
    form = Form(
        values={
            "fermeture_du": start_raw,
            "fermeture_au": end_raw,
            "ecole": school_raw,
            "activite": activity_raw,
            "motif": reason,
        }
    )
    start, end = parse_date(start_raw), parse_date(end_raw or start_raw)
    if start is None:
        form.error(
            "fermeture_du", "Saisissez le premier jour de fermeture, par exemple 24/12/2026."
        )
    if end is None:
        form.error("fermeture_au", "Saisissez le dernier jour, par exemple 02/01/2027.")
    if start and end and end < start:
        form.error("fermeture_au", "Le dernier jour ne peut pas précéder le premier.")
    if not reason:
        form.error("motif", "Indiquez le motif : il est montré aux familles.")
    school, activity = parse_id(school_raw), parse_id(activity_raw)
    if school_raw and not await School.exists().where(School.id == (school or -1)):
        form.error("ecole", "Choisissez une école de la liste.")
    if activity_raw and not await Activity.exists().where(Activity.id == (activity or -1)):
        form.error("activite", "Choisissez une activité de la liste.")
    if not form.valid:
        return _overview(request, await _overview_context(closure_form=form), status=422)
    async with write_transaction():
        await Closure(
            starts_on=start, ends_on=end, school=school, activity=activity, reason=reason
        ).save()
        await record(
            request.user,
            "settings_changed",
            target="fermeture",
            details={"du": start.isoformat(), "au": end.isoformat(), "motif": reason},
        )
    return redirect(request, BASE + "#closures-title", "La fermeture est enregistrée.")


@post(
    "/parametres/fermetures/{closure_id:int}/supprimer",
    name="staff_closure_delete",
    guards=ADMIN,
    status_code=200,
)
async def staff_closure_delete(request: Request, closure_id: FromPath[int]) -> Any:
    row = await Closure.select().where(Closure.id == closure_id).first()
    if row is None:
        raise NotFoundException()
    async with write_transaction():
        await Closure.delete().where(Closure.id == closure_id)
        await record(
            request.user,
            "settings_changed",
            target="fermeture supprimée",
            details={
                "du": row["starts_on"].isoformat(),
                "au": row["ends_on"].isoformat(),
                "motif": row["reason"],
            },
        )
    return redirect(request, BASE + "#closures-title", "La fermeture est supprimée.")


# ---------------------------------------------------------------- staff accounts


async def _staff_page(request: Request, form: Form, staff_id: int | None, status: int = 200):
    settings = request.app.state.settings
    enrolment = await mfa.enrolment(staff_id) if staff_id else None
    if enrolment:
        enrolment["enrolled_at"] = aware(enrolment["enrolled_at"])
    return page_or_fragment(
        request,
        page="pages/backoffice/settings_staff.html",
        fragment="partials/backoffice/staff_form.html",
        context={
            "form": form,
            "staff_id": staff_id,
            "roles": [(r, ROLE_LABELS[r]) for r in ROLES],
            "mfa_enrolment": enrolment,
            "mfa_required": settings.staff_mfa_required,
            "is_self": staff_id == request.user.staff_id,
        },
        status_code=status,
    )


@get("/parametres/agents/nouveau", name="staff_account_new", guards=ADMIN)
async def staff_account_new(request: Request) -> Template:
    return await _staff_page(request, Form(values={"role": "agent", "actif": True}), None)


@get("/parametres/agents/{staff_id:int}", name="staff_account_edit", guards=ADMIN)
async def staff_account_edit(request: Request, staff_id: FromPath[int]) -> Template:
    row = await StaffUser.select().where(StaffUser.id == staff_id).first()
    if row is None:
        raise NotFoundException()
    return await _staff_page(
        request,
        Form(
            values={
                "identifiant": row["username"],
                "nom_affiche": row["display_name"],
                "courriel": row["email"],
                "role": row["role"],
                "actif": row["active"],
            }
        ),
        staff_id,
    )


async def _save_staff(request: Request, data: dict, staff_id: int | None) -> Any:
    existing = None
    if staff_id is not None:
        existing = await StaffUser.select().where(StaffUser.id == staff_id).first()
        if existing is None:
            raise NotFoundException()
    username = existing["username"] if existing else text(data, "identifiant", 60).lower()
    name, email = text(data, "nom_affiche", 120), text(data, "courriel", 200)
    role, password = text(data, "role", 20), raw(data, "mot_de_passe", 300)
    active = text(data, "actif") == "oui" if existing else True
    form = Form(
        values={
            "identifiant": username,
            "nom_affiche": name,
            "courriel": email,
            "role": role,
            "actif": active,
        }
    )
    if not existing:
        if not re.fullmatch(r"[a-z0-9._-]{3,60}", username):
            form.error(
                "identifiant",
                "L’identifiant : 3 à 60 lettres minuscules, chiffres, points ou tirets.",
            )
        elif await StaffUser.exists().where(StaffUser.username == username):
            form.error("identifiant", "Cet identifiant est déjà pris.")
    if not name:
        form.error("nom_affiche", "Saisissez le nom affiché.")
    if role not in ROLES:
        form.error("role", "Choisissez un rôle.")
    if existing and staff_id == request.user.staff_id and (role != "administrateur" or not active):
        form.error(
            "role",
            "Vous ne pouvez pas retirer vos propres droits d’administrateur : "
            "demandez-le à un autre administrateur.",
        )
    if password or not existing:
        problem = password_problem(password, staff=True, forbidden=(username,))
        if problem:
            form.error("mot_de_passe", problem)
    if not form.valid:
        return await _staff_page(request, form, staff_id, status=422)
    new_hash = await request.app.state.passwords.hash(password) if password else None
    async with write_transaction():
        values = {
            StaffUser.display_name: name,
            StaffUser.email: email,
            StaffUser.role: role,
            StaffUser.active: active,
        }
        if new_hash:
            values[StaffUser.password_hash] = new_hash
            values[StaffUser.failed_logins] = 0
            values[StaffUser.locked_until] = None
        if existing:
            await StaffUser.update(values).where(StaffUser.id == staff_id)
            if new_hash or not active or role != existing["role"]:
                await close_all_for(staff_id=staff_id)
        else:
            row = StaffUser(
                username=username,
                created_at=clock.now(),
                **{c._meta.name: v for c, v in values.items()},
            )
            await row.save()
            staff_id = row.id
        await record(
            request.user,
            "staff_account_changed",
            target=f"agent {username}",
            details={"role": role, "active": active, "password_changed": bool(new_hash)},
        )
    return redirect(request, BASE + "#staff-title", f"Le compte « {username} » est enregistré.")


@post("/parametres/agents/nouveau", name="staff_account_create", guards=ADMIN, status_code=200)
async def staff_account_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _save_staff(request, data, None)


@post("/parametres/agents/{staff_id:int}", name="staff_account_save", guards=ADMIN, status_code=200)
async def staff_account_save(
    request: Request, staff_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save_staff(request, data, staff_id)


@post(
    "/parametres/agents/{staff_id:int}/double-authentification",
    name="staff_account_mfa_reset",
    guards=ADMIN,
    status_code=200,
)
async def staff_account_mfa_reset(request: Request, staff_id: FromPath[int]) -> Any:
    """A lost or changed phone: the member's authenticator goes, their sessions end, and they
    enrol again at their next login (ECP_STAFF_MFA=obligatoire)."""
    row = await StaffUser.select(StaffUser.username).where(StaffUser.id == staff_id).first()
    if row is None:
        raise NotFoundException()
    page = f"{BASE}/agents/{staff_id}"
    if staff_id == request.user.staff_id:
        return redirect(
            request,
            page,
            "Pour votre propre compte, changez d’application depuis « Mon compte ».",
            "error",
        )
    async with write_transaction():
        if not await mfa.reset(staff_id):
            return redirect(
                request,
                page,
                f"Le compte « {row['username']} » n’a pas de double "
                "authentification à réinitialiser.",
                "warning",
            )
        await close_all_for(staff_id=staff_id)
        await record(
            request.user,
            "staff_account_changed",
            target=f"agent {row['username']}",
            details={"double_authentification": "réinitialisée"},
        )
    return redirect(
        request,
        page,
        f"La double authentification de « {row['username']} » est "
        "réinitialisée et ses connexions sont fermées : il "
        "l’activera à sa prochaine connexion.",
    )


def handlers() -> list:
    return [
        staff_settings,
        staff_settings_rules,
        staff_settings_year,
        staff_school_new,
        staff_school_edit,
        staff_school_create,
        staff_school_save,
        staff_closure_add,
        staff_closure_delete,
        staff_account_new,
        staff_account_edit,
        staff_account_create,
        staff_account_save,
        staff_account_mfa_reset,
    ]
