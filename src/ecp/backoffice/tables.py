"""The messages the service sent to families (ecp.backoffice.messages_services): what was
written, to whom (a school, an activity or a day), how many families and addresses, by whom.
The e-mails themselves are the outbox's rows (kind « message »)."""

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from ecp.commune.tables import Activity, School
from ecp.schema import Index


class FamilyMessage(Table):
    subject = Varchar(length=150)
    body = Text()
    target = Varchar(length=20, help_text="ecole activite jour")
    school = ForeignKey(references=School, null=True, on_delete=OnDelete.set_null)
    activity = ForeignKey(references=Activity, null=True, on_delete=OnDelete.set_null)
    day = Date(null=True, default=None)
    audience = Varchar(length=300, default="", help_text="Who it went to, in French")
    families = Integer(default=0)
    recipients = Integer(default=0)
    sent_by = ForeignKey(
        references=LazyTableReference("StaffUser", module_path="ecp.auth.tables"),
        null=True,
        on_delete=OnDelete.set_null,
    )
    sent_by_name = Varchar(length=120, default="")
    sent_at = Timestamptz()


INDEXES = [
    # The list of sent messages, newest first.
    Index("family_message_sent_idx", "family_message", ("sent_at",)),
]
