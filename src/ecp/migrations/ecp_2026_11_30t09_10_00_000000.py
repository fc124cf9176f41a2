"""outbox_email.sealed_body: the encrypted real text of a message holding a personal secret
(ecp.mail.sealing). Hand-written; runs on both engines.

Reset e-mails written before this migration hold their link in clear in body_text, readable on
the staff outbox page: their text is replaced by a notice, and those still waiting are marked
failed (a reset link is valid one hour; the family asks for a new one).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-30T09:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox sealed body"

NOTICE = "[Texte retiré : il contenait un lien personnel de réinitialisation du mot de passe.]"
ERROR = "Lien personnel retiré de la boîte d’envoi : la famille peut en redemander un."


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)
    manager.add_column(
        table_class_name="OutboxEmail", tablename="outbox_email", column_name="sealed_body",
        db_column_name="sealed_body", column_class_name="Text", column_class=Text,
        params={"default": "", "null": False, "primary_key": False, "unique": False,
                "index": False, "index_method": IndexMethod.btree, "choices": None,
                "db_column_name": None, "secret": True},
        schema=None)

    # Piccolo runs raw steps before adding columns: the scrub sees only rows written before
    # this migration, all of which hold their link in clear.
    async def scrub():
        await RawTable.raw(
            'UPDATE "outbox_email" SET "status" = \'echec\', "last_error" = {} '
            'WHERE "kind" = \'reset\' AND "status" IN (\'en_attente\', \'envoi\')', ERROR)
        await RawTable.raw(
            'UPDATE "outbox_email" SET "body_text" = {}, "body_html" = \'\' '
            'WHERE "kind" = \'reset\'', NOTICE)

    async def nothing():
        # The clear links are gone for good; dropping the column is the auto step's job.
        return None

    manager.add_raw(scrub)
    manager.add_raw_backwards(nothing)
    return manager
