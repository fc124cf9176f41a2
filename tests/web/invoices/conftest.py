from tests.invoices_cleanup import delete_credit_notes_first  # noqa: F401
