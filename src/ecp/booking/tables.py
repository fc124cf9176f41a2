"""Inscriptions, bookings (one child, one activity, one day), place counters and pointage."""

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Time, Timestamptz, Varchar
from piccolo.table import Table

from ecp.auth.tables import StaffUser
from ecp.commune.tables import Activity, School, SchoolYear
from ecp.families.tables import Child
from ecp.schema import Index


class Inscription(Table):
    child = ForeignKey(references=Child, null=False, on_delete=OnDelete.restrict)
    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.restrict)
    school_year = ForeignKey(references=SchoolYear, null=False, on_delete=OnDelete.restrict)
    status = Varchar(
        length=20,
        default="en_attente",
        index=True,
        help_text="en_attente liste_attente validee refusee annulee",
    )
    requested_at = Timestamptz()
    waitlisted_at = Timestamptz(
        null=True,
        default=None,
        help_text="When it went on the waiting list: the rank's order (ecp.booking.inscriptions)",
    )
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    reason = Text(default="")


class Slot(Table):
    """Places taken for one school, activity and day; a conditional UPDATE keeps it honest."""

    school = ForeignKey(references=School, null=False, on_delete=OnDelete.restrict)
    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.restrict)
    day = Date()
    booked = Integer(default=0)


class Booking(Table):
    child = ForeignKey(references=Child, null=False, on_delete=OnDelete.restrict)
    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.restrict)
    school = ForeignKey(references=School, null=False, on_delete=OnDelete.restrict)
    day = Date()
    state = Varchar(length=20, default="reservee", help_text="reservee annulee malade fermee")
    source = Varchar(length=20, default="famille", help_text="famille agent semaine_type demo")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    updated_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)


class Attendance(Table):
    """Pointage: what staff saw on the day."""

    child = ForeignKey(references=Child, null=False, on_delete=OnDelete.restrict)
    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.restrict)
    school = ForeignKey(references=School, null=False, on_delete=OnDelete.restrict)
    day = Date()
    status = Varchar(length=20, help_text="present absent excuse")
    # Where the activity is billed by the hour (Activity.hourly): when the child came and left.
    arrived_at = Time(null=True, default=None)
    left_at = Time(null=True, default=None)
    marked_at = Timestamptz()
    marked_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # One booking per child, activity and day: what makes "already booked" hold under races.
    Index("booking_child_activity_day_uniq", "booking", ("child", "activity", "day"), unique=True),
    # Places taken and the staff lists of one day, school and activity; state and child in it
    # so that the lists' sizes, the kitchen's meals and who is on a list are read from the
    # index alone (issue 17: the booking rows of a school's day cost about 1 ms per query).
    Index(
        "booking_day_school_activity_state_idx",
        "booking",
        ("day", "school", "activity", "state", "child"),
    ),
    # A family's (or a billing batch's) bookings over a month.
    Index("booking_child_day_idx", "booking", ("child", "day")),
    # One place counter per school, activity and day (the conditional UPDATE's row).
    Index("slot_school_activity_day_uniq", "slot", ("school", "activity", "day"), unique=True),
    # A week's counters of a family's schools (the calendar): the unique index above leads
    # with the activity after the school, so a range of days scanned the school's whole year.
    Index("slot_school_day_idx", "slot", ("school", "day")),
    # One pointage per child, activity and day.
    Index(
        "attendance_child_activity_day_uniq",
        "attendance",
        ("child", "activity", "day"),
        unique=True,
    ),
    # The day's pointage sheet of a school.
    Index("attendance_day_school_idx", "attendance", ("day", "school")),
    # One inscription per child, activity and school year.
    Index(
        "inscription_child_activity_year_uniq",
        "inscription",
        ("child", "activity", "school_year"),
        unique=True,
    ),
]
