"""The one exception a business operation raises when a rule refuses it.

Services raise `Rejected` with a French message for the person who asked (and, when a form
field is to blame, that field's key); handlers turn it into a 422 with the form redisplayed
(ecp.web.forms.Form.reject) or a flash message. The write transaction around the service
rolls back on the way out, so a refused operation leaves nothing behind."""

from __future__ import annotations


class Rejected(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
