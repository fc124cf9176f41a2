"""Staff > Familles: search, family record, creation with a welcome letter, children,
disable/enable, closing the family's open sessions, reset link. Reading is for every agent; changing accounts is the
administrator's (docs/product.md roles)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp.audit.services import record
from ecp.auth.guards import requires_role
from ecp.backoffice import forms, queries, services
from ecp.families import search
from ecp.families.tables import LEVELS, Child
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment

ADMIN = [requires_role("administrateur")]


def _bookings_page_exists(request: Request) -> bool:
    """The family's booking page belongs to another feature: linked only once it exists."""
    return any(
        route.path.startswith("/agents/familles/{") and route.path.endswith("/reservations")
        for route in request.app.routes
    )


async def _family_or_404(family_id: int) -> dict:
    row = await queries.family(family_id)
    if row is None:
        raise NotFoundException()
    return row


@get("/familles", name="staff_families")
async def staff_families(request: Request, q: FromQuery[str | None] = None) -> Template:
    q = (q or "").strip()[:100]
    results = await queries.search_details(await search.search(q)) if q else []
    return page_or_fragment(
        request,
        page="pages/backoffice/families.html",
        fragment="partials/backoffice/family_results.html",
        context={
            "q": q,
            "results": results,
            "oob": wants_fragment(request),
            "max_results": search.MAX_RESULTS,
        },
    )


@get("/familles/{family_id:int}", name="staff_family")
async def staff_family(request: Request, family_id: FromPath[int]) -> Template:
    data = await queries.family_record(family_id)
    if data is None:
        raise NotFoundException()
    await record(request.user, "family_record_viewed", family_id=family_id)
    open_sessions = await services.open_session_count(family_id, request.app.state.settings)
    return page_or_fragment(
        request,
        page="pages/backoffice/family.html",
        fragment="partials/backoffice/family_record.html",
        context={
            **data,
            "bookings_page": _bookings_page_exists(request),
            "open_sessions": open_sessions,
        },
    )


# ---------------------------------------------------------------- creation and letter


def _new_family_page(request: Request, form: Form, status: int = 200) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/family_new.html",
        fragment="partials/backoffice/family_form.html",
        context={"form": form, "civilities": forms.CIVILITIES},
        status_code=status,
    )


@get("/familles/nouvelle", name="staff_family_new", guards=ADMIN)
async def staff_family_new(request: Request) -> Template:
    return _new_family_page(request, Form(values={"civilite": "Mme"}))


def _letter(request: Request, family: dict, guardian: dict | None, password: str) -> Template:
    return Template(
        "pages/backoffice/welcome_letter.html",
        status_code=200,
        media_type="text/html",
        context={
            "family": family,
            "guardian": guardian,
            "password": password,
            "login_url": request.app.state.settings.base_url + "/",
            "flash_messages": [],
        },
    )


@post("/familles/nouvelle", name="staff_family_create", guards=ADMIN, status_code=200)
async def staff_family_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form, values = forms.family_form(data)
    if not form.valid:
        return _new_family_page(request, form, status=422)
    family_id, _code, password = await services.create_family(
        request.user,
        name=values["name"],
        guardian=values["guardian"],
        qf=values["qf"],
        out_of_town=values["out_of_town"],
        passwords=request.app.state.passwords,
    )
    # Shown once, never stored in clear: no redirect, the letter is this response.
    return _letter(request, await queries.family(family_id), values["guardian"], password)


@post(
    "/familles/{family_id:int}/nouvelle-lettre",
    name="staff_family_letter",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_letter(request: Request, family_id: FromPath[int]) -> Template:
    family = await _family_or_404(family_id)
    password = await services.new_letter(request.user, family_id, request.app.state.passwords)
    data = await queries.family_record(family_id)
    return _letter(request, family, data["guardians"][0] if data["guardians"] else None, password)


# ---------------------------------------------------------------- account actions


@post(
    "/familles/{family_id:int}/desactiver",
    name="staff_family_disable",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_disable(request: Request, family_id: FromPath[int]) -> Any:
    await _family_or_404(family_id)
    await services.set_active(request.user, family_id, False)
    return redirect(
        request,
        f"/agents/familles/{family_id}",
        "Le compte est désactivé et ses connexions sont fermées.",
    )


@post(
    "/familles/{family_id:int}/fermer-sessions",
    name="staff_family_close_sessions",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_close_sessions(request: Request, family_id: FromPath[int]) -> Any:
    """Logs the family out on every device; unlike disabling, it may log in again at once."""
    await _family_or_404(family_id)
    closed = await services.close_family_sessions(
        request.user, request.app.state.settings, family_id
    )
    if closed == 0:
        message = "Aucune session n’était ouverte : rien n’a été fermé."
    elif closed == 1:
        message = "1 session ouverte a été fermée : la famille devra se reconnecter."
    else:
        message = f"{closed} sessions ouvertes ont été fermées : la famille devra se reconnecter."
    return redirect(request, f"/agents/familles/{family_id}", message)


@post(
    "/familles/{family_id:int}/reactiver", name="staff_family_enable", guards=ADMIN, status_code=200
)
async def staff_family_enable(request: Request, family_id: FromPath[int]) -> Any:
    await _family_or_404(family_id)
    await services.set_active(request.user, family_id, True)
    return redirect(request, f"/agents/familles/{family_id}", "Le compte est réactivé.")


@post(
    "/familles/{family_id:int}/lien-mot-de-passe",
    name="staff_family_reset_link",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_reset_link(request: Request, family_id: FromPath[int]) -> Any:
    await _family_or_404(family_id)
    try:
        await services.send_reset_link(request.user, request.app.state.settings, family_id)
    except services.ActionRefused as exc:
        return redirect(request, f"/agents/familles/{family_id}", str(exc), kind="error")
    return redirect(
        request,
        f"/agents/familles/{family_id}",
        "Un lien pour choisir un nouveau mot de passe a été envoyé à la famille.",
    )


# ---------------------------------------------------------------- children


async def _school_options() -> tuple[list, set[int]]:
    schools = [s for s in await queries.schools() if s["active"]]
    return (
        [("", "aucune (pas encore scolarisé ici)")] + [(str(s["id"]), s["name"]) for s in schools],
        {s["id"] for s in schools},
    )


async def _child_page(
    request: Request, family: dict, form: Form, child_id: int | None, status: int = 200
) -> Template:
    options, _ids = await _school_options()
    return page_or_fragment(
        request,
        page="pages/backoffice/child.html",
        fragment="partials/backoffice/child_form.html",
        context={
            "family": family,
            "form": form,
            "child_id": child_id,
            "schools": options,
            "levels": [(lv, lv) for lv in LEVELS],
            "diets": forms.DIETS,
        },
        status_code=status,
    )


@get("/familles/{family_id:int}/enfants/nouveau", name="staff_child_new", guards=ADMIN)
async def staff_child_new(request: Request, family_id: FromPath[int]) -> Template:
    family = await _family_or_404(family_id)
    form = Form(
        values={
            "nom": family["name"],
            "niveau": "",
            "ecole": "",
            "regime": "standard",
            "actif": True,
        }
    )
    return await _child_page(request, family, form, None)


async def _child_or_404(family_id: int, child_id: int) -> dict:
    child = await Child.select().where((Child.id == child_id) & (Child.family == family_id)).first()
    if child is None:
        raise NotFoundException()
    return child


@get("/familles/{family_id:int}/enfants/{child_id:int}", name="staff_child_edit", guards=ADMIN)
async def staff_child_edit(
    request: Request, family_id: FromPath[int], child_id: FromPath[int]
) -> Template:
    family = await _family_or_404(family_id)
    child = await _child_or_404(family_id, child_id)
    # The form shows the health notes: that is a read, and it is journalled.
    await record(
        request.user,
        "health_notes_read",
        family_id=family_id,
        target=f"enfant {child_id}",
        details={"page": "modification"},
    )
    form = Form(
        values={
            "prenom": child["first_name"],
            "nom": child["last_name"],
            "naissance": child["birth_date"].isoformat(),
            "niveau": child["level"],
            "ecole": str(child["school"] or ""),
            "regime": child["diet"],
            "sante": child["health_notes"],
            "allergie": child["has_allergy"],
            "accompagnement": child["needs_support"],
            "actif": child["active"],
        }
    )
    return await _child_page(request, family, form, child_id)


async def _save_child(request: Request, family_id: int, data: dict, child_id: int | None) -> Any:
    family = await _family_or_404(family_id)
    if child_id is not None:
        await _child_or_404(family_id, child_id)
    _options, school_ids = await _school_options()
    form, values = forms.child_form(data, school_ids, editing=child_id is not None)
    if not form.valid:
        return await _child_page(request, family, form, child_id, status=422)
    await services.save_child(request.user, family_id, values, child_id)
    message = "L’enfant a été ajouté." if child_id is None else "La fiche de l’enfant est à jour."
    return redirect(request, f"/agents/familles/{family_id}", message)


@post(
    "/familles/{family_id:int}/enfants/nouveau",
    name="staff_child_create",
    guards=ADMIN,
    status_code=200,
)
async def staff_child_create(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save_child(request, family_id, data, None)


@post(
    "/familles/{family_id:int}/enfants/{child_id:int}",
    name="staff_child_save",
    guards=ADMIN,
    status_code=200,
)
async def staff_child_save(
    request: Request,
    family_id: FromPath[int],
    child_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
) -> Any:
    return await _save_child(request, family_id, data, child_id)


@get("/familles/{family_id:int}/enfants/{child_id:int}/sante", name="staff_child_health")
async def staff_child_health(
    request: Request, family_id: FromPath[int], child_id: FromPath[int]
) -> Template:
    family = await _family_or_404(family_id)
    child = await _child_or_404(family_id, child_id)
    await record(
        request.user,
        "health_notes_read",
        family_id=family_id,
        target=f"enfant {child_id}",
        details={"page": "santé"},
    )
    return page_or_fragment(
        request,
        page="pages/backoffice/child_health.html",
        fragment="partials/backoffice/child_health.html",
        context={"family": family, "child": child},
    )


def handlers() -> list:
    return [
        staff_families,
        staff_family_new,
        staff_family_create,
        staff_family,
        staff_family_letter,
        staff_family_disable,
        staff_family_close_sessions,
        staff_family_enable,
        staff_family_reset_link,
        staff_child_new,
        staff_child_create,
        staff_child_edit,
        staff_child_save,
        staff_child_health,
    ]
