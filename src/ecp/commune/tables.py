"""The commune's set-up: settings, school years, schools, classes, activities, closures, tariffs;
and the billing periods, which booking and invoices both read."""

import datetime

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from ecp.schema import Index, Trigger


class CommuneSettings(Table):
    """One row: the rules the administrator can change without a deployment."""

    service_name = Varchar(length=160, default="Service Scolaire-Enfance-Jeunesse")
    address = Text(default="")
    phone = Varchar(length=30, default="")
    email = Varchar(length=200, default="")
    school_zone = Varchar(length=1, default="C", help_text="Zone of the school holidays (A, B, C)")
    booking_deadline_working_days = Integer(default=2)
    booking_deadline_time = Time(
        default=datetime.time(23, 59), help_text="Hour of the deadline, 23:59 by default"
    )
    illness_cutoff_time = Time(
        default=datetime.time(9, 0), help_text="Latest hour to declare a child ill on the day"
    )
    invoice_due_days = Integer(default=30)
    retention_years = Integer(default=3, help_text="Inactivity before a family is anonymised")


class SchoolYear(Table):
    label = Varchar(length=20, unique=True)
    starts_on = Date()
    ends_on = Date()
    is_current = Boolean(default=False)


class School(Table):
    name = Varchar(length=120, unique=True)
    kind = Varchar(length=20, help_text="maternelle, elementaire or primaire")
    address = Text(default="")
    active = Boolean(default=True)


class SchoolClass(Table):
    school = ForeignKey(references=School, null=False, on_delete=OnDelete.restrict)
    school_year = ForeignKey(references=SchoolYear, null=False, on_delete=OnDelete.restrict)
    name = Varchar(length=40)
    level = Varchar(length=4, help_text="PS MS GS CP CE1 CE2 CM1 CM2")


class Activity(Table):
    code = Varchar(length=40, unique=True)
    label = Varchar(length=120)
    short_label = Varchar(length=40)
    weekdays = Varchar(length=20, help_text="ISO weekdays it runs on, comma-separated: 1,2,4,5")
    starts_at = Time(default=datetime.time(8, 0))
    ends_at = Time(default=datetime.time(9, 0))
    eligible_levels = Varchar(length=60, help_text="Levels allowed, comma-separated")
    group_code = Varchar(
        length=40, default="", help_text="Activities of one group exclude each other on a day"
    )
    deadline_rule = Varchar(
        length=30,
        default="working_days",
        help_text="working_days (N working days before) or previous_wednesday",
    )
    default_capacity = Integer(default=0, help_text="0 = unlimited")
    sort_order = Integer(default=0)
    billable = Boolean(default=True)
    hourly = Boolean(
        default=False,
        help_text="Billed by the hour: the pointage records each child's arrival and departure",
    )
    active = Boolean(default=True)


class ActivityCapacity(Table):
    """Places per school and activity; bookings are counted against it per day."""

    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.cascade)
    school = ForeignKey(references=School, null=False, on_delete=OnDelete.cascade)
    capacity = Integer(default=0, help_text="0 = unlimited")


class Closure(Table):
    """An ad-hoc closure; public and school holidays come from the calendar packages."""

    starts_on = Date()
    ends_on = Date()
    school = ForeignKey(references=School, null=True, on_delete=OnDelete.cascade)
    activity = ForeignKey(references=Activity, null=True, on_delete=OnDelete.cascade)
    reason = Varchar(length=200)


class TariffBracket(Table):
    """A quotient familial bracket (tranche)."""

    label = Varchar(length=40)
    qf_min = Integer(default=0)
    qf_max = Integer(null=True, default=None, help_text="Inclusive; empty = no upper bound")
    sort_order = Integer(default=0)


class Tariff(Table):
    """Price of one day of an activity; a change is a new row from its date, never an edit."""

    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.restrict)
    bracket = ForeignKey(
        references=TariffBracket,
        null=True,
        on_delete=OnDelete.restrict,
        help_text="Empty = the out-of-town rate",
    )
    price_cents = Integer()
    majoration_cents = Integer(default=0, help_text="Surcharge for a day present without booking")
    valid_from = Date()


class BillingPeriod(Table):
    """A month's billing state, read by the booking feature as well as billing (so it lives in
    the shared layer): a row exists once a billing run has started for the month. From then on
    families can no longer book or cancel a day of that month (ecp.booking.services); what staff
    change afterwards is settled by régularisations (ecp.invoices.regularisations)."""

    month = Date(unique=True, help_text="First day of the month")
    state = Varchar(length=20, default="en_cours", help_text="en_cours facturee")
    in_advance = Boolean(
        default=False, help_text="Billed before the month ended, on a régisseur's confirmation"
    )
    opened_at = Timestamptz()
    billed_at = Timestamptz(null=True, default=None)


class SetupVersion(Table):
    """One row whose `version` changes (to a random value) whenever the commune's set-up does:
    settings, school years, activities, capacities, closures. Database triggers keep it, so no
    code path can forget; each process caches the set-up under it (ecp.commune.setup_cache)."""

    version = BigInt(default=0)


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # One capacity per activity and school.
    Index("activity_capacity_uniq", "activity_capacity", ("activity", "school"), unique=True),
]

# The set-up tables: any change to one of them gives setup_version a new random value, which
# every process's set-up cache is keyed on (migration 2026-11-29T21:40:00). A new set-up table
# needs its trigger in a new migration and its name here.
SETUP_TABLES = ("commune_settings", "school_year", "activity", "activity_capacity", "closure")
TRIGGERS = [
    Trigger(
        f"setup_version_{table}",
        table,
        ("INSERT", "UPDATE", "DELETE"),
        pg_function="bump_setup_version",
    )
    for table in SETUP_TABLES
]
