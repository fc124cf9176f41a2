"""The e-mail outbox: every message is written here first, then delivered by the sender job."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from ecp.families.tables import Family
from ecp.schema import Index


class OutboxEmail(Table):
    to_address = Varchar(length=200)
    subject = Varchar(length=200)
    body_text = Text()
    body_html = Text(default="")
    # The real text of a message holding a personal secret, encrypted (ecp.mail.sealing); the
    # two body columns then hold it masked. Empty once delivered.
    sealed_body = Text(default="", secret=True)
    kind = Varchar(length=40, default="", help_text="reset, facture, recu, demande, rappel...")
    family = ForeignKey(references=Family, null=True, on_delete=OnDelete.set_null)
    status = Varchar(
        length=20, default="en_attente", index=True, help_text="en_attente envoye echec"
    )
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # The sender job's next messages: waiting and due.
    Index("outbox_due_idx", "outbox_email", ("status", "next_attempt_at")),
]
