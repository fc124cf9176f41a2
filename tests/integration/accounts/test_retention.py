"""The retention job (K3): inactive families anonymised, financial records kept."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.accounts.retention import ANONYMOUS_NAME, anonymise_inactive
from ecp.audit.tables import AuditLog
from ecp.families import search
from ecp.families.tables import Child, ContactChangeRequest, Family, FamilySearchTerm, Guardian
from ecp.invoices.tables import Invoice
from ecp.mail.outbox import queue_email
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import Payment
from tests import factories
from tests.accounts_factories import family_with_guardian

UTC = dt.UTC
OLD = dt.datetime(2021, 6, 1, 10, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


async def _invoice(family, issued, total=1000, paid=1000, number="FAC-2021-000001"):
    inv = Invoice(
        number=number,
        family=family.id,
        month=issued.date().replace(day=1),
        issued_at=issued,
        due_on=issued.date(),
        total_cents=total,
        paid_cents=paid,
        family_name=family.name,
        address="1 rue de la République",
    )
    await inv.save()
    return inv


async def test_inactive_family_is_anonymised_and_its_money_kept(settings):
    with clock.frozen(OLD):
        family, guardian = await family_with_guardian()
        child = await factories.make_child(
            family, "Léa", health_notes="Arachide", birth_date=dt.date(2015, 5, 4)
        )
        inv = await _invoice(family, OLD)
        await Payment(family=family.id, method="cheque", amount_cents=1000, received_at=OLD).save()
        await ContactChangeRequest(
            family=family.id, guardian=guardian.id, changes={}, submitted_at=OLD
        ).save()
        await queue_email(
            to="martin@example.org", subject="Facture", text="Bonjour Claire", family_id=family.id
        )
        await search.reindex(family.id)
    assert await anonymise_inactive(settings, NOW) == 1
    fam = await Family.select().where(Family.id == family.id).first()
    assert fam["name"] == ANONYMOUS_NAME and fam["email"] == "" and fam["password_hash"] == ""
    assert not fam["active"] and fam["anonymised_at"] is not None and fam["code"] == "F00001"
    assert await Guardian.count() == 0 and await ContactChangeRequest.count() == 0
    kid = await Child.select().where(Child.id == child.id).first()
    assert kid["first_name"] == "Enfant" and kid["health_notes"] == ""
    assert kid["birth_date"] == dt.date(2015, 1, 1)
    kept = await Invoice.select().where(Invoice.id == inv.id).first()
    assert kept["total_cents"] == 1000 and kept["family_name"] == "Martin"
    assert await Payment.count() == 1
    assert await FamilySearchTerm.count() == 0
    mail = await OutboxEmail.select().first()
    assert mail["to_address"] == "" and "Claire" not in mail["body_text"]
    assert await AuditLog.count().where(AuditLog.action == "family_anonymised") == 1
    assert await anonymise_inactive(settings, NOW) == 0  # idempotent


async def test_active_or_indebted_families_are_kept(settings):
    with clock.frozen(OLD):
        recent_login, _ = await family_with_guardian("F00001")
        owes, _ = await family_with_guardian("F00002", name="Diallo")
        await _invoice(owes, OLD, total=1000, paid=0)
        recent_invoice, _ = await family_with_guardian("F00003", name="Petit")
        new_family = None
    await Family.update({Family.last_login_at: NOW - dt.timedelta(days=400)}).where(
        Family.id == recent_login.id
    )
    await _invoice(recent_invoice, NOW - dt.timedelta(days=30), number="FAC-2026-000001")
    with clock.frozen(NOW - dt.timedelta(days=10)):
        new_family, _ = await family_with_guardian("F00004", name="Neuf")
    assert await anonymise_inactive(settings, NOW) == 0
    assert await Family.count().where(Family.anonymised_at.is_null()) == 4
    assert new_family


async def test_the_period_is_the_administrators_setting(settings):
    with clock.frozen(OLD):
        await family_with_guardian()
    # Five and a half years of inactivity: kept with a 6-year period, anonymised with 5.
    assert await anonymise_inactive(settings.with_(extra={"retention_years": 6}), NOW) == 0
    from ecp.commune.tables import CommuneSettings

    await CommuneSettings(retention_years=5).save()
    assert await anonymise_inactive(settings, NOW) == 1
