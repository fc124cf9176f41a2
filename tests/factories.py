"""Domain-named builders for test data; the passwords use the test hasher (argon2 CHEAPEST)."""

from __future__ import annotations

import datetime as dt
import itertools

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from ecp import clock
from ecp.auth.tables import StaffUser
from ecp.commune.tables import Activity, ActivityCapacity, School, SchoolYear
from ecp.families.tables import Child, Family, Guardian

_hasher = PasswordHasher.from_parameters(CHEAPEST)
_seq = itertools.count(1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def make_family(
    code: str | None = None, password: str = "demo-famille-1", name: str = "Martin", **fields
) -> Family:
    family = Family(
        code=code or f"F{90000 + next(_seq):05d}",
        name=name,
        password_hash=hash_password(password) if password else "",
        email=fields.pop("email", f"{name.lower()}{next(_seq)}@example.org"),
        created_at=clock.now(),
        **fields,
    )
    await family.save()
    return family


async def make_guardian(family: Family, **fields) -> Guardian:
    values = dict(
        rank=1,
        civility="Mme",
        first_name="Claire",
        last_name=family.name,
        email=family.email,
        phone_mobile="06 12 34 56 78",
        address_line1="1 rue de la République",
        postcode="78999",
        city="Villebelle-sur-Seine",
    )
    values.update(fields)
    guardian = Guardian(family=family.id, **values)
    await guardian.save()
    return guardian


async def make_school(name: str | None = None, kind: str = "primaire") -> School:
    school = School(name=name or f"École {next(_seq)}", kind=kind)
    await school.save()
    return school


async def make_school_year(today: dt.date | None = None) -> SchoolYear:
    today = today or clock.today()
    start = today.year if today.month >= 8 else today.year - 1
    year = SchoolYear(
        label=f"{start}-{start + 1}",
        starts_on=dt.date(start, 9, 1),
        ends_on=dt.date(start + 1, 7, 3),
        is_current=True,
    )
    await year.save()
    return year


async def make_activity(
    code: str = "restauration",
    label: str = "Restauration scolaire",
    weekdays: str = "1,2,4,5",
    capacity: int = 0,
    school: School | None = None,
    **fields,
) -> Activity:
    activity = Activity(
        code=code,
        label=label,
        short_label=fields.pop("short_label", label),
        weekdays=weekdays,
        eligible_levels=fields.pop("eligible_levels", "PS,MS,GS,CP,CE1,CE2,CM1,CM2"),
        default_capacity=capacity,
        **fields,
    )
    await activity.save()
    if school is not None:
        await ActivityCapacity(activity=activity.id, school=school.id, capacity=capacity).save()
    return activity


async def make_child(
    family: Family,
    first_name: str = "Léa",
    level: str = "CE1",
    school: School | None = None,
    **fields,
) -> Child:
    child = Child(
        family=family.id,
        first_name=first_name,
        last_name=family.name,
        birth_date=fields.pop("birth_date", dt.date(2019, 5, 4)),
        school=school.id if school else None,
        level=level,
        **fields,
    )
    await child.save()
    return child


async def make_staff(
    username: str = "agent",
    password: str = "demo-agent-sej-2026",
    role: str = "administrateur",
    **fields,
) -> StaffUser:
    staff = StaffUser(
        username=username,
        display_name=fields.pop("display_name", "Agent Test"),
        password_hash=hash_password(password),
        role=role,
        created_at=clock.now(),
        **fields,
    )
    await staff.save()
    return staff
