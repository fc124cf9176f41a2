"""French count agreement: 0 and 1 singular, 2 and more plural, in code and in templates."""

from __future__ import annotations

from ecp.web.plural import counted, plural
from ecp.web.templating import create_environment


def test_zero_and_one_are_singular_two_is_plural():
    assert counted(0, "jour n’a pas pu être réservé", "jours n’ont pas pu être réservés") == (
        "0 jour n’a pas pu être réservé"
    )
    assert counted(1, "jour n’a pas pu être réservé", "jours n’ont pas pu être réservés") == (
        "1 jour n’a pas pu être réservé"
    )
    assert counted(2, "jour n’a pas pu être réservé", "jours n’ont pas pu être réservés") == (
        "2 jours n’ont pas pu être réservés"
    )
    assert counted(3, "famille") == "3 familles" and counted(1, "famille") == "1 famille"


def test_amounts_under_two_are_singular():
    assert plural(1.5, "sera remboursé", "seront remboursés") == "sera remboursé"
    assert plural(2.0, "sera remboursé", "seront remboursés") == "seront remboursés"
    assert plural(-1, "avoir") == "avoir" and plural(-3, "avoir") == "avoirs"


def test_template_filters():
    env = create_environment()
    page = env.from_string(
        '{{ n | counted("paiement") }} par carte, {{ n | plural("confirmée", "confirmées") }}'
    )
    assert page.render(n=0) == "0 paiement par carte, confirmée"
    assert page.render(n=1) == "1 paiement par carte, confirmée"
    assert page.render(n=2) == "2 paiements par carte, confirmées"


def test_credit_note_mail_agrees_with_the_refund():
    env = create_environment()
    template = env.get_template("partials/mail/credit_note_available.txt")
    context = dict(
        amount_cents=150,
        family_name="Martin",
        invoice_number="FAC-2026-000001",
        month="novembre 2026",
        reason="Erreur",
        number="AV-2026-000001",
        url="https://example.org/a",
        commune="Villebelle-sur-Seine",
    )
    one = template.render(refund_cents=150, **context)
    assert "1,50 € vous sera remboursé par la régie" in one.replace("\u202f", " ").replace(
        "\xa0", " "
    )
    many = template.render(refund_cents=2500, **context)
    assert "vous seront remboursés par la régie" in many
