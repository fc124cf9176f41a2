"""Read models of the staff side; each function costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp import clock
from ecp.accounts import contact
from ecp.accounts.services import describe, load_json
from ecp.audit import services as audit
from ecp.auth.tables import AuthSession, StaffUser
from ecp.booking.inscriptions import STATUS_LABELS as INSCRIPTION_STATUS_LABELS
from ecp.booking.tables import Booking, Inscription
from ecp.commune.tables import School, SchoolClass
from ecp.errors import Rejected
from ecp.families import search
from ecp.families.queries import families_of_schools
from ecp.families.tables import (
    LEVELS,
    Child,
    ContactChangeRequest,
    Family,
    FamilyContact,
    Guardian,
    QuotientHistory,
)
from ecp.invoices.status import LABELS as INVOICE_LABELS
from ecp.invoices.status import invoice_status
from ecp.invoices.tables import Invoice
from ecp.payments.allocation import METHODS
from ecp.payments.tables import Payment
from ecp.web.templating import date_heure

INSCRIPTION_LABELS = INSCRIPTION_STATUS_LABELS
BOOKING_LABELS = {
    "reservee": "réservé",
    "annulee": "annulé",
    "malade": "absence signalée",
    "fermee": "fermé (fermeture du service)",
}
DECISION_LABELS = {
    "appliquee": "appliquée",
    "partielle": "appliquée en partie",
    "refusee": "refusée",
}
MAX_RESULTS = search.MAX_RESULTS
JOURNAL_PAGE = 50


async def dashboard_figures() -> dict[str, int]:
    """The dashboard's counts; the whole read model is ecp.backoffice.dashboard_queries."""
    from ecp.backoffice.dashboard_queries import dashboard_figures as figures

    return await figures()


async def family(family_id: int) -> dict | None:
    return (
        await Family.select(
            Family.id,
            Family.code,
            Family.name,
            Family.email,
            Family.quotient_familial,
            Family.out_of_town,
            Family.paperless,
            Family.reminders,
            Family.active,
            Family.last_login_at,
            Family.created_at,
            Family.anonymised_at,
            Family.locked_until,
            Family.notes,
            Family.letter_issued_at,
        )
        .where(Family.id == family_id)
        .first()
    )


async def family_by_creation_key(key: str) -> dict | None:
    """The family a creation form made, by the form's one-time key."""
    row = await Family.select(Family.id).where(Family.creation_key == key).first()
    return await family(row["id"]) if row else None


async def children(family_id: int) -> list[dict]:
    """Everything but the health notes, which are shown only on request (and journalled)."""
    return (
        await Child.select(
            Child.id,
            Child.first_name,
            Child.last_name,
            Child.birth_date,
            Child.level,
            Child.has_allergy,
            Child.needs_support,
            Child.diet,
            Child.active,
            Child.school.name.as_alias("school_name"),
            Child.school_class.name.as_alias("class_name"),
        )
        .where(Child.family == family_id)
        .order_by(Child.birth_date)
    )


async def family_record(family_id: int) -> dict | None:
    row = await family(family_id)
    if row is None:
        return None
    today = clock.today()
    kids = await children(family_id)
    child_ids = [c["id"] for c in kids] or [-1]
    inscriptions = (
        await Inscription.select(
            Inscription.id,
            Inscription.status,
            Inscription.requested_at,
            Inscription.child.first_name.as_alias("child_name"),
            Inscription.activity.label.as_alias("activity_label"),
            Inscription.school_year.label.as_alias("year_label"),
        )
        .where(Inscription.child.is_in(child_ids))
        .order_by(Inscription.id, ascending=False)
        .limit(60)
    )
    for i in inscriptions:
        i["status_label"] = INSCRIPTION_LABELS.get(i["status"], i["status"])
    bookings = (
        await Booking.select(
            Booking.id,
            Booking.day,
            Booking.state,
            Booking.child.first_name.as_alias("child_name"),
            Booking.activity.short_label.as_alias("activity_label"),
        )
        .where(
            (Booking.child.is_in(child_ids))
            & (Booking.day >= today)
            & (Booking.day <= today + dt.timedelta(days=21))
        )
        .order_by(Booking.day)
        .limit(100)
    )
    for b in bookings:
        b["state_label"] = BOOKING_LABELS.get(b["state"], b["state"])
    invoices = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.kind,
            Invoice.month,
            Invoice.due_on,
            Invoice.total_cents,
            Invoice.paid_cents,
        )
        .where(Invoice.family == family_id)
        .order_by(Invoice.month, ascending=False)
        .limit(24)
    )
    for inv in invoices:
        code = invoice_status(
            inv["total_cents"], inv["paid_cents"], inv["due_on"], today, inv["kind"]
        )
        inv["status_label"] = INVOICE_LABELS[code]
    payments = (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
        )
        .where(Payment.family == family_id)
        .order_by(Payment.received_at, ascending=False)
        .limit(24)
    )
    for p in payments:
        p["method_label"] = METHODS.get(p["method"], p["method"])
    requests = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.changes,
            ContactChangeRequest.status,
            ContactChangeRequest.submitted_at,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.guardian.first_name.as_alias("guardian_first_name"),
            ContactChangeRequest.guardian.last_name.as_alias("guardian_last_name"),
        )
        .where(ContactChangeRequest.family == family_id)
        .order_by(ContactChangeRequest.submitted_at, ascending=False)
        .limit(20)
    )
    guardians = await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
    quotients = await quotient_history(family_id)
    history = await audit.entries(family_id=family_id, limit=30)
    return {
        "family": row,
        "guardians": mark_payer(guardians),
        "contacts": await family_contacts(family_id),
        "quotients": quotients,
        "quotient_today": quotient_in_force(quotients, row, today),
        "children": kids,
        "inscriptions": inscriptions,
        "bookings": bookings,
        "invoices": invoices,
        "payments": payments,
        "requests": [describe(r) for r in requests],
        "history": audit.render(history, await audit.names_for(history)),
    }


def mark_payer(guardians: list[dict]) -> list[dict]:
    """Sets `pays` on the responsable who pays: the one marked so, or else the first."""
    payer = next((g for g in guardians if g["is_payer"]), guardians[0] if guardians else None)
    for g in guardians:
        g["pays"] = g is payer
    return guardians


async def family_contacts(family_id: int) -> list[dict]:
    return (
        await FamilyContact.select()
        .where(FamilyContact.family == family_id)
        .order_by(FamilyContact.last_name)
        .order_by(FamilyContact.first_name)
    )


async def family_contact(family_id: int, contact_id: int) -> dict | None:
    """A contact of this family (None for another family's)."""
    return (
        await FamilyContact.select()
        .where((FamilyContact.id == contact_id) & (FamilyContact.family == family_id))
        .first()
    )


QF_SOURCE_LABELS = {
    "caf": "attestation CAF",
    "msa": "attestation MSA",
    "avis_imposition": "avis d’imposition",
    "attestation": "autre attestation",
    "autre": "autre",
    "fiche": "repris de la fiche famille",
    "": "non précisé",
}


async def quotient_history(family_id: int) -> list[dict]:
    """The family's quotients familiaux, the latest first, with who recorded each."""
    rows = (
        await QuotientHistory.select(
            QuotientHistory.id,
            QuotientHistory.value,
            QuotientHistory.effective_from,
            QuotientHistory.source,
            QuotientHistory.recorded_at,
            QuotientHistory.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where(QuotientHistory.family == family_id)
        .order_by(QuotientHistory.effective_from, ascending=False)
    )
    for r in rows:
        r["source_label"] = QF_SOURCE_LABELS.get(r["source"], r["source"])
    return rows


def quotient_in_force(quotients: list[dict], family: dict, day: dt.date) -> dict | None:
    """{value, effective_from, source_label} in force on `day` (the rule of
    ecp.families.queries.quotient_on, on rows already read); None when there is none."""
    if not quotients:
        if family["quotient_familial"] is None:
            return None
        return {"value": family["quotient_familial"], "effective_from": None, "source_label": ""}
    return next((q for q in quotients if q["effective_from"] <= day), None)


async def guardian_page(family_id: int, guardian_id: int | None = None) -> dict | None:
    """The family, its responsables, and the one being edited; None when the family does not
    exist or the responsable is not one of its own."""
    row = await family(family_id)
    if row is None:
        return None
    guardians = mark_payer(
        await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
    )
    current = None
    if guardian_id is not None:
        current = next((g for g in guardians if g["id"] == guardian_id), None)
        if current is None:
            return None
    return {"family": row, "guardians": guardians, "guardian": current}


async def quotient_page(family_id: int) -> dict | None:
    """The family and its quotients familiaux, for the form that records a new one."""
    row = await family(family_id)
    if row is None:
        return None
    quotients = await quotient_history(family_id)
    return {
        "family": row,
        "quotients": quotients,
        "quotient_today": quotient_in_force(quotients, row, clock.today()),
    }


async def letter_page(family_id: int) -> dict | None:
    """What the welcome letter prints: the family and the responsable it is addressed to."""
    row = await family(family_id)
    if row is None:
        return None
    return {"family": row, "guardian": await first_guardian(family_id)}


async def likely_duplicates(name: str, guardians: list[dict]) -> list[dict]:
    """Families that look like the one being created: a responsable with one of its phone
    numbers or e-mail addresses, or the same family name at the same address. One query."""
    phones = sorted({g[f] for g in guardians for f in contact.PHONE_FIELDS if g.get(f)}) or ["-"]
    emails = sorted({g["email"] for g in guardians if g.get("email")}) or ["-"]
    postcodes = sorted({g["postcode"] for g in guardians if g.get("postcode")}) or ["-"]
    rows = (
        await Guardian.select(
            Guardian.family,
            Guardian.first_name,
            Guardian.last_name,
            Guardian.email,
            Guardian.phone_mobile,
            Guardian.phone_home,
            Guardian.phone_work,
            Guardian.address_line1,
            Guardian.postcode,
            Guardian.family.code.as_alias("code"),
            Guardian.family.name.as_alias("name"),
            Guardian.family.email.as_alias("family_email"),
            Guardian.family.active.as_alias("active"),
        )
        .where(
            Guardian.phone_mobile.is_in(phones)
            | Guardian.phone_home.is_in(phones)
            | Guardian.phone_work.is_in(phones)
            | Guardian.email.is_in(emails)
            | Guardian.family.email.is_in(emails)
            | Guardian.postcode.is_in(postcodes)
        )
        .limit(200)
    )
    addresses = {
        (search.fold(g["address_line1"]).strip(), g["postcode"])
        for g in guardians
        if g.get("address_line1")
    }
    found: dict[int, dict] = {}
    for r in rows:
        reasons = []
        if {r[f] for f in contact.PHONE_FIELDS if r[f]} & set(phones):
            reasons.append("même téléphone")
        if {r["email"], r["family_email"]} & set(emails):
            reasons.append("même adresse électronique")
        same_place = (search.fold(r["address_line1"]).strip(), r["postcode"]) in addresses
        if same_place and search.fold(r["name"]) == search.fold(name):
            reasons.append("même nom à la même adresse")
        if not reasons:
            continue
        entry = found.setdefault(
            r["family"],
            {
                "id": r["family"],
                "code": r["code"],
                "name": r["name"],
                "active": r["active"],
                "guardians": [],
                "reasons": [],
            },
        )
        entry["guardians"].append(f"{r['first_name']} {r['last_name']}")
        entry["reasons"] += [x for x in reasons if x not in entry["reasons"]]
    return sorted(found.values(), key=lambda f: f["code"])[:10]


async def search_families(q: str, schools=None) -> list[dict]:
    """The families matching what the agent typed, with their guardians' and children's
    names; nothing is read for an empty query. `schools`: an agent's scope (ids), or None."""
    return await search_details(await search.search(q, schools=schools)) if q else []


async def search_details(families: list[dict]) -> list[dict]:
    """Adds the guardians' and children's names to search results (two queries)."""
    ids = [f["id"] for f in families] or [-1]
    guardians = await Guardian.select(
        Guardian.family, Guardian.first_name, Guardian.last_name, Guardian.phone_mobile
    ).where(Guardian.family.is_in(ids))
    kids = await Child.select(Child.family, Child.first_name).where(
        (Child.family.is_in(ids)) & (Child.active == True)
    )  # noqa: E712
    for f in families:
        f["guardians"] = [
            f"{g['first_name']} {g['last_name']}" for g in guardians if g["family"] == f["id"]
        ]
        f["children"] = [c["first_name"] for c in kids if c["family"] == f["id"]]
    return families


async def waiting_requests(limit: int = 100, schools=None) -> list[dict]:
    """The contact change requests waiting, oldest first; `schools`: an agent's scope (ids:
    only the families with a child there), or None."""
    where = ContactChangeRequest.status == "en_attente"
    if schools is not None:
        where &= ContactChangeRequest.family.is_in(families_of_schools(schools))
    rows = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.changes,
            ContactChangeRequest.status,
            ContactChangeRequest.submitted_at,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.family,
            ContactChangeRequest.family.code.as_alias("family_code"),
            ContactChangeRequest.family.name.as_alias("family_name"),
            ContactChangeRequest.guardian.first_name.as_alias("guardian_first_name"),
            ContactChangeRequest.guardian.last_name.as_alias("guardian_last_name"),
        )
        .where(where)
        .order_by(ContactChangeRequest.submitted_at)
        .limit(limit)
    )
    return [describe(r) for r in rows]


async def schools() -> list[dict]:
    return await School.select(School.id, School.name, School.active).order_by(School.name)


async def first_guardian(family_id: int) -> dict | None:
    """The responsable the welcome letter is addressed to."""
    return (
        await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank).first()
    )


# ---------------------------------------------------------------- sessions


def live_sessions(family_id: int, settings, now: dt.datetime):
    """Sessions that would still let the family in: not past the idle or absolute expiry."""
    idle = now - dt.timedelta(minutes=settings.session_idle_minutes)
    absolute = now - dt.timedelta(hours=settings.session_absolute_hours)
    return (
        (AuthSession.family == family_id)
        & (AuthSession.last_seen_at >= idle)
        & (AuthSession.created_at >= absolute)
    )


async def open_session_count(family_id: int, settings) -> int:
    return await AuthSession.count().where(live_sessions(family_id, settings, clock.now()))


# ---------------------------------------------------------------- children


async def child(family_id: int, child_id: int) -> dict | None:
    """A child of this family (None for a child of another family), health notes included:
    whoever shows them journals the read (services.read_health_notes)."""
    return await Child.select().where((Child.id == child_id) & (Child.family == family_id)).first()


@dataclass
class ChildPage:
    """What the child form needs: the family, the child when editing, the schools offered."""

    family: dict
    child: dict | None
    schools: list[tuple[str, str]]
    school_ids: set[int] = field(default_factory=set)
    levels: list[tuple[str, str]] = field(default_factory=lambda: [(lv, lv) for lv in LEVELS])
    classes: list[tuple[str, str]] = field(default_factory=list)  # this year's, « CE1 A – École »
    class_ids: set[int] = field(default_factory=set)


async def class_choices(school_ids: set[int], also: int | None = None) -> list[dict]:
    """The current school year's classes of these schools (and the class `also`, the one a
    child has, whatever its year): id, name, school name."""
    if not school_ids:
        return []
    current = SchoolClass.school.is_in(sorted(school_ids)) & (
        SchoolClass.school_year.is_current == True  # noqa: E712
    )
    return (
        await SchoolClass.select(
            SchoolClass.id, SchoolClass.name, SchoolClass.school.name.as_alias("school_name")
        )
        .where(current | (SchoolClass.id == (also or -1)))
        .order_by(SchoolClass.school.name)
        .order_by(SchoolClass.name)
    )


async def school_fit(school_id: int | None, class_id: int | None) -> dict:
    """What save_child checks a child against: the school's kind and name, and the class's
    school (None when the class does not exist)."""
    school = (
        await School.select(School.kind, School.name).where(School.id == school_id).first()
        if school_id is not None
        else None
    )
    klass = (
        await SchoolClass.select(SchoolClass.school).where(SchoolClass.id == class_id).first()
        if class_id is not None
        else None
    )
    return {
        "kind": school["kind"] if school else None,
        "school_name": school["name"] if school else "",
        "class_school": klass["school"] if klass else None,
    }


async def child_page(family_id: int, child_id: int | None = None) -> ChildPage | None:
    """None when the family does not exist, or the child is not one of its children."""
    row = await family(family_id)
    if row is None:
        return None
    kid = None
    if child_id is not None:
        kid = await child(family_id, child_id)
        if kid is None:
            return None
    active = [s for s in await schools() if s["active"]]
    classes = await class_choices({s["id"] for s in active}, kid["school_class"] if kid else None)
    return ChildPage(
        family=row,
        child=kid,
        schools=[("", "aucune (pas encore scolarisé ici)")]
        + [(str(s["id"]), s["name"]) for s in active],
        school_ids={s["id"] for s in active},
        classes=[("", "aucune classe")]
        + [(str(c["id"]), f"{c['name']} – {c['school_name']}") for c in classes],
        class_ids={c["id"] for c in classes},
    )


# ---------------------------------------------------------------- contact-change requests


async def request_state(request_id: int) -> dict | None:
    """The request as it stands: status, who decided it and when, what was applied."""
    return (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.status,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.decided_by,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.family,
            ContactChangeRequest.family.code.as_alias("family_code"),
            ContactChangeRequest.family.name.as_alias("family_name"),
            ContactChangeRequest.decided_by.display_name.as_alias("decided_by_name"),
        )
        .where(ContactChangeRequest.id == request_id)
        .first()
    )


def decided_notice(row: dict, viewer_staff_id: int | None) -> dict:
    """What the second agent reads: « Cette demande a déjà été traitée par … le … »."""
    if row["decided_by"] is not None and row["decided_by"] == viewer_staff_id:
        who = "vous-même"
    else:
        who = row["decided_by_name"] or "un autre agent"
    when = f" le {date_heure(row['decided_at'])}" if row["decided_at"] else ""
    applied = [contact.FIELDS.get(f, f) for f in load_json(row["applied_fields"], [])]
    state = DECISION_LABELS.get(row["status"], row["status"])
    if applied:
        state += " (" + ", ".join(applied) + ")"
    return {
        "id": row["id"],
        "message": f"Cette demande a déjà été traitée par {who}{when}.",
        "state": state,
        "reason": row["reason"] if row["status"] == "refusee" else "",
        "family": row["family"],
        "family_name": row["family_name"],
        "family_code": row["family_code"],
    }


# ---------------------------------------------------------------- journal


def _paris_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=clock.PARIS)


@dataclass
class JournalEntries:
    rows: list[dict]
    next_before: int | None  # the id to page back from, when older lines exist


async def journal_entries(
    *,
    action: str | None = None,
    staff_id: int | None = None,
    family_code: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    before_id: int | None = None,
    limit: int = JOURNAL_PAGE,
    check_only: bool = False,
) -> JournalEntries:
    """Newest first, `limit` lines from `before_id` back; days are whole days in Paris, `until`
    included. Raises Rejected (field « famille ») when the code names no family; `check_only`
    does only that (another filter is wrong: both are reported, no line is read)."""
    filters: dict = {}
    if action:
        filters["action"] = action
    if staff_id is not None:
        filters["staff_id"] = staff_id
    if family_code:
        row = await Family.select(Family.id).where(Family.code == family_code).first()
        if row is None:
            raise Rejected("Aucune famille n’a ce code.", field="famille")
        filters["family_id"] = row["id"]
    if check_only:
        return JournalEntries(rows=[], next_before=None)
    if since is not None:
        filters["since"] = _paris_midnight(since)
    if until is not None:
        filters["until"] = _paris_midnight(until + dt.timedelta(days=1))
    rows = await audit.entries(**filters, before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    rows = audit.render(rows, await audit.names_for(rows))
    return JournalEntries(rows=rows, next_before=rows[-1]["id"] if more else None)


async def staff_choices() -> list[tuple[str, str]]:
    """The agents of the journal's filter, by name."""
    staff = await StaffUser.select(StaffUser.id, StaffUser.display_name).order_by(
        StaffUser.display_name
    )
    return [(str(s["id"]), s["display_name"]) for s in staff]


def action_choices() -> list[tuple[str, str]]:
    return sorted(audit.ACTIONS.items(), key=lambda a: a[1])
