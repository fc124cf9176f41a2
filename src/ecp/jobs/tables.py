"""Leases that make each background job run in one process at a time."""

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class JobLease(Table):
    name = Varchar(length=60, unique=True)
    holder = Varchar(length=80, default="")
    lease_until = Timestamptz()
    last_run_at = Timestamptz(null=True, default=None)
    last_error = Varchar(length=500, default="")
