"""The single Piccolo app: every feature's tables, one migrations folder."""

from piccolo.conf.apps import AppConfig, table_finder

from ecp.audit import tables as audit
from ecp.auth import tables as auth
from ecp.backoffice import tables as backoffice
from ecp.booking import tables as booking
from ecp.commune import tables as commune
from ecp.families import tables as families
from ecp.finance import tables as finance
from ecp.invoices import tables as invoices
from ecp.jobs import tables as jobs
from ecp.mail import tables as mail
from ecp.payments import tables as payments
from ecp.resources import MIGRATIONS

# Each module also declares its raw-SQL INDEXES and TRIGGERS beside its tables (ecp.schema).
TABLE_MODULES = (
    commune,
    families,
    auth,
    audit,
    booking,
    invoices,
    payments,
    finance,
    mail,
    jobs,
    backoffice,
)

APP_CONFIG = AppConfig(
    app_name="ecp",
    migrations_folder_path=str(MIGRATIONS),
    table_classes=table_finder(modules=[m.__name__ for m in TABLE_MODULES], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
