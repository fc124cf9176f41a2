"""Shared steps of the payment route tests."""

from __future__ import annotations

import re

from ecp.payments.tables import PaymentAttempt
from tests.factories import make_family, make_guardian
from tests.payments_factories import make_invoice
from tests.support import login_family, post_form, soup

REF_RE = re.compile(r"/famille/paiements/(ECP-[A-Za-z0-9_-]+)$")


async def family_with_invoices(*totals: int, code: str = "F00001", name: str = "Martin"):
    family = await make_family(code=code, name=name)
    await make_guardian(family)
    invoices = [await make_invoice(family, total) for total in totals]
    return family, invoices


async def start(client, invoices, headers=None):
    response = await post_form(
        client,
        "/famille/paiements",
        {"factures": [str(i.id) for i in invoices]},
        from_page="/famille/paiements",
        headers=headers,
    )
    return response


async def started_reference(client, invoices) -> str:
    response = await start(client, invoices)
    assert response.status_code == 303, response.text[:800]
    match = REF_RE.search(response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def payment_form(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The action and the ordered hidden fields of the form that goes to the bank."""
    page = soup(html)
    button = page.find("button", string=re.compile("Continuer vers le paiement sécurisé"))
    assert button is not None, "no payment button"
    form = button.find_parent("form")
    fields = [(i["name"], i["value"]) for i in form.find_all("input")]
    return form["action"], fields


async def attempt_status(reference: str) -> str:
    row = (
        await PaymentAttempt.select(PaymentAttempt.status)
        .where(PaymentAttempt.reference == reference)
        .first()
    )
    return row["status"]


__all__ = [
    "login_family",
    "family_with_invoices",
    "start",
    "started_reference",
    "payment_form",
    "attempt_status",
]
