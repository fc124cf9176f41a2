"""What the bench measures, found the way a browser finds it: in the route table and the pages.

The endpoints of the mix are built by other features; each target names the route it needs and
is reported "absent" while that route does not exist. Request bodies are read from the forms the
pages show (hidden fields, CSRF token), so the bench follows the markup rather than guessing it.
No dependency beyond the standard library and httpx: `make bench` runs without the test extras.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

# (key, label, route names that make it present); families unless said otherwise.
TARGETS = [
    ("healthz", "/healthz (plafond du serveur)", ("healthz",)),
    ("week", "Calendrier de la semaine", ("booking_week",)),
    ("toggle", "Réserver / annuler une case", ("booking_change",)),
    ("semaine_type", "Appliquer une semaine type", ()),
    ("invoices", "Liste des factures", ("family_invoices",)),
    ("pdf", "Facture PDF", ()),
    ("effectifs", "Effectifs d’une école pour un jour (agents)", ("staff_attendance",)),
]
LABELS = {key: label for key, label, _names in TARGETS}
PAGE_TARGETS = ("week", "invoices", "effectifs", "semaine_type_page")
TOGGLE_OPPOSITE = {"reserver": "annuler", "annuler": "reserver"}


@dataclass
class Spec:
    """One request of a target; `alt_body` alternates with `body` (book, then cancel)."""

    method: str
    path: str
    body: str | None = None
    alt_body: str | None = None
    headers: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- HTML


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self.assets: list[str] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": a.get("action", ""),
                "fields": [],
                "selects": {},
                "buttons": [],
            }
            self.forms.append(self._form)
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif (
            tag == "link"
            and a.get("href")
            and ("stylesheet" in a.get("rel", "") or "icon" in a.get("rel", ""))
        ):
            self.assets.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.assets.append(a["src"])
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            self._form["fields"].append(
                (a.get("type", "text").lower(), a["name"], a.get("value", ""), "checked" in a)
            )
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["selects"][self._select] = []
        elif tag == "option" and self._select:
            self._form["selects"][self._select].append((a.get("value", ""), "selected" in a))
        elif tag == "button":
            self._form["buttons"].append((a.get("name", ""), a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def form_values(form: dict, *, all_checkboxes: bool = False) -> list[tuple[str, str]]:
    """What a browser sends for this form by default (first option of each select)."""
    values = []
    for kind, name, value, checked in form["fields"]:
        if kind in ("checkbox", "radio"):
            if checked or (all_checkboxes and kind == "checkbox"):
                values.append((name, value or "on"))
        elif kind not in ("submit", "button", "image", "file"):
            values.append((name, value))
    for name, options in form["selects"].items():
        chosen = [v for v, sel in options if sel] or [v for v, _ in options[:1]]
        values.extend((name, v) for v in chosen[:1])
    # Radios with none checked: the first of each group, as a user would pick one.
    groups = {n for k, n, _v, _c in form["fields"] if k == "radio"}
    for group in groups - {n for n, _ in values}:
        first = next(v for k, n, v, _c in form["fields"] if k == "radio" and n == group)
        values.append((group, first))
    return values


# --------------------------------------------------------------------------- routes


def route_table(app) -> list[dict]:
    rows = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            rows.append(
                {
                    "path": route.path,
                    "name": handler.name or "",
                    "methods": sorted(getattr(handler, "http_methods", []) or []),
                }
            )
    return rows


def find_route(
    routes: list[dict], *, names=(), path_re: str | None = None, method: str | None = None
) -> dict | None:
    for row in routes:
        if method and method not in row["methods"]:
            continue
        if row["name"] in names or (path_re and re.search(path_re, row["path"])):
            return row
    return None


def resolve(routes: list[dict]) -> dict[str, dict | None]:
    """The route each target needs, or None while it is absent."""
    return {
        "healthz": find_route(routes, names=("healthz",)),
        "week": find_route(routes, names=("booking_week",)),
        "toggle": find_route(routes, names=("booking_change",), method="POST"),
        "semaine_type": find_route(
            routes, path_re=r"^/famille/reservations/semaine-type", method="POST"
        )
        or find_route(routes, path_re=r"semaine.?type", method="POST"),
        "invoices": find_route(routes, names=("family_invoices",)),
        "pdf": find_route(routes, path_re=r"^/famille/factures/.*\.pdf$"),
        "effectifs": find_route(routes, names=("staff_attendance",))
        or find_route(routes, path_re=r"^/agents/effectifs$"),
    }


# --------------------------------------------------------------------------- dates


def week_code(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def next_school_weekday(today: dt.date) -> dt.date:
    """The next school day (today included) that is a Monday, Tuesday, Thursday or Friday (the
    days every activity but Wednesday's runs): public holidays and school holidays skipped, by
    the calendar the bench commune was generated with (bench.seed)."""
    from bench.seed import school_days

    days = school_days(today, today + dt.timedelta(days=120))
    return next(
        (d for d in days if d.isoweekday() in (1, 2, 4, 5)),
        today + dt.timedelta(days=(7 - today.weekday()) % 7),
    )


def bench_weeks(today: dt.date) -> list[str]:
    """The weeks families look at: this one and the next three."""
    monday = today - dt.timedelta(days=today.weekday())
    return [week_code(monday + dt.timedelta(weeks=n)) for n in range(4)]


# Weeks ahead where the toggle looks for bookable cells, in this order: three weeks ahead is
# well past the booking deadline (two working days); the following ones stand in when it falls
# in school holidays (1 December: 21 December is Christmas). Weeks 5 and 6 are the semaine
# type's (its cells must not move under the toggle).
TOGGLE_WEEKS_AHEAD = (3, 4, 2, 7, 8, 9, 10, 11, 12)


def toggle_weeks(today: dt.date) -> list[str]:
    monday = today - dt.timedelta(days=today.weekday())
    return [week_code(monday + dt.timedelta(weeks=n)) for n in TOGGLE_WEEKS_AHEAD]


def toggle_week(today: dt.date) -> str:
    """The first week the toggle tries (the others: toggle_weeks)."""
    return toggle_weeks(today)[0]


# --------------------------------------------------------------------------- discovery


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def toggle_specs(html: str, path: str) -> list[Spec]:
    """The booking toggles a week page offers (each cell: book, then cancel, or the reverse)."""
    specs = []
    for form in parse(html).forms:
        if form["method"] != "post" or urlsplit(form["action"]).path != path:
            continue
        values = dict(form_values(form))
        action = values.get("action")
        if action in TOGGLE_OPPOSITE:  # one form per cell, its action in a field
            other = {**values, "action": TOGGLE_OPPOSITE[action]}
            specs.append(
                Spec(
                    "POST",
                    path,
                    urlencode(values),
                    urlencode(other),
                    {"HX-Request": "true"},
                )
            )
        # One form per child, each cell a button posting case=child:activity:day:action.
        for name, value in form["buttons"]:
            cell, _, action = value.rpartition(":")
            if name != "case" or action not in TOGGLE_OPPOSITE:
                continue
            tap = {**values, "case": value}
            other = {**values, "case": f"{cell}:{TOGGLE_OPPOSITE[action]}"}
            specs.append(
                Spec(
                    "POST",
                    path,
                    urlencode(tap),
                    urlencode(other),
                    {"HX-Request": "true"},
                )
            )
    return specs


async def discover_family(client, routes: dict, today: dt.date) -> dict[str, list[Spec]]:
    """The requests one logged-in family makes, per target (empty when absent or not found)."""
    found: dict[str, list[Spec]] = {}
    if routes.get("week"):
        found["week"] = [
            Spec("GET", f"{routes['week']['path']}?semaine={w}") for w in bench_weeks(today)
        ]
    if routes.get("toggle") and routes.get("week"):
        specs = []
        for week in toggle_weeks(today):
            response = await client.get(f"{routes['week']['path']}?semaine={week}")
            specs = toggle_specs(response.text, routes["toggle"]["path"])
            if specs:
                break
        found["toggle"] = specs
    if routes.get("semaine_type"):
        found["semaine_type"] = await _semaine_type(client, routes["semaine_type"]["path"], today)
    if routes.get("invoices"):
        path = routes["invoices"]["path"]
        found["invoices"] = [Spec("GET", path)]
        if routes.get("pdf"):
            response = await client.get(path)
            pdfs = sorted(
                {
                    _local(urljoin(path, href))
                    for href in parse(response.text).links
                    if href.split("?")[0].endswith(".pdf")
                }
            )
            found["pdf"] = [Spec("GET", p) for p in pdfs[:3]]
    return found


async def _semaine_type(client, path: str, today: dt.date) -> list[Spec]:
    """Fill the semaine type form as a parent would (every box ticked, dates as proposed), then
    keep the request that applies it: the confirmation form when there is a preview step."""
    page = await client.get(path)
    forms = [
        f
        for f in parse(page.text).forms
        if f["method"] == "post"
        and urlsplit(urljoin(path, f["action"] or path)).path.startswith(path)
    ]
    if not forms:
        return []
    form = forms[0]
    target = urlsplit(urljoin(path, form["action"] or path)).path
    values = form_values(form, all_checkboxes=True)
    # Weeks still open and apart from the toggle week (its cells must keep their state).
    monday = today - dt.timedelta(days=today.weekday())
    start = monday + dt.timedelta(weeks=5)
    values = [(n, _date_field(n, v, start)) for n, v in values]
    body = urlencode(values)
    response = await client.post(
        target,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    if response.status_code == 200:
        confirm = [f for f in parse(response.text).forms if f["method"] == "post"]
        confirm = [
            f
            for f in confirm
            if any(
                n in ("confirmer", "confirm", "etape", "step") or v in ("confirmer", "appliquer")
                for n, v in f["buttons"] + [(n, v) for _k, n, v, _c in f["fields"]]
            )
        ]
        if confirm:
            form = confirm[0]
            target = urlsplit(urljoin(path, form["action"] or path)).path
            body = urlencode(form_values(form) + [(n, v) for n, v in form["buttons"] if n])
    return [Spec("POST", target, body, None, {"HX-Request": "true"})]


def _date_field(name: str, value: str, start: dt.date) -> str:
    """Moves the proposed date range to `start` (12 days), keeping the field's date format."""
    lowered = name.lower()
    parsed = _parse_date(value)
    if parsed is None:
        return value
    fmt = "%Y-%m-%d" if "-" in value else "%d/%m/%Y"
    if lowered in ("du", "debut", "start", "from", "date_debut"):
        return start.strftime(fmt)
    if lowered in ("au", "fin", "end", "to", "date_fin"):
        return (start + dt.timedelta(days=11)).strftime(fmt)
    return value


def _parse_date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            pass
    return None


async def discover_staff(client, routes: dict, today: dt.date) -> dict[str, list[Spec]]:
    route = routes.get("effectifs")
    if not route:
        return {}
    path = route["path"]
    day = next_school_weekday(today)
    page = await client.get(path)
    specs = []
    for form in parse(page.text).forms:
        if form["method"] != "get":
            continue
        schools = next(
            (
                (n, [v for v, _ in opts if v])
                for n, opts in form["selects"].items()
                if "ecole" in n.lower() or "school" in n.lower()
            ),
            None,
        )
        date_name = next(
            (
                n
                for k, n, _v, _c in form["fields"]
                if k == "date" or n.lower() in ("jour", "date", "day")
            ),
            None,
        )
        if not schools or not date_name:
            continue
        base = dict(form_values(form))
        action = urlsplit(urljoin(path, form["action"] or path)).path
        for school in schools[1][:10]:
            query = {**base, schools[0]: school, date_name: day.isoformat()}
            specs.append(Spec("GET", f"{action}?{urlencode(query)}"))
        break
    return {"effectifs": specs or [Spec("GET", f"{path}?jour={day.isoformat()}")]}


async def asset_paths(client, page_path: str) -> list[str]:
    response = await client.get(page_path)
    return sorted(
        {
            _local(urljoin(page_path, a))
            for a in parse(response.text).assets
            if not a.startswith(("http://", "https://", "data:"))
        }
    )
