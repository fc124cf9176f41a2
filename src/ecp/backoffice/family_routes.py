"""Staff > Familles: search, family record, creation (once, duplicates looked for first) with a
welcome letter shown once, a new password behind a confirmation, children, disable/enable,
closing the family's open sessions, reset link (the record's responsables, contacts, quotient
familial and notes are in family_record_routes). Reading is for every agent;
changing accounts is the administrator's (docs/product.md roles).

The handlers parse and answer; the reads are in backoffice.queries, the actions (and the reads
the journal records) in backoffice.services."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from litestar import Request, get, post
from litestar.exceptions import NoRouteMatchFoundException, NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp.auth.guards import requires_role
from ecp.auth.scope import school_scope
from ecp.backoffice import forms, letters, queries, services
from ecp.backoffice.forms import ChildForm, ConfirmForm, FamilyForm
from ecp.errors import Rejected
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment

ADMIN = [requires_role("administrateur")]
T = TypeVar("T")


def _found(value: T | None) -> T:
    """A read's result, or the 404 page when the address names nothing."""
    if value is None:
        raise NotFoundException()
    return value


async def _or_404(action: Awaitable[T]) -> T:
    """A service's result, or the 404 page when it says the address names nothing."""
    try:
        return await action
    except services.NotFound as error:
        raise NotFoundException() from error


def _record_path(request: Request, family_id: int) -> str:
    return request.app.route_reverse("staff_family", family_id=family_id)


def _bookings_page_exists(request: Request) -> bool:
    """The family's booking page belongs to another feature: linked only once it exists."""
    try:
        request.app.route_reverse("staff_family_week", family_id=0)
    except NoRouteMatchFoundException:
        return False
    return True


@get("/familles", name="staff_families")
async def staff_families(request: Request, q: FromQuery[str | None] = None) -> Template:
    q = (q or "").strip()[:100]
    return page_or_fragment(
        request,
        page="pages/backoffice/families.html",
        fragment="partials/backoffice/family_results.html",
        context={
            "q": q,
            "results": await queries.search_families(
                q, schools=(await school_scope(request.user)).ids
            ),
            "oob": wants_fragment(request),
            "max_results": queries.MAX_RESULTS,
        },
    )


@get("/familles/{family_id:int}", name="staff_family")
async def staff_family(request: Request, family_id: FromPath[int]) -> Template:
    data = _found(
        await services.open_family_record(request.user, request.app.state.settings, family_id)
    )
    return page_or_fragment(
        request,
        page="pages/backoffice/family.html",
        fragment="partials/backoffice/family_record.html",
        context={**data, "bookings_page": _bookings_page_exists(request)},
    )


# ---------------------------------------------------------------- creation and letter


def _new_family_page(
    request: Request, form: FamilyForm, status: int = 200, duplicates: list | None = None
) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/family_new.html",
        fragment="partials/backoffice/family_form.html",
        context={
            "form": form,
            "civilities": forms.CIVILITIES,
            "payers": forms.PAYERS,
            "emails": forms.EMAILS,
            "qf_sources": [("", "non précisé"), *forms.QF_SOURCES],
            "duplicates": duplicates or [],
        },
        status_code=status,
    )


@get("/familles/nouvelle", name="staff_family_new", guards=ADMIN)
async def staff_family_new(request: Request) -> Template:
    form = FamilyForm.initial(
        civilite="Mme", r2_civilite="M.", payeur="1", courriels="1", jeton=services.creation_key()
    )
    return _new_family_page(request, form)


def _letter_path(request: Request, family_id: int) -> str:
    return request.app.route_reverse("staff_family_letter_page", family_id=family_id)


@post("/familles/nouvelle", name="staff_family_create", guards=ADMIN, status_code=200)
async def staff_family_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = FamilyForm.bind(data)
    if not form.valid:
        return _new_family_page(request, form, status=422)
    try:
        letter = await services.create_family(
            request.user, passwords=request.app.state.passwords, **form.family()
        )
    except services.LikelyDuplicates as found:
        # Not saved: the agent looks at the families found, then confirms or goes back.
        return _new_family_page(request, form, duplicates=found.families)
    # Post/redirect/get: the password travels once, sealed, to the letter page; a reload of
    # that page, or this form posted again, creates nothing and issues no password.
    response = redirect(request, _letter_path(request, letter.family["id"]))
    if letter.password:
        letters.hand_over(request, response, letter.family["id"], letter.password)
    return response


@get("/familles/{family_id:int}/lettre", name="staff_family_letter_page", guards=ADMIN)
async def staff_family_letter_page(request: Request, family_id: FromPath[int]) -> Template:
    """The welcome letter with its password, once; afterwards, that it was already shown."""
    data = _found(await queries.letter_page(family_id))
    password = letters.take(request, family_id)
    settings = request.app.state.settings
    response = page_or_fragment(
        request,
        page="pages/backoffice/welcome_letter.html",
        fragment="partials/backoffice/family_letter.html",
        context={
            **data,
            "password": password,
            "login_url": settings.base_url.rstrip("/") + request.app.route_reverse("home"),
        },
        # Never from the cache: the back button or a reload must not show the password again.
        headers={"Cache-Control": "no-store"},
    )
    if password:
        letters.forget(request, response, family_id)
    return response


def _confirm_page(request: Request, family: dict, form: ConfirmForm, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/backoffice/letter_confirm.html",
        fragment="partials/backoffice/family_letter_confirm.html",
        context={"family": family, "form": form},
        status_code=status,
    )


@get(
    "/familles/{family_id:int}/nouvelle-lettre",
    name="staff_family_letter_confirm",
    guards=ADMIN,
)
async def staff_family_letter_confirm(request: Request, family_id: FromPath[int]) -> Template:
    family = _found(await queries.family(family_id))
    return _confirm_page(request, family, ConfirmForm())


@post(
    "/familles/{family_id:int}/nouvelle-lettre",
    name="staff_family_letter",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_letter(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = ConfirmForm.bind(data)
    if not form.valid:
        family = _found(await queries.family(family_id))
        return _confirm_page(request, family, form, status=422)
    letter = await _or_404(
        services.new_letter(request.user, family_id, request.app.state.passwords)
    )
    response = redirect(request, _letter_path(request, family_id))
    letters.hand_over(request, response, family_id, letter.password)
    return response


# ---------------------------------------------------------------- account actions


@post(
    "/familles/{family_id:int}/desactiver",
    name="staff_family_disable",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_disable(request: Request, family_id: FromPath[int]) -> Any:
    await _or_404(services.set_active(request.user, family_id, False))
    return redirect(
        request,
        _record_path(request, family_id),
        "Le compte est désactivé et ses connexions sont fermées.",
    )


def _sessions_closed_message(closed: int) -> str:
    if closed == 0:
        return "Aucune session n’était ouverte : rien n’a été fermé."
    if closed == 1:
        return "1 session ouverte a été fermée : la famille devra se reconnecter."
    return f"{closed} sessions ouvertes ont été fermées : la famille devra se reconnecter."


@post(
    "/familles/{family_id:int}/fermer-sessions",
    name="staff_family_close_sessions",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_close_sessions(request: Request, family_id: FromPath[int]) -> Any:
    """Logs the family out on every device; unlike disabling, it may log in again at once."""
    closed = await _or_404(
        services.close_family_sessions(request.user, request.app.state.settings, family_id)
    )
    return redirect(request, _record_path(request, family_id), _sessions_closed_message(closed))


@post(
    "/familles/{family_id:int}/reactiver", name="staff_family_enable", guards=ADMIN, status_code=200
)
async def staff_family_enable(request: Request, family_id: FromPath[int]) -> Any:
    await _or_404(services.set_active(request.user, family_id, True))
    return redirect(request, _record_path(request, family_id), "Le compte est réactivé.")


@post(
    "/familles/{family_id:int}/lien-mot-de-passe",
    name="staff_family_reset_link",
    guards=ADMIN,
    status_code=200,
)
async def staff_family_reset_link(request: Request, family_id: FromPath[int]) -> Any:
    try:
        await services.send_reset_link(request.user, request.app.state.settings, family_id)
    except services.NotFound as error:
        raise NotFoundException() from error
    except Rejected as error:
        return redirect(request, _record_path(request, family_id), error.message, kind="error")
    return redirect(
        request,
        _record_path(request, family_id),
        "Un lien pour choisir un nouveau mot de passe a été envoyé à la famille.",
    )


# ---------------------------------------------------------------- children


def _child_page(
    request: Request, page: queries.ChildPage, form: ChildForm, status: int = 200
) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/child.html",
        fragment="partials/backoffice/child_form.html",
        context={
            "family": page.family,
            "form": form,
            "child_id": page.child["id"] if page.child else None,
            "schools": page.schools,
            "levels": page.levels,
            "classes": page.classes,
            "diets": forms.DIETS,
        },
        status_code=status,
    )


@get("/familles/{family_id:int}/enfants/nouveau", name="staff_child_new", guards=ADMIN)
async def staff_child_new(request: Request, family_id: FromPath[int]) -> Template:
    page = _found(await queries.child_page(family_id))
    return _child_page(request, page, ChildForm.new(page.family["name"]))


@get("/familles/{family_id:int}/enfants/{child_id:int}", name="staff_child_edit", guards=ADMIN)
async def staff_child_edit(
    request: Request, family_id: FromPath[int], child_id: FromPath[int]
) -> Template:
    # The form shows the health notes: opening it is a read, and it is journalled.
    page = _found(await services.open_child_form(request.user, family_id, child_id))
    return _child_page(request, page, ChildForm.of_child(page.child))


async def _save_child(request: Request, family_id: int, data: dict, child_id: int | None) -> Any:
    page = _found(await queries.child_page(family_id, child_id))
    form = ChildForm.bind(
        data, school_ids=page.school_ids, class_ids=page.class_ids, editing=child_id is not None
    )
    if not form.valid:
        return _child_page(request, page, form, status=422)
    try:
        await _or_404(services.save_child(request.user, family_id, form.child(), child_id))
    except Rejected as error:
        form.reject(error)
        return _child_page(request, page, form, status=422)
    message = "L’enfant a été ajouté." if child_id is None else "La fiche de l’enfant est à jour."
    return redirect(request, _record_path(request, family_id), message)


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
    family, child = _found(await services.read_health_notes(request.user, family_id, child_id))
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
        staff_family_letter_page,
        staff_family_letter_confirm,
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
