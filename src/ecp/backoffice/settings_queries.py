"""Staff > Paramètres: what its pages read (administrators only). Plain dicts, as the templates
use them; nothing here writes."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.auth import mfa
from ecp.auth.principal import ROLE_LABELS
from ecp.auth.tables import StaffUser
from ecp.commune.queries import commune_settings
from ecp.commune.tables import Activity, ActivityCapacity, Closure, School, SchoolYear
from ecp.db import aware

# Closures are listed from two months back: the recent ones explain an invoice's missing days.
CLOSURES_SHOWN_SINCE = dt.timedelta(days=60)


async def overview() -> dict:
    """The settings page: the rules, school years, schools, activities, recent and coming
    closures, staff accounts, and the choices of the closure form."""
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
        .where(Closure.ends_on >= clock.today() - CLOSURES_SHOWN_SINCE)
        .order_by(Closure.starts_on)
    )
    staff = await StaffUser.select(
        StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.role, StaffUser.active
    ).order_by(StaffUser.username)
    for s in staff:
        s["role_label"] = ROLE_LABELS.get(s["role"], s["role"])
    return {
        "rules": rules,
        "years": years,
        "current_year": next((y for y in years if y["is_current"]), None),
        "schools": schools,
        "activities": activities,
        "closures": closures,
        "staff": staff,
        "school_options": [("", "toutes les écoles")]
        + [(str(s["id"]), s["name"]) for s in schools],
        "activity_options": [("", "toutes les activités")]
        + [(str(a["id"]), a["label"]) for a in activities],
    }


async def school(school_id: int) -> dict | None:
    return await School.select().where(School.id == school_id).first()


async def school_names() -> dict[int, str]:
    """Every school's name by id: a school's name is unique."""
    return {r["id"]: r["name"] for r in await School.select(School.id, School.name)}


async def activity_page(activity_id: int | None = None) -> dict | None:
    """An activity's page (None: a new one): the activity and its places by school, the
    schools, the exclusive groups in use, and the other activities (their codes and labels
    are taken). None when activity_id names no activity."""
    rows = await Activity.select().order_by(Activity.sort_order, Activity.id)
    activity = None
    capacities: dict[int, int] = {}
    if activity_id is not None:
        activity = next((r for r in rows if r["id"] == activity_id), None)
        if activity is None:
            return None
        capacities = {
            c["school"]: c["capacity"]
            for c in await ActivityCapacity.select(
                ActivityCapacity.school, ActivityCapacity.capacity
            ).where(ActivityCapacity.activity == activity_id)
        }
    members: dict[str, list[str]] = {}
    for row in rows:
        if row["group_code"]:
            members.setdefault(row["group_code"], []).append(row["label"])
    groups = [("", "aucun : se cumule avec les autres activités")] + [
        (code, f"{code} : {', '.join(labels)}") for code, labels in members.items()
    ]
    group_code = activity["group_code"] if activity else ""
    return {
        "activity": activity,
        "capacities": capacities,
        "schools": await School.select(School.id, School.name).order_by(School.name),
        "groups": groups,
        "group_label": (dict(groups).get(group_code, group_code) if group_code else "aucun"),
        "others": [r for r in rows if r["id"] != activity_id],
    }


async def staff_account(staff_id: int) -> dict | None:
    return (
        await StaffUser.select(
            StaffUser.id,
            StaffUser.username,
            StaffUser.display_name,
            StaffUser.email,
            StaffUser.role,
            StaffUser.active,
        )
        .where(StaffUser.id == staff_id)
        .first()
    )


async def staff_usernames() -> set[str]:
    return {r["username"] for r in await StaffUser.select(StaffUser.username)}


async def staff_enrolment(staff_id: int) -> dict | None:
    """When the member enrolled an authenticator, or None."""
    enrolment = await mfa.enrolment(staff_id)
    if enrolment:
        enrolment["enrolled_at"] = aware(enrolment["enrolled_at"])
    return enrolment
