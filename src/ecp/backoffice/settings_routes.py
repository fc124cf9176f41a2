"""Staff > Paramètres (administrators only): the service's rules, school years, schools,
closures, staff accounts and roles. Activities are in ecp.backoffice.activity_routes.

Each handler binds its form (ecp.backoffice.settings_forms), calls a write of
ecp.backoffice.settings_services or a read of ecp.backoffice.settings_queries, and picks the
page; a refusal of the service is shown on the form it came from."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp.auth.guards import requires_role
from ecp.backoffice import settings_queries as queries
from ecp.backoffice import settings_services as services
from ecp.backoffice.settings_forms import (
    ROLE_CHOICES,
    ClosureForm,
    ClosureRemovalForm,
    NewStaffForm,
    RulesForm,
    SchoolForm,
    StaffForm,
    YearForm,
)
from ecp.commune import levels
from ecp.errors import Rejected
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.plural import counted

ADMIN = [requires_role("administrateur")]


def _settings(request: Request, anchor: str = "") -> str:
    return request.app.route_reverse("staff_settings") + anchor


OVERVIEW_FRAGMENT = "partials/backoffice/settings_overview.html"
CLOSURES_FRAGMENT = "partials/backoffice/closures.html"
CLOSURE_PAGE = "pages/backoffice/settings_closure.html"
# Families named in the flash after a closure is removed (a cookie holds a few hundred bytes).
FAMILIES_NAMED = 10


async def _overview(
    request: Request,
    *,
    rules_form: Form | None = None,
    year_form: Form | None = None,
    closure_form: Form | None = None,
    status: int = 200,
    fragment: str = OVERVIEW_FRAGMENT,
) -> Template:
    context = await queries.overview()
    return page_or_fragment(
        request,
        page="pages/backoffice/settings.html",
        fragment=fragment,
        context={
            **context,
            "rules_form": rules_form or RulesForm.from_settings(context["rules"]),
            "year_form": year_form or YearForm.from_year(context["current_year"]),
            "closure_form": closure_form or ClosureForm.initial(ecole="", activite=""),
        },
        status_code=status,
    )


async def _closures_done(request: Request, message: str) -> Any:
    """After a closure is added or removed: the page again (303) without JavaScript; for htmx
    the closures section redrawn with the message. (An HX-Redirect to the settings page would
    not reload it when its address already ends with #closures-title: a mere jump.)"""
    if not wants_fragment(request):
        return redirect(request, _settings(request, "#closures-title"), message)
    context = await queries.overview()
    return page_or_fragment(
        request,
        page="pages/backoffice/settings.html",
        fragment=CLOSURES_FRAGMENT,
        context={
            **context,
            "closure_form": ClosureForm.initial(ecole="", activite=""),
            "flash_messages": [{"kind": "success", "text": message}],
            "flash_oob": True,
            "focus_closures": True,
        },
    )


@get("/parametres", name="staff_settings", guards=ADMIN)
async def staff_settings(request: Request) -> Template:
    return await _overview(request)


@post("/parametres/regles", name="staff_settings_rules", guards=ADMIN, status_code=200)
async def staff_settings_rules(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = RulesForm.bind(data)
    if not form.valid:
        return await _overview(request, rules_form=form, status=422)
    await services.save_rules(request.user, **form.rules())
    return redirect(request, _settings(request), "Les règles du service sont enregistrées.")


@post("/parametres/annees", name="staff_settings_year", guards=ADMIN, status_code=200)
async def staff_settings_year(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = YearForm.bind(data)
    if form.valid:
        label = form.cleaned["libelle"]
        try:
            await services.save_school_year(
                request.user,
                label=label,
                starts_on=form.cleaned["debut"],
                ends_on=form.cleaned["fin"],
                current=form.cleaned["courante"],
            )
        except Rejected as error:
            form.reject(error)
        else:
            return redirect(
                request, _settings(request), f"L’année scolaire {label} est enregistrée."
            )
    return await _overview(request, year_form=form, status=422)


# ---------------------------------------------------------------- schools


# The kinds offered, each with the levels it teaches.
SCHOOL_KINDS = [(kind, f"{label} ({levels.levels_text(kind)})") for kind, label in services.KINDS]


def _school_page(request: Request, form: Form, school_id: int | None, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/backoffice/settings_school.html",
        fragment="partials/backoffice/school_form.html",
        context={"form": form, "school_id": school_id, "kinds": SCHOOL_KINDS},
        status_code=status,
    )


@get("/parametres/ecoles/nouvelle", name="staff_school_new", guards=ADMIN)
async def staff_school_new(request: Request) -> Template:
    return _school_page(request, SchoolForm.initial(type="primaire", active=True), None)


@get("/parametres/ecoles/{school_id:int}", name="staff_school_edit", guards=ADMIN)
async def staff_school_edit(request: Request, school_id: FromPath[int]) -> Template:
    school = await queries.school(school_id)
    if school is None:
        raise NotFoundException()
    form = SchoolForm.initial(
        nom=school["name"],
        type=school["kind"],
        adresse=school["address"],
        classes="\n".join(await queries.school_class_names(school_id)),
        active=school["active"],
    )
    return _school_page(request, form, school_id)


async def _save_school(request: Request, data: dict, school_id: int | None) -> Any:
    names = await queries.school_names()
    if school_id is not None and school_id not in names:
        raise NotFoundException()
    taken = {name for i, name in names.items() if i != school_id}
    form = SchoolForm.bind(data, taken=taken, editing=school_id is not None)
    if form.valid:
        name = form.cleaned["nom"]
        try:
            await services.save_school(
                request.user,
                school_id,
                name=name,
                kind=form.cleaned["type"],
                address=form.cleaned["adresse"],
                active=form.cleaned["active"],
                classes=levels.class_names(form.cleaned["classes"]),
            )
        except services.Missing:
            raise NotFoundException() from None
        except Rejected as error:
            form.reject(error)
        else:
            return redirect(
                request,
                _settings(request, "#schools-title"),
                f"L’école « {name} » est enregistrée.",
            )
    return _school_page(request, form, school_id, status=422)


@post("/parametres/ecoles/nouvelle", name="staff_school_create", guards=ADMIN, status_code=200)
async def staff_school_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _save_school(request, data, None)


@post("/parametres/ecoles/{school_id:int}", name="staff_school_save", guards=ADMIN, status_code=200)
async def staff_school_save(
    request: Request, school_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save_school(request, data, school_id)


# ---------------------------------------------------------------- closures


def _closure_step(
    request: Request,
    impact: queries.ClosureImpact,
    *,
    form: Form | None = None,
    closure_id: int | None = None,
) -> Template:
    """A closure's bookings before it is added (`form`) or removed (`closure_id`)."""
    removal = closure_id is not None
    return page_or_fragment(
        request,
        page=CLOSURE_PAGE,
        fragment=(
            "partials/backoffice/closure_removal.html"
            if removal
            else "partials/backoffice/closure_preview.html"
        ),
        context={"impact": impact, "form": form, "closure_id": closure_id, "removal": removal},
    )


def _added_message(done: services.ClosureDone) -> str:
    impact = done.impact
    if not impact.bookings:
        return "La fermeture est enregistrée. Aucune réservation n’était prise ces jours-là."
    cancelled = counted(impact.bookings, "réservation annulée", "réservations annulées")
    message = (
        f"La fermeture est enregistrée : {cancelled} pour "
        f"{counted(len(impact.families), 'famille')}, "
        f"{counted(done.emails, 'famille prévenue', 'familles prévenues')} par courriel"
    )
    silent = len(impact.families) - done.emails
    if silent:
        message += f" ({counted(silent, 'famille')} sans adresse électronique)"
    return message + "."


def _removed_message(done: services.ClosureDone) -> str:
    families = done.impact.families
    if not families:
        return "La fermeture est supprimée."
    named = ", ".join(f"{f.name} ({f.code})" for f in families[:FAMILIES_NAMED])
    if len(families) > FAMILIES_NAMED:
        named += f" et {counted(len(families) - FAMILIES_NAMED, 'autre')}"
    return (
        "La fermeture est supprimée. Aucune réservation n’est rétablie : "
        f"{counted(len(families), 'famille avait', 'familles avaient')} réservé ces jours-là "
        f"({named}) ; {'elle peut' if len(families) == 1 else 'elles peuvent'} réserver à nouveau."
    )


@post("/parametres/fermetures", name="staff_closure_add", guards=ADMIN, status_code=200)
async def staff_closure_add(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """First post: a closure that hits bookings is shown with them, unwritten; « confirmer »
    writes it, « modifier » takes its values back to the form."""
    form = ClosureForm.bind(data)
    if form.valid and form.cleaned["etape"] == "modifier":
        return await _overview(request, closure_form=form, fragment=CLOSURES_FRAGMENT)
    if form.valid:
        try:
            done = await services.add_closure(
                request.user, **form.closure(), settings=request.app.state.settings
            )
        except services.ToConfirm as preview:
            return _closure_step(request, preview.impact, form=form)
        except Rejected as error:
            form.reject(error)
        else:
            return await _closures_done(request, _added_message(done))
    return await _overview(request, closure_form=form, status=422, fragment=CLOSURES_FRAGMENT)


@post(
    "/parametres/fermetures/{closure_id:int}/supprimer",
    name="staff_closure_delete",
    guards=ADMIN,
    status_code=200,
)
async def staff_closure_delete(
    request: Request, closure_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    """A closure that had cancelled bookings shows their families before it is removed."""
    form = ClosureRemovalForm.bind(data)
    try:
        done = await services.delete_closure(
            request.user, closure_id, confirmed=form.cleaned["confirmer"]
        )
    except services.Missing:
        raise NotFoundException() from None
    except services.ToConfirm as removal:
        return _closure_step(request, removal.impact, closure_id=closure_id)
    return await _closures_done(request, _removed_message(done))


# ---------------------------------------------------------------- staff accounts


async def _staff_page(
    request: Request, form: Form, account: dict | None, status: int = 200
) -> Template:
    staff_id = account["id"] if account else None
    return page_or_fragment(
        request,
        page="pages/backoffice/settings_staff.html",
        fragment="partials/backoffice/staff_form.html",
        context={
            "form": form,
            "staff_id": staff_id,
            "account": account,
            "roles": ROLE_CHOICES,
            "mfa_enrolment": await queries.staff_enrolment(staff_id) if staff_id else None,
            "mfa_required": request.app.state.settings.staff_mfa_required,
            "is_self": staff_id == request.user.staff_id,
            "school_choices": await queries.school_choices(),
        },
        status_code=status,
    )


async def _account_or_404(staff_id: int) -> dict:
    account = await queries.staff_account(staff_id)
    if account is None:
        raise NotFoundException()
    return account


@get("/parametres/agents/nouveau", name="staff_account_new", guards=ADMIN)
async def staff_account_new(request: Request) -> Template:
    return await _staff_page(request, NewStaffForm.initial(role="agent", actif=True), None)


@get("/parametres/agents/{staff_id:int}", name="staff_account_edit", guards=ADMIN)
async def staff_account_edit(request: Request, staff_id: FromPath[int]) -> Template:
    account = await _account_or_404(staff_id)
    form = StaffForm.initial(
        nom_affiche=account["display_name"],
        courriel=account["email"],
        role=account["role"],
        actif=account["active"],
        ecoles=[str(s) for s in account["school_ids"]],
    )
    return await _staff_page(request, form, account)


async def _save_staff(request: Request, form: Form, account: dict | None) -> Any:
    if form.valid:
        try:
            username = await services.save_staff(
                request.user,
                request.app.state.passwords,
                account["id"] if account else None,
                **form.account(),
            )
        except services.Missing:
            raise NotFoundException() from None
        except Rejected as error:
            form.reject(error)
        else:
            return redirect(
                request,
                _settings(request, "#staff-title"),
                f"Le compte « {username} » est enregistré.",
            )
    return await _staff_page(request, form, account, status=422)


@post("/parametres/agents/nouveau", name="staff_account_create", guards=ADMIN, status_code=200)
async def staff_account_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = NewStaffForm.bind(data, taken=await queries.staff_usernames())
    return await _save_staff(request, form, None)


@post("/parametres/agents/{staff_id:int}", name="staff_account_save", guards=ADMIN, status_code=200)
async def staff_account_save(
    request: Request, staff_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    account = await _account_or_404(staff_id)
    form = StaffForm.bind(
        data,
        actor_id=request.user.staff_id,
        staff_id=staff_id,
        username=account["username"],
    )
    return await _save_staff(request, form, account)


@post(
    "/parametres/agents/{staff_id:int}/double-authentification",
    name="staff_account_mfa_reset",
    guards=ADMIN,
    status_code=200,
)
async def staff_account_mfa_reset(request: Request, staff_id: FromPath[int]) -> Any:
    page = request.app.route_reverse("staff_account_edit", staff_id=staff_id)
    try:
        username = await services.reset_staff_mfa(request.user, staff_id)
    except services.Missing:
        raise NotFoundException() from None
    except services.NothingToReset as warning:
        return redirect(request, page, warning.message, "warning")
    except Rejected as error:
        return redirect(request, page, error.message, "error")
    return redirect(
        request,
        page,
        f"La double authentification de « {username} » est "
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
