"""The single Piccolo app: every feature's tables, one migrations folder."""

from piccolo.conf.apps import AppConfig, table_finder

from ecp.resources import MIGRATIONS

TABLE_MODULES = [
    "ecp.commune.tables",
    "ecp.staff.tables",
    "ecp.families.tables",
    "ecp.auth.tables",
    "ecp.booking.tables",
    "ecp.invoices.tables",
    "ecp.payments.tables",
    "ecp.mail.tables",
    "ecp.audit.tables",
    "ecp.jobs.tables",
]

APP_CONFIG = AppConfig(
    app_name="ecp",
    migrations_folder_path=str(MIGRATIONS),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
