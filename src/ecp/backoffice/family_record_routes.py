"""Staff > Familles > a family's record, changed by an administrator: the family's name,
out-of-town flag and notes; its one or two responsables légaux (who pays, who gets the
e-mails); the people to call in an emergency or allowed to collect the children; its quotient
familial from a day on. Every change is journalled with its before and after values (the
services); each form is a page, an htmx fragment, and a no-JavaScript post that redirects back
to the record."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp.auth.guards import requires_role
from ecp.backoffice import forms, queries, services
from ecp.backoffice.forms import FamilyContactForm, FamilyDetailsForm, GuardianForm, QuotientForm
from ecp.errors import Rejected
from ecp.web.htmx import page_or_fragment, redirect

ADMIN = [requires_role("administrateur")]
T = TypeVar("T")


def _found(value: T | None) -> T:
    if value is None:
        raise NotFoundException()
    return value


async def _or_404(action: Awaitable[T]) -> T:
    try:
        return await action
    except services.NotFound as error:
        raise NotFoundException() from error


def _back(request: Request, family_id: int, message: str, kind: str = "success") -> Any:
    path = request.app.route_reverse("staff_family", family_id=family_id)
    return redirect(request, path, message, kind)


# ---------------------------------------------------------------- the family's details


def _details_page(request: Request, family: dict, form: FamilyDetailsForm, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/backoffice/family_details.html",
        fragment="partials/backoffice/family_details_form.html",
        context={"family": family, "form": form},
        status_code=status,
    )


@get("/familles/{family_id:int}/modifier", name="staff_family_edit", guards=ADMIN)
async def staff_family_edit(request: Request, family_id: FromPath[int]) -> Template:
    family = _found(await queries.family(family_id))
    return _details_page(request, family, FamilyDetailsForm.of_family(family))


@post("/familles/{family_id:int}/modifier", name="staff_family_save", guards=ADMIN, status_code=200)
async def staff_family_save(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = FamilyDetailsForm.bind(data)
    if not form.valid:
        family = _found(await queries.family(family_id))
        return _details_page(request, family, form, status=422)
    changes = await _or_404(services.update_family(request.user, family_id, form.details()))
    return _back(
        request, family_id, "La fiche de la famille est à jour." if changes else "Rien n’a changé."
    )


# ---------------------------------------------------------------- responsables légaux


def _guardian_page(request: Request, page: dict, form: GuardianForm, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/backoffice/guardian.html",
        fragment="partials/backoffice/family_guardian_form.html",
        context={**page, "form": form, "civilities": forms.CIVILITIES},
        status_code=status,
    )


@get("/familles/{family_id:int}/responsables/nouveau", name="staff_guardian_new", guards=ADMIN)
async def staff_guardian_new(request: Request, family_id: FromPath[int]) -> Template:
    page = _found(await queries.guardian_page(family_id))
    first = page["guardians"][0] if page["guardians"] else {}
    # The second responsable often lives at the same address: it is offered, not imposed.
    form = GuardianForm.initial(
        civilite="",
        nom=page["family"]["name"],
        courriels=False,
        **{k: first.get(k, "") for k in ("address_line1", "address_line2", "postcode", "city")},
    )
    return _guardian_page(request, page, form)


@get(
    "/familles/{family_id:int}/responsables/{guardian_id:int}",
    name="staff_guardian_edit",
    guards=ADMIN,
)
async def staff_guardian_edit(
    request: Request, family_id: FromPath[int], guardian_id: FromPath[int]
) -> Template:
    page = _found(await queries.guardian_page(family_id, guardian_id))
    return _guardian_page(request, page, GuardianForm.of_guardian(page["guardian"]))


async def _save_guardian(
    request: Request, family_id: int, data: dict, guardian_id: int | None
) -> Any:
    page = _found(await queries.guardian_page(family_id, guardian_id))
    form = GuardianForm.bind(data, current=page["guardian"])
    if form.valid:
        try:
            await _or_404(
                services.save_guardian(request.user, family_id, form.guardian(), guardian_id)
            )
        except Rejected as error:
            form.reject(error)
    if not form.valid:
        return _guardian_page(request, page, form, status=422)
    message = (
        "Le second responsable légal a été ajouté."
        if guardian_id is None
        else "Le responsable légal est à jour."
    )
    return _back(request, family_id, message)


@post(
    "/familles/{family_id:int}/responsables/nouveau",
    name="staff_guardian_create",
    guards=ADMIN,
    status_code=200,
)
async def staff_guardian_create(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save_guardian(request, family_id, data, None)


@post(
    "/familles/{family_id:int}/responsables/{guardian_id:int}",
    name="staff_guardian_save",
    guards=ADMIN,
    status_code=200,
)
async def staff_guardian_save(
    request: Request,
    family_id: FromPath[int],
    guardian_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
) -> Any:
    return await _save_guardian(request, family_id, data, guardian_id)


@post(
    "/familles/{family_id:int}/responsables/{guardian_id:int}/retirer",
    name="staff_guardian_remove",
    guards=ADMIN,
    status_code=200,
)
async def staff_guardian_remove(
    request: Request, family_id: FromPath[int], guardian_id: FromPath[int]
) -> Any:
    try:
        name = await _or_404(services.remove_guardian(request.user, family_id, guardian_id))
    except Rejected as error:
        return _back(request, family_id, error.message, kind="error")
    return _back(request, family_id, f"{name} n’est plus responsable légal de la famille.")


# ---------------------------------------------------------------- contacts


def _contact_page(
    request: Request,
    family: dict,
    form: FamilyContactForm,
    contact_id: int | None,
    status: int = 200,
):
    return page_or_fragment(
        request,
        page="pages/backoffice/family_contact.html",
        fragment="partials/backoffice/family_contact_form.html",
        context={"family": family, "form": form, "contact_id": contact_id},
        status_code=status,
    )


@get("/familles/{family_id:int}/contacts/nouveau", name="staff_contact_new", guards=ADMIN)
async def staff_contact_new(request: Request, family_id: FromPath[int]) -> Template:
    family = _found(await queries.family(family_id))
    return _contact_page(request, family, FamilyContactForm.initial(urgence=True), None)


@get("/familles/{family_id:int}/contacts/{contact_id:int}", name="staff_contact_edit", guards=ADMIN)
async def staff_contact_edit(
    request: Request, family_id: FromPath[int], contact_id: FromPath[int]
) -> Template:
    family = _found(await queries.family(family_id))
    row = _found(await queries.family_contact(family_id, contact_id))
    return _contact_page(request, family, FamilyContactForm.of_contact(row), contact_id)


async def _save_contact(request: Request, family_id: int, data: dict, contact_id: int | None):
    family = _found(await queries.family(family_id))
    form = FamilyContactForm.bind(data)
    if not form.valid:
        return _contact_page(request, family, form, contact_id, status=422)
    await _or_404(services.save_contact(request.user, family_id, form.contact(), contact_id))
    name = f"{form.cleaned['prenom']} {form.cleaned['nom']}"
    message = f"{name} a été ajouté(e) aux contacts." if contact_id is None else f"{name} : à jour."
    return _back(request, family_id, message)


@post(
    "/familles/{family_id:int}/contacts/nouveau",
    name="staff_contact_create",
    guards=ADMIN,
    status_code=200,
)
async def staff_contact_create(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save_contact(request, family_id, data, None)


@post(
    "/familles/{family_id:int}/contacts/{contact_id:int}",
    name="staff_contact_save",
    guards=ADMIN,
    status_code=200,
)
async def staff_contact_save(
    request: Request,
    family_id: FromPath[int],
    contact_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
) -> Any:
    return await _save_contact(request, family_id, data, contact_id)


@post(
    "/familles/{family_id:int}/contacts/{contact_id:int}/retirer",
    name="staff_contact_remove",
    guards=ADMIN,
    status_code=200,
)
async def staff_contact_remove(
    request: Request, family_id: FromPath[int], contact_id: FromPath[int]
) -> Any:
    name = await _or_404(services.remove_contact(request.user, family_id, contact_id))
    return _back(request, family_id, f"{name} a été retiré(e) des contacts.")


# ---------------------------------------------------------------- quotient familial


def _quotient_page(request: Request, data: dict, form: QuotientForm, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/backoffice/quotient.html",
        fragment="partials/backoffice/family_quotient_form.html",
        context={**data, "form": form, "qf_sources": [("", "choisir"), *forms.QF_SOURCES]},
        status_code=status,
    )


@get("/familles/{family_id:int}/quotient", name="staff_quotient_new", guards=ADMIN)
async def staff_quotient_new(request: Request, family_id: FromPath[int]) -> Template:
    data = _found(await queries.quotient_page(family_id))
    return _quotient_page(request, data, QuotientForm.initial(source=""))


@post(
    "/familles/{family_id:int}/quotient",
    name="staff_quotient_create",
    guards=ADMIN,
    status_code=200,
)
async def staff_quotient_create(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = QuotientForm.bind(data)
    if not form.valid:
        page = _found(await queries.quotient_page(family_id))
        return _quotient_page(request, page, form, status=422)
    values = form.quotient()
    await _or_404(services.record_quotient(request.user, family_id, **values))
    return _back(
        request,
        family_id,
        f"Quotient familial {values['value']} enregistré à partir du "
        f"{values['effective_from'].strftime('%d/%m/%Y')}.",
    )


@post(
    "/familles/{family_id:int}/quotient/{quotient_id:int}/supprimer",
    name="staff_quotient_remove",
    guards=ADMIN,
    status_code=200,
)
async def staff_quotient_remove(
    request: Request, family_id: FromPath[int], quotient_id: FromPath[int]
) -> Any:
    row = await _or_404(services.remove_quotient(request.user, family_id, quotient_id))
    return _back(
        request,
        family_id,
        f"Le quotient familial du {row['effective_from'].strftime('%d/%m/%Y')} a été supprimé.",
    )


def handlers() -> list:
    return [
        staff_family_edit,
        staff_family_save,
        staff_guardian_new,
        staff_guardian_create,
        staff_guardian_edit,
        staff_guardian_save,
        staff_guardian_remove,
        staff_contact_new,
        staff_contact_create,
        staff_contact_edit,
        staff_contact_save,
        staff_contact_remove,
        staff_quotient_new,
        staff_quotient_create,
        staff_quotient_remove,
    ]
