"""Exception handlers: French error pages for browsers, a swap of <main> for htmx."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from ecp.db import database_unavailable_cause
from ecp.web.htmx import wants_fragment

log = logging.getLogger("ecp.errors")

# Seconds: a restart or failover is over in a few; the pool reconnects by itself.
DATABASE_RETRY_AFTER = 5

MESSAGES = {
    400: (
        "Requête invalide",
        "La demande n’a pas pu être comprise. Revenez à la page précédente et réessayez.",
    ),
    403: (
        "Accès refusé",
        "Cette demande a été refusée par mesure de sécurité. Revenez à la page précédente, "
        "rechargez-la puis réessayez.",
    ),
    404: (
        "Page introuvable",
        "Cette page n’existe pas ou plus. Vérifiez l’adresse, ou revenez à l’accueil.",
    ),
    405: ("Action impossible", "Cette action n’est pas possible sur cette page."),
    413: (
        "Envoi trop volumineux",
        "Les données envoyées sont trop volumineuses ou comptent trop "
        "de champs. Revenez à la page précédente et réessayez.",
    ),
    429: ("Trop de tentatives", "Vous avez fait trop de tentatives en peu de temps."),
    500: (
        "Erreur technique",
        "Une erreur inattendue s’est produite. Elle a été enregistrée ; "
        "réessayez dans quelques instants. Si elle persiste, contactez le service.",
    ),
    503: (
        "Service momentanément indisponible",
        "Le portail est momentanément indisponible. Réessayez dans quelques instants.",
    ),
}


# Litestar's refusal of a form without its token (or with a stale one).
CSRF_DETAIL = "CSRF token verification failed"
CSRF_MESSAGE = (
    "Accès refusé",
    "Le formulaire a expiré (ou la page a été ouverte dans un autre onglet ou avant une "
    "nouvelle connexion). Rechargez la page puis réessayez : rien n’a été enregistré.",
)


class SendElsewhere(HTTPException):
    """Raised by a guard to send the person to another page first (a provisional password
    to change): a 303 to `to`, or for htmx an HX-Redirect (the whole page changes)."""

    status_code = 303

    def __init__(self, to: str) -> None:
        super().__init__(detail="Redirection")
        self.to = to


def _forbidden(exc: HTTPException) -> tuple[str, str]:
    """What a 403 says: the form expired, the page needs a role the account lacks, or else
    a request refused for safety (cross-site)."""
    if exc.detail == CSRF_DETAIL:
        return CSRF_MESSAGE
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    needed = extra.get("roles_needed")
    if needed:
        roles = " ou ".join(f"« {r} »" for r in needed)
        return (
            "Accès réservé",
            f"Cette page est réservée aux comptes de rôle {roles}. Votre compte a le rôle "
            f"« {extra.get('role', '')} » : si vous en avez besoin, demandez à un "
            "administrateur de changer votre rôle.",
        )
    return MESSAGES[403]


def _route(request: Request) -> str:
    """The route template, never the raw path: it may carry a reset or calendar token."""
    return request.scope.get("path_template") or "non_routee"


def _actor(request: Request) -> str | None:
    from ecp.web.logs import actor

    return actor(request.scope)


def _local(url: str, request: Request) -> str | None:
    """The path and query of an address of this site (a Referer, htmx's current URL)."""
    parts = urlsplit(url)
    if parts.netloc != request.url.netloc or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login_path(request: Request) -> str:
    """The login page, told where to come back to: the page asked for, with its query (the
    week shown, the month...); for a form post, the page that sent the form (it is not
    replayed: `perdu` names its route, for the login page to say what was not saved)."""
    path = request.url.path
    staff_home = request.app.route_reverse("staff_home")
    staff_side = path.startswith(staff_home)
    base = request.app.route_reverse("staff_login_page" if staff_side else "family_login_page")
    query = ""
    if request.method in ("GET", "HEAD"):
        back = path + (f"?{request.url.query}" if request.url.query else "")
    else:
        sent_from = request.headers.get("hx-current-url") or request.headers.get("referer") or ""
        back = _local(sent_from, request) or (
            staff_home if staff_side else request.app.route_reverse("family_home")
        )
        handler = request.scope.get("route_handler")
        query = f"&perdu={quote(getattr(handler, 'name', None) or 'formulaire', safe='')}"
    return f"{base}?next={quote(back, safe='/')}{query}"


def error_page(
    request: Request,
    status: int,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
    text: tuple[str, str] | None = None,
) -> Response:
    title, message = text or MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    context = {"status": status, "title": title, "message": message, "retry_after": retry_after}
    headers = dict(headers or {})
    if wants_fragment(request):
        # htmx 2 swaps error responses only when told where (responseHandling in base.html).
        headers.update({"HX-Retarget": "#main", "HX-Reswap": "outerHTML"})
        return Template(
            "partials/error_main.html",
            context=context,
            status_code=status,
            headers=headers,
            media_type="text/html",
        )
    return Template(
        "pages/error.html",
        context=context,
        status_code=status,
        headers=headers,
        media_type="text/html",
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, SendElsewhere):
        if wants_fragment(request):
            return ClientRedirect(redirect_to=exc.to)
        return Redirect(path=exc.to, status_code=303)
    if isinstance(exc, NotAuthorizedException) or status == 401:
        target = _login_path(request)
        if wants_fragment(request):
            return ClientRedirect(redirect_to=target)
        return Redirect(path=target, status_code=303)
    headers = dict(exc.headers or {})
    retry_after = None
    if status == 429:
        reset = headers.get("RateLimit-Reset")
        retry_after = int(reset) if reset and reset.isascii() and reset.isdigit() else 60
        headers["Retry-After"] = str(retry_after)
        log.info("rate limit reached", extra={"route": _route(request), "actor": _actor(request)})
    if status == 413:
        log.info("request too large", extra={"route": _route(request), "reason": exc.detail})
    text = None
    if status == 403:
        log.info(
            "forbidden",
            extra={"route": _route(request), "reason": exc.detail, "actor": _actor(request)},
        )
        text = _forbidden(exc)
    return error_page(request, status, headers=headers, retry_after=retry_after, text=text)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    cause = database_unavailable_cause(exc)
    if cause is not None:
        # Expected during a restart or failover and the same for every request meanwhile: one
        # warning line each, without the traceback that would bury a real bug's.
        log.warning(
            "database unavailable", extra={"route": _route(request), "error": type(cause).__name__}
        )
        return error_page(
            request,
            503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
            retry_after=DATABASE_RETRY_AFTER,
        )
    log.exception("unhandled error", extra={"route": _route(request)})
    return error_page(request, 500)
