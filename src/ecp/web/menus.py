"""The main menu of each side, by role: a link appears when the person may open its page.

Each item names its route (reversed with url_for in partials/nav.html) and the least role that
the route's guard accepts, so the menu and the guards say the same thing in two places that a
test compares (tests/web/test_menus.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MenuItem:
    route: str
    label: str
    role: str | None = None  # staff only: the least role that may open the page
    home: bool = False  # the side's home: "current" only on itself, not on every page under it


FAMILY_MENU = (
    MenuItem("family_home", "Accueil", home=True),
    MenuItem("booking_week", "Réservations"),
    MenuItem("family_inscriptions", "Inscriptions"),
    MenuItem("family_invoices", "Factures"),
    MenuItem("family_payments", "Paiements"),
    MenuItem("family_contact", "Mes coordonnées"),
)

STAFF_MENU = (
    MenuItem("staff_home", "Tableau de bord", "agent", home=True),
    MenuItem("staff_families", "Familles", "agent"),
    MenuItem("staff_inscriptions", "Inscriptions", "agent"),
    MenuItem("staff_attendance", "Effectifs et pointage", "agent"),
    MenuItem("staff_billing", "Facturation", "regisseur"),
    MenuItem("staff_anomalies", "Anomalies", "regisseur"),
    MenuItem("staff_payments", "Paiements", "regisseur"),
    MenuItem("staff_pes", "Trésor public", "regisseur"),
    MenuItem("staff_requests", "Demandes", "agent"),
    MenuItem("staff_messages", "Messages", "agent"),
    MenuItem("staff_outbox", "Courriels", "agent"),
    MenuItem("staff_settings", "Paramètres", "administrateur"),
    MenuItem("staff_journal", "Journal", "administrateur"),
    MenuItem("staff_my_account", "Mon compte", "agent"),
)


def menu_for(user: Any) -> tuple[MenuItem, ...]:
    """`user` is the request's ecp.auth Principal (or None before login)."""
    return _menu(user)


def _menu(user: Any) -> tuple[MenuItem, ...]:
    if user is None or getattr(user, "must_change_password", False):
        # A provisional password opens no page but the one to choose a new one.
        return ()
    if user.is_family:
        return FAMILY_MENU
    if user.is_staff:
        return tuple(item for item in STAFF_MENU if user.has_role(item.role or "agent"))
    return ()


@dataclass(frozen=True)
class MenuLink:
    label: str
    href: str
    current: bool


def _href(app: Any, route: str) -> str:
    """A menu route's path, reversed once per app (a menu has no parameters; Litestar rebuilds
    the path on every route_reverse, and every page shows the menu)."""
    hrefs = app.state.get("menu_hrefs")
    if hrefs is None:
        hrefs = app.state["menu_hrefs"] = {}
    href = hrefs.get(route)
    if href is None:
        href = hrefs[route] = app.route_reverse(route)
    return href


def menu_links(request: Any) -> list[MenuLink]:
    """The request's menu as links; the current one is the longest address the page sits under
    (Anomalies lives under Facturation: only Anomalies is current there), a side's home only on
    itself."""
    items = menu_for(request.scope.get("user"))
    here = request.url.path.rstrip("/") or "/"
    links = [(item, _href(request.app, item.route)) for item in items]
    under = [
        href
        for item, href in links
        if here == href or (not item.home and here.startswith(href + "/"))
    ]
    current = max(under, key=len, default=None)
    return [MenuLink(item.label, href, href == current) for item, href in links]
